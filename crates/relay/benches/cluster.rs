//! `make bench-cluster`: co-browse frames between a customer on another node than its session
//! (piped over NATS to the session's node, where the agent is; and, a second case, the agent
//! on the other node too), against the same pair with both sockets on the session's node, in
//! the same run, on the same two relay nodes (one PostgreSQL schema, the local NATS server,
//! both nodes in this process).
//!
//! Each pair streams small mutation frames from the customer to the agent at a fixed rate; a
//! frame's latency is from just before its send to its arrival at the agent. The first 100
//! frames of each stream are reported apart (their worst latency, `first_frames_max_ms`); p50
//! and p99 are over all the other frames of both rounds together. It prints one JSON line
//! with p50 and p99 of each case and their ratio (target p99 ≤ 2×), the machine's load before
//! the run, and refuses the ratio when the one-node baseline could not carry the rate itself
//! (under 95 % delivered, or its p99 at 50 ms or more). A second line: widget messages per
//! second, 16 guests in a closed loop, all through one node against spread over both.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: failing loudly is the point

use std::{
    collections::HashMap,
    net::SocketAddr,
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use protocol::*;
use relay::{
    accounts,
    config::Config,
    sites,
    store::{Options, Store, Target},
};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Message as Ws};

const SITE: &str = "bench";
const ORIGIN: &str = "http://bench.example";

