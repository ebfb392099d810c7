//! Silent observers: a supervisor joins another agent's co-browse and only watches. A plain
//! agent is refused the session list and the observer socket (403 naming `cobrowse.observe`,
//! audited); an observer's every control or input frame is dropped, answered to it alone with
//! a refusal, and never reaches the customer's page; its `End` ends only its own watching, and
//! the session's end closes it; a session admits at most two observers (409 for a third). The
//! customer is told how many people view its screen.

use anyhow::{bail, ensure, Context, Result};
use e2e::Relay;
use futures_util::{SinkExt, StreamExt};
use protocol::{
    Button, Click, Empty, ErrorCode, Frame, FrameKind, Hello, Highlight, Limits, Message, Navigate,
    Pairing, Point, Pointer, Role, Stroke, StrokeKind, TextInput, Viewers, PROTOCOL_VERSION,
};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, http::HeaderValue, Error, Message as Ws},
    MaybeTlsStream, WebSocketStream,
};

use super::cobrowse::{Agent, WAIT};
use super::support::{audit, login_answer};

async fn person(relay: &Relay, name: &str, role: &str) -> Result<String> {
    relay
        .cli(&["user", "add", name, "--role", role, "--password", name])
        .await?;
    let answer = login_answer(relay, &reqwest::Client::new(), name).await?;
    Ok(answer["token"].as_str().context("no token")?.to_owned())
}

async fn get(relay: &Relay, token: &str, path: &str) -> Result<(u16, Value)> {
    let answer = reqwest::Client::new()
        .get(relay.url(path))
        .bearer_auth(token)
        .send()
        .await?;
    let status = answer.status().as_u16();
    Ok((status, answer.json().await.unwrap_or(Value::Null)))
}

/// A customer's page over a raw socket: it pairs with the key, sends a snapshot, and keeps
/// every frame the relay delivers to it.
struct Customer {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    seq: u32,
    seen: Vec<Message>,
}

impl Customer {
    async fn pair(relay: &Relay, key: &str) -> Result<Customer> {
        let url = format!(
            "{}/ws/customer?site=demo",
            relay.base.replacen("http", "ws", 1)
        );
        let mut req = url.into_client_request()?;
        req.headers_mut()
            .insert("origin", HeaderValue::from_str(&relay.base)?);
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        let mut customer = Customer {
            ws,
            seq: 0,
            seen: Vec::new(),
        };
        customer
            .send(Message::Hello(Hello {
                version: PROTOCOL_VERSION,
                role: Role::Customer,
                site: "demo".into(),
                pairing: Pairing::SecurityKey(key.to_owned()),
            }))
            .await?;
        customer
            .until("welcome", |m| matches!(m, Message::Welcome(_)))
            .await?;
        let (_, snapshot) = protocol::fixtures::golden()
            .into_iter()
            .find(|(stem, _)| *stem == "snapshot_small")
            .context("no snapshot fixture")?;
        customer.send(snapshot.message).await?;
        Ok(customer)
    }

    async fn send(&mut self, message: Message) -> Result<()> {
        let bytes = Frame::new(self.seq, message).encode()?;
        self.seq = self.seq.wrapping_add(1);
        self.ws.send(Ws::Binary(bytes.into())).await?;
        Ok(())
    }

