//! `make bench-messaging`: ingest throughput and latency of customer messages through a real
//! relay (HTTP, JSON, the group-commit store on an embedded SQLite file whose WAL is fsynced
//! before a write is acknowledged), one JSON line per path:
//! - `widget`: `POST /api/messaging/guest/messages` (the rate limit lifted for the run);
//! - `webhook`: signed `POST /api/messaging/open/{integration}`;
//! - `store`: the same ingest straight into the store (no HTTP), to split the cost.
//!
//! Latency is from sending a request to receiving its acknowledgement, which the relay gives
//! only after the message's transaction committed. Each line has two measures: a closed loop
//! of 64 clients, each sending its next message when the last is answered (the throughput
//! ceiling: `messages_per_s`, `p50_ms`, `p99_ms`), and an open loop offering 10,000 messages/s
//! whatever the answers do, timed from each message's scheduled send time (`open_loop_*`: the
//! latency at the target rate; a closed loop cannot show it, since 64 clients at
//! 10,000/s means a 6.4 ms mean by Little's law). The baseline, measured in the same run, is
//! raw SQLite inserts of the same rows with the same durability settings, committed in
//! batches as large as the client concurrency: the store's ceiling without HTTP, threading or
//! contact resolution. Both durability settings are measured: an fsync per commit (the
//! default), and `fsync_commits = false` (acknowledged messages survive a relay crash, not a
//! power loss). `RELAY_BENCH_MESSAGES` sets the messages per path (default 20,000).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness: failing loudly is the point

use std::time::{Duration, Instant};

use relay::{
    messaging::{
        model::{Inbound, Integration},
        open::integration_add,
        queries,
        signature::sign,
        threading::DEFAULT_WINDOW,
        MessagingStore, Target,
    },
    Config,
};
use serde_json::json;

const CONCURRENCY: usize = 64;
/// The offered rate of the open-loop measure (the target).
const OFFERED_PER_S: f64 = 10_000.0;
/// Requests an open loop lets wait at once.
const OPEN_LOOP_IN_FLIGHT: usize = 1024;
const SECRET: &str = "bench-secret-0123456789";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Raw inserts of `n` message-sized rows, `batch` per commit, WAL with the same `synchronous`.
fn baseline(dir: &std::path::Path, n: usize, batch: usize, synchronous: &str) -> f64 {
    let conn = rusqlite::Connection::open(dir.join(format!("baseline-{synchronous}.db"))).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", synchronous)
        .unwrap();
    conn.execute_batch(
        "CREATE TABLE m (id TEXT PRIMARY KEY, conversation_id TEXT, seq BIGINT, author TEXT,
         text TEXT, attachments TEXT, quick_replies TEXT, delivery TEXT, created_at BIGINT)",
    )
    .unwrap();
    let start = Instant::now();
    let mut i = 0;
    while i < n {
        conn.execute_batch("BEGIN").unwrap();
        {
            let mut stmt = conn
                .prepare_cached(
                    "INSERT INTO m VALUES (?1, ?2, ?3, 'customer', ?4, '[]', '[]', 'sent', ?5)",
                )
                .unwrap();
            for _ in 0..batch.min(n - i) {
                stmt.execute(rusqlite::params![
                    relay::store::random_hex(12),
                    "conv",
                    i as i64,
                    "hello, is this in stock?",
                    relay::store::now_ms()
                ])
                .unwrap();
                i += 1;
            }
        }
        conn.execute_batch("COMMIT").unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// One customer message on `path` from client `c` (its guest `token` on the widget path).
fn request(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
    c: usize,
    i: usize,
) -> reqwest::RequestBuilder {
    if path == "widget" {
        http.post(format!("{base}/api/messaging/guest/messages"))
            .header("x-guest-token", token)
            .json(&json!({"text": format!("hello {i}, is this in stock?")}))
    } else {
        let body = json!({
            "channel": {"from": {"id": format!("user-{c}"), "nickname": "Pat"}},
            "type": "Text", "text": format!("hello {i}, is this in stock?"),
        })
        .to_string();
        http.post(format!("{base}/api/messaging/open/bench"))
            .header("x-hub-signature-256", sign(SECRET, body.as_bytes()))
            .header("content-type", "application/json")
            .body(body)
    }
}

/// Open loop: `n` messages offered at `rate` per second whatever the answers do, each timed
/// from its *scheduled* send time (a stalled server shows up as latency, not as a slower
/// client). At most `OPEN_LOOP_IN_FLIGHT` wait at once; past that the schedule slips, and the
/// slip is counted in the latency. Returns (delivered per second, sorted latencies in ms).
async fn open_loop<F, Fut>(rate: f64, n: usize, send: F) -> (f64, Vec<f64>)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(OPEN_LOOP_IN_FLIGHT));
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due).await;
        let permit = gate.clone().acquire_owned().await.unwrap();
        let sent = send(i);
        tasks.push(tokio::spawn(async move {
            sent.await;
            drop(permit);
            due.elapsed().as_secs_f64() * 1e3
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.push(t.await.unwrap());
    }
    let delivered = n as f64 / start.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (delivered, all)
}

async fn guests(http: &reqwest::Client, base: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    for _ in 0..CONCURRENCY {
        let r: serde_json::Value = http
            .post(format!("{base}/api/messaging/guest"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(r["token"].as_str().unwrap().to_owned());
    }
    tokens
}

async fn drive(base: &str, path: &'static str, per_client: usize) -> (f64, Vec<f64>) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let tokens = guests(&http, base).await;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (c, token) in tokens.into_iter().enumerate() {
        let (http, base) = (http.clone(), base.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let req = request(&http, &base, path, &token, c, i);
                let t = Instant::now();
                let status = req.send().await.unwrap().status();
                lat.push(t.elapsed().as_secs_f64() * 1e3);
                assert!(status.is_success(), "{path}: {status}");
            }
            lat
        }));
    }
    gather(start, tasks).await
}

