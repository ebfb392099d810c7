//! Routing's and reporting's routes behind the roles. Observed on the old relay: any signed-in
//! person read the wallboard and every report, created queues and rewrote another agent's
//! routing profile; and a person without the agent role opened a desk.

use std::time::Duration;

use anyhow::{Context, Result};
use e2e::Relay;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue};

use super::support::{client_from, sign_in_as};

const CONNECTOR: &str = "pbx=roles-connector-token-0123456789";
const CONNECTOR_TOKEN: &str = "roles-connector-token-0123456789";

/// The status and the `permission` a refusal names.
async fn refused(r: reqwest::RequestBuilder) -> Result<(u16, String)> {
    let r = r.send().await?;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    Ok((status, body["permission"].as_str().unwrap_or("").to_owned()))
}

const READS: [&str; 5] = [
    "/api/routing/realtime",
    "/api/reports/queues",
    "/api/reports/queues.csv",
    "/api/reports/agents",
    "/api/reports/agents.csv",
];

fn permission_of(path: &str) -> &'static str {
    if path.starts_with("/api/reports/") {
        "reports.view"
    } else {
        "wallboard.view"
    }
}

#[tokio::test]
async fn a_plain_agent_reads_no_board_nor_report_and_configures_nothing() -> Result<()> {
    let relay = Relay::start(&["--connector-token", CONNECTOR]).await?;
    relay
        .cli(&["agent", "add", "bob", "--password", "bob-password"])
        .await?;
    let http = client_from(0, 48, 1);
    let agent = sign_in_as(&relay, &http, "agent").await?;
    let admin = sign_in_as(&relay, &http, "admin").await?;
    let supervisor = sign_in_as(&relay, &http, "supervisor").await?;

    for path in READS {
        let answer = refused(http.get(relay.url(path)).bearer_auth(&agent)).await?;
        assert_eq!(answer, (403, permission_of(path).to_owned()), "{path}");
        let status = http
            .get(relay.url(path))
            .bearer_auth(&supervisor)
            .send()
            .await?
            .status();
        assert!(status.is_success(), "a supervisor reads {path}: {status}");
    }

    // The admin makes two queues and puts bob in `sales`.
    for name in ["sales", "support"] {
        http.post(relay.url("/api/routing/queues"))
            .bearer_auth(&admin)
            .json(&json!({ "name": name }))
            .send()
            .await?
            .error_for_status()?;
    }
    http.put(relay.url("/api/routing/agents/bob/profile"))
        .bearer_auth(&admin)
        .json(&json!({ "queues": ["sales"] }))
        .send()
        .await?
        .error_for_status()?;

    // The agent tries to make a queue and to move bob out of `sales`.
    let answer = refused(
        http.post(relay.url("/api/routing/queues"))
            .bearer_auth(&agent)
            .json(&json!({ "name": "mine" })),
    )
    .await?;
    assert_eq!(answer, (403, "admin.routing".to_owned()), "queue create");
    let answer = refused(
        http.put(relay.url("/api/routing/agents/bob/profile"))
            .bearer_auth(&agent)
            .json(&json!({ "queues": ["support"] })),
    )
    .await?;
    assert_eq!(answer, (403, "admin.routing".to_owned()), "profile rewrite");

    // No queue `mine` came to be.
    let queues: Value = http
        .get(relay.url("/api/routing/queues"))
        .bearer_auth(&supervisor)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let names: Vec<&str> = queues
        .as_array()
        .context("a list of queues")?
        .iter()
        .filter_map(|q| q["queue"]["name"].as_str())
        .collect();
    assert!(names.contains(&"sales"), "{queues}");
    assert!(!names.contains(&"mine"), "the agent made a queue: {queues}");
    // The agent sees the queues' names (for its transfer dialog) and which calls their chats
    // offer (for its desk's call buttons), not the rest of their configuration.
    let seen: Value = http
        .get(relay.url("/api/routing/queues"))
        .bearer_auth(&agent)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let rows = seen.as_array().context("a list of queues")?;
    assert_eq!(rows.len(), queues.as_array().map_or(0, Vec::len), "{seen}");
    for row in rows {
        let keys: Vec<&String> = row["queue"]
            .as_object()
            .context("a queue")?
            .keys()
            .collect();
        assert_eq!(
            keys,
            ["calls_from_chat", "name"],
            "an agent saw a queue's configuration: {seen}"
        );
    }

    // Bob is still in `sales`: a call there is offered to him.
    let bob: Value = http
        .post(relay.url("/api/login"))
        .json(&json!({"name": "bob", "password": "bob-password"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let bob = bob["token"].as_str().context("no token")?.to_owned();
    http.post(relay.url("/api/routing/presence"))
        .bearer_auth(&bob)
        .json(&json!({ "presence": "available" }))
        .send()
        .await?
        .error_for_status()?;
    http.post(relay.url("/api/telephony/calls"))
        .bearer_auth(CONNECTOR_TOKEN)
        .json(&json!({"id": "call-1", "queue": "sales"}))
        .send()
        .await?
        .error_for_status()?;
    e2e::wait_for("the call offered to bob", Duration::from_secs(10), || {
        let (http, url, bob) = (http.clone(), relay.url("/api/routing/desk"), bob.clone());
        async move {
            let desk: Value = http
                .get(url)
                .bearer_auth(bob)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let work = desk["work"].as_array()?;
            (!work.is_empty()).then_some(())
        }
    })
    .await?;
    Ok(())
}

async fn desk_upgrade(relay: &Relay, token: &str) -> Result<u16> {
    let mut req = relay
        .url("/ws/desk")
        .replacen("http", "ws", 1)
        .into_client_request()?;
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    Ok(match tokio_tungstenite::connect_async(req).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => return Err(e.into()),
    })
}

#[tokio::test]
async fn only_an_agent_opens_a_desk() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let http = client_from(0, 48, 2);
    for name in ["supervisor", "admin"] {
        let token = sign_in_as(&relay, &http, name).await?;
        for r in [
            http.get(relay.url("/api/routing/desk")),
            http.post(relay.url("/api/routing/presence"))
                .json(&json!({ "presence": "available" })),
            http.post(relay.url("/api/routing/interactions/x/accept")),
        ] {
            let answer = refused(r.bearer_auth(&token)).await?;
            assert_eq!(answer, (403, "work.own".to_owned()), "{name}");
        }
        assert_eq!(desk_upgrade(&relay, &token).await?, 403, "{name}: /ws/desk");
    }
    // Nobody without the agent role went available.
    let supervisor = sign_in_as(&relay, &http, "supervisor").await?;
    let board: Value = http
        .get(relay.url("/api/routing/realtime"))
        .bearer_auth(&supervisor)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let agents = board["agents"].as_array().cloned().unwrap_or_default();
    assert!(agents.is_empty(), "signed into routing: {board}");
    let agent = sign_in_as(&relay, &http, "agent").await?;
    assert_eq!(desk_upgrade(&relay, &agent).await?, 101, "the agent's desk");
    Ok(())
}
