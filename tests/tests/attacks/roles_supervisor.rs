//! A supervisor's orders in routing: assign and force-assign an interaction to a chosen
//! agent, set a stuck agent's state, sign it out, and the wallboard stream. A plain agent is
//! refused every one of them (403 naming the permission) and nothing changes; a supervisor's
//! forced assignment to an agent at capacity (on a call) reaches that agent's desk socket at
//! once and is journaled as forced; without force it is a 409.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use e2e::{wait_for, Relay};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Message};

use super::support::{answer, client_from, login_answer, sign_in_as};

const CONNECTOR: &str = "pbx=supervisor-connector-token-0123456789";
const CONNECTOR_TOKEN: &str = "supervisor-connector-token-0123456789";
const WAIT: Duration = Duration::from_secs(10);

/// A relay with queue `sales`, the demo agent on a connected call `call-1` there, and
/// `bob` (an agent) made but not signed in to routing.
async fn agent_on_a_call(http: &reqwest::Client) -> Result<(Relay, String)> {
    let relay = Relay::start(&["--connector-token", CONNECTOR]).await?;
    relay
        .cli(&["user", "add", "bob", "--role", "agent", "--password", "bob"])
        .await?;
    let admin = sign_in_as(&relay, http, "admin").await?;
    http.post(relay.url("/api/routing/queues"))
        .bearer_auth(&admin)
        .json(&json!({ "name": "sales" }))
        .send()
        .await?
        .error_for_status()?;
    let agent = sign_in_as(&relay, http, "agent").await?;
    http.post(relay.url("/api/routing/presence"))
        .bearer_auth(&agent)
        .json(&json!({ "presence": "available" }))
        .send()
        .await?
        .error_for_status()?;
    arrive(&relay, http, "call-1", "call").await?;
    http.post(relay.url("/api/routing/interactions/call-1/accept"))
        .bearer_auth(&agent)
        .send()
        .await?
        .error_for_status()?;
    Ok((relay, agent))
}

