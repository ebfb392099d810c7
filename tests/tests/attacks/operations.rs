//! Operations: the metrics endpoint does not tell the internet the relay's queues and staffing,
//! and disabling a person takes away everything they hold at once: the desk socket, the
//! co-browse socket and the messaging event stream close,
//! routing signs them out and requeues their call, and no new call is offered to them.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use e2e::{wait_for, Relay};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

use super::support::sign_in;

const CONNECTOR: &str = "pbx=attack-connector-token-0123456789";
const CONNECTOR_TOKEN: &str = "attack-connector-token-0123456789";

#[tokio::test]
async fn metrics_are_not_served_to_anonymous_scrapers() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let http = reqwest::Client::new();
    let open = http.get(relay.url("/metrics")).send().await?;
    let status = open.status().as_u16();
    let text = open.text().await?;
    ensure!(
        status == 403 && !text.contains("routing_queue"),
        "a relay without a metrics token served /metrics to anyone: {status} {text:.200}"
    );

    let relay = Relay::start(&["--metrics-token", "operator-scrape-token"]).await?;
    let agent = sign_in(&relay, &http).await?;
    for (bearer, want) in [
        (None, 401),
        (Some(agent.as_str()), 401),
        (Some("operator-scrape-token"), 200),
    ] {
        let mut request = http.get(relay.url("/metrics"));
        if let Some(b) = bearer {
            request = request.bearer_auth(b);
        }
        let got = request.send().await?.status().as_u16();
        ensure!(got == want, "scrape with {bearer:?}: {got}, wanted {want}");
    }
    Ok(())
}

async fn post(
    http: &reqwest::Client,
    relay: &Relay,
    path: &str,
    bearer: &str,
    body: Value,
) -> Result<Value> {
    let answer = http
        .post(relay.url(path))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await?;
    let status = answer.status();
    let text = answer.text().await?;
    ensure!(status.is_success(), "{path}: {status} {text}");
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn get(http: &reqwest::Client, relay: &Relay, path: &str, bearer: &str) -> Result<Value> {
    Ok(http
        .get(relay.url(path))
        .bearer_auth(bearer)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// The agent's co-browse socket, joined to a session of the call, past its welcome.
async fn cobrowse_agent(
    relay: &Relay,
    http: &reqwest::Client,
    agent: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
> {
    let started = post(
        http,
        relay,
        "/api/cobrowse/sessions",
        agent,
        json!({"interaction": "voice", "interaction_id": "call-1"}),
    )
    .await?;
    let session = started["session_id"]
        .as_str()
        .context("session")?
        .to_owned();
    let mut request = relay
        .url("/ws/agent")
        .replace("http", "ws")
        .into_client_request()?;
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {agent}").parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    let hello = protocol::Message::Hello(protocol::Hello {
        version: protocol::PROTOCOL_VERSION,
        role: protocol::Role::Agent,
        site: String::new(),
        pairing: protocol::Pairing::AgentJoin {
            session_id: session,
        },
    });
    ws.send(Message::Binary(
        protocol::Frame::new(0, hello).encode()?.into(),
    ))
    .await?;
    while let Some(item) = ws.next().await {
        let Message::Binary(bytes) = item? else {
            continue;
        };
        match protocol::Frame::decode(&bytes, &protocol::Limits::default())?.message {
            protocol::Message::Welcome(_) => return Ok(ws),
            other => anyhow::bail!("no welcome: {other:?}"),
        }
    }
    anyhow::bail!("the co-browse socket closed before its welcome")
}

/// The routing board entry of the agent named `name`, if it is signed in to routing.
fn board_agent<'a>(board: &'a Value, name: &str) -> Option<&'a Value> {
    board["agents"]
        .as_array()?
        .iter()
        .find(|a| a["name"] == name)
}

