//! Test harness: a real relay on `127.0.0.1:0` with a real SQLite file in a temp dir, an
//! HTTP client (reqwest), and WebSocket peers that speak the wire protocol.
//!
//! With `RELAY_TEST_ENGINE=postgres` the relay keeps every table on PostgreSQL instead (at
//! `RELAY_TEST_POSTGRES`, default 127.0.0.1:5432 database `test`), each test's relay in a
//! schema of its own: `make test` runs the suites that do not read the SQLite file directly
//! once more that way.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod sse;

use std::{net::SocketAddr, path::Path, time::Duration};

use futures_util::{SinkExt, StreamExt};
use protocol::*;
use relay::{
    accounts, sites,
    store::{Options, Store, Target},
    Config,
};
use serde_json::Value;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::oneshot,
    task::JoinHandle,
};
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, http::HeaderValue, Message as Ws},
    MaybeTlsStream, WebSocketStream,
};

pub const SITE: &str = "shop";
pub const ORIGIN: &str = "http://shop.test";
pub const OTHER_SITE: &str = "other";
pub const OTHER_ORIGIN: &str = "http://other.test";

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// Whether this run's relays keep their tables on PostgreSQL (`RELAY_TEST_ENGINE=postgres`).
pub fn on_postgres() -> bool {
    std::env::var("RELAY_TEST_ENGINE").is_ok_and(|e| e == "postgres")
}

/// The PostgreSQL URL tests use: `RELAY_TEST_POSTGRES`, else the local server's `test`
/// database as `postgres` or `root` (whichever the machine has).
pub fn pg_url() -> String {
    std::env::var("RELAY_TEST_POSTGRES").unwrap_or_else(|_| {
        let user = if postgres::Client::connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test",
            postgres::NoTls,
        )
        .is_ok()
        {
            "postgres"
        } else {
            "root"
        };
        format!("postgres://{user}@127.0.0.1:5432/test")
    })
}

/// The store of the relay whose files are in `dir`: its SQLite file, or on PostgreSQL a
/// schema named after the directory (so a restart finds the same tables).
pub fn target_in(dir: &Path) -> Target {
    if !on_postgres() {
        return Target::Sqlite(dir.join("relay.db"));
    }
    postgres_in(dir)
}

/// The PostgreSQL schema of the relay whose files are in `dir`, whatever the run's engine.
pub fn postgres_in(dir: &Path) -> Target {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let url = URL.get_or_init(|| {
        // Not on a tokio worker: the blocking client would panic there.
        std::thread::spawn(|| {
            let url = pg_url();
            drop_stale_schemas(&url);
            url
        })
        .join()
        .unwrap()
    });
    let name: String = dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    Target::Postgres {
        url: url.clone(),
        schema: Some(format!(
            "relay_test_{}_{}",
            std::process::id(),
            name.to_lowercase()
        )),
    }
}

/// The store a relay started with `config` runs on, for a tweak that seeds it.
pub fn config_target(config: &Config) -> Target {
    match &config.postgres {
        Some(url) => Target::Postgres {
            url: url.clone(),
            schema: config.postgres_schema.clone(),
        },
        None => Target::Sqlite(config.db_path.clone()),
    }
}

/// Drops the schemas earlier test processes left (their process is gone), so the shared
/// database holds at most the running processes' tables.
fn drop_stale_schemas(url: &str) {
    let Ok(mut client) = postgres::Client::connect(url, postgres::NoTls) else {
        return;
    };
    let Ok(rows) = client.query(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'relay\\_test\\_%'",
        &[],
    ) else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let pid = name.split('_').nth(2).unwrap_or("");
        if pid.is_empty() || !Path::new("/proc").join(pid).exists() {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"));
        }
    }
}

