//! `make bench-hostile`: one legitimate customer and agent, co-browsing and chatting, first
//! alone and then while 200 hostile clients (each from an address of its own) flood sign-in,
//! guest sign-up, pairing guesses and uploads as fast as the relay answers them. Prints the
//! legitimate side's latencies (a customer's frame reaching the agent; a guest's chat message
//! reaching the agent's event stream) with and without the flood and their ratio (target
//! ≤ 2×), the relay's peak memory, the disk the flood added (target: bounded by the quotas), and
//! what the flood was answered. Real attackers are on other machines; here the flood runs on
//! the relay's cores, in a runtime of its own whose threads have a lower priority (nice 10) so
//! that its own CPU competes less with the relay's, and the legitimate pair runs on the main
//! runtime. The relay's CPU during the flood and the flood's request rate are printed, as is
//! the machine's load before the run; a busy machine is called out.
//!
//! Set `RELAY_BIN` to the release relay (`make bench-hostile` does); `HOSTILE_QUICK=1` for a
//! short run.

use std::{
    collections::BTreeMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use e2e::Relay;
use futures_util::{SinkExt, StreamExt};
use protocol::{
    Frame, Hello, Limits, Message, Mutation, MutationBatch, Node, NodeData, Pairing, Role,
    Snapshot, Viewport, PROTOCOL_VERSION,
};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, http::HeaderValue, Message as Ws},
    MaybeTlsStream, WebSocketStream,
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const HOSTILE: usize = 200;
const UPLOAD_BYTES: usize = 1 << 20;

fn quick() -> bool {
    std::env::var_os("HOSTILE_QUICK").is_some()
}

/// An address of `127/8` for hostile client `i`: each on a /24 of its own.
fn hostile_ip(i: usize) -> IpAddr {
    let i = u8::try_from(i % 250).unwrap_or(0);
    IpAddr::V4(Ipv4Addr::new(127, 100 + i / 100, i % 100, 1))
}

fn http_from(ip: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_default()
}

async fn socket_from(
    relay: &Relay,
    ip: IpAddr,
    path: &str,
    bearer: Option<&str>,
) -> Result<Socket> {
    let mut request =
        format!("{}{path}", relay.base.replacen("http", "ws", 1)).into_client_request()?;
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_str(&relay.base)?);
    if let Some(token) = bearer {
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}"))?,
        );
    }
    let addr: SocketAddr = relay.base.trim_start_matches("http://").parse()?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(ip, 0))?;
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true).ok();
    let (ws, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await?;
    Ok(ws)
}

async fn send(ws: &mut Socket, seq: u32, message: Message) -> Result<()> {
    ws.send(Ws::Binary(Frame::new(seq, message).encode()?.into()))
        .await?;
    Ok(())
}

/// The next protocol message the socket receives.
async fn recv(ws: &mut Socket) -> Result<Message> {
    while let Some(item) = ws.next().await {
        if let Ws::Binary(bytes) = item? {
            return Ok(Frame::decode(&bytes, &Limits::default())?.message);
        }
    }
    bail!("closed")
}

fn hello(role: Role, pairing: Pairing) -> Message {
    Message::Hello(Hello {
        version: PROTOCOL_VERSION,
        role,
        site: "demo".into(),
        pairing,
    })
}

/// The legitimate pair: a co-browse session (customer and agent sockets) and a guest whose
/// messages the agent's event stream shows.
struct Legit {
    customer: Socket,
    agent: Socket,
    seq: u32,
    http: reqwest::Client,
    guest: String,
    stream: reqwest::Response,
    relay_base: String,
    sent: u64,
}

