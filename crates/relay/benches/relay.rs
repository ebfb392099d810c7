//! `make bench-relay`: the relay against a bare tokio-tungstenite forwarder (the physical
//! floor), in one run. Each server runs in a child process pinned to core 0 (`taskset`), the
//! load generator on core 1. N session pairs send 64-byte DOM frames customer→agent at a fixed
//! open-loop rate, each stamped with its *scheduled* send time, so a stalled server shows up as
//! latency instead of hiding it (no coordinated omission).
//!
//! Scenarios: `idle` (9,000 connected idle sessions: RSS per session), `latency` (1,000
//! sessions at 50k frames/s), `max` (a rate sweep until delivery falls behind). One JSON line
//! per scenario. `RELAY_BENCH_IDLE_ONLY=1` measures memory only. `RELAY_BENCH_SECS` sets the
//! measuring time per step (default 4);
//! `RELAY_BENCH_QUICK=1` shrinks the session counts for a smoke run. `RELAY_BENCH_NO_SWEEP=1`
//! skips the sweep: with `RELAY_BENCH_LATENCY_RATE` low and `RELAY_BENCH_SERVER_WRAPPER`
//! (a profiler), both servers then handle exactly the same frames, so their instruction counts
//! compare.
//!
//! Client sockets come from 16 loopback source addresses, so one phase's 18,000 sockets never
//! run out of ephemeral ports beside the last phase's in TIME_WAIT. Each line carries how busy
//! the machine was before the run and the ratios to the forwarder (CPU per frame, RSS per idle
//! session, p50 and p99 at the latency rate); a scenario whose forwarder could not carry its
//! rate (under 95 % delivered, or p99 at 50 ms or more) says `baseline_saturated` and prints no
//! ratio.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)] // a test harness: failing loudly is the point

mod child;

/// The relay binary's allocator, so the server child measured is the relay as shipped.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::{
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use protocol::*;
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_tungstenite::{
    tungstenite::{
        client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig, Message as Ws,
    },
    MaybeTlsStream, WebSocketStream,
};

const ORIGIN: &str = "http://bench.local";
const FRAME_BYTES: usize = 64;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The forwarder (and the loader) use the relay's own socket buffer sizes, so the floor is
/// measured with the same memory per socket.
fn ws_config() -> WebSocketConfig {
    let relay = relay::Config::default();
    WebSocketConfig::default()
        .read_buffer_size(relay.read_buffer_bytes)
        .write_buffer_size(relay.write_buffer_bytes)
}

// ---------------------------------------------------------------------------------------------
// Child processes: the two servers under test.

fn serve_child(which: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        match which {
            "relay" => {
                let dir = tempfile::tempdir().unwrap();
                let db = dir.path().join("bench.db");
                let target = relay::store::Target::Sqlite(db.clone());
                let options = relay::store::Options::command();
                let store = relay::store::Store::open_async(target, options)
                    .await
                    .unwrap();
                let hash = relay::accounts::hash_password("bench").unwrap();
                store
                    .write(move |c| {
                        relay::accounts::agent_upsert(c, "bench", &hash)?;
                        relay::sites::site_add(c, "bench", &[ORIGIN.to_owned()])
                    })
                    .await
                    .unwrap();
                drop(store);
                let config = relay::Config {
                    db_path: db,
                    www_dir: dir.path().to_path_buf(),
                    max_connections: 40_000,
                    // One load generator on one address stands for every customer and agent.
                    streams_per_client: 40_000,
                    tcp_per_address: 40_000,
                    ..relay::Config::default()
                };
                println!("LISTENING {port}");
                relay::run(listener, config, std::future::pending())
                    .await
                    .unwrap();
            }
            _ => {
                println!("LISTENING {port}");
                forwarder(listener).await;
            }
        }
    });
}

