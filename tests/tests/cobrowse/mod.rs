//! Shared by the co-browse end-to-end tests: a raw agent client over the real protocol (with
//! the mirror's DOM model, to find node ids the way a console would), the REST calls an agent
//! makes, and the customer page's JavaScript API driven through WebDriver.
#![allow(dead_code)]

use std::time::Duration;

use anyhow::{bail, Context, Result};
use cobrowse_wasm::secure::{ConsoleSecurity, SecureError};
use cobrowse_wasm::Dom;
use e2e::Browser;
use futures_util::{SinkExt, StreamExt};
use protocol::{Frame, FrameKind, Limits, Message, NodeId, Pairing, Role, PROTOCOL_VERSION};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, http::HeaderValue, Message as Ws},
    MaybeTlsStream, WebSocketStream,
};

/// How long one wait may take before a test fails.
pub const WAIT: Duration = Duration::from_secs(15);

/// Signs the demo agent in; returns its bearer token.
pub async fn login(base: &str) -> Result<String> {
    let body: Value = reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .json(&json!({"name": "agent", "password": "agent"}))
        .send()
        .await?
        .json()
        .await?;
    Ok(body["token"].as_str().context("no token")?.to_owned())
}

/// The codes the consoles of this test process drew, by session id: an [`Agent`] joining one
/// of these sessions keys it as the real console does.
static CODES: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, String>>> =
    std::sync::LazyLock::new(Default::default);

/// Starts a call-flow session as the console does: the relay's locator and a secret drawn
/// here make the 12-digit code the customer types; returns (session id, code).
pub async fn start_key(base: &str, token: &str) -> Result<(String, String)> {
    let (id, locator) = start_locator(base, token).await?;
    let code = e2ee::Code::new(&locator, &mut rand_core::OsRng)?;
    let digits: String = code.display().split(' ').collect();
    if let Ok(mut codes) = CODES.lock() {
        codes.insert(id.clone(), digits.clone());
    }
    Ok((id, digits))
}

/// Starts a call-flow session; returns (session id, the relay's locator) and keys nothing: for
/// tests that pair a raw client instead of a page.
pub async fn start_locator(base: &str, token: &str) -> Result<(String, String)> {
    let body: Value = reqwest::Client::new()
        .post(format!("{base}/api/cobrowse/sessions"))
        .bearer_auth(token)
        .json(&json!({"interaction": "voice", "interaction_id": "call-1"}))
        .send()
        .await?
        .json()
        .await?;
    let id = body["session_id"].as_str().context("no session id")?;
    let key = body["security_key"].as_str().context("no key")?;
    Ok((id.to_owned(), key.to_owned()))
}

/// The agent ends the session from the console's REST call.
pub async fn end_by_agent(base: &str, token: &str, id: &str) -> Result<()> {
    let status = reqwest::Client::new()
        .post(format!("{base}/api/cobrowse/sessions/{id}/end"))
        .bearer_auth(token)
        .send()
        .await?
        .status();
    anyhow::ensure!(status.is_success(), "end: {status}");
    Ok(())
}

/// An agent over a raw WebSocket, keeping the page's DOM model as frames arrive.
pub struct Agent {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    seq: u32,
    pub dom: Option<Dom>,
    /// Every message received, in order.
    pub seen: Vec<Message>,
    /// The keys of an encrypted session (one this process's `start_key` began).
    security: Option<ConsoleSecurity>,
    /// Sealed frames before the keys, then opened frames not yet returned.
    held: Vec<Vec<u8>>,
    ready: std::collections::VecDeque<Vec<u8>>,
    /// The safety code once keyed.
    pub safety: Option<u32>,
    /// Frames from the page that did not open (replayed, altered, or clear where sealed).
    pub refused: u32,
    /// Every sealed frame as it arrived, before opening (what the relay forwarded).
    pub wire: Vec<Vec<u8>>,
    /// Every frame's bytes as the console reads them (opened when sealed), end to end.
    pub opened: Vec<u8>,
}

impl Agent {
    /// Joins through `via` (a base URL standing in for the relay, such as a tampering proxy).
    pub async fn join_via(via: &str, token: &str, session: &str) -> Result<Agent> {
        Agent::join(via, token, session).await
    }

