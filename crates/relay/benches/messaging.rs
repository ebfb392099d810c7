//! `make bench-messaging`: ingest throughput and latency of customer messages through a real
//! relay (HTTP, JSON, the group-commit store on an embedded SQLite file whose WAL is fsynced
//! before a write is acknowledged), one JSON line per path:
//! - `widget`: `POST /api/messaging/guest/messages` (the rate limits lifted for the run);
//! - `webhook`: signed `POST /api/messaging/open/{integration}`;
//! - `store`: the same ingest straight into the store (no HTTP), to split the cost.
//!
//! The relay runs in a child process (this binary re-executed with `serve-child`), so the load
//! client does not share its runtime. The client is as cheap as a client can be: keep-alive
//! HTTP/1.1 on plain TCP connections, one request in flight per connection, request bytes
//! (bodies, signatures) built before the clock starts, only the status line and
//! `Content-Length` of each answer parsed, on one thread. Each line prints the CPU both
//! processes spent per message (`client_cpu_us_per_message`, `server_cpu_us_per_message`,
//! and the same for the open loop), so a reader sees what limits the run.
//! `RELAY_BENCH_PIN=split` pins the relay to core 0 and the client to core 1 (`taskset`),
//! `client` pins only the client; the default leaves both to the scheduler.
//! `RELAY_BENCH_SERVER_WRAPPER` prefixes the relay's command (a profiler).
//!
//! Latency is from sending a request to receiving its acknowledgement, which the relay gives
//! only after the message's transaction committed. Each line has two measures: a closed loop
//! of 64 connections, each sending its next message when the last is answered (the throughput
//! ceiling: `messages_per_s`, `p50_ms`, `p99_ms`), and an open loop offering 10,000 messages/s
//! whatever the answers do, timed from each message's scheduled send time, or from when the
//! client's timer actually sent it if that fired late (`sent_at`) (`open_loop_*`: the
//! latency at the issue's target rate; a closed loop cannot show it, since 64 clients at
//! 10,000/s means a 6.4 ms mean by Little's law). The baseline, measured in the same run, is
//! raw SQLite inserts of the same rows with the same durability settings, committed in
//! batches as large as the client concurrency: the store's ceiling without HTTP, threading or
//! contact resolution. Both durability settings are measured: an fsync per commit (the
//! default), and `fsync_commits = false` (acknowledged messages survive a relay crash, not a
//! power loss). A third round runs the same paths with every table on PostgreSQL (when one
//! answers at `RELAY_BENCH_POSTGRES`, default the local `test` database), against raw
//! prepared PostgreSQL inserts, 64 per commit. `RELAY_BENCH_MESSAGES` sets the messages per
//! path (default 20,000).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness: failing loudly is the point

mod child;

/// The relay binary's allocator, so the server child measured is the relay as shipped.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use relay::{
    messaging::{
        model::{Inbound, Integration},
        open::integration_add,
        queries,
        signature::sign,
        threading::DEFAULT_WINDOW,
    },
    store::{Options, Store, Target},
    Config,
};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const CONCURRENCY: usize = 64;
/// The offered rate of the open-loop measure (the issue's target).
const OFFERED_PER_S: f64 = 10_000.0;
/// Requests the in-process (store) open loop lets wait at once.
const OPEN_LOOP_IN_FLIGHT: usize = 1024;
/// Connections the HTTP open loop sends on (one request in flight each).
const OPEN_LOOP_CONNECTIONS: usize = 256;
const SECRET: &str = "bench-secret-0123456789";
/// The registered site the widget's requests come from.
const SITE_ORIGIN: &str = "https://shop.example";

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
                    relay::ids::random_hex(12),
                    "conv",
                    i as i64,
                    "hello, is this in stock?",
                    relay::ids::now_ms()
                ])
                .unwrap();
                i += 1;
            }
        }
        conn.execute_batch("COMMIT").unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// A keep-alive HTTP/1.1 connection with one request in flight: writes pre-built request