async fn arrive(relay: &Relay, http: &reqwest::Client, id: &str, media: &str) -> Result<()> {
    http.post(relay.url("/api/routing/interactions"))
        .bearer_auth(CONNECTOR_TOKEN)
        .json(&json!({ "id": id, "queue": "sales", "media": media }))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

async fn desk(relay: &Relay, http: &reqwest::Client, token: &str) -> Result<Value> {
    Ok(http
        .get(relay.url("/api/routing/desk"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// `(interaction, state)` of each piece of work on a desk.
fn work(desk: &Value) -> Vec<(String, String)> {
    let items = desk["work"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .map(|w| {
            let text = |k: &str| w[k].as_str().unwrap_or_default().to_owned();
            (text("interaction"), text("state"))
        })
        .collect()
}

fn pair(interaction: &str, state: &str) -> (String, String) {
    (interaction.to_owned(), state.to_owned())
}

/// How many interactions wait in `sales`, on the real-time board.
fn waiting_in_sales(board: &Value) -> Option<u64> {
    let queues = board["queues"].as_array()?;
    let sales = queues.iter().find(|q| q["name"] == "sales")?;
    sales["waiting"].as_u64()
}

async fn board(relay: &Relay, http: &reqwest::Client, supervisor: &str) -> Result<Value> {
    Ok(http
        .get(relay.url("/api/routing/realtime"))
        .bearer_auth(supervisor)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

#[tokio::test]
async fn a_plain_agent_assigns_nothing_sets_no_one_s_state_and_signs_no_one_out() -> Result<()> {
    let http = client_from(0, 49, 1);
    let (relay, agent) = agent_on_a_call(&http).await?;
    let bob = sign_in_as(&relay, &http, "bob").await?;
    http.post(relay.url("/api/routing/presence"))
        .bearer_auth(&bob)
        .json(&json!({ "presence": "away" }))
        .send()
        .await?
        .error_for_status()?;
    arrive(&relay, &http, "chat-1", "chat").await?;
    let before = (
        desk(&relay, &http, &agent).await?,
        desk(&relay, &http, &bob).await?,
    );

    // Bob, a plain agent, tries to take the waiting chat and the agent's call for himself,
    // with and without force, to set the agent away and to sign her out.
    let tries = [
        (
            http.post(relay.url("/api/routing/interactions/chat-1/assign"))
                .json(&json!({ "agent": "bob" })),
            "work.assign_any",
        ),
        (
            http.post(relay.url("/api/routing/interactions/call-1/assign"))
                .json(&json!({ "agent": "bob", "force": true })),
            "work.assign_any",
        ),
        (
            http.post(relay.url("/api/routing/interactions/nothing-here/assign"))
                .json(&json!({ "agent": "nobody" })),
            "work.assign_any",
        ),
        (
            http.put(relay.url("/api/routing/agents/agent/state"))
                .json(&json!({ "state": "away" })),
            "agents.manage",
        ),
        (
            http.post(relay.url("/api/routing/agents/agent/sign-out")),
            "agents.manage",
        ),
        (
            http.get(relay.url("/api/routing/wallboard/stream")),
            "wallboard.view",
        ),
    ];
    for (request, permission) in tries {
        let (status, body) = answer(request.bearer_auth(&bob)).await?;
        ensure!(
            status == 403 && body["permission"] == permission,
            "{permission}: {status} {body}"
        );
    }

    // Nothing changed: the call is still hers, the chat still waits, both desks as before.
    let after = (
        desk(&relay, &http, &agent).await?,
        desk(&relay, &http, &bob).await?,
    );
    ensure!(
        work(&after.0) == vec![pair("call-1", "connected")],
        "{}",
        after.0
    );
    ensure!(after.0["presence"] == "available", "{}", after.0);
    ensure!(
        work(&after.1).is_empty() && after.1["presence"] == "away",
        "{}",
        after.1
    );
    ensure!(work(&before.0) == work(&after.0) && work(&before.1) == work(&after.1));
    let supervisor = sign_in_as(&relay, &http, "supervisor").await?;
    let board = board(&relay, &http, &supervisor).await?;
    ensure!(waiting_in_sales(&board) == Some(1), "{board}");

    // The refusals are audited (written behind the answer: polled).
    let db_path = relay.data_dir().join("relay.db");
    wait_for("the refusals in the audit", WAIT, || {
        let db_path = db_path.clone();
        async move {
            let db = rusqlite::Connection::open(db_path).ok()?;
            let refused: i64 = db
                .query_row(
                    "SELECT COUNT(*) FROM access_refusals
                     WHERE permission IN ('work.assign_any', 'agents.manage', 'wallboard.view')",
                    [],
                    |r| r.get(0),
                )
                .ok()?;
            (refused >= 6).then_some(())
        }
    })
    .await
}

/// Opens `token`'s desk socket.
async fn desk_socket(
    relay: &Relay,
    token: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
> {
    let mut req = relay
        .url("/ws/desk")
        .replacen("http", "ws", 1)
        .into_client_request()?;
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    Ok(tokio_tungstenite::connect_async(req).await?.0)
}

#[tokio::test]
async fn a_supervisor_force_assigns_a_chat_to_an_agent_on_a_call_and_it_is_journaled_as_forced(
) -> Result<()> {
    let http = client_from(0, 49, 2);
    let (relay, agent) = agent_on_a_call(&http).await?;
    let login = login_answer(&relay, &http, "supervisor").await?;
    let supervisor = login["token"].as_str().context("token")?.to_owned();
    let supervisor_id = login["agent"]["id"].as_str().context("id")?.to_owned();
    arrive(&relay, &http, "chat-1", "chat").await?;
    let mut socket = desk_socket(&relay, &agent).await?;

    let assign = |id: &str, agent: &str, force: bool| {
        http.post(relay.url(&format!("/api/routing/interactions/{id}/assign")))
            .bearer_auth(&supervisor)
            .json(&json!({ "agent": agent, "force": force }))
    };
    // Without force: she is on a call, so she has no room.
    let (status, body) = answer(assign("chat-1", "agent", false)).await?;
    ensure!(status == 409, "{status} {body}");
    ensure!(work(&desk(&relay, &http, &agent).await?) == vec![pair("call-1", "connected")]);
    // Unknown interaction or agent: 404; an agent not signed in to routing: 409.
    let (status, body) = answer(assign("no-such-chat", "agent", true)).await?;
    ensure!(status == 404, "unknown interaction: {status} {body}");
    let (status, body) = answer(assign("chat-1", "no-such-agent", true)).await?;
    ensure!(status == 404, "unknown agent: {status} {body}");
    let (status, body) = answer(assign("chat-1", "bob", true)).await?;
    ensure!(status == 409, "bob is not signed in: {status} {body}");

    // With force it is hers, above her room, and her open desk socket shows it at once.
    let (status, body) = answer(assign("chat-1", "agent", true)).await?;
    ensure!(status == 200 && body["forced"] == true, "{status} {body}");
    let pushed = tokio::time::timeout(WAIT, async {
        while let Some(message) = socket.next().await {
            if let Message::Text(text) = message? {
                let desk: Value = serde_json::from_str(&text)?;
                if work(&desk).contains(&pair("chat-1", "connected")) {
                    return Ok::<_, anyhow::Error>(desk);
                }
            }
        }
        anyhow::bail!("the desk socket closed")
    })
    .await
    .context("the assignment never reached the desk socket")??;
    ensure!(
        work(&pushed).contains(&pair("call-1", "connected")),
        "the call goes on: {pushed}"
    );

    // The journal says who did it, to whom, and that it was forced.
    let db_path = relay.data_dir().join("relay.db");
    let detail = wait_for("the supervisor's entry", WAIT, || {
        let db_path = db_path.clone();
        async move {
            let db = rusqlite::Connection::open(db_path).ok()?;
            db.query_row(
                "SELECT detail FROM routing_events WHERE kind = 'supervisor_assign'
                   AND interaction_id = 'chat-1'",
                [],
                |r| r.get::<_, String>(0),
            )
            .ok()
        }
    })
    .await?;
    ensure!(
        detail.contains(&format!("by={supervisor_id}")) && detail.contains("forced=true"),
        "{detail}"
    );

    // A stuck agent: the supervisor sets her away, then signs her out; her work waits again.
    let (status, body) = answer(
        http.put(relay.url("/api/routing/agents/agent/state"))
            .bearer_auth(&supervisor)
            .json(&json!({ "state": "away" })),
    )
    .await?;
    ensure!(
        status == 200 && body["presence"] == "away",
        "{status} {body}"
    );
    let (status, body) = answer(
        http.put(relay.url("/api/routing/agents/agent/state"))
            .bearer_auth(&supervisor)
            .json(&json!({ "state": "sleeping" })),
    )
    .await?;
    ensure!(status == 400, "unknown state: {status} {body}");
    let (status, body) = answer(
        http.post(relay.url("/api/routing/agents/agent/sign-out"))
            .bearer_auth(&supervisor),
    )
    .await?;
    ensure!(
        status == 200 && body["presence"] == "offline",
        "{status} {body}"
    );
    ensure!(work(&body).is_empty(), "{body}");
    wait_for("both back in the queue", WAIT, || async {
        let b = board(&relay, &http, &supervisor).await.ok()?;
        (waiting_in_sales(&b) == Some(2)).then_some(())
    })
    .await?;
    let (status, body) = answer(
        http.post(relay.url("/api/routing/agents/agent/sign-out"))
            .bearer_auth(&supervisor),
    )
    .await?;
    ensure!(status == 409, "signed out twice: {status} {body}");
    wait_for("the state change and the sign-out journaled", WAIT, || {
        let db_path = db_path.clone();
        async move {
            let db = rusqlite::Connection::open(db_path).ok()?;
            let kinds: i64 = db
                .query_row(
                    "SELECT COUNT(DISTINCT kind) FROM routing_events
                     WHERE kind IN ('supervisor_presence', 'supervisor_sign_out')",
                    [],
                    |r| r.get(0),
                )
                .ok()?;
            (kinds == 2).then_some(())
        }
    })
    .await
}

/// The `wallboard` events read from an open stream until `done` accepts one.
async fn next_board(
    stream: &mut reqwest::Response,
    buffer: &mut String,
    done: impl Fn(&Value) -> bool,
) -> Result<Value> {
    tokio::time::timeout(WAIT, async {
        loop {
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let is_board = event.lines().any(|l| l == "event: wallboard");
                let data = event.lines().find_map(|l| l.strip_prefix("data: "));
                if let (true, Some(data)) = (is_board, data) {
                    let board: Value = serde_json::from_str(data)?;
                    if done(&board) {
                        return Ok(board);
                    }
                }
            }
            let chunk = stream.chunk().await?.context("the stream ended")?;
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .context("no such board on the stream")?
}

#[tokio::test]
async fn a_supervisor_without_the_agent_role_follows_the_wallboard_stream_as_a_call_arrives(
) -> Result<()> {
    let http = client_from(0, 49, 3);
    let relay = Relay::start(&["--connector-token", CONNECTOR]).await?;
    let admin = sign_in_as(&relay, &http, "admin").await?;
    http.post(relay.url("/api/routing/queues"))
        .bearer_auth(&admin)
        .json(&json!({ "name": "sales" }))
        .send()
        .await?
        .error_for_status()?;
    let login = login_answer(&relay, &http, "supervisor").await?;
    ensure!(login["agent"]["roles"] == json!(["supervisor"]), "{login}");
    let supervisor = login["token"].as_str().context("token")?.to_owned();

    let mut stream = http
        .get(relay.url("/api/routing/wallboard/stream"))
        .bearer_auth(&supervisor)
        .send()
        .await?
        .error_for_status()?;
    let kind = stream.headers()["content-type"].to_str()?.to_owned();
    ensure!(kind.starts_with("text/event-stream"), "{kind}");
    let mut buffer = String::new();
    // The board as it is comes at once.
    let first = next_board(&mut stream, &mut buffer, |_| true).await?;
    ensure!(waiting_in_sales(&first) == Some(0), "{first}");
    // A call arrives: the next board says so, and lists it for assignment.
    arrive(&relay, &http, "call-1", "call").await?;
    let moved = next_board(&mut stream, &mut buffer, |b| waiting_in_sales(b) == Some(1)).await?;
    let sales = moved["queues"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["name"] == "sales"))
        .context("sales")?;
    ensure!(
        sales["waiting_list"][0]["interaction"] == "call-1",
        "{moved}"
    );
    ensure!(sales["longest_waiting_since_ms"].is_u64(), "{moved}");
    Ok(())
}

#[tokio::test]
async fn a_messaging_conversation_forced_on_an_agent_is_hers_in_the_inbox_too() -> Result<()> {
    let http = client_from(0, 49, 4);
    let (relay, agent) = agent_on_a_call(&http).await?;
    let supervisor = sign_in_as(&relay, &http, "supervisor").await?;
    // A widget conversation waits for an agent: the only one is on a call.
    let (conversation, _guest) = relay.guest_conversation(&http).await?;
    let waiting = wait_for("the conversation routed", WAIT, || async {
        let b = board(&relay, &http, &supervisor).await.ok()?;
        let listed = b["queues"].as_array()?.iter().any(|q| {
            q["waiting_list"]
                .as_array()
                .is_some_and(|w| w.iter().any(|w| w["interaction"] == conversation.as_str()))
        });
        listed.then_some(b)
    })
    .await?;
    ensure!(waiting["agents"][0]["work"].as_array().map_or(0, Vec::len) == 1);
    let (status, body) = answer(
        http.post(relay.url(&format!("/api/routing/interactions/{conversation}/assign")))
            .bearer_auth(&supervisor)
            .json(&json!({ "agent": "agent", "force": true })),
    )
    .await?;
    ensure!(status == 200 && body["forced"] == true, "{status} {body}");
    // Messaging hears it from routing: the conversation is hers, and she may write into it.
    let url = relay.url(&format!("/api/messaging/conversations/{conversation}"));
    let seen = wait_for("the conversation assigned to her", WAIT, || async {
        let c: Value = http
            .get(&url)
            .bearer_auth(&agent)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        c["conversation"]["agent_id"].as_str().map(str::to_owned)
    })
    .await?;
    let me = login_answer(&relay, &http, "agent").await?;
    ensure!(
        Some(seen.as_str()) == me["agent"]["id"].as_str(),
        "{seen} {me}"
    );
    let sent = http
        .post(relay.url(&format!(
            "/api/messaging/conversations/{conversation}/messages"
        )))
        .bearer_auth(&agent)
        .json(&json!({ "text": "I am with you in a minute" }))
        .send()
        .await?;
    ensure!(sent.status().is_success(), "{}", sent.status());
    Ok(())
}