/// The floor: pairs `/pair/<id>/c` with `/pair/<id>/a` and copies frames both ways, nothing else.
async fn forwarder(listener: TcpListener) {
    let waiting: Arc<Mutex<std::collections::HashMap<String, Socket2>>> = Arc::default();
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        tcp.set_nodelay(true).ok();
        let waiting = waiting.clone();
        tokio::spawn(async move {
            let mut path = String::new();
            let cb = |req: &tokio_tungstenite::tungstenite::handshake::server::Request, resp| {
                path = req.uri().path().to_owned();
                Ok(resp)
            };
            let Ok(ws) =
                tokio_tungstenite::accept_hdr_async_with_config(tcp, cb, Some(ws_config())).await
            else {
                return;
            };
            let pair = path.trim_end_matches(['c', 'a']).to_owned();
            let other = waiting.lock().unwrap().remove(&pair);
            match other {
                None => {
                    waiting.lock().unwrap().insert(pair, ws);
                }
                Some(other) => {
                    let (a_tx, a_rx) = ws.split();
                    let (b_tx, b_rx) = other.split();
                    tokio::spawn(a_rx.forward(b_tx));
                    tokio::spawn(b_rx.forward(a_tx));
                }
            }
        });
    }
}

type Socket2 = WebSocketStream<TcpStream>;

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(which: &str) -> Server {
        let pinned = Command::new("taskset").arg("-V").output().is_ok() && cores() >= 2;
        assert!(
            pinned || cores() < 2,
            "taskset is needed to pin the server to its own core"
        );
        let mut child = child::command(pinned)
            .args(["serve-child", which])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let port = child::listening(&mut child);
        Server { child, port }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User and system CPU time of the server, in microseconds.
    fn cpu_us(&self) -> (u64, u64) {
        child::cpu_us(&self.pid().to_string())
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        child::stop(&mut self.child);
    }
}

/// The cores this process may run on, read once, before `main` pins the load generator to
/// one of them: read after, it would be that one core, and the server would be started
/// unpinned, sharing the load generator's core.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| core_affinity::get_core_ids().map_or(1, |c| c.len()))
}

// ---------------------------------------------------------------------------------------------
// The load generator.

/// Loopback source addresses the load generator's sockets are spread over: one address has
/// about 28,000 ephemeral ports, and 18,000 sockets of one phase met the last phase's in
/// TIME_WAIT on a fresh machine (`EADDRNOTAVAIL`).
const SOURCES: u8 = 16;

/// A TCP connection to the server on `port`, from the next of [`SOURCES`] loopback addresses
/// (127.0.0.2 onwards; Linux answers for all of 127/8), with Nagle off as a client's would be.
async fn tcp(port: u16) -> TcpStream {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % usize::from(SOURCES);
    let source = std::net::Ipv4Addr::new(127, 0, 0, 2 + n as u8);
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind((source, 0).into())
        .unwrap_or_else(|e| panic!("binding a client socket to {source}: {e}"));
    let stream = socket
        .connect((std::net::Ipv4Addr::LOCALHOST, port).into())
        .await
        .unwrap_or_else(|e| panic!("connecting from {source}: {e}"));
    stream.set_nodelay(true).unwrap();
    stream
}

async fn http(port: u16, method: &str, path: &str, auth: Option<&str>, body: Value) -> Value {
    let mut stream = tcp(port).await;
    let body = body.to_string();
    let auth = auth
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    let (_, rest) = text.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(rest).unwrap_or(Value::Null)
}