pub struct Relay {
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Relay {
    /// Starts a relay with the test site and agents `alice` and `bob` (password `pw`).
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> Relay {
        Relay::launch(Relay::seeded().await, tweak).await
    }

    /// Starts a relay as [`Relay::start`] does, with `rules` (the JSON an admin saves) stored
    /// for the test site.
    pub async fn with_rules(rules: Value) -> Relay {
        let dir = Relay::seeded().await;
        let s = Store::open_async(target_in(dir.path()), Options::command())
            .await
            .unwrap();
        let rules = sites::SiteRules::from_json(&rules).unwrap();
        s.write(move |c| sites::rules_save(c, SITE, &rules, "test"))
            .await
            .unwrap();
        drop(s);
        Relay::launch(dir, |_| {}).await
    }

    /// A temp dir whose `relay.db` holds the test site and agents, for a relay to run on.
    pub async fn seeded() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        Relay::seed(target_in(dir.path())).await;
        dir
    }

    /// `n` relays as the nodes of one cluster: one PostgreSQL schema (seeded as
    /// [`Relay::seeded`] does), one NATS server (`RELAY_TEST_NATS`, default 127.0.0.1:4222),
    /// nodes `n0`, `n1`, ..., each with `tweak` applied; `ada` (password `pw`) holds every role.
    pub async fn cluster(n: usize, tweak: impl Fn(&mut Config)) -> Vec<Relay> {
        let first = tempfile::tempdir().unwrap();
        let Target::Postgres { url, schema } = postgres_in(first.path()) else {
            unreachable!()
        };
        let target = Target::Postgres {
            url: url.clone(),
            schema: schema.clone(),
        };
        Relay::seed(target.clone()).await;
        // And `ada`, who holds every role.
        let s = Store::open_async(target, Options::command()).await.unwrap();
        let hash = accounts::hash_password("pw").unwrap();
        s.write(move |c| {
            accounts::agent_upsert(c, "ada", &hash)?;
            let all = relay::policy::Roles::of(&[
                relay::policy::Role::Agent,
                relay::policy::Role::Supervisor,
                relay::policy::Role::Admin,
            ]);
            accounts::roles_set(c, "ada", all)
        })
        .await
        .unwrap();
        drop(s);
        let nats =
            std::env::var("RELAY_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
        let mut nodes = Vec::new();
        let mut dirs = vec![first];
        dirs.extend((1..n).map(|_| tempfile::tempdir().unwrap()));
        for (i, dir) in dirs.into_iter().enumerate() {
            let (url, schema, nats) = (url.clone(), schema.clone(), nats.clone());
            let node = Relay::launch(dir, |c| {
                c.postgres = Some(url);
                c.postgres_schema = schema.clone();
                c.nats_url = Some(nats);
                // Unique to this cluster: the test binaries' clusters share one NATS server,
                // and a node takes piped co-browse connections on a subject named by its id.
                c.node_id = Some(format!("n{i}-{}", schema.as_deref().unwrap_or("x")));
                tweak(c);
            })
            .await;
            nodes.push(node);
        }
        nodes
    }

    /// Puts the test site and agents in `target`.
    async fn seed(target: Target) {
        let s = Store::open_async(target, Options::command()).await.unwrap();
        let hash = accounts::hash_password("pw").unwrap();
        s.write(move |c| {
            accounts::agent_upsert(c, "alice", &hash)?;
            accounts::agent_upsert(c, "bob", &hash)?;
            sites::site_add(c, SITE, &[ORIGIN.to_owned()])?;
            sites::site_add(c, OTHER_SITE, &[OTHER_ORIGIN.to_owned()])
        })
        .await
        .unwrap();
        drop(s);
    }

    /// A relay that runs elsewhere (the binary, in a child process) on `dir`'s database: the
    /// same helpers talk to it; it is not stopped through this handle.
    pub fn elsewhere(addr: SocketAddr, dir: tempfile::TempDir) -> Relay {
        Relay {
            addr,
            _dir: dir,
            stop: None,
            task: None,
        }
    }

    /// Stops the relay and starts a new one on the same database and files: a restart.
    pub async fn restart(mut self, tweak: impl FnOnce(&mut Config)) -> Relay {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(WAIT, self.task.take().unwrap())
            .await
            .unwrap()
            .unwrap();
        Relay::launch(self._dir, tweak).await
    }

    async fn launch(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> Relay {
        let mut config = Config {
            db_path: dir.path().join("relay.db"),
            www_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        if let Target::Postgres { url, schema } = target_in(dir.path()) {
            config.postgres = Some(url);
            config.postgres_schema = schema;
        }
        tweak(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            relay::run(listener, config, async {
                stopped.await.ok();
            })
            .await
            .unwrap();
        });
        Relay {
            addr,
            _dir: dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The relay's SQLite file, for tests that read or tamper with it directly.
    pub fn db_path(&self) -> std::path::PathBuf {
        self._dir.path().join("relay.db")
    }

    pub async fn stop(mut self) {
        self.stop.take().unwrap().send(()).unwrap();
        tokio::time::timeout(WAIT, self.task.take().unwrap())
            .await
            .unwrap()
            .unwrap();
    }

    /// One request with a JSON body; returns status and JSON body (or `Null`).
    pub async fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, text) = self.request(method, path, headers, body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// One request with a JSON body (empty without one); returns status and body text.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = reqwest::Client::new()
            .request(method, format!("http://{}{path}", self.addr))
            .timeout(WAIT)
            .header("Content-Type", "application/json")
            .body(body.map(|b| b.to_string()).unwrap_or_default());
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    pub async fn login(&self, name: &str) -> String {
        let (status, body) = self
            .http(
                "POST",
                "/api/login",
                &[],
                Some(serde_json::json!({"name": name, "password": "pw"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// An authenticated agent call.
    pub async fn api(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let auth = format!("Bearer {token}");
        self.http(method, path, &[("Authorization", &auth)], body)
            .await
    }

    /// Starts a call-flow session; returns (session id, security key).
    pub async fn start_key(
        &self,
        token: &str,
        interaction: &str,
        interaction_id: &str,
    ) -> (String, String) {
        let (status, body) = self
            .api(
                token,
                "POST",
                "/api/cobrowse/sessions",
                Some(serde_json::json!({"interaction": interaction, "interaction_id": interaction_id})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        (
            body["session_id"].as_str().unwrap().to_owned(),
            body["security_key"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn audit(&self, token: &str, session: &str) -> Vec<(String, String)> {
        let (status, body) = self
            .api(
                token,
                "GET",
                &format!("/api/cobrowse/sessions/{session}/audit"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body.as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["event"].as_str().unwrap().to_owned(),
                    e["detail"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Opens a customer socket from `origin` for `site` (no hello yet).
    pub async fn customer_socket(&self, site: &str, origin: &str) -> Result<Peer, u16> {
        let mut req = format!("ws://{}/ws/customer?site={site}", self.addr)
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("Origin", HeaderValue::from_str(origin).unwrap());
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => Ok(Peer { ws, seq: 0 }),
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("{e}"),
        }
    }

    /// A customer that has sent its hello with `pairing`.
    pub async fn customer(&self, pairing: Pairing) -> Peer {
        let mut peer = self.customer_socket(SITE, ORIGIN).await.unwrap();
        peer.hello(Role::Customer, SITE, pairing).await;
        peer
    }

    /// The upgrade request of a WebSocket to `path` signed in as `token`'s agent.
    fn signed_in_request(
        &self,
        path: &str,
        token: &str,
    ) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        let mut req = format!("ws://{}{path}", self.addr)
            .into_client_request()
            .unwrap();
        req.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        req
    }

    /// A WebSocket to `path` signed in as `token`'s agent.
    pub async fn signed_in_socket(
        &self,
        path: &str,
        token: &str,
    ) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        let req = self.signed_in_request(path, token);
        tokio_tungstenite::connect_async(req).await.unwrap().0
    }

    pub async fn agent_socket(&self, token: &str) -> Peer {
        let ws = self.signed_in_socket("/ws/agent", token).await;
        Peer { ws, seq: 0 }
    }

    /// The HTTP status a refused WebSocket upgrade of `path` as `token` got (101 if it opened).
    pub async fn upgrade_status(&self, path: &str, token: &str) -> u16 {
        let req = self.signed_in_request(path, token);
        match tokio_tungstenite::connect_async(req).await {
            Ok(_) => 101,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                response.status().as_u16()
            }
            Err(e) => panic!("upgrading {path}: {e}"),
        }
    }

    /// A supervisor observing `session` (`/ws/observe`), past its welcome.
    pub async fn observer(&self, token: &str, session: &str) -> Peer {
        let path = format!("/ws/observe?session={session}");
        let mut peer = Peer {
            ws: self.signed_in_socket(&path, token).await,
            seq: 0,
        };
        let pairing = Pairing::Observe {
            session_id: session.to_owned(),
        };
        peer.hello(Role::Agent, "", pairing).await;
        let welcome = peer.recv().await;
        assert!(
            matches!(welcome.message, Message::Welcome(_)),
            "{welcome:?}"
        );
        peer
    }

    /// An agent joined to `session`, past its welcome.
    pub async fn agent(&self, token: &str, session: &str) -> Peer {
        let mut peer = self.agent_socket(token).await;
        peer.hello(
            Role::Agent,
            "",
            Pairing::AgentJoin {
                session_id: session.to_owned(),
            },
        )
        .await;
        let welcome = peer.recv().await;
        assert!(
            matches!(welcome.message, Message::Welcome(_)),
            "{welcome:?}"
        );
        peer
    }

    /// A paired session: (session id, customer past welcome, agent past welcome).
    pub async fn paired(
        &self,
        token: &str,
        interaction: &str,
        interaction_id: &str,
    ) -> (String, Peer, Peer) {
        let (id, key) = self.start_key(token, interaction, interaction_id).await;
        let mut customer = self.customer(Pairing::SecurityKey(key)).await;
        let welcome = customer.recv().await;
        assert!(
            matches!(welcome.message, Message::Welcome(_)),
            "{welcome:?}"
        );
        let initial = customer.recv().await;
        assert!(matches!(
            initial.message,
            Message::Presence(Presence {
                connected: false,
                ..
            })
        ));
        let mut agent = self.agent(token, &id).await;
        let present = agent.recv().await;
        assert!(matches!(
            present.message,
            Message::Presence(Presence {
                connected: true,
                ..
            })
        ));
        // The customer is asked for a snapshot (there is none yet) and hears the agent is there.
        customer.recv_until(FrameKind::Presence).await;
        (id, customer, agent)
    }

    /// Waits until the relay has handled every frame `customer` sent so far: a stray accept is
    /// dropped and audited, and frames of one connection are handled in order.
    pub async fn processed(&self, token: &str, session: &str, customer: &mut Peer) {
        let before = self
            .audit(token, session)
            .await
            .iter()
            .filter(|(_, d)| d.contains("NoPendingRequest"))
            .count();
        customer.send(Message::NavigationAccept(Empty)).await;
        self.audit_until(token, session, |a| {
            a.iter()
                .filter(|(_, d)| d.contains("NoPendingRequest"))
                .count()
                > before
        })
        .await;
    }

    /// Polls the audit log until `pred` holds.
    pub async fn audit_until(
        &self,
        token: &str,
        session: &str,
        pred: impl Fn(&[(String, String)]) -> bool,
    ) -> Vec<(String, String)> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let audit = self.audit(token, session).await;
            if pred(&audit) {
                return audit;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "audit never matched: {audit:?}"
            );
            tokio::task::yield_now().await;
        }
    }
}

/// One side's WebSocket.
pub struct Peer {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    seq: u32,
}

/// What a peer saw when its connection closed.
#[derive(Debug)]
pub struct Closed {
    pub frames: Vec<Frame>,
    pub code: Option<u16>,
    pub reason: String,
}

impl Closed {
    pub fn error(&self) -> Option<ErrorCode> {
        self.frames.iter().find_map(|f| match &f.message {
            Message::Error(e) => Some(e.code),
            _ => None,
        })
    }

    pub fn end(&self) -> Option<EndReason> {
        self.frames.iter().find_map(|f| match &f.message {
            Message::End(e) => Some(e.reason),
            _ => None,
        })
    }
}

/// A widget guest with a conversation: its token and the conversation's id.
pub async fn guest_conversation(relay: &Relay) -> (String, String) {
    let (_, issued) = relay
        .http("POST", "/api/messaging/guest", &[("Origin", ORIGIN)], None)
        .await;
    let guest = issued["token"].as_str().unwrap().to_owned();
    let (status, sent) = relay
        .http(
            "POST",
            "/api/messaging/guest/messages",
            &[("Origin", ORIGIN), ("X-Guest-Token", &guest)],
            Some(serde_json::json!({"text": "can you show me?"})),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    (guest, sent["conversation_id"].as_str().unwrap().to_owned())
}

pub fn encode(seq: u32, message: Message) -> Vec<u8> {
    Frame::new(seq, message).encode().unwrap()
}

impl Peer {
    pub async fn hello(&mut self, role: Role, site: &str, pairing: Pairing) {
        self.send(Message::Hello(Hello {
            version: PROTOCOL_VERSION,
            role,
            site: site.to_owned(),
            pairing,
        }))
        .await;
    }

    /// Sends a frame with the next sequence number; returns its bytes.
    pub async fn send(&mut self, message: Message) -> Vec<u8> {
        let bytes = encode(self.seq, message);
        self.seq += 1;
        self.send_raw(bytes.clone()).await;
        bytes
    }

    pub async fn send_raw(&mut self, bytes: Vec<u8>) {
        self.ws.send(Ws::Binary(bytes.into())).await.unwrap();
    }

    /// The next binary message's raw bytes.
    pub async fn recv_bytes(&mut self) -> Vec<u8> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no frame in time")
                .expect("connection closed")
                .expect("socket error");
            match msg {
                Ws::Binary(b) => return b.to_vec(),
                Ws::Ping(_) | Ws::Pong(_) => continue,
                other => panic!("expected a binary frame, got {other:?}"),
            }
        }
    }

    pub async fn recv(&mut self) -> Frame {
        let bytes = self.recv_bytes().await;
        Frame::decode(&bytes, &Limits::default()).unwrap()
    }

    /// Skips frames until one of `kind`.
    pub async fn recv_until(&mut self, kind: FrameKind) -> Frame {
        loop {
            let frame = self.recv().await;
            if frame.message.kind() == kind {
                return frame;
            }
        }
    }

    /// Reads until the relay closes the connection.
    pub async fn closed(&mut self) -> Closed {
        let mut frames = Vec::new();
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("connection not closed in time");
            match next {
                Some(Ok(Ws::Binary(b))) => {
                    frames.push(Frame::decode(&b, &Limits::default()).unwrap())
                }
                Some(Ok(Ws::Close(frame))) => {
                    return Closed {
                        frames,
                        code: frame.as_ref().map(|f| u16::from(f.code)),
                        reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                    }
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => {
                    return Closed {
                        frames,
                        code: None,
                        reason: String::new(),
                    }
                }
            }
        }
    }
}

pub fn snapshot(url: &str) -> Message {
    Message::Snapshot(Snapshot {
        url: url.to_owned(),
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

pub fn text_mutation(text: &str) -> Message {
    Message::Mutations(MutationBatch {
        ops: vec![Mutation::Text {
            node: 1,
            text: text.to_owned(),
        }],
    })
}

pub fn pointer(x: i32) -> Message {
    Message::AgentPointer(Pointer { x, y: 0 })
}