/// bytes and parses only the status line and `Content-Length` of the answer, so the client
/// costs next to nothing beside the relay it measures.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Sends one request; returns the answer's status and body.
    async fn call(&mut self, request: &[u8]) -> (u16, &[u8]) {
        self.stream.write_all(request).await.unwrap();
        self.buf.clear();
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            self.fill().await;
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).unwrap();
        let status: u16 = head.get(9..12).unwrap().parse().unwrap();
        let length: usize = head
            .split("\r\n")
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                if name.eq_ignore_ascii_case("content-length") {
                    value.trim().parse().ok()
                } else {
                    None
                }
            })
            .expect("an answer with Content-Length");
        while self.buf.len() < head_end + length {
            self.fill().await;
        }
        (status, &self.buf[head_end..head_end + length])
    }

    async fn fill(&mut self) {
        self.buf.reserve(4096);
        let n = self.stream.read_buf(&mut self.buf).await.unwrap();
        assert!(n > 0, "the relay closed the connection");
    }
}

fn post(path: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        r.push_str(&format!("{name}: {value}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r.into_bytes()
}

/// Message `i` on `path`, from client `i % CONCURRENCY` (its guest token on the widget path,
/// its integration user `users[c]` on the webhook path).
fn request(path: &str, users: &[String], i: usize) -> Vec<u8> {
    let user = &users[i % CONCURRENCY];
    let text = format!("hello {i}, is this in stock?");
    if path == "widget" {
        let body = json!({ "text": text }).to_string();
        // A widget runs on the customer's site, so each request carries that page's origin
        // (and the relay answers with CORS headers for a registered site).
        post(
            "/api/messaging/guest/messages",
            &[("x-guest-token", user), ("origin", SITE_ORIGIN)],
            &body,
        )
    } else {
        // The hub form alone needs the channel's message id (redeliveries are found by it).
        let body = json!({
            "id": format!("{user}.{i}"),
            "channel": {"from": {"id": user, "nickname": "Pat"}},
            "type": "Text", "text": text,
        })
        .to_string();
        let signature = sign(SECRET, body.as_bytes());
        post(
            "/api/messaging/open/bench",
            &[("x-hub-signature-256", &signature)],
            &body,
        )
    }
}

/// `n` messages on `path` from `CONCURRENCY` new guests (new integration users on the webhook
/// path, named after `round`), built before the clock starts.
async fn requests(addr: SocketAddr, path: &str, n: usize, round: &str) -> Arc<Vec<Vec<u8>>> {
    let users: Vec<String> = if path == "widget" {
        let mut conn = Conn::open(addr).await;
        let issue = post("/api/messaging/guest", &[], "");
        let mut tokens = Vec::with_capacity(CONCURRENCY);
        for _ in 0..CONCURRENCY {
            let (status, body) = conn.call(&issue).await;
            check("guest", status, body);
            let v: serde_json::Value = serde_json::from_slice(body).unwrap();
            tokens.push(v["token"].as_str().unwrap().to_owned());
        }
        tokens
    } else {
        (0..CONCURRENCY).map(|c| format!("{round}-{c}")).collect()
    };
    Arc::new((0..n).map(|i| request(path, &users, i)).collect())
}

fn check(path: &str, status: u16, body: &[u8]) {
    assert!(
        status == 200,
        "{path}: {status} {}",
        String::from_utf8_lossy(body)
    );
}

/// `n` keep-alive connections to the relay, opened before any clock starts.
async fn connections(addr: SocketAddr, n: usize) -> Vec<Conn> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(Conn::open(addr).await);
    }
    conns
}

/// Closed loop: `CONCURRENCY` connections, each sending its next message when the last is
/// answered. Returns (messages per second, sorted latencies in ms).
async fn closed_loop(
    addr: SocketAddr,
    path: &'static str,
    requests: Arc<Vec<Vec<u8>>>,
) -> (f64, Vec<f64>) {
    let conns = connections(addr, CONCURRENCY).await;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (c, mut conn) in conns.into_iter().enumerate() {
        let requests = requests.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(requests.len() / CONCURRENCY + 1);
            for r in requests.iter().skip(c).step_by(CONCURRENCY) {
                let t = Instant::now();
                let (status, body) = conn.call(r).await;
                lat.push(t.elapsed().as_secs_f64() * 1e3);
                check(path, status, body);
            }
            lat
        }));
    }
    gather(start, tasks).await
}