    pub async fn join(base: &str, token: &str, session: &str) -> Result<Agent> {
        let pairing = Pairing::AgentJoin {
            session_id: session.to_owned(),
        };
        Agent::connect(base, token, "/ws/agent", pairing).await
    }

    /// The agent joins a session it offered in a chat: keyed by comparison, as the console
    /// keys such a session (no code).
    pub async fn join_offer(base: &str, token: &str, session: &str) -> Result<Agent> {
        let mut agent = Agent::join(base, token, session).await?;
        agent.security = Some(ConsoleSecurity::compare(session));
        Ok(agent)
    }

    /// A supervisor joins `session` as a silent observer (`/ws/observe`).
    pub async fn observe(base: &str, token: &str, session: &str) -> Result<Agent> {
        let pairing = Pairing::Observe {
            session_id: session.to_owned(),
        };
        let path = format!("/ws/observe?session={session}");
        Agent::connect(base, token, &path, pairing).await
    }

    async fn connect(base: &str, token: &str, path: &str, pairing: Pairing) -> Result<Agent> {
        let mut req = format!("{}{path}", base.replacen("http", "ws", 1)).into_client_request()?;
        req.headers_mut().insert(
            "Authorization",
            HeaderValue::from_str(&format!("Bearer {token}"))?,
        );
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        let security = match &pairing {
            Pairing::AgentJoin { session_id } => CODES
                .lock()
                .ok()
                .and_then(|codes| codes.get(session_id).cloned())
                .map(|code| e2ee::Code::parse(&code).map(|c| (session_id.clone(), c)))
                .transpose()?
                .map(|(id, code)| ConsoleSecurity::new(&id, code.secret().clone())),
            _ => None,
        };
        let mut agent = Agent {
            ws,
            seq: 0,
            dom: None,
            seen: Vec::new(),
            security,
            held: Vec::new(),
            ready: Default::default(),
            safety: None,
            refused: 0,
            wire: Vec::new(),
            opened: Vec::new(),
        };
        agent
            .send(Message::Hello(protocol::Hello {
                version: PROTOCOL_VERSION,
                role: Role::Agent,
                site: String::new(),
                pairing,
            }))
            .await?;
        agent
            .until("welcome", |m| matches!(m, Message::Welcome(_)))
            .await?;
        Ok(agent)
    }

    pub async fn send(&mut self, message: Message) -> Result<()> {
        let mut bytes = Frame::new(self.seq, message).encode()?;
        self.seq = self.seq.wrapping_add(1);
        if let Some(security) = self.security.as_mut() {
            security
                .seal(&mut bytes)
                .context("sealing an agent frame")?;
        }
        self.ws.send(Ws::Binary(bytes.into())).await?;
        Ok(())
    }

    /// The next message (page frames also update [`Agent::dom`]); `None` when closed.
    pub async fn next(&mut self) -> Result<Option<Message>> {
        loop {
            let bytes = match self.ready.pop_front() {
                Some(b) => b,
                None => {
                    let item = tokio::time::timeout(WAIT, self.ws.next())
                        .await
                        .context("no frame in time")?;
                    match item {
                        Some(Ok(Ws::Binary(b))) => match self.unseal(b.to_vec()).await? {
                            Some(b) => b,
                            None => continue,
                        },
                        Some(Ok(Ws::Close(_))) | None => return Ok(None),
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => return Err(e.into()),
                    }
                }
            };
            self.opened.extend_from_slice(&bytes);
            let frame = Frame::decode(&bytes, &Limits::default())?;
            match &frame.message {
                Message::Snapshot(s) | Message::SnapshotBegin(s) => {
                    self.dom = Some(Dom::from_snapshot(s)?)
                }
                Message::SnapshotPart(p) => {
                    if let Some(dom) = &mut self.dom {
                        dom.extend(p)?;
                    }
                }
                Message::Mutations(m) => {
                    if let Some(dom) = &mut self.dom {
                        dom.apply(m)?;
                    }
                }
                Message::InputValue(v) => {
                    if let Some(dom) = &mut self.dom {
                        dom.apply_input(v)?;
                    }
                }
                _ => {}
            }
            self.seen.push(frame.message.clone());
            return Ok(Some(frame.message));
        }
    }