async fn legit(relay: &Relay) -> Result<Legit> {
    let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
    let http = http_from(ip);
    let login: Value = http
        .post(relay.url("/api/login"))
        .json(&json!({"name": "agent", "password": "agent"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["token"].as_str().context("token")?.to_owned();
    let started: Value = http
        .post(relay.url("/api/cobrowse/sessions"))
        .bearer_auth(&token)
        .json(&json!({"interaction": "voice", "interaction_id": "call-legit"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let key = started["security_key"].as_str().context("key")?.to_owned();
    let session = started["session_id"]
        .as_str()
        .context("session")?
        .to_owned();
    let mut customer = socket_from(relay, ip, "/ws/customer?site=demo", None).await?;
    send(
        &mut customer,
        0,
        hello(Role::Customer, Pairing::SecurityKey(key)),
    )
    .await?;
    let mut agent = socket_from(relay, ip, "/ws/agent", Some(&token)).await?;
    send(
        &mut agent,
        0,
        hello(
            Role::Agent,
            Pairing::AgentJoin {
                session_id: session,
            },
        ),
    )
    .await?;
    for ws in [&mut customer, &mut agent] {
        match recv(ws).await? {
            Message::Welcome(_) => {}
            other => bail!("no welcome: {other:?}"),
        }
    }
    let snapshot = Message::Snapshot(Snapshot {
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
    });
    send(&mut customer, 1, snapshot).await?;
    loop {
        if let Message::Snapshot(_) = recv(&mut agent).await? {
            break;
        }
    }
    let guest: Value = http
        .post(relay.url("/api/messaging/guest"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let guest = guest["token"].as_str().context("guest token")?.to_owned();
    let stream = http
        .get(relay.url("/api/messaging/stream"))
        .bearer_auth(&token)
        .timeout(Duration::from_secs(3600))
        .send()
        .await?
        .error_for_status()?;
    Ok(Legit {
        customer,
        agent,
        seq: 2,
        http,
        guest,
        stream,
        relay_base: relay.base.clone(),
        sent: 0,
    })
}

impl Legit {
    /// One customer frame to the agent: the time it took.
    async fn frame(&mut self) -> Result<Duration> {
        let batch = Message::Mutations(MutationBatch {
            ops: vec![Mutation::Text {
                node: 1,
                text: format!("tick {}", self.seq),
            }],
        });
        let at = Instant::now();
        send(&mut self.customer, self.seq, batch).await?;
        self.seq += 1;
        loop {
            if let Message::Mutations(_) = recv(&mut self.agent).await? {
                return Ok(at.elapsed());
            }
        }
    }

    /// One guest message to the agent's event stream: the time it took.
    async fn chat(&mut self) -> Result<Duration> {
        self.sent += 1;
        let marker = format!("legit-{}-{}", self.sent, std::process::id());
        let at = Instant::now();
        let answer = self
            .http
            .post(format!("{}/api/messaging/guest/messages", self.relay_base))
            .header("X-Guest-Token", &self.guest)
            .json(&json!({"text": marker}))
            .send()
            .await?;
        if !answer.status().is_success() {
            bail!("the legitimate guest was refused: {}", answer.status());
        }
        let mut seen = String::new();
        while let Some(chunk) = self.stream.chunk().await? {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains(&marker) {
                return Ok(at.elapsed());
            }
            if seen.len() > 1 << 20 {
                seen.clear();
            }
        }
        bail!("the agent's stream ended")
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

struct Figures {
    frame_p50: f64,
    frame_p99: f64,
    chat_p50: f64,
    chat_p99: f64,
    frames: usize,
    chats: usize,
    errors: Vec<String>,
}

/// Runs the legitimate pair for `length`: a frame every 20 ms, a chat message every 600 ms.
async fn measure(pair: &mut Legit, length: Duration) -> Figures {
    let (mut frames, mut chats, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let end = Instant::now() + length;
    let mut next_chat = Instant::now();
    while Instant::now() < end {
        match tokio::time::timeout(Duration::from_secs(10), pair.frame()).await {
            Ok(Ok(took)) => frames.push(took),
            Ok(Err(e)) => errors.push(format!("frame: {e}")),
            Err(_) => errors.push("frame: no answer in 10 s".into()),
        }
        if Instant::now() >= next_chat {
            next_chat = Instant::now() + Duration::from_millis(600);
            match tokio::time::timeout(Duration::from_secs(10), pair.chat()).await {
                Ok(Ok(took)) => chats.push(took),
                Ok(Err(e)) => errors.push(format!("chat: {e}")),
                Err(_) => errors.push("chat: no answer in 10 s".into()),
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    frames.sort();
    chats.sort();
    Figures {
        frame_p50: percentile(&frames, 0.5),
        frame_p99: percentile(&frames, 0.99),
        chat_p50: percentile(&chats, 0.5),
        chat_p99: percentile(&chats, 0.99),
        frames: frames.len(),
        chats: chats.len(),
        errors,
    }
}

/// What the flood was answered, by attack and status.
#[derive(Default)]
struct Tally(Mutex<BTreeMap<(&'static str, String), u64>>);

impl Tally {
    fn note(&self, attack: &'static str, outcome: impl Into<String>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((attack, outcome.into())).or_default() += 1;
    }
}

fn status_of(r: &reqwest::Result<reqwest::Response>) -> String {
    match r {
        Ok(r) => r.status().as_u16().to_string(),
        Err(e) if e.is_timeout() => "timeout".into(),
        Err(_) => "error".into(),
    }
}

async fn sign_in_flood(relay: String, ip: IpAddr, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let http = http_from(ip);
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let name = if n % 2 == 0 {
            "agent".to_owned()
        } else {
            format!("guess{n}")
        };
        let r = http
            .post(format!("{relay}/api/login"))
            .json(&json!({"name": name, "password": format!("wrong{n}")}))
            .send()
            .await;
        tally.note("sign-in", status_of(&r));
    }
}

async fn guest_flood(relay: String, ip: IpAddr, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let http = http_from(ip);
    while !stop.load(Ordering::Relaxed) {
        let r = http
            .post(format!("{relay}/api/messaging/guest"))
            .send()
            .await;
        tally.note("guest sign-up", status_of(&r));
        let Ok(r) = r else { continue };
        let Ok(body) = r.json::<Value>().await else {
            continue;
        };
        let Some(token) = body["token"].as_str() else {
            continue;
        };
        let r = http
            .post(format!("{relay}/api/messaging/guest/messages"))
            .header("X-Guest-Token", token)
            .json(&json!({"text": "spam"}))
            .send()
            .await;
        tally.note("guest first message", status_of(&r));
    }
}

async fn upload_flood(relay: String, ip: IpAddr, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let http = http_from(ip);
    let body = vec![0x89u8; UPLOAD_BYTES];
    let mut token: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        let guest = match &token {
            Some(t) => t.clone(),
            None => {
                let minted = async {
                    let v: Value = http
                        .post(format!("{relay}/api/messaging/guest"))
                        .send()
                        .await
                        .ok()?
                        .json()
                        .await
                        .ok()?;
                    let t = v["token"].as_str()?.to_owned();
                    http.post(format!("{relay}/api/messaging/guest/messages"))
                        .header("X-Guest-Token", &t)
                        .json(&json!({"text": "hello"}))
                        .send()
                        .await
                        .ok()?;
                    Some(t)
                }
                .await;
                match minted {
                    Some(t) => {
                        token = Some(t.clone());
                        t
                    }
                    None => {
                        tally.note("upload", "no guest");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                }
            }
        };
        let r = http
            .post(format!(
                "{relay}/api/messaging/guest/attachments?name=big.png"
            ))
            .header("X-Guest-Token", &guest)
            .header("Content-Type", "image/png")
            .body(body.clone())
            .send()
            .await;
        let status = status_of(&r);
        // A full quota is the guest's: the attacker starts over with a new one.
        if status == "413" {
            token = None;
        }
        tally.note("upload", status);
    }
}

async fn pairing_flood(relay: Arc<Relay>, ip: IpAddr, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let key = format!("{:07}", (3_000_000u64 + n * 7919) % 10_000_000);
        let outcome = async {
            let mut ws = socket_from(&relay, ip, "/ws/customer?site=demo", None).await?;
            send(&mut ws, 0, hello(Role::Customer, Pairing::SecurityKey(key))).await?;
            match recv(&mut ws).await? {
                Message::Welcome(_) => Ok::<_, anyhow::Error>("PAIRED".to_owned()),
                Message::Error(e) => Ok(format!("{:?}", e.code)),
                other => Ok(format!("{other:?}")),
            }
        }
        .await;
        tally.note(
            "pairing guess",
            outcome.unwrap_or_else(|e| {
                format!(
                    "error: {}",
                    e.to_string().chars().take(40).collect::<String>()
                )
            }),
        );
    }
}

fn disk_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        total += if meta.is_dir() {
            disk_bytes(&entry.path())
        } else {
            meta.len()
        };
    }
    total
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn print_figures(label: &str, f: &Figures) {
    println!(
        "{}",
        json!({
            "phase": label,
            "frame_p50_ms": (f.frame_p50 * 100.0).round() / 100.0,
            "frame_p99_ms": (f.frame_p99 * 100.0).round() / 100.0,
            "chat_p50_ms": (f.chat_p50 * 100.0).round() / 100.0,
            "chat_p99_ms": (f.chat_p99 * 100.0).round() / 100.0,
            "frames": f.frames,
            "chats": f.chats,
            "legit_errors": f.errors.len(),
        })
    );
    for e in f.errors.iter().take(5) {
        println!("  legitimate side error: {e}");
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let (calm, flood_for) = if quick() {
        (Duration::from_secs(4), Duration::from_secs(6))
    } else {
        (Duration::from_secs(10), Duration::from_secs(20))
    };
    let load_before = load_average();
    let relay = Arc::new(Relay::start(&[]).await?);
    let mut pair = legit(&relay).await?;
    // Warm up, then the same run without the flood.
    measure(&mut pair, Duration::from_secs(1)).await;
    let baseline = measure(&mut pair, calm).await;
    print_figures("no flood", &baseline);

    let disk_before = disk_bytes(relay.data_dir());
    let rss_before = relay.rss_kib().unwrap_or(0);
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let flood = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(|| {
            let me = Some(rustix::thread::gettid());
            if rustix::process::setpriority_process(me, 10).is_err() {
                eprintln!("could not lower a flood thread's priority");
            }
        })
        .build()?;
    let mut tasks = Vec::new();
    let cpu_before = relay.cpu_time().unwrap_or_default();
    let flood_started = Instant::now();
    for i in 0..HOSTILE {
        let (ip, stop, tally, base) = (
            hostile_ip(i),
            stop.clone(),
            tally.clone(),
            relay.base.clone(),
        );
        tasks.push(match i % 4 {
            0 => flood.spawn(sign_in_flood(base, ip, stop, tally)),
            1 => flood.spawn(guest_flood(base, ip, stop, tally)),
            2 => flood.spawn(pairing_flood(relay.clone(), ip, stop, tally)),
            _ => flood.spawn(upload_flood(base, ip, stop, tally)),
        });
    }
    let peak = Arc::new(AtomicU64::new(rss_before));
    let sampler = {
        let (relay, peak, stop) = (relay.clone(), peak.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(relay.rss_kib().unwrap_or(0), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    // Let the flood reach its pace, then measure under it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let flooded = measure(&mut pair, flood_for).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(25), task).await;
    }
    sampler.await.ok();
    let flood_lasted = flood_started.elapsed();
    let relay_cpu = relay
        .cpu_time()
        .unwrap_or_default()
        .saturating_sub(cpu_before);
    flood.shutdown_background();
    print_figures("flood", &flooded);
    let disk_after = disk_bytes(relay.data_dir());

    let ratio = |a: f64, b: f64| (a / b * 100.0).round() / 100.0;
    println!(
        "{}",
        json!({
            "figure": "legitimate latency under flood / without",
            "frame_p50_ratio": ratio(flooded.frame_p50, baseline.frame_p50),
            "frame_p99_ratio": ratio(flooded.frame_p99, baseline.frame_p99),
            "chat_p50_ratio": ratio(flooded.chat_p50, baseline.chat_p50),
            "chat_p99_ratio": ratio(flooded.chat_p99, baseline.chat_p99),
            "target": "<= 2",
        })
    );
    println!(
        "{}",
        json!({
            "figure": "relay resources",
            "rss_before_mib": rss_before / 1024,
            "rss_peak_mib": peak.load(Ordering::Relaxed) / 1024,
            "disk_added_by_flood_mib": (disk_after.saturating_sub(disk_before)) as f64 / 1048576.0,
            "hostile_clients": HOSTILE,
            "relay_cores_busy_during_flood": (relay_cpu.as_secs_f64() / flood_lasted.as_secs_f64() * 100.0).round() / 100.0,
        })
    );
    let answered = tally.0.lock().unwrap_or_else(|p| p.into_inner());
    let requests: u64 = answered.values().sum();
    println!(
        "{}",
        json!({
            "figure": "flood",
            "requests": requests,
            "requests_per_sec": (requests as f64 / flood_lasted.as_secs_f64()).round(),
        })
    );
    let mut by_attack: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for ((attack, outcome), n) in answered.iter() {
        by_attack
            .entry(attack)
            .or_default()
            .push(format!("{outcome}: {n}"));
    }
    for (attack, outcomes) in by_attack {
        println!("flood {attack}: {}", outcomes.join(", "));
    }
    if answered.keys().any(|(_, outcome)| outcome == "PAIRED") {
        println!("A GUESSED KEY PAIRED: the pairing bound is broken");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    if load_before > cores * 0.5 {
        println!(
            "the machine was busy before the run (load {load_before:.2} on {cores} cores): the ratios mean little"
        );
    } else {
        println!("load before the run: {load_before:.2} on {cores} cores; the attackers share these cores with the relay");
    }
    Ok(())
}