/// Open loop over HTTP: message `i` is due `i / OFFERED_PER_S` seconds after the start,
/// whatever the answers do, and is timed from that due time (a stalled relay shows up as
/// latency, not as a slower client; see [`sent_at`]). Each of `OPEN_LOOP_CONNECTIONS` connections takes the
/// next due message as soon as it is free; when all are busy the schedule slips, and the slip
/// is counted in the latency. Returns (delivered per second, sorted latencies in ms).
async fn open_loop_http(
    addr: SocketAddr,
    path: &'static str,
    requests: Arc<Vec<Vec<u8>>>,
) -> (f64, Vec<f64>) {
    let conns = connections(addr, OPEN_LOOP_CONNECTIONS).await;
    let next = Arc::new(AtomicUsize::new(0));
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for mut conn in conns {
        let (requests, next) = (requests.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(r) = requests.get(i) else { break };
                let due = start + Duration::from_secs_f64(i as f64 / OFFERED_PER_S);
                let from = sent_at(due).await;
                let (status, body) = conn.call(r).await;
                lat.push(from.elapsed().as_secs_f64() * 1e3);
                check(path, status, body);
            }
            lat
        }));
    }
    gather(start.into_std(), tasks).await
}

/// Waits until a message is `due`; returns the instant its latency counts from. A sender that
/// is late already (the relay held it up) counts from `due`, so the slip is in the latency;
/// one that sleeps counts from when it woke, so the client's timer (tokio's fires up to a
/// millisecond late) is not.
async fn sent_at(due: tokio::time::Instant) -> tokio::time::Instant {
    if tokio::time::Instant::now() >= due {
        return due;
    }
    tokio::time::sleep_until(due).await;
    tokio::time::Instant::now()
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
        let from = sent_at(due).await;
        let permit = gate.clone().acquire_owned().await.unwrap();
        let sent = send(i);
        tasks.push(tokio::spawn(async move {
            sent.await;
            drop(permit);
            from.elapsed().as_secs_f64() * 1e3
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

/// One customer message from `external_id` straight into the store, answered after commit.
async fn ingest(store: &Store, external_id: String, i: usize) {
    let inbound = Inbound {
        channel: "web".into(),
        external_id,
        display_name: "Pat".into(),
        text: format!("hello {i}, is this in stock?"),
        attachments: vec![],
        postback: None,
        has_bot: false,
    };
    store
        .write(move |db| queries::ingest(db, &inbound, relay::ids::now_ms(), DEFAULT_WINDOW))
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
async fn drive_store(store: &Store, per_client: usize) -> (f64, Vec<f64>) {
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

/// User + system CPU time of a process (`self` or a pid), in microseconds.
fn cpu_us_of(pid: &str) -> u64 {
    let (user, system) = child::cpu_us(pid);
    user + system
}

/// Where the relay and the client run (`RELAY_BENCH_PIN`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pin {
    /// Both left to the scheduler.
    None,
    /// The relay on core 0, the client on core 1.
    Split,
    /// Only the client pinned, to core 1.
    Client,
}

impl Pin {
    fn from_env() -> Pin {
        let two_cores = std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
        match std::env::var("RELAY_BENCH_PIN").as_deref() {
            Ok("split") if two_cores => Pin::Split,
            Ok("client") if two_cores => Pin::Client,
            _ => Pin::None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Pin::None => "none",
            Pin::Split => "relay on core 0, client on core 1",
            Pin::Client => "client on core 1",
        }
    }
}

/// Where a round's relay keeps its tables.
#[derive(Debug, Clone, PartialEq)]
enum Engine {
    /// The embedded SQLite file, with or without an fsync per commit.
    Sqlite { fsync: bool },
    /// PostgreSQL (`RELAY_BENCH_POSTGRES`, default the local server's `test` database), each
    /// round in a schema of its own; commits as the server is configured to (by default
    /// `synchronous_commit = on`: flushed to its WAL before acknowledged).
    Postgres { url: String, schema: String },
}

impl Engine {
    fn target(&self, sqlite: &Path) -> Target {
        match self {
            Engine::Sqlite { .. } => Target::Sqlite(sqlite.to_path_buf()),
            Engine::Postgres { url, schema } => Target::Postgres {
                url: url.clone(),
                schema: Some(schema.clone()),
            },
        }
    }

    fn fsync(&self) -> bool {
        !matches!(self, Engine::Sqlite { fsync: false })
    }

    fn durability(&self) -> &'static str {
        match self {
            Engine::Sqlite { fsync: true } => "fsync_per_commit",
            Engine::Sqlite { fsync: false } => "survives_process_crash",
            Engine::Postgres { .. } => "postgres_commit",
        }
    }

    /// The same engine in another schema (the store path's own tables).
    fn beside(&self, suffix: &str) -> Engine {
        match self {
            Engine::Postgres { url, schema } => Engine::Postgres {
                url: url.clone(),
                schema: format!("{schema}_{suffix}"),
            },
            other => other.clone(),
        }
    }
}

/// PostgreSQL for the round on it, if one answers.
fn postgres_engine() -> Option<Engine> {
    let url = std::env::var("RELAY_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".to_owned());
    postgres::Client::connect(&url, postgres::NoTls).ok()?;
    Some(Engine::Postgres {
        url,
        schema: format!("bench_messaging_{}", std::process::id()),
    })
}

/// Drops the round's schemas.
fn drop_schemas(engine: &Engine) {
    if let Engine::Postgres { url, schema } = engine {
        if let Ok(mut c) = postgres::Client::connect(url, postgres::NoTls) {
            for s in [
                schema.clone(),
                format!("{schema}_store"),
                format!("{schema}_raw"),
            ] {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{s}\" CASCADE"));
            }
        }
    }
}

/// Raw PostgreSQL inserts of the same rows, `batch` per transaction: the baseline of the
/// round on PostgreSQL.
fn postgres_baseline(url: &str, schema: &str, n: usize, batch: usize) -> f64 {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    c.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}_raw\"; SET search_path TO \"{schema}_raw\";
         CREATE TABLE m (id TEXT PRIMARY KEY, conversation_id TEXT, seq BIGINT, author TEXT,
         text TEXT, attachments TEXT, quick_replies TEXT, delivery TEXT, created_at BIGINT)"
    ))
    .unwrap();
    let stmt = c
        .prepare("INSERT INTO m VALUES ($1, $2, $3, 'customer', $4, '[]', '[]', 'sent', $5)")
        .unwrap();
    let start = Instant::now();
    let mut i = 0;
    while i < n {
        let mut tx = c.transaction().unwrap();
        for _ in 0..batch.min(n - i) {
            tx.execute(
                &stmt,
                &[
                    &relay::ids::random_hex(12),
                    &"conv",
                    &(i as i64),
                    &"hello, is this in stock?",
                    &relay::ids::now_ms(),
                ],
            )
            .unwrap();
            i += 1;
        }
        tx.commit().unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// The relay under test, in a child process.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(db: &Path, www: &Path, engine: &Engine, pin: Pin) -> Server {
        let mut cmd = child::command(pin == Pin::Split);
        cmd.arg("serve-child").arg(db).arg(www);
        match engine {
            Engine::Sqlite { fsync: true } => cmd.arg("fsync"),
            Engine::Sqlite { fsync: false } => cmd.arg("no-fsync"),
            Engine::Postgres { url, schema } => cmd.args(["postgres", url, schema]),
        };
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
        let addr = child::listening(&mut child);
        Server { child, addr }
    }

    fn cpu_us(&self) -> u64 {
        cpu_us_of(&self.child.id().to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        child::stop(&mut self.child);
    }
}