/// One customer message from `external_id` straight into the store, answered after commit.
async fn ingest(store: &MessagingStore, external_id: String, i: usize) {
    let inbound = Inbound {
        channel: "web".into(),
        external_id,
        display_name: "Pat".into(),
        text: format!("hello {i}, is this in stock?"),
        attachments: vec![],
        has_bot: false,
    };
    store
        .write(move |db| queries::ingest(db, &inbound, relay::store::now_ms(), DEFAULT_WINDOW))
        .await
        .unwrap();
}

/// Waits for every client's latencies: (messages per second since `start`, sorted latencies).
async fn gather(start: Instant, tasks: Vec<tokio::task::JoinHandle<Vec<f64>>>) -> (f64, Vec<f64>) {
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let rate = all.len() as f64 / start.elapsed().as_secs_f64();
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (rate, all)
}

/// The store alone: `queries::ingest` through the group-commit writer from `CONCURRENCY`
/// tasks, no HTTP, so the lines above can be split into store and front-end cost.
async fn drive_store(store: &MessagingStore, per_client: usize) -> (f64, Vec<f64>) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CONCURRENCY {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let t = Instant::now();
                ingest(&store, format!("store-{c}"), i).await;
                lat.push(t.elapsed().as_secs_f64() * 1e3);
            }
            lat
        }));
    }
    gather(start, tasks).await
}

fn main() {
    let n: usize = std::env::var("RELAY_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    for fsync in [true, false] {
        run(n, fsync);
    }
}

/// One relay on a fresh database with `fsync_commits = fsync`; one line per path.
fn run(n: usize, fsync: bool) {
    let per_client = n.div_ceil(CONCURRENCY);
    let synchronous = if fsync { "FULL" } else { "NORMAL" };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    relay::store::Store::open(&db).unwrap();
    integration_add(
        &MessagingStore::open(&Target::Sqlite(db.clone())).unwrap(),
        Integration {
            name: "bench".into(),
            secret: SECRET.into(),
            webhook_url: "http://127.0.0.1:9/unused".into(),
            bot_url: None,
        },
    )
    .unwrap();
    let baseline_rate = baseline(dir.path(), n, CONCURRENCY, synchronous);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut config = Config {
            db_path: db,
            www_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        config.messaging.guest_rate_per_sec = 1e9;
        config.messaging.guest_burst = u32::MAX;
        config.messaging.fsync_commits = fsync;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(relay::run(listener, config, async {
            stopped.await.ok();
        }));
        // Warm up connections and caches.
        drive(&base, "widget", 10).await;
        let store_target = if fsync {
            Target::Sqlite(dir.path().join("store.db"))
        } else {
            Target::SqliteNoFsync(dir.path().join("store.db"))
        };
        let store = MessagingStore::open(&store_target).unwrap();
        for path in ["widget", "webhook", "store"] {
            let (rate, lat) = if path == "store" {
                drive_store(&store, per_client).await
            } else {
                drive(&base, path, per_client).await
            };
            let (open_rate, open_lat) = if path == "store" {
                let store = store.clone();
                open_loop(OFFERED_PER_S, n, move |i| {
                    let store = store.clone();
                    async move {
                        ingest(&store, format!("open-{}", i % CONCURRENCY), i).await;
                    }
                })
                .await
            } else {
                let http = reqwest::Client::builder()
                    .pool_max_idle_per_host(OPEN_LOOP_IN_FLIGHT)
                    .build()
                    .unwrap();
                let tokens = guests(&http, &base).await;
                let base = base.clone();
                open_loop(OFFERED_PER_S, n, move |i| {
                    let c = i % CONCURRENCY;
                    let req = request(&http, &base, path, &tokens[c], c, i);
                    async move {
                        let status = req.send().await.unwrap().status();
                        assert!(status.is_success(), "{path}: {status}");
                    }
                })
                .await
            };
            println!(
                "{}",
                json!({
                    "bench": "messaging",
                    "path": path,
                    "durability": if fsync { "fsync_per_commit" } else { "survives_process_crash" },
                    "messages": lat.len(),
                    "concurrency": CONCURRENCY,
                    "messages_per_s": rate.round(),
                    "p50_ms": (percentile(&lat, 0.50) * 1000.0).round() / 1000.0,
                    "p99_ms": (percentile(&lat, 0.99) * 1000.0).round() / 1000.0,
                    "baseline": format!("raw SQLite INSERT, WAL + synchronous={synchronous}, {CONCURRENCY} rows per commit"),
                    "baseline_messages_per_s": baseline_rate.round(),
                    "ratio_to_baseline": (rate / baseline_rate * 1000.0).round() / 1000.0,
                    "open_loop_offered_per_s": OFFERED_PER_S,
                    "open_loop_delivered_per_s": open_rate.round(),
                    "open_loop_p50_ms": (percentile(&open_lat, 0.50) * 1000.0).round() / 1000.0,
                    "open_loop_p99_ms": (percentile(&open_lat, 0.99) * 1000.0).round() / 1000.0,
                })
            );
        }
        stop.send(()).ok();
        tokio::time::timeout(Duration::from_secs(10), server).await.ok();
    });
}
