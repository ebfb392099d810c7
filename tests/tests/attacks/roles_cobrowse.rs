//! Co-browse between people: an agent touches only its own sessions and interactions. The
//! relay issues interaction ids (128 random bits) when the console names none; another agent
//! who names someone's interaction or session, guessed or not, ends and reads nothing of it; a
//! supervisor reads any session but ends none; a person without the agent role starts no
//! co-browse; an offer goes only into the offering agent's own conversation.

use anyhow::{ensure, Context, Result};
use e2e::Relay;
use serde_json::{json, Value};

use super::support::{guest_says, guest_token, login_answer};

async fn person(relay: &Relay, name: &str, role: &str) -> Result<String> {
    relay
        .cli(&["user", "add", name, "--role", role, "--password", name])
        .await?;
    let answer = login_answer(relay, &reqwest::Client::new(), name).await?;
    ensure!(
        answer["agent"]["roles"] == json!([role]),
        "sign-in does not say {name}'s roles: {answer}"
    );
    Ok(answer["token"].as_str().context("no token")?.to_owned())
}

/// Status and body of a request as `token`.
async fn ask(
    relay: &Relay,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value)> {
    let mut request = reqwest::Client::new()
        .request(method, relay.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await?;
    let status = answer.status().as_u16();
    Ok((status, answer.json().await.unwrap_or(Value::Null)))
}

#[tokio::test]
async fn another_agent_cannot_end_read_or_guess_an_agents_co_browse() -> Result<()> {
    use reqwest::Method;
    let relay = Relay::start(&[]).await?;
    let alice = person(&relay, "alice", "agent").await?;
    let bob = person(&relay, "bob", "agent").await?;
    let watcher = person(&relay, "watcher", "supervisor").await?;

    let (status, started) = ask(
        &relay,
        &alice,
        Method::POST,
        "/api/cobrowse/sessions",
        Some(json!({"interaction": "voice"})),
    )
    .await?;
    ensure!(status == 200, "alice could not start: {status} {started}");
    let interaction = started["interaction_id"]
        .as_str()
        .context("no interaction id")?;
    let session = started["session_id"].as_str().context("no session id")?;
    let random = interaction.strip_prefix("int-").unwrap_or_default();
    ensure!(
        random.len() == 32 && random.bytes().all(|b| b.is_ascii_hexdigit()),
        "the relay's interaction id is not 128 random bits: {interaction}"
    );

    // Bob names alice's interaction and session: nothing of hers ends or is shown.
    for action in ["end", "transfer"] {
        let (status, answer) = ask(
            &relay,
            &bob,
            Method::POST,
            &format!("/api/interactions/{interaction}/{action}"),
            None,
        )
        .await?;
        ensure!(
            status == 200 && answer["ended_sessions"] == 0,
            "bob's {action} of alice's interaction ended something: {status} {answer}"
        );
    }
    let state = format!("/api/cobrowse/sessions/{session}");
    let (status, answer) = ask(&relay, &bob, Method::GET, &state, None).await?;
    ensure!(
        status == 403 && answer["permission"] == "work.read_any",
        "bob read alice's session: {status} {answer}"
    );
    for path in [format!("{state}/end")] {
        let (status, answer) = ask(&relay, &bob, Method::POST, &path, None).await?;
        ensure!(
            status == 403 && answer["permission"] == "work.own",
            "bob ended alice's session: {status} {answer}"
        );
    }
    let (status, answer) = ask(&relay, &bob, Method::GET, &format!("{state}/audit"), None).await?;
    ensure!(status == 403, "bob read alice's audit: {status} {answer}");

    // A supervisor reads it, and ends nothing.
    let (status, answer) = ask(&relay, &watcher, Method::GET, &state, None).await?;
    ensure!(
        status == 200,
        "a supervisor could not read the session: {status} {answer}"
    );
    let (status, answer) = ask(
        &relay,
        &watcher,
        Method::POST,
        &format!("{state}/end"),
        None,
    )
    .await?;
    ensure!(
        status == 403 && answer["permission"] == "work.own",
        "a supervisor ended an agent's session: {status} {answer}"
    );
    let (status, answer) = ask(
        &relay,
        &watcher,
        Method::POST,
        "/api/cobrowse/sessions",
        Some(json!({"interaction": "voice"})),
    )
    .await?;
    ensure!(
        status == 403 && answer["permission"] == "work.own",
        "a person without the agent role started a co-browse: {status} {answer}"
    );

    // Alice's session lives on; her own end works.
    let (status, answer) = ask(&relay, &alice, Method::GET, &state, None).await?;
    ensure!(status == 200, "alice lost her session: {status} {answer}");
    let (status, answer) = ask(
        &relay,
        &alice,
        Method::POST,
        &format!("/api/interactions/{interaction}/end"),
        None,
    )
    .await?;
    ensure!(
        status == 200 && answer["ended_sessions"] == 1,
        "alice's own interaction end did not end her session: {status} {answer}"
    );

    // The refusals are in the audit.
    let db = rusqlite::Connection::open(relay.data_dir().join("relay.db"))?;
    let mut refused = 0;
    for _ in 0..50 {
        refused = db.query_row(
            "SELECT COUNT(*) FROM access_refusals r JOIN agents a ON a.id = r.agent_id
             WHERE a.name IN ('bob', 'watcher')",
            [],
            |r| r.get::<_, i64>(0),
        )?;
        if refused >= 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ensure!(refused >= 5, "only {refused} refusals were audited");
    Ok(())
}

#[tokio::test]
async fn an_agent_offers_co_browse_only_in_its_own_conversation() -> Result<()> {
    use reqwest::Method;
    let relay = Relay::start(&[]).await?;
    let bob = person(&relay, "bob", "agent").await?;
    let client = reqwest::Client::new();
    let guest = guest_token(&relay, &client)
        .await
        .map_err(|s| anyhow::anyhow!("guest token: {s}"))?;
    let sent = guest_says(&relay, &client, &guest, "hello, my order?").await?;
    ensure!(sent.status().is_success(), "the guest could not write");
    let sent: Value = sent.json().await?;
    let conversation = sent["conversation_id"]
        .as_str()
        .with_context(|| format!("no conversation in {sent}"))?
        .to_owned();
    // Waiting, not bob's: bob's offer would make the customer's "Share my screen" his.
    let (status, answer) = ask(
        &relay,
        &bob,
        Method::POST,
        "/api/cobrowse/offers",
        Some(json!({"conversation_id": conversation, "interaction": "web_chat"})),
    )
    .await?;
    ensure!(
        status == 403 && answer["permission"] == "work.own",
        "bob offered co-browse in a conversation not his: {status} {answer}"
    );
    let (status, _) = ask(
        &relay,
        &bob,
        Method::POST,
        "/api/cobrowse/offers",
        Some(json!({"conversation_id": "no-such-conversation", "interaction": "web_chat"})),
    )
    .await?;
    ensure!(
        status == 404,
        "an offer in no conversation answered {status}"
    );
    Ok(())
}