/// The child: a relay on `db` (or, after `postgres`, on that URL and schema) until it is
/// killed.
fn serve_child(db: &str, www: &str, fsync: &str, postgres: Option<(&str, &str)>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut config = Config {
            db_path: PathBuf::from(db),
            www_dir: PathBuf::from(www),
            ..Config::default()
        };
        config.messaging.guest_rate_per_sec = 1e9;
        config.messaging.guest_burst = u32::MAX;
        // Every round's guests sign up and start their conversations from one address.
        let unlimited = relay::config::RateBudget {
            burst: 1_000_000,
            per_minute: 1_000_000,
        };
        config.messaging.guest_tokens_per_address = unlimited;
        config.messaging.guest_tokens_global = unlimited;
        config.messaging.conversation_starts_per_address = unlimited;
        config.messaging.conversation_starts_global = unlimited;
        config.fsync_commits = fsync != "no-fsync";
        let target = match postgres {
            Some((url, schema)) => {
                config.postgres = Some(url.to_owned());
                config.postgres_schema = Some(schema.to_owned());
                Target::Postgres {
                    url: url.to_owned(),
                    schema: Some(schema.to_owned()),
                }
            }
            None => Target::Sqlite(config.db_path.clone()),
        };
        Store::open_async(target, Options::command())
            .await
            .unwrap()
            .write(|c| relay::sites::site_add(c, "bench", &[SITE_ORIGIN.to_owned()]))
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("LISTENING {}", listener.local_addr().unwrap());
        relay::run(listener, config, std::future::pending())
            .await
            .unwrap();
    });
}