    /// What an encrypted session's frame is once through the console's keys: the key exchange
    /// answered, sealed frames opened (or held until the keys), refused ones counted. `None`:
    /// nothing to read now.
    async fn unseal(&mut self, mut bytes: Vec<u8>) -> Result<Option<Vec<u8>>> {
        let sealed = bytes.first().is_some_and(|&c| c & protocol::SEALED != 0);
        if sealed {
            self.wire.push(bytes.clone());
        }
        let Some(security) = self.security.as_mut() else {
            // Sealed for the console that holds the keys: an observer keeps only the bytes.
            return Ok((!sealed).then_some(bytes));
        };
        let kind = bytes
            .first()
            .and_then(|&c| FrameKind::from_code(c & !protocol::SEALED));
        match kind {
            Some(FrameKind::KeyStart) => {
                if let Message::KeyStart(share) = Frame::decode(&bytes, &Limits::default())?.message
                {
                    match security.on_start(&share, &mut rand_core::OsRng) {
                        Ok(reply) => self.send(Message::KeyReply(reply)).await?,
                        Err(e) => {
                            self.send(Message::End(protocol::End {
                                reason: protocol::EndReason::KeyExchangeFailed,
                            }))
                            .await?;
                            bail!("key exchange: {e}");
                        }
                    }
                }
                Ok(Some(bytes))
            }
            Some(FrameKind::KeyConfirm) => {
                if let Message::KeyConfirm(confirm) =
                    Frame::decode(&bytes, &Limits::default())?.message
                {
                    match security.on_confirm(&confirm) {
                        Ok(safety) => {
                            self.safety = Some(safety);
                            for mut held in std::mem::take(&mut self.held) {
                                match security.open(&mut held) {
                                    Ok(_) => self.ready.push_back(held),
                                    Err(_) => self.refused += 1,
                                }
                            }
                        }
                        Err(e) => {
                            self.send(Message::End(protocol::End {
                                reason: protocol::EndReason::KeyExchangeFailed,
                            }))
                            .await?;
                            bail!("key confirmation: {e}");
                        }
                    }
                }
                Ok(Some(bytes))
            }
            _ => match security.open(&mut bytes) {
                Ok(_) => Ok(Some(bytes)),
                // Not yet keyed, or sealed under the content key of a page that reloaded
                // since (numbered anew): its next confirmation brings the key.
                Err(SecureError::NoKeys | SecureError::Seal(_)) => {
                    self.held.push(bytes);
                    Ok(None)
                }
                Err(_) => {
                    self.refused += 1;
                    Ok(None)
                }
            },
        }
    }

    /// Reads until a message matches `pred`, for at most twice [`WAIT`] in all: a page that
    /// keeps sending other frames (one reconnecting in a loop, say) fails the test, not hangs it.
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Message) -> bool) -> Result<Message> {
        let deadline = tokio::time::Instant::now() + 2 * WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.next())
                .await
                .with_context(|| format!("waited {:?} for {what}", 2 * WAIT))?;
            match next.with_context(|| format!("waiting for {what}"))? {
                Some(m) if pred(&m) => return Ok(m),
                Some(_) => {}
                None => {
                    let last: Vec<_> = self.seen.iter().rev().take(6).map(Message::kind).collect();
                    bail!(
                        "closed while waiting for {what}; the last frames, newest first: {last:?}"
                    )
                }
            }
        }
    }

    /// Reads until a snapshot of a URL containing `path` arrived.
    pub async fn snapshot_of(&mut self, path: &str) -> Result<()> {
        self.until(
            &format!("snapshot of {path}"),
            |m| matches!(m, Message::Snapshot(s) if s.url.contains(path)),
        )
        .await
        .map(drop)
    }

    /// The node id of the element whose `id` attribute is `html_id`, in the current model.
    pub fn node(&self, html_id: &str) -> Result<NodeId> {
        let dom = self.dom.as_ref().context("no snapshot yet")?;
        dom.nodes
            .iter()
            .find_map(|(&id, n)| match &n.content {
                cobrowse_wasm::model::Content::Element { attrs, .. }
                    if attrs.iter().any(|(k, v)| k == "id" && v == html_id) =>
                {
                    Some(id)
                }
                _ => None,
            })
            .with_context(|| format!("no element #{html_id} in the mirror"))
    }

    /// Whether a frame of `kind` arrived so far.
    pub fn saw(&self, kind: FrameKind) -> bool {
        self.seen.iter().any(|m| m.kind() == kind)
    }
}