fn pg_url() -> String {
    std::env::var("RELAY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn nats_url() -> String {
    std::env::var("RELAY_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// Two relay nodes in this process on one fresh schema: their addresses.
async fn two_nodes(schema: &str) -> Vec<SocketAddr> {
    let target = Target::Postgres {
        url: pg_url(),
        schema: Some(schema.to_owned()),
    };
    let store = Store::open_async(target, Options::command()).await.unwrap();
    let hash = accounts::hash_password("pw").unwrap();
    store
        .write(move |c| {
            accounts::agent_upsert(c, "alice", &hash)?;
            sites::site_add(c, SITE, &[ORIGIN.to_owned()])
        })
        .await
        .unwrap();
    drop(store);
    let mut addrs = Vec::new();
    for i in 0..2 {
        let dir = tempfile::tempdir().unwrap().keep();
        let mut config = Config {
            db_path: dir.join("relay.db"),
            ..Config::default()
        };
        config.postgres = Some(pg_url());
        config.postgres_schema = Some(schema.to_owned());
        config.nats_url = Some(nats_url());
        config.node_id = Some(format!("bench{i}-{}", std::process::id()));
        // The widget round's guests all write from this one address.
        let unlimited = relay::config::RateBudget {
            burst: 1_000_000,
            per_minute: 1_000_000,
        };
        let m = &mut config.messaging;
        m.guest_rate_per_sec = 1e9;
        m.guest_burst = u32::MAX;
        m.guest_tokens_per_address = unlimited;
        m.guest_tokens_global = unlimited;
        m.conversation_starts_per_address = unlimited;
        m.conversation_starts_global = unlimited;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        addrs.push(listener.local_addr().unwrap());
        tokio::spawn(relay::run(listener, config, std::future::pending()));
    }
    // Both up and subscribed.
    for addr in &addrs {
        let url = format!("http://{addr}/readyz");
        for _ in 0..200 {
            if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    addrs
}

async fn post(addr: SocketAddr, path: &str, token: Option<&str>, body: Value) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(addr: SocketAddr, path: &str, header: (&'static str, &str)) -> Socket {
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    req.headers_mut()
        .insert(header.0, HeaderValue::from_str(header.1).unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

async fn send(ws: &mut Socket, seq: u32, message: Message) {
    let bytes = Frame::new(seq, message).encode().unwrap();
    ws.send(Ws::Binary(bytes.into())).await.unwrap();
}

async fn until(ws: &mut Socket, kind: FrameKind) -> Frame {
    loop {
        let Some(Ok(Ws::Binary(b))) = ws.next().await else {
            continue;
        };
        let frame = Frame::decode(&b, &Limits::default()).unwrap();
        if frame.message.kind() == kind {
            return frame;
        }
    }
}

/// A session started on `home`, the customer connected to `at`, the agent to `agent_at`.
async fn pair(
    home: SocketAddr,
    (at, agent_at): (SocketAddr, SocketAddr),
    token: &str,
    n: usize,
) -> (Socket, Socket) {
    let started = post(
        home,
        "/api/cobrowse/sessions",
        Some(token),
        json!({"interaction": "voice", "interaction_id": format!("bench-{n}")}),
    )
    .await;
    let key = started["security_key"].as_str().unwrap().to_owned();
    let id = started["session_id"].as_str().unwrap().to_owned();
    let mut customer = socket(at, &format!("/ws/customer?site={SITE}"), ("Origin", ORIGIN)).await;
    let hello = |role, pairing| {
        Message::Hello(Hello {
            version: PROTOCOL_VERSION,
            role,
            site: SITE.to_owned(),
            pairing,
        })
    };
    send(
        &mut customer,
        0,
        hello(Role::Customer, Pairing::SecurityKey(key)),
    )
    .await;
    until(&mut customer, FrameKind::Welcome).await;
    let bearer = format!("Bearer {token}");
    let mut agent = socket(agent_at, "/ws/agent", ("Authorization", &bearer)).await;
    let join = Pairing::AgentJoin { session_id: id };
    send(&mut agent, 0, hello(Role::Agent, join)).await;
    until(&mut agent, FrameKind::Welcome).await;
    send(&mut customer, 1, snapshot()).await;
    until(&mut agent, FrameKind::Snapshot).await;
    (customer, agent)
}

fn snapshot() -> Message {
    Message::Snapshot(Snapshot {
        url: "https://shop.example/".into(),
        viewport: Viewport {
            width: 800,
            height: 600,
        },
        nodes: vec![Node {
            id: 1,
            parent: 0,
            data: NodeData::Document,
        }],
        sheets: vec![],
        adopted: vec![],
        form: vec![],
        scrolls: vec![],
        focus: 0,
    })
}

fn text(seq: u32) -> Message {
    Message::Mutations(MutationBatch {
        ops: vec![Mutation::Text {
            node: 1,
            text: format!("tick {seq} ................................................"),
        }],
    })
}

/// The first frames of a stream, reported on their own: a fresh cross-node session's first
/// frames wait once for about 40 ms (frames 1 to 40 of the first 40 ms, then never again), a
/// start-up cost that would otherwise stand in for the whole stream's p99.
const WARM: u32 = 100;

/// What one stream measured.
struct Run {
    sent: u32,
    /// Latencies (ms) of the frames after the first [`WARM`] that arrived.
    steady: Vec<f64>,
    /// The worst latency (ms) among the first [`WARM`] frames.
    first_max_ms: f64,
}

struct Figures {
    delivered: f64,
    p50_ms: f64,
    p99_ms: f64,
    first_max_ms: f64,
}

impl Figures {
    /// Percentiles over every steady frame of `runs` together (not the worst round's: one
    /// stall in one round would then decide it).
    fn of(runs: &[Run]) -> Figures {
        let mut lat: Vec<f64> = runs.iter().flat_map(|r| r.steady.iter().copied()).collect();
        lat.sort_by(f64::total_cmp);
        let steady_sent: u32 = runs.iter().map(|r| r.sent.saturating_sub(WARM)).sum();
        let pct = |p: f64| {
            lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
                .copied()
                .unwrap_or(f64::NAN)
        };
        Figures {
            delivered: lat.len() as f64 / f64::from(steady_sent.max(1)),
            p50_ms: pct(0.5),
            p99_ms: pct(0.99),
            first_max_ms: runs.iter().map(|r| r.first_max_ms).fold(0.0, f64::max),
        }
    }
}

/// Streams `count` frames at `rate` per second from the customer to the agent.
async fn stream(mut customer: Socket, mut agent: Socket, rate: f64, count: u32) -> Run {
    let reader = tokio::spawn(async move {
        let mut seen = HashMap::new();
        let deadline = tokio::time::sleep(Duration::from_secs_f64(count as f64 / rate + 5.0));
        tokio::pin!(deadline);
        while seen.len() < count as usize {
            let next = tokio::select! {
                m = agent.next() => m,
                () = &mut deadline => break,
            };
            let Some(Ok(Ws::Binary(b))) = next else {
                continue;
            };
            let at = Instant::now();
            if let Ok(Frame {
                message: Message::Mutations(batch),
                ..
            }) = Frame::decode(&b, &Limits::default())
            {
                if let Some(Mutation::Text { text, .. }) = batch.ops.first() {
                    if let Some(n) = text.split(' ').nth(1).and_then(|n| n.parse::<u32>().ok()) {
                        seen.insert(n, at);
                    }
                }
            }
        }
        seen
    });
    let start = Instant::now();
    let mut sent = Vec::with_capacity(count as usize);
    for i in 0..count {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        sent.push(Instant::now());
        send(&mut customer, i + 2, text(i)).await;
    }
    let seen = reader.await.unwrap();
    let latency = |i: u32| {
        let at = seen.get(&i)?;
        Some(at.duration_since(sent[i as usize]).as_secs_f64() * 1000.0)
    };
    Run {
        sent: count,
        steady: (WARM..count).filter_map(latency).collect(),
        first_max_ms: (0..WARM.min(count)).filter_map(latency).fold(0.0, f64::max),
    }
}

/// Widget messages per second, `guests` writing at once in a closed loop for `secs`, guest
/// `i` through `nodes[i % nodes.len()]`.
async fn messages(nodes: &[SocketAddr], guests: usize, secs: f64) -> f64 {
    let client = reqwest::Client::new();
    let mut writers = Vec::new();
    for i in 0..guests {
        let node = nodes[i % nodes.len()];
        let client = client.clone();
        let token = client
            .post(format!("http://{node}/api/messaging/guest"))
            .header("Origin", ORIGIN)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        writers.push(async move {
            let end = Instant::now() + Duration::from_secs_f64(secs);
            let mut n = 0u64;
            while Instant::now() < end {
                let sent = client
                    .post(format!("http://{node}/api/messaging/guest/messages"))
                    .header("Origin", ORIGIN)
                    .header("X-Guest-Token", &token)
                    .json(&json!({"text": format!("message {n}")}))
                    .send()
                    .await
                    .unwrap();
                assert!(sent.status().is_success(), "{}", sent.status());
                n += 1;
            }
            n
        });
    }
    let start = Instant::now();
    let total: u64 = futures_util::future::join_all(writers)
        .await
        .into_iter()
        .sum();
    total as f64 / start.elapsed().as_secs_f64()
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

fn main() {
    let quick = std::env::var("RELAY_BENCH_QUICK").is_ok_and(|v| v == "1");
    let (rate, count) = if quick {
        (500.0, 1_000)
    } else {
        (1_000.0, 5_000)
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let load = load_average();
        // Named as the test suites' schemas are, so theirs clean it up once this process is gone.
        let schema = format!("relay_test_{}_benchcluster", std::process::id());
        let nodes = two_nodes(&schema).await;
        let (home, other) = (nodes[1], nodes[0]);
        let login = post(
            home,
            "/api/login",
            None,
            json!({"name": "alice", "password": "pw"}),
        )
        .await;
        let token = login["token"].as_str().unwrap().to_owned();
        // Alternate the two so a drift in the machine's load hits both alike.
        // One node: both sockets on the session's node. Split: the customer on the other
        // node, the agent on the session's (one hop over NATS each way). Both: both sockets on
        // the other node (two hops each way).
        let (mut one, mut split, mut two) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..2 {
            let (c, a) = pair(home, (home, home), &token, round * 3).await;
            one.push(stream(c, a, rate, count / 2).await);
            let (c, a) = pair(home, (other, home), &token, round * 3 + 1).await;
            split.push(stream(c, a, rate, count / 2).await);
            let (c, a) = pair(home, (other, other), &token, round * 3 + 2).await;
            two.push(stream(c, a, rate, count / 2).await);
        }
        let (one, split, two) = (Figures::of(&one), Figures::of(&split), Figures::of(&two));
        let round2 = |x: f64| (x * 100.0).round() / 100.0;
        let saturated = one.delivered < 0.95 || one.p99_ms >= 50.0;
        if saturated {
            eprintln!(
                "cluster bench: the one-node pair could not carry {rate} frames/s \
                 (delivered {:.0} %, p99 {:.1} ms): no ratio",
                one.delivered * 100.0,
                one.p99_ms
            );
        }
        if load > 1.5 {
            eprintln!("cluster bench: the machine's load average was {load:.2} before the run");
        }
        let refuse = |x: f64| if saturated { Value::Null } else { json!(round2(x)) };
        let secs = if quick { 2.0 } else { 5.0 };
        let through_one = messages(&[home], 16, secs).await;
        let through_two = messages(&[home, other], 16, secs).await;
        println!(
            "{}",
            json!({
                "scenario": "frames_across_nodes",
                "frames_per_s": rate,
                "frames": count,
                "one_node": {"delivered": round2(one.delivered), "p50_ms": round2(one.p50_ms), "p99_ms": round2(one.p99_ms), "first_frames_max_ms": round2(one.first_max_ms)},
                "customer_on_other_node": {"delivered": round2(split.delivered), "p50_ms": round2(split.p50_ms), "p99_ms": round2(split.p99_ms), "first_frames_max_ms": round2(split.first_max_ms)},
                "both_on_other_node": {"delivered": round2(two.delivered), "p50_ms": round2(two.p50_ms), "p99_ms": round2(two.p99_ms), "first_frames_max_ms": round2(two.first_max_ms)},
                "ratio_p50": refuse(split.p50_ms / one.p50_ms),
                "ratio_p99": refuse(split.p99_ms / one.p99_ms),
                "ratio_p50_both": refuse(two.p50_ms / one.p50_ms),
                "ratio_p99_both": refuse(two.p99_ms / one.p99_ms),
                "baseline_saturated": saturated,
                "load_average_before": round2(load),
            })
        );
        // Both nodes share this process and the machine's cores: the ratio is what spreading
        // the writers over two nodes costs or gains here, not a second machine's capacity.
        println!(
            "{}",
            json!({
                "scenario": "widget_messages",
                "guests": 16,
                "one_node_per_s": through_one.round(),
                "two_nodes_per_s": through_two.round(),
                "ratio_two_to_one": round2(through_two / through_one),
                "load_average_before": round2(load),
            })
        );
    });
}