#[tokio::test]
async fn a_disabled_agent_loses_its_desk_socket_its_call_and_new_offers() -> Result<()> {
    let relay = Relay::start(&["--connector-token", CONNECTOR]).await?;
    relay
        .cli(&["agent", "add", "supervisor", "--password", "supervisor-pw"])
        .await?;
    // The supervisor also defines the queue and watches the board.
    relay
        .cli(&[
            "user",
            "role",
            "supervisor",
            "--add",
            "supervisor",
            "--add",
            "admin",
        ])
        .await?;
    let http = reqwest::Client::new();
    let agent = sign_in(&relay, &http).await?;
    let supervisor: Value = post(
        &http,
        &relay,
        "/api/login",
        "",
        json!({"name": "supervisor", "password": "supervisor-pw"}),
    )
    .await?;
    let supervisor = supervisor["token"].as_str().context("token")?.to_owned();
    post(
        &http,
        &relay,
        "/api/routing/queues",
        &supervisor,
        json!({"name": "support"}),
    )
    .await?;
    post(
        &http,
        &relay,
        "/api/routing/presence",
        &agent,
        json!({"presence": "available"}),
    )
    .await?;

    let mut request = relay
        .url("/ws/desk")
        .replace("http", "ws")
        .into_client_request()?;
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {agent}").parse()?);
    let (mut desk, _) = tokio_tungstenite::connect_async(request).await?;

    post(
        &http,
        &relay,
        "/api/telephony/calls",
        CONNECTOR_TOKEN,
        json!({"id": "call-1", "queue": "support"}),
    )
    .await?;
    wait_for("the offer", Duration::from_secs(10), || async {
        let view = get(&http, &relay, "/api/routing/desk", &agent).await.ok()?;
        (view["work"][0]["state"] == "offered").then_some(())
    })
    .await?;
    post(
        &http,
        &relay,
        "/api/routing/interactions/call-1/accept",
        &agent,
        json!({}),
    )
    .await?;

    let mut cobrowse = cobrowse_agent(&relay, &http, &agent).await?;
    let mut inbox = http
        .get(relay.url("/api/messaging/stream"))
        .bearer_auth(&agent)
        .send()
        .await?
        .error_for_status()?;
    relay.cli(&["agent", "disable", "agent"]).await?;
    let disabled_at = Instant::now();
    // The desk socket closes: read until it ends (pushes may come first).
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(message) = desk.next().await {
            if matches!(message, Ok(Message::Close(_)) | Err(_)) {
                break;
            }
        }
    })
    .await;
    ensure!(
        closed.is_ok(),
        "the disabled agent's desk socket was still open 5 s after `relay agent disable`"
    );
    let took = disabled_at.elapsed();
    let closed = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(message) = cobrowse.next().await {
            if matches!(message, Ok(Message::Close(_)) | Err(_)) {
                break;
            }
        }
    })
    .await;
    ensure!(
        closed.is_ok(),
        "the disabled agent's co-browse socket stayed open"
    );
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        while let Ok(Some(_)) = inbox.chunk().await {}
    })
    .await;
    ensure!(
        ended.is_ok(),
        "the disabled agent's messaging stream stayed open"
    );

    // Routing signed the agent out: its connected call is waiting again, and a new call is
    // not offered to it.
    let board = wait_for("the call requeued", Duration::from_secs(5), || async {
        let board = get(&http, &relay, "/api/routing/realtime", &supervisor)
            .await
            .ok()?;
        let support = board["queues"]
            .as_array()?
            .iter()
            .find(|q| q["name"] == "support")?
            .clone();
        let gone = board_agent(&board, "agent").is_none_or(|a| a["status"] == "offline");
        (support["waiting"] == 1 && gone).then_some(board)
    })
    .await
    .with_context(|| "the disabled agent kept its call or stayed signed in to routing")?;
    post(
        &http,
        &relay,
        "/api/telephony/calls",
        CONNECTOR_TOKEN,
        json!({"id": "call-2", "queue": "support"}),
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let board: Value = get(&http, &relay, "/api/routing/realtime", &supervisor)
        .await
        .unwrap_or(board);
    ensure!(
        board_agent(&board, "agent").is_none_or(|a| a["status"] == "offline"),
        "routing still lists the disabled agent: {board}"
    );
    let status = http
        .get(relay.url("/api/routing/desk"))
        .bearer_auth(&agent)
        .send()
        .await?
        .status()
        .as_u16();
    ensure!(
        status == 401,
        "the disabled agent's token still works: {status}"
    );
    println!("desk socket closed {took:?} after the disable");
    Ok(())
}