/// One measure of one path: latencies and the CPU each side spent.
struct Measure {
    rate: f64,
    lat: Vec<f64>,
    client_cpu_us: f64,
    server_cpu_us: f64,
}

async fn measured<F: std::future::Future<Output = (f64, Vec<f64>)>>(
    server: Option<&Server>,
    run: F,
) -> Measure {
    let (client0, server0) = (cpu_us_of("self"), server.map_or(0, Server::cpu_us));
    let (rate, lat) = run.await;
    let per = |us: u64| us as f64 / lat.len() as f64;
    Measure {
        client_cpu_us: per(cpu_us_of("self") - client0),
        server_cpu_us: per(server.map_or(0, Server::cpu_us) - server0),
        rate,
        lat,
    }
}

/// The widget and webhook paths against the relay in `server`, on the calling thread.
fn drive_http(server: &Server, n: usize) -> Vec<(&'static str, Measure, Measure)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = server.addr;
    let per_client = n.div_ceil(CONCURRENCY);
    rt.block_on(async {
        // Warm up connections and caches.
        let warm = requests(addr, "widget", 10 * CONCURRENCY, "warm").await;
        closed_loop(addr, "widget", warm).await;
        let mut out = Vec::new();
        for path in ["widget", "webhook"] {
            let closed = requests(addr, path, per_client * CONCURRENCY, "closed").await;
            let closed = measured(Some(server), closed_loop(addr, path, closed)).await;
            let open = requests(addr, path, n, "open").await;
            let open = measured(Some(server), open_loop_http(addr, path, open)).await;
            out.push((path, closed, open));
        }
        out
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "serve-child") {
        let postgres = args.get(i + 4).zip(args.get(i + 5));
        let postgres = postgres.map(|(u, s)| (u.as_str(), s.as_str()));
        serve_child(&args[i + 1], &args[i + 2], &args[i + 3], postgres);
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let n: usize = std::env::var("RELAY_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let pin = Pin::from_env();
    for fsync in [true, false] {
        run(n, &Engine::Sqlite { fsync }, pin);
    }
    match postgres_engine() {
        Some(engine) => {
            run(n, &engine, pin);
            drop_schemas(&engine);
        }
        None => eprintln!("messaging: no PostgreSQL answered; its round is left out"),
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// One relay on a fresh database of `engine`; one line per path.
fn run(n: usize, engine: &Engine, pin: Pin) {
    let per_client = n.div_ceil(CONCURRENCY);
    let fsync = engine.fsync();
    let synchronous = if fsync { "FULL" } else { "NORMAL" };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = Store::open_async(engine.target(&db), Options::command())
            .await
            .unwrap();
        let integration = Integration {
            name: "bench".into(),
            secret: SECRET.into(),
            webhook_url: "http://127.0.0.1:9/unused".into(),
            bot_url: None,
        };
        integration_add(&store, integration).await.unwrap();
    });
    let (baseline_rate, baseline_name) = match engine {
        Engine::Postgres { url, schema } => (
            postgres_baseline(url, schema, n, CONCURRENCY),
            format!("raw PostgreSQL INSERT, prepared, {CONCURRENCY} rows per commit"),
        ),
        Engine::Sqlite { .. } => (
            baseline(dir.path(), n, CONCURRENCY, synchronous),
            format!(
                "raw SQLite INSERT, WAL + synchronous={synchronous}, {CONCURRENCY} rows per commit"
            ),
        ),
    };
    let server = Server::start(&db, dir.path(), engine, pin);
    let http = std::thread::scope(|s| {
        s.spawn(|| {
            if pin != Pin::None {
                if let Some(core) = core_affinity::get_core_ids().and_then(|c| c.get(1).copied()) {
                    core_affinity::set_for_current(core);
                }
            }
            drive_http(&server, n)
        })
        .join()
        .unwrap()
    });
    drop(server);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = rt.block_on(async {
        let store_target = engine.beside("store").target(&dir.path().join("store.db"));
        let store = tokio::task::spawn_blocking(move || {
            Store::open(&store_target, Options::server(fsync)).unwrap()
        })
        .await
        .unwrap();
        let closed = measured(None, drive_store(&store, per_client)).await;
        let open_store = store.clone();
        let open = measured(
            None,
            open_loop(OFFERED_PER_S, n, move |i| {
                let store = open_store.clone();
                async move {
                    ingest(&store, format!("open-{}", i % CONCURRENCY), i).await;
                }
            }),
        )
        .await;
        (closed, open)
    });
    let lines = http
        .into_iter()
        .chain(std::iter::once(("store", store.0, store.1)));
    for (path, closed, open) in lines {
        // The store path runs in this process: its CPU is the store's, with no client to
        // speak of.
        let (client, server, open_client, open_server) = if path == "store" {
            (None, closed.client_cpu_us, None, open.client_cpu_us)
        } else {
            (
                Some(closed.client_cpu_us),
                closed.server_cpu_us,
                Some(open.client_cpu_us),
                open.server_cpu_us,
            )
        };
        let rate = closed.rate;
        println!(
            "{}",
            json!({
                "bench": "messaging",
                "path": path,
                "durability": engine.durability(),
                "messages": closed.lat.len(),
                "concurrency": CONCURRENCY,
                "messages_per_s": rate.round(),
                "p50_ms": round3(percentile(&closed.lat, 0.50)),
                "p99_ms": round3(percentile(&closed.lat, 0.99)),
                "client_cpu_us_per_message": client.map(|v| v.round()),
                "server_cpu_us_per_message": server.round(),
                "baseline": baseline_name,
                "baseline_messages_per_s": baseline_rate.round(),
                "ratio_to_baseline": round3(rate / baseline_rate),
                "open_loop_offered_per_s": OFFERED_PER_S,
                "open_loop_delivered_per_s": open.rate.round(),
                "open_loop_p50_ms": round3(percentile(&open.lat, 0.50)),
                "open_loop_p99_ms": round3(percentile(&open.lat, 0.99)),
                "open_loop_client_cpu_us_per_message": open_client.map(|v| v.round()),
                "open_loop_server_cpu_us_per_message": open_server.round(),
                "pinning": pin.name(),
            })
        );
    }
}
