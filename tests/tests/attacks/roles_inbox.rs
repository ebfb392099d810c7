//! The supervisor's inbox (`scope=all`): every open conversation, whoever holds it. On the old
//! relay there was no such view, and an unknown scope quietly answered the caller's own list.

use anyhow::{Context, Result};
use e2e::Relay;
use serde_json::Value;

use super::support::{client_from, sign_in_as};

async fn inbox(
    relay: &Relay,
    http: &reqwest::Client,
    token: &str,
    scope: &str,
) -> Result<(u16, Value)> {
    let r = http
        .get(relay.url(&format!("/api/messaging/conversations?scope={scope}")))
        .bearer_auth(token)
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|s| s["conversation"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_supervisor_lists_every_open_conversation_and_an_agent_is_refused() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    relay
        .cli(&["user", "add", "bob", "--role", "agent", "--password", "bob"])
        .await?;
    let http = client_from(0, 49, 1);
    let agent = sign_in_as(&relay, &http, "agent").await?;
    let bob = sign_in_as(&relay, &http, "bob").await?;
    let supervisor = sign_in_as(&relay, &http, "supervisor").await?;
    let (taken, _) = relay.conversation_of(&agent).await?;
    let (waiting, _) = relay.guest_conversation(&http).await?;

    let (status, all) = inbox(&relay, &http, &supervisor, "all").await?;
    assert_eq!(status, 200, "{all}");
    let listed = ids(&all);
    assert!(listed.contains(&taken), "the agent's conversation: {all}");
    assert!(listed.contains(&waiting), "the waiting one: {all}");

    // Another agent neither lists it nor reads it.
    let (status, refusal) = inbox(&relay, &http, &bob, "all").await?;
    assert_eq!(status, 403, "{refusal}");
    assert_eq!(refusal["permission"], "work.read_any");
    let (status, mine) = inbox(&relay, &http, &bob, "mine").await?;
    assert_eq!(status, 200);
    assert!(!ids(&mine).contains(&taken), "{mine}");
    // The supervisor opens it from that list.
    let status = http
        .get(relay.url(&format!("/api/messaging/conversations/{taken}")))
        .bearer_auth(&supervisor)
        .send()
        .await?
        .status();
    assert_eq!(status, 200);

    // A scope the relay does not know is an error, not someone's list.
    let (status, answer) = inbox(&relay, &http, &bob, "everyone").await?;
    assert_eq!(status, 400, "{answer}");
    answer["error"].as_str().context("an error message")?;
    Ok(())
}