async fn connect(port: u16, path: &str, headers: &[(&'static str, String)]) -> Socket {
    let mut req = format!("ws://127.0.0.1:{port}{path}")
        .into_client_request()
        .unwrap();
    for (k, v) in headers {
        req.headers_mut()
            .insert(*k, HeaderValue::from_str(v).unwrap());
    }
    let stream = MaybeTlsStream::Plain(tcp(port).await);
    let (ws, _) = tokio_tungstenite::client_async_with_config(req, stream, Some(ws_config()))
        .await
        .unwrap();
    ws
}

fn frame(message: Message) -> Ws {
    Ws::Binary(Frame::new(0, message).encode().unwrap().into())
}

/// One session pair, connected and past the handshake.
struct Pair {
    customer: Socket,
    agent: Socket,
}

async fn pair_relay(port: u16, token: &str) -> Pair {
    // A call's session by security key: an offer now needs a real conversation of the agent's.
    let started = http(
        port,
        "POST",
        "/api/cobrowse/sessions",
        Some(token),
        json!({"interaction": "voice"}),
    )
    .await;
    let field = |name: &str| {
        started[name]
            .as_str()
            .unwrap_or_else(|| panic!("the relay refused a session: {started}"))
            .to_owned()
    };
    let (session, key) = (field("session_id"), field("security_key"));
    let mut customer = connect(
        port,
        "/ws/customer?site=bench",
        &[("Origin", ORIGIN.to_owned())],
    )
    .await;
    customer
        .send(frame(Message::Hello(Hello {
            version: PROTOCOL_VERSION,
            role: Role::Customer,
            site: "bench".into(),
            pairing: Pairing::SecurityKey(key),
        })))
        .await
        .unwrap();
    customer.next().await.unwrap().unwrap(); // welcome
    let mut agent = connect(
        port,
        "/ws/agent",
        &[("Authorization", format!("Bearer {token}"))],
    )
    .await;
    agent
        .send(frame(Message::Hello(Hello {
            version: PROTOCOL_VERSION,
            role: Role::Agent,
            site: String::new(),
            pairing: Pairing::AgentJoin {
                session_id: session,
            },
        })))
        .await
        .unwrap();
    agent.next().await.unwrap().unwrap(); // welcome
    Pair { customer, agent }
}

async fn pair_forwarder(port: u16, i: usize) -> Pair {
    let customer = connect(port, &format!("/pair/{i}/c"), &[]).await;
    let agent = connect(port, &format!("/pair/{i}/a"), &[]).await;
    Pair { customer, agent }
}

/// The agent's sign-in token (the forwarder has no sign-in).
async fn sign_in(server: &Server, relay: bool) -> String {
    if relay {
        let login = http(
            server.port,
            "POST",
            "/api/login",
            None,
            json!({"name": "bench", "password": "bench"}),
        )
        .await;
        login["token"].as_str().unwrap().to_owned()
    } else {
        String::new()
    }
}

async fn setup(server: &Server, token: &str, relay: bool, n: usize) -> Vec<Pair> {
    let port = server.port;
    futures_util::stream::iter(0..n)
        .map(|i| {
            let token = token.to_owned();
            async move {
                if relay {
                    pair_relay(port, &token).await
                } else {
                    pair_forwarder(port, i).await
                }
            }
        })
        // Under the relay's bound on one agent's unused keys (10): a key counts until its
        // customer pairs. Setup is not measured.
        .buffer_unordered(8)
        .collect()
        .await
}

/// The figures of one measured step.
#[derive(Debug, Clone, Default)]
struct Figures {
    offered_per_s: f64,
    frames_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    cpu_us_per_frame: f64,
    /// The kernel's share of the server's CPU time (system over user + system).
    server_sys_share: f64,
    /// Busy share of the server's core (user, system and softirq, whoever ran there; sampled
    /// at the scheduler tick): near 1 means the server's core, not the load generator, is the
    /// limit.
    server_core_busy: f64,
    /// Share of the server's core the hypervisor gave to someone else (steal): this machine's
    /// neighbours, not our code.
    server_core_steal: f64,
    /// Busy share of the load generator's core; its sender spins, so this is near 1 always.
    loader_core_busy: f64,
    /// Steal on the load generator's core.
    loader_core_steal: f64,
    /// The share of wall time the load generator spent working (writing due frames, reading
    /// and parsing): near 1 would mean the load generator is the limit.
    loader_busy: f64,
}

fn dom_frame(seq: u32, step: u64, scheduled_ns: u64) -> Vec<u8> {
    // A mutation frame as the servers see it: kind, seq, then 64 bytes in all. The body is
    // opaque to both; its last 16 bytes carry the step it belongs to and the scheduled send
    // time, so a late frame of an earlier, overloaded step is never counted in (or, as an end
    // marker, cut short) the next one. Written as a raw
    // client WebSocket frame (masked with the all-zero key, which RFC 6455 allows), so the
    // load generator spends as little as possible per frame.
    let mut bytes = Vec::with_capacity(FRAME_BYTES + 6);
    bytes.extend([0x82, 0x80 | FRAME_BYTES as u8, 0, 0, 0, 0]);
    bytes.push(FrameKind::Mutations.code());
    let mut v = seq;
    while v >= 0x80 {
        bytes.push((v as u8) | 0x80);
        v >>= 7;
    }
    bytes.push(v as u8);
    bytes.resize(6 + FRAME_BYTES - 16, 0);
    bytes.extend(step.to_le_bytes());
    bytes.extend(scheduled_ns.to_le_bytes());
    bytes
}

/// Splits complete server frames (unmasked) off the front of `buf`; calls `each` with the
/// payload of each binary frame.
fn parse_frames(buf: &mut Vec<u8>, mut each: impl FnMut(&[u8])) {
    let mut at = 0;
    loop {
        let rest = &buf[at..];
        if rest.len() < 2 {
            break;
        }
        let (len, header) = match rest[1] & 0x7f {
            126 if rest.len() >= 4 => (usize::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
            127 if rest.len() >= 10 => (
                u64::from_be_bytes(rest[2..10].try_into().unwrap()) as usize,
                10,
            ),
            126 | 127 => break,
            n => (usize::from(n), 2),
        };
        if rest.len() < header + len {
            break;
        }
        if rest[0] & 0x0f == 0x2 {
            each(&rest[header..header + len]);
        }
        at += header + len;
    }
    buf.drain(..at);
}

/// Jiffies of one CPU (`cpu0`, `cpu1`) from `/proc/stat`, sampled at the scheduler tick.
#[derive(Debug, Clone, Copy, Default)]
struct Jiffies {
    /// Everything but idle, iowait and steal: it counts the kernel's softirq work for the
    /// loopback too.
    busy: u64,
    /// Time the hypervisor ran something else while this virtual CPU had work.
    steal: u64,
    total: u64,
}

fn cpu_jiffies(cpu: &str) -> Jiffies {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(cpu))
    else {
        return Jiffies::default();
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let field = |i: usize| v.get(i).copied().unwrap_or(0);
    let total: u64 = v.iter().take(8).sum();
    let steal = field(7);
    Jiffies {
        busy: total - field(3) - field(4) - steal,
        steal,
        total,
    }
}

/// The busy and the stolen share of one CPU's time between two readings.
fn shares(before: Jiffies, after: Jiffies) -> (f64, f64) {
    let total = after.total.saturating_sub(before.total);
    if total == 0 {
        return (f64::NAN, f64::NAN);
    }
    let share = |a: u64, b: u64| a.saturating_sub(b) as f64 / total as f64;
    (
        share(after.busy, before.busy),
        share(after.steal, before.steal),
    )
}

/// A future that adds the time spent inside its `poll` to `busy`: the load generator's real
/// work, as opposed to the time its sender spends spinning for the next due frame.
struct Timed<F> {
    inner: std::pin::Pin<Box<F>>,
    busy: std::rc::Rc<std::cell::Cell<Duration>>,
}

impl<F: std::future::Future> std::future::Future for Timed<F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let t = Instant::now();
        let out = self.inner.as_mut().poll(cx);
        self.busy.set(self.busy.get() + t.elapsed());
        out
    }
}

/// Reads and discards what each agent socket still holds until none has received anything
/// for `quiet`: the backlog of an overloaded step, so the next step starts from an idle server
/// and on a frame boundary.
async fn drain(pairs: &mut [RawPair], quiet: Duration) {
    futures_util::future::join_all(pairs.iter_mut().map(|p| async move {
        let mut chunk = [0u8; 4096];
        while let Ok(Ok(n)) = tokio::time::timeout(quiet, p.agent.read(&mut chunk)).await {
            if n == 0 {
                break;
            }
        }
    }))
    .await;
}

/// Sends `rate` frames/s in total across `pairs` for `secs`, open loop, and measures. `step`
/// tags this step's frames; frames of any other step are ignored.
async fn run_step(
    server: &Server,
    pairs: &mut [RawPair],
    step: u64,
    rate: f64,
    secs: f64,
) -> Figures {
    drain(pairs, Duration::from_millis(300)).await;
    let base = Instant::now();
    let samples: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::new()));
    let busy = std::rc::Rc::new(std::cell::Cell::new(Duration::ZERO));
    let measuring_from = Duration::from_secs_f64(0.5);
    let total = Duration::from_secs_f64(secs) + measuring_from;
    let deadline = base + total + Duration::from_secs(2);
    let mut customers = Vec::new();
    let mut readers = Vec::new();
    for p in pairs.iter_mut() {
        customers.push(&mut p.customer);
        let agent = &mut p.agent;
        let samples = samples.clone();
        let reader = async move {
            let mut local = Vec::new();
            let mut buf = Vec::with_capacity(8192);
            let mut done = false;
            while !done {
                let mut chunk = [0u8; 4096];
                let read = tokio::time::timeout_at(deadline.into(), agent.read(&mut chunk)).await;
                let Ok(Ok(n)) = read else { break };
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let now = base.elapsed().as_nanos() as u64;
                parse_frames(&mut buf, |payload| {
                    if payload.len() != FRAME_BYTES || payload[0] != FrameKind::Mutations.code() {
                        return;
                    }
                    let word =
                        |at: usize| u64::from_le_bytes(payload[at..at + 8].try_into().unwrap());
                    if word(FRAME_BYTES - 16) != step {
                        return;
                    }
                    let sent = word(FRAME_BYTES - 8);
                    if sent >= total.as_nanos() as u64 {
                        done = true;
                    } else if Duration::from_nanos(sent) >= measuring_from {
                        local.push(now.saturating_sub(sent));
                    }
                });
            }
            samples.lock().unwrap().extend(local);
        };
        readers.push(Timed {
            inner: Box::pin(reader),
            busy: busy.clone(),
        });
    }
    let sender = async {
        let mut sent: u64 = 0;
        let n = customers.len();
        let mut window_start = None;
        loop {
            let elapsed = base.elapsed();
            if elapsed >= total {
                break;
            }
            if window_start.is_none() && elapsed >= measuring_from {
                window_start = Some((
                    server.cpu_us(),
                    cpu_jiffies("cpu0"),
                    cpu_jiffies("cpu1"),
                    busy.get(),
                    Instant::now(),
                ));
            }
            let due = (elapsed.as_secs_f64() * rate) as u64;
            while sent < due {
                let scheduled = Duration::from_secs_f64(sent as f64 / rate);
                let i = (sent % n as u64) as usize;
                let frame = dom_frame(sent as u32, step, scheduled.as_nanos() as u64);
                // Only the write itself counts as the load generator's work; waiting for a
                // full socket (the server not reading) does not.
                let t = Instant::now();
                let wrote = customers[i].try_write(&frame);
                busy.set(busy.get() + t.elapsed());
                match wrote {
                    Ok(n) if n == frame.len() => {}
                    Ok(n) => customers[i].write_all(&frame[n..]).await.unwrap(),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        customers[i].write_all(&frame).await.unwrap();
                    }
                    Err(e) => panic!("send: {e}"),
                }
                sent += 1;
            }
            // Busy-yield rather than sleep: the timer's 1 ms grain would add up to 1 ms of
            // latency to every frame. The load generator has its own core; the time it spends
            // here is not counted in `loader_busy`.
            tokio::task::yield_now().await;
        }
        let (server0, core0, core1, busy0, t0) = window_start.unwrap_or((
            (0, 0),
            Jiffies::default(),
            Jiffies::default(),
            Duration::ZERO,
            Instant::now(),
        ));
        let window = (
            {
                let (user, sys) = server.cpu_us();
                (user - server0.0, sys - server0.1)
            },
            shares(core0, cpu_jiffies("cpu0")),
            shares(core1, cpu_jiffies("cpu1")),
            (busy.get() - busy0).as_secs_f64() / t0.elapsed().as_secs_f64(),
        );
        // An end marker per session so the readers stop promptly.
        for customer in customers.iter_mut() {
            let frame = dom_frame(0, step, total.as_nanos() as u64);
            customer.write_all(&frame).await.ok();
        }
        window
    };
    let ((server_cpu, server_core, loader_core, loader_busy), ()) = tokio::join!(sender, async {
        futures_util::future::join_all(readers).await;
    });
    let mut samples = std::mem::take(&mut *samples.lock().unwrap());
    samples.sort_unstable();
    let pct = |p: f64| {
        samples
            .get(((samples.len() as f64 * p) as usize).min(samples.len().saturating_sub(1)))
            .map_or(f64::NAN, |&ns| ns as f64 / 1e6)
    };
    Figures {
        offered_per_s: rate,
        frames_per_s: samples.len() as f64 / secs,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        p999_ms: pct(0.999),
        cpu_us_per_frame: (server_cpu.0 + server_cpu.1) as f64 / samples.len().max(1) as f64,
        server_sys_share: server_cpu.1 as f64 / (server_cpu.0 + server_cpu.1).max(1) as f64,
        server_core_busy: server_core.0,
        server_core_steal: server_core.1,
        loader_core_busy: loader_core.0,
        loader_core_steal: loader_core.1,
        loader_busy,
    }
}