    async fn until(&mut self, what: &str, pred: impl Fn(&Message) -> bool) -> Result<Message> {
        loop {
            let item = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .with_context(|| format!("the customer waited for {what}"))?;
            match item {
                Some(Ok(Ws::Binary(bytes))) => {
                    let message = Frame::decode(&bytes, &Limits::default())?.message;
                    self.seen.push(message.clone());
                    if pred(&message) {
                        return Ok(message);
                    }
                }
                Some(Ok(Ws::Close(_))) | None => bail!("closed while waiting for {what}"),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }
}

fn viewers(count: u32) -> impl Fn(&Message) -> bool {
    move |m| matches!(m, Message::Viewers(Viewers { count: c }) if *c == count)
}

/// Alice (agent) runs a session with a paired customer and her console attached; the
/// supervisors are made but not yet watching.
struct Running {
    relay: Relay,
    alice: String,
    session: String,
    customer: Customer,
    agent: Agent,
}

async fn running() -> Result<Running> {
    let relay = Relay::start(&["--metrics-token", "metrics"]).await?;
    let alice = person(&relay, "alice", "agent").await?;
    let started: Value = reqwest::Client::new()
        .post(relay.url("/api/cobrowse/sessions"))
        .bearer_auth(&alice)
        .json(&json!({"interaction": "voice"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let session = started["session_id"].as_str().context("no id")?.to_owned();
    let key = started["security_key"].as_str().context("no key")?;
    let customer = Customer::pair(&relay, key).await?;
    let mut agent = Agent::join(&relay.base, &alice, &session).await?;
    agent
        .until("the page", |m| matches!(m, Message::Snapshot(_)))
        .await?;
    // Without an observer the page hears no count: one viewer is what it assumes.
    Ok(Running {
        relay,
        alice,
        session,
        customer,
        agent,
    })
}

/// The status and JSON body of an upgrade of `/ws/observe?session=...` as `token`.
async fn observe_status(relay: &Relay, token: &str, session: &str) -> Result<(u16, Value)> {
    let url = relay
        .url(&format!("/ws/observe?session={session}"))
        .replacen("http", "ws", 1);
    let mut req = url.into_client_request()?;
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => Ok((101, Value::Null)),
        Err(Error::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            Ok((response.status().as_u16(), body))
        }
        Err(e) => Err(e.into()),
    }
}

#[tokio::test]
async fn a_plain_agent_can_neither_list_nor_observe_another_agents_co_browse() -> Result<()> {
    let Running { relay, session, .. } = running().await?;
    let bob = person(&relay, "bob", "agent").await?;
    let (status, answer) = get(&relay, &bob, "/api/cobrowse/sessions").await?;
    ensure!(
        status == 403 && answer["permission"] == "cobrowse.observe",
        "bob listed the live sessions: {status} {answer}"
    );
    let (status, answer) = observe_status(&relay, &bob, &session).await?;
    ensure!(
        status == 403 && answer["permission"] == "cobrowse.observe",
        "bob's observer socket was not refused by the policy: {status} {answer}"
    );
    // A supervisor sees the session in the list.
    let watcher = person(&relay, "watcher", "supervisor").await?;
    let (status, list) = get(&relay, &watcher, "/api/cobrowse/sessions").await?;
    let listed = list
        .as_array()
        .is_some_and(|l| l.iter().any(|s| s["session_id"] == session.as_str()));
    ensure!(status == 200 && listed, "{status} {list}");
    // An unknown session is a 404, once the permission is held.
    let (status, _) = observe_status(&relay, &watcher, "nope").await?;
    ensure!(status == 404, "an unknown session answered {status}");

    let db = rusqlite::Connection::open(relay.data_dir().join("relay.db"))?;
    let mut refused = 0;
    for _ in 0..50 {
        refused = db.query_row(
            "SELECT COUNT(*) FROM access_refusals r JOIN agents a ON a.id = r.agent_id
             WHERE a.name = 'bob'",
            [],
            |r| r.get::<_, i64>(0),
        )?;
        if refused >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ensure!(
        refused >= 2,
        "only {refused} of bob's refusals were audited"
    );
    Ok(())
}

/// Every frame a hostile observer might send to act on the page or the session.
fn hostile_frames() -> Vec<Message> {
    vec![
        Message::AgentPointer(Pointer { x: 999, y: 999 }),
        Message::Highlight(Highlight { node: 3 }),
        Message::Stroke(Stroke {
            id: 1,
            kind: StrokeKind::Freehand,
            points: vec![Point { x: 1, y: 1 }],
            done: true,
        }),
        Message::ClearAnnotations(Empty),
        Message::NavigationRequest(Empty),
        Message::Click(Click {
            node: 3,
            x: 0,
            y: 0,
            button: Button::Primary,
        }),
        Message::TextInput(TextInput {
            node: 3,
            value: "typed by an observer".into(),
        }),
        Message::Navigate(Navigate::Url("https://evil.example/".into())),
        // A page frame, as if the observer were the customer.
        Message::NavigationAccept(Empty),
    ]
}

#[tokio::test]
async fn an_observer_sees_the_page_and_nothing_it_sends_reaches_the_customer() -> Result<()> {
    let Running {
        relay,
        alice,
        session,
        mut customer,
        mut agent,
    } = running().await?;
    let watcher = person(&relay, "watcher", "supervisor").await?;
    let mut observer = Agent::observe(&relay.base, &watcher, &session).await?;
    // The page as it stands, from the relay's late-join buffer, and the count.
    observer
        .until("the page", |m| matches!(m, Message::Snapshot(_)))
        .await?;
    observer.until("two viewers", viewers(2)).await?;
    customer.until("two viewers", viewers(2)).await?;
    agent.until("two viewers", viewers(2)).await?;

    let frames = hostile_frames();
    let sent = frames.len();
    for frame in frames {
        observer.send(frame).await?;
    }
    let mut refusals = 0;
    while refusals < sent {
        observer
            .until(
                "a refusal",
                |m| matches!(m, Message::Error(e) if e.code == ErrorCode::NotAllowed),
            )
            .await?;
        refusals += 1;
    }
    // Still watching: the page's next frame reaches the observer.
    customer
        .send(Message::Pointer(Pointer { x: 7, y: 8 }))
        .await?;
    observer
        .until("the customer's pointer", |m| {
            matches!(m, Message::Pointer(Pointer { x: 7, y: 8 }))
        })
        .await?;
    // The agent's marker pointer reaches the page; nothing the observer sent came before it.
    agent
        .send(Message::AgentPointer(Pointer { x: 1, y: 2 }))
        .await?;
    customer
        .until("the agent's pointer", |m| {
            matches!(m, Message::AgentPointer(Pointer { x: 1, y: 2 }))
        })
        .await?;
    let leaked: Vec<_> = customer
        .seen
        .iter()
        .filter(|m| {
            let k = m.kind();
            k.sender() == protocol::Sender::Agent
                && !matches!(m, Message::AgentPointer(Pointer { x: 1, y: 2 }))
                || k == FrameKind::ModeChanged
        })
        .collect();
    ensure!(leaked.is_empty(), "the customer's page received {leaked:?}");

    let log = audit(&relay, &alice, &session).await?;
    let has = |event: &str| log.iter().any(|(e, _)| e == event);
    ensure!(
        has("observer_joined") && has("observer_refused"),
        "the observer's join and refusals are not audited: {log:?}"
    );
    let text = reqwest::Client::new()
        .get(relay.url("/metrics"))
        .bearer_auth("metrics")
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    ensure!(
        text.contains(&format!("cobrowse_observer_refusals_total {sent}")),
        "the refusals are not counted: {text}"
    );
    Ok(())
}

#[tokio::test]
async fn an_observer_cannot_end_the_session_and_the_session_s_end_closes_it() -> Result<()> {
    let Running {
        relay,
        alice,
        session,
        mut customer,
        mut agent,
    } = running().await?;
    let watcher = person(&relay, "watcher", "supervisor").await?;
    let other = person(&relay, "other", "supervisor").await?;

    // Through the REST end: refused.
    let answer = reqwest::Client::new()
        .post(relay.url(&format!("/api/cobrowse/sessions/{session}/end")))
        .bearer_auth(&watcher)
        .send()
        .await?;
    ensure!(answer.status() == 403, "{}", answer.status());

    // Through its socket: only its own watching ends.
    let mut leaving = Agent::observe(&relay.base, &watcher, &session).await?;
    customer.until("two viewers", viewers(2)).await?;
    leaving
        .send(Message::End(protocol::End {
            reason: protocol::EndReason::AgentEnded,
        }))
        .await?;
    customer.until("one viewer again", viewers(1)).await?;
    let (status, state) = get(&relay, &alice, &format!("/api/cobrowse/sessions/{session}")).await?;
    ensure!(
        status == 200 && state["end_reason"].is_null() && state["observers"] == 0,
        "the observer's end ended the session: {status} {state}"
    );
    ensure!(
        !customer.seen.iter().any(|m| matches!(m, Message::End(_))),
        "the customer was told of an end"
    );
    // The session goes on: the agent still sees the page.
    customer
        .send(Message::Pointer(Pointer { x: 3, y: 4 }))
        .await?;
    agent
        .until("the page's pointer", |m| matches!(m, Message::Pointer(_)))
        .await?;

    // The session's end closes an observer still watching.
    let mut staying = Agent::observe(&relay.base, &other, &session).await?;
    reqwest::Client::new()
        .post(relay.url(&format!("/api/cobrowse/sessions/{session}/end")))
        .bearer_auth(&alice)
        .send()
        .await?
        .error_for_status()?;
    staying
        .until("the end", |m| matches!(m, Message::End(_)))
        .await?;
    ensure!(
        staying.next().await?.is_none(),
        "the observer stayed open after the end"
    );
    let log = audit(&relay, &alice, &session).await?;
    ensure!(
        log.iter()
            .any(|(e, d)| e == "observer_left" && d.starts_with("watcher")),
        "the observer's leaving is not audited: {log:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_session_admits_at_most_two_observers() -> Result<()> {
    let Running {
        relay,
        session,
        mut customer,
        agent: _agent,
        ..
    } = running().await?;
    let mut tokens = Vec::new();
    for name in ["sup1", "sup2", "sup3"] {
        tokens.push(person(&relay, name, "supervisor").await?);
    }
    let _first = Agent::observe(&relay.base, &tokens[0], &session).await?;
    let _second = Agent::observe(&relay.base, &tokens[1], &session).await?;
    customer.until("three viewers", viewers(3)).await?;
    let (status, answer) = observe_status(&relay, &tokens[2], &session).await?;
    ensure!(
        status == 409,
        "a third observer was not refused: {status} {answer}"
    );
    let (_, list) = get(&relay, &tokens[2], "/api/cobrowse/sessions").await?;
    let observers = list
        .as_array()
        .and_then(|l| l.iter().find(|s| s["session_id"] == session.as_str()))
        .map(|s| s["observers"].clone());
    ensure!(observers == Some(json!(2)), "{list}");
    Ok(())
}