/// Runs `body` as an async script in the page; `done(value)` is in scope.
pub async fn run(browser: &Browser, body: &str) -> Result<Value> {
    let script = format!("const done = arguments[arguments.length - 1];\n{body}");
    browser.eval_async(&script).await
}

/// Loads `path`, records the loader's events in `window.__events`, and waits for the loader.
pub async fn open(browser: &Browser, base: &str, path: &str) -> Result<()> {
    browser.client.goto(&format!("{base}{path}")).await?;
    watch(browser).await
}

/// Records the loader's events in `window.__events` (again after each page load).
pub async fn watch(browser: &Browser) -> Result<()> {
    let r = run(
        browser,
        r#"const go = () => {
          if (!window.Cobrowse) return setTimeout(go, 10);
          if (!window.__events) {
            window.__events = [];
            for (const n of ['start','granted','revoked','paused','resumed','end'])
              Cobrowse.on(n, (d) => window.__events.push([n, d.reason || '']));
          }
          done(true);
        };
        go();"#,
    )
    .await?;
    anyhow::ensure!(r == Value::Bool(true), "loader not ready: {r}");
    Ok(())
}

/// The customer types the key into `Cobrowse.startWithKey`; `Ok` once the promise resolved.
pub async fn start_with_key(browser: &Browser, key: &str) -> Result<Value> {
    run(
        browser,
        &format!(
            "Cobrowse.startWithKey({key:?}).then((id) => done({{ id }}), (e) => done({{ error: e.message }}));"
        ),
    )
    .await
}

/// The events the loader raised on the current page, as `name` or `name:reason`.
pub async fn events(browser: &Browser) -> Result<Vec<String>> {
    let v = run(browser, "done(window.__events || [])").await?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    let name = e[0].as_str().unwrap_or_default();
                    match e[1].as_str().unwrap_or_default() {
                        "" => name.to_owned(),
                        reason => format!("{name}:{reason}"),
                    }
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Waits until the loader raised `event` on the current page.
pub async fn wait_event(browser: &Browser, event: &str) -> Result<()> {
    e2e::wait_for(event, WAIT, || async {
        events(browser)
            .await
            .ok()
            .filter(|e| e.iter().any(|x| x == event))
    })
    .await
    .map(drop)
}

/// A fresh customer browser on `path`, paired by security key with the demo agent, who holds
/// the page's snapshot: (agent's token, session id, browser, agent).
pub async fn pair_by_key(base: &str, path: &str) -> Result<(String, String, Browser, Agent)> {
    let token = login(base).await?;
    let (id, key) = start_key(base, &token).await?;
    let browser = Browser::start().await?;
    open(&browser, base, path).await?;
    let started = start_with_key(&browser, &key).await?;
    anyhow::ensure!(started["id"].as_str() == Some(id.as_str()), "{started}");
    let mut agent = Agent::join(base, &token, &id).await?;
    agent.snapshot_of(path).await?;
    Ok((token, id, browser, agent))
}

/// What the co-browse banner says now (its status line, inside the UI's shadow root).
pub async fn banner(browser: &Browser) -> Result<String> {
    let v = run(
        browser,
        "const r = document.getElementById('cobrowse-ui').shadowRoot;
         done(r.querySelector('[role=status]').textContent)",
    )
    .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

/// Clicks a button of the co-browse UI (inside its shadow root) by its `data-act`.
pub async fn press(browser: &Browser, act: &str) -> Result<()> {
    let script = format!(
        r#"const go = () => {{
          const host = document.getElementById('cobrowse-ui');
          const b = host && host.shadowRoot.querySelector('[data-act="{act}"]');
          if (!b) return setTimeout(go, 10);
          b.click(); done(true);
        }};
        go();"#
    );
    run(browser, &script).await.map(drop)
}

/// The value of a form control in the page.
pub async fn value(browser: &Browser, id: &str) -> Result<String> {
    let v = run(
        browser,
        &format!("done(document.getElementById({id:?}).value)"),
    )
    .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

/// The page's current path.
pub async fn path(browser: &Browser) -> Result<String> {
    let v = run(browser, "done(location.pathname)").await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}
