//! Helpers for the routing and reporting tests: a relay with a telephony connector token,
//! queues defined over REST, and desk WebSockets that wait for a desk matching a predicate.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use futures_util::StreamExt;
use relay::{
    accounts,
    policy::{Role, Roles},
    routing::service::persist,
    store::{Options, Store, Target},
};
use serde_json::{json, Value};
use tokio_tungstenite::{tungstenite::Message as Ws, MaybeTlsStream, WebSocketStream};

use crate::common::{self, Relay, WAIT};

/// A relay and its connector token; `alice` holds every role, `bob` only the agent's.
pub struct Center {
    pub relay: Relay,
    pub connector: String,
    pub db: Target,
}

/// The bearer token a [`Center`]'s relay asks of a `/metrics` scrape.
pub const METRICS_TOKEN: &str = "scrape-token";

impl Center {
    /// Starts a relay and creates a telephony connector.
    pub async fn start() -> Center {
        Center::start_with(|_| {}).await
    }

    /// Starts a relay with `tweak` applied to its configuration, as [`Center::start`] does.
    pub async fn start_with(tweak: impl FnOnce(&mut relay::Config)) -> Center {
        let mut db = None;
        let relay = Relay::start(|c| {
            db = Some(common::config_target(c));
            c.metrics.token = Some(METRICS_TOKEN.into());
            tweak(c);
        })
        .await;
        let db = db.unwrap();
        let s = Store::open_async(db.clone(), Options::command())
            .await
            .unwrap();
        let connector = s.write(|c| persist::connector_add(c, "pbx")).await.unwrap();
        // Alice also defines the queues and profiles and reads the board and the reports.
        let all = Roles::of(&[Role::Agent, Role::Supervisor, Role::Admin]);
        s.write(move |c| accounts::roles_set(c, "alice", all))
            .await
            .unwrap();
        Center {
            relay,
            connector,
            db,
        }
    }

    /// Restarts the relay on the same database (routing's live state starts empty).
    pub async fn restart(self) -> Center {
        Center {
            relay: self.relay.restart(|_| {}).await,
            ..self
        }
    }

    /// Defines a queue over REST as `agent_token`.
    pub async fn queue(&self, agent_token: &str, spec: Value) {
        let (status, body) = self
            .relay
            .api(agent_token, "POST", "/api/routing/queues", Some(spec))
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// A connector call (telephony or integrations API).
    pub async fn connector(&self, path: &str, body: Option<Value>) -> (u16, Value) {
        self.relay.api(&self.connector, "POST", path, body).await
    }

    /// A call offered through the telephony API.
    pub async fn call(&self, id: &str, queue: &str) {
        let (status, body) = self
            .connector(
                "/api/telephony/calls",
                Some(json!({"id": id, "queue": queue})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// A chat arriving through the integrations API.
    pub async fn chat(&self, id: &str, queue: &str, extra: Value) {
        let mut body = json!({"id": id, "queue": queue, "media": "chat"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let (status, body) = self
            .connector("/api/routing/interactions", Some(body))
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// Sets `token`'s presence.
    pub async fn presence(&self, token: &str, presence: &str) -> Value {
        let (status, body) = self
            .relay
            .api(
                token,
                "POST",
                "/api/routing/presence",
                Some(json!({ "presence": presence })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// An agent action on an interaction; returns status and body.
    pub async fn act(
        &self,
        token: &str,
        id: &str,
        action: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.relay
            .api(
                token,
                "POST",
                &format!("/api/routing/interactions/{id}/{action}"),
                body.or(Some(json!({}))),
            )
            .await
    }

    /// The agent's store id.
    pub async fn me(&self, token: &str) -> String {
        let (_, body) = self.relay.api(token, "GET", "/api/me", None).await;
        body["id"].as_str().unwrap().to_owned()
    }

    /// Opens `token`'s desk WebSocket.
    pub async fn desk(&self, token: &str) -> Desk {
        Desk {
            ws: self.relay.signed_in_socket("/ws/desk", token).await,
        }
    }
}

/// An agent's desk socket.
pub struct Desk {
    ws: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Desk {
    /// Opens `token`'s desk WebSocket on `relay` (any node of a cluster).
    pub async fn on(relay: &Relay, token: &str) -> Desk {
        Desk {
            ws: relay.signed_in_socket("/ws/desk", token).await,
        }
    }

    /// Waits (up to [`WAIT`]) for a pushed message of `kind` matching `check`.
    pub async fn until(&mut self, kind: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
            let Some(Ok(Ws::Text(text))) = next else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).unwrap();
            if value["type"] == kind && check(&value) {
                return value;
            }
        }
    }

    /// Waits for a desk where `id` is in `state` (`None`: not on the desk).
    pub async fn work(&mut self, id: &str, state: Option<&str>) -> Value {
        let what = format!("{id} in state {state:?}");
        self.until("desk", &what, |d| {
            item(d, id).map(|w| w["state"].clone()) == state.map(|s| json!(s))
        })
        .await
    }
}

/// The desk's work item for `id`.
pub fn item(desk: &Value, id: &str) -> Option<Value> {
    desk["work"]
        .as_array()?
        .iter()
        .find(|w| w["interaction"] == id)
        .cloned()
}

/// A GET whose body is text (CSV, Prometheus), with an optional bearer token.
pub async fn get_text(relay: &Relay, path: &str, token: Option<&str>) -> (u16, String) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    relay.request("GET", path, &headers, None).await
}

/// A messaging push stream (server-sent events) read event by event.
pub struct Pushes {
    response: reqwest::Response,
    text: String,
    ready: std::collections::VecDeque<Value>,
}

impl Pushes {
    /// Opens the stream at `path` with `headers` (a bearer token, a guest's origin).
    pub async fn open(relay: &Relay, path: &str, headers: &[(&str, &str)]) -> Pushes {
        let mut request = reqwest::Client::new().get(format!("http://{}{path}", relay.addr));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        Pushes {
            response,
            text: String::new(),
            ready: Default::default(),
        }
    }

    /// The next event within `deadline`, or `None` when the time is up.
    async fn next(&mut self, deadline: tokio::time::Instant) -> Option<Value> {
        loop {
            if let Some(v) = self.ready.pop_front() {
                return Some(v);
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?;
            let chunk = chunk.unwrap().expect("the stream ended");
            self.text.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                for line in block.lines() {
                    if let Some(data) = line.strip_prefix("data:") {
                        if let Ok(v) = serde_json::from_str(data.trim()) {
                            self.ready.push_back(v);
                        }
                    }
                }
            }
        }
    }

    /// Waits (up to [`WAIT`]) for an event matching `check`, skipping the others.
    pub async fn until(&mut self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match self.next(deadline).await {
                Some(v) if check(&v) => return v,
                Some(_) => {}
                None => panic!("timed out waiting for {what}"),
            }
        }
    }

    /// Every event that arrives within `ms`.
    pub async fn during(&mut self, ms: u64) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(ms);
        let mut seen = Vec::new();
        while let Some(v) = self.next(deadline).await {
            seen.push(v);
        }
        seen
    }
}