/// A pair past its handshake, as raw TCP streams.
struct RawPair {
    customer: TcpStream,
    agent: TcpStream,
}

fn raw(pair: Pair) -> RawPair {
    let plain = |ws: Socket| match ws.into_inner() {
        MaybeTlsStream::Plain(tcp) => tcp,
        _ => unreachable!("plain TCP only"),
    };
    RawPair {
        customer: plain(pair.customer),
        agent: plain(pair.agent),
    }
}

struct Results {
    rss_kib_per_idle_session: f64,
    latency: Figures,
    max: Figures,
}

async fn measure(which: &str, idle_sessions: usize, hot_sessions: usize, secs: f64) -> Results {
    let server = Server::start(which);
    let relay = which == "relay";
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Read after the agent's sign-in: checking its password takes Argon2's 19 MiB for a
    // moment, which the allocator keeps mapped; that is no session's cost, and it spread
    // 2 KiB over each of 9,000 sessions.
    let token = sign_in(&server, relay).await;
    let rss_before = server.rss_kib();
    let pairs = setup(&server, &token, relay, idle_sessions).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = server.rss_kib();
    let rss_per = (rss_after.saturating_sub(rss_before)) as f64 / idle_sessions as f64;
    eprintln!("{which}: {idle_sessions} idle sessions, RSS {rss_before} → {rss_after} KiB");
    if relay && std::env::var("TMP_HOLD").is_ok() {
        eprintln!("HOLDING");
        tokio::time::sleep(Duration::from_secs(40)).await;
    } //TMP
    if std::env::var("RELAY_BENCH_IDLE_ONLY").is_ok_and(|v| v == "1") {
        return Results {
            rss_kib_per_idle_session: rss_per,
            latency: Figures::default(),
            max: Figures::default(),
        };
    }

    // Let the relay's join-time frames (presence, resync requests) arrive before going raw.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut pairs: Vec<RawPair> = pairs.into_iter().map(raw).collect();
    let hot = &mut pairs[..hot_sessions];
    let latency_rate = std::env::var("RELAY_BENCH_LATENCY_RATE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50_000.0);
    let latency = run_step(&server, hot, 0, latency_rate, secs).await;
    eprintln!("{which}: latency step {latency:?}");
    // Sweep: the highest rate that is still delivered in full (≥ 95%) with p99 under 50 ms.
    let mut max = Figures::default();
    // Fine steps where this machine's servers give out (20k to 50k on a slow day, 60k to 130k
    // on a fast one), coarse above.
    let sweep = !std::env::var("RELAY_BENCH_NO_SWEEP").is_ok_and(|v| v == "1");
    for (step, rate) in (1..).zip([
        10_000.0, 20_000.0, 25_000.0, 30_000.0, 35_000.0, 40_000.0, 45_000.0, 50_000.0, 60_000.0,
        70_000.0, 80_000.0, 90_000.0, 100_000.0, 110_000.0, 120_000.0, 130_000.0, 160_000.0,
        200_000.0,
    ]) {
        if !sweep {
            break;
        }
        let step = run_step(&server, hot, step, rate, secs.min(2.0)).await;
        eprintln!("{which}: sweep {step:?}");
        if step.frames_per_s < 0.95 * rate || step.p99_ms >= 50.0 {
            break;
        }
        max = step;
    }
    Results {
        rss_kib_per_idle_session: rss_per,
        latency,
        max,
    }
}

fn figures_json(f: &Figures, rss: f64) -> Value {
    json!({
        "offered_per_s": f.offered_per_s.round(),
        "frames_per_s": f.frames_per_s.round(),
        "p50_ms": (f.p50_ms * 1000.0).round() / 1000.0,
        "p99_ms": (f.p99_ms * 1000.0).round() / 1000.0,
        "p999_ms": (f.p999_ms * 1000.0).round() / 1000.0,
        "cpu_us_per_frame": (f.cpu_us_per_frame * 100.0).round() / 100.0,
        "server_sys_share": (f.server_sys_share * 100.0).round() / 100.0,
        "server_core_busy": (f.server_core_busy * 100.0).round() / 100.0,
        "server_core_steal": (f.server_core_steal * 100.0).round() / 100.0,
        "loader_core_busy": (f.loader_core_busy * 100.0).round() / 100.0,
        "loader_core_steal": (f.loader_core_steal * 100.0).round() / 100.0,
        "loader_busy": (f.loader_busy * 100.0).round() / 100.0,
        "rss_kib_per_idle_session": (rss * 10.0).round() / 10.0,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "serve-child") {
        serve_child(&args[i + 1]);
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    rlimit::increase_nofile_limit(200_000).ok();
    let quick = std::env::var("RELAY_BENCH_QUICK").is_ok_and(|v| v == "1");
    let secs: f64 = std::env::var("RELAY_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if quick { 1.0 } else { 4.0 });
    let (idle, hot) = if quick { (1_000, 200) } else { (9_000, 1_000) };
    if cores() >= 2 {
        if let Some(core) = core_affinity::get_core_ids().and_then(|c| c.get(1).copied()) {
            core_affinity::set_for_current(core);
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // What the whole machine did in the second before the run: the cores are shared.
        let before = cpu_jiffies("cpu");
        tokio::time::sleep(Duration::from_secs(1)).await;
        let machine_busy = shares(before, cpu_jiffies("cpu")).0 * cores() as f64;
        if machine_busy > 0.25 {
            eprintln!("relay bench: {machine_busy:.2} cores were busy before the run");
        }
        let floor = measure("forwarder", idle, hot, secs).await;
        let relay = measure("relay", idle, hot, secs).await;
        let ratio = |r: &Figures, f: &Figures| {
            ((r.cpu_us_per_frame / f.cpu_us_per_frame) * 100.0).round() / 100.0
        };
        let round2 = |x: f64| (x * 100.0).round() / 100.0;
        let line = |scenario: &str, r: &Figures, f: &Figures, sessions: usize| {
            let mut v = figures_json(r, relay.rss_kib_per_idle_session);
            v["scenario"] = json!(scenario);
            v["sessions"] = json!(sessions);
            v["machine_busy_cores_before"] = json!(round2(machine_busy));
            // A baseline that could not carry the rate itself is no floor to divide by.
            let saturated = f.frames_per_s < 0.95 * f.offered_per_s || f.p99_ms >= 50.0;
            v["baseline_saturated"] = json!(saturated);
            if saturated {
                eprintln!(
                    "relay bench: the forwarder was saturated at {} frames/s (p99 {:.1} ms): \
                     no {scenario} ratio",
                    f.offered_per_s, f.p99_ms
                );
            }
            let refuse = |x: f64| if saturated { Value::Null } else { json!(round2(x)) };
            v["ratio_cpu_per_frame"] = refuse(ratio(r, f));
            if scenario == "latency" {
                v["ratio_p50"] = refuse(r.p50_ms / f.p50_ms);
                v["ratio_p99"] = refuse(r.p99_ms / f.p99_ms);
            }
            v["forwarder"] = figures_json(f, floor.rss_kib_per_idle_session);
            println!("{v}");
        };
        let idle_line = json!({
            "scenario": "idle",
            "sessions": idle,
            "rss_kib_per_idle_session": (relay.rss_kib_per_idle_session * 10.0).round() / 10.0,
                "frames_per_s": 0, "p50_ms": null, "p99_ms": null, "p999_ms": null,
            "cpu_us_per_frame": null, "ratio_cpu_per_frame": null,
            "ratio_rss_per_idle_session": round2(relay.rss_kib_per_idle_session / floor.rss_kib_per_idle_session),
            "machine_busy_cores_before": round2(machine_busy),
            "forwarder": { "rss_kib_per_idle_session": (floor.rss_kib_per_idle_session * 10.0).round() / 10.0 },
        });
        println!("{idle_line}");
        if !std::env::var("RELAY_BENCH_IDLE_ONLY").is_ok_and(|v| v == "1") {
            line("latency", &relay.latency, &floor.latency, hot);
            line("max", &relay.max, &floor.max, hot);
        }
    });
}
