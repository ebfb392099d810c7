//! What the attack tests share: HTTP clients bound to chosen loopback addresses (so one test
//! can be many clients), and the demo agent's sign-in.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::{Context, Result};
use e2e::Relay;
use serde_json::{json, Value};

/// A client whose connections come from `127.a.b.c` (Linux answers the whole 127/8).
pub fn client_from(a: u8, b: u8, c: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, a, b, c)))
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// Signs the demo agent in; returns its token.
pub async fn sign_in(relay: &Relay, client: &reqwest::Client) -> Result<String> {
    sign_in_as(relay, client, "agent").await
}

/// Signs `name` in (its password is its name, as the demo seeds them and the role tests make
/// people); returns its token.
pub async fn sign_in_as(relay: &Relay, client: &reqwest::Client, name: &str) -> Result<String> {
    let answer = login_answer(relay, client, name).await?;
    Ok(answer["token"].as_str().context("no token")?.to_owned())
}

/// The whole answer to `name`'s sign-in (password: its name): token and person with its roles.
pub async fn login_answer(relay: &Relay, client: &reqwest::Client, name: &str) -> Result<Value> {
    Ok(client
        .post(relay.url("/api/login"))
        .json(&json!({"name": name, "password": name}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// A guest token minted by the relay for `client`; the answer's status if it refused.
pub async fn guest_token(relay: &Relay, client: &reqwest::Client) -> Result<String, u16> {
    let r = client
        .post(relay.url("/api/messaging/guest"))
        .send()
        .await
        .map_err(|_| 0u16)?;
    if !r.status().is_success() {
        return Err(r.status().as_u16());
    }
    let body: Value = r.json().await.map_err(|_| 0u16)?;
    body["token"].as_str().map(str::to_owned).ok_or(0)
}

/// A guest message; the whole answer, for its status and headers.
pub async fn guest_says(
    relay: &Relay,
    client: &reqwest::Client,
    token: &str,
    text: &str,
) -> Result<reqwest::Response> {
    Ok(client
        .post(relay.url("/api/messaging/guest/messages"))
        .header("X-Guest-Token", token)
        .json(&json!({ "text": text }))
        .send()
        .await?)
}

/// Conversations waiting for an agent, as an agent's inbox lists them.
pub async fn waiting_conversations(relay: &Relay, agent: &str) -> Result<usize> {
    let list: Value = reqwest::Client::new()
        .get(relay.url("/api/messaging/conversations?scope=waiting"))
        .bearer_auth(agent)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(list.as_array().map_or(0, Vec::len))
}

/// A refused [`guest_token`] as an error.
pub fn minting(status: u16) -> anyhow::Error {
    anyhow::anyhow!("minting a guest token answered {status}")
}

/// A co-browse session's audit log as (event, detail) pairs, read as its agent.
pub async fn audit(relay: &Relay, token: &str, session: &str) -> Result<Vec<(String, String)>> {
    let answer: Value = reqwest::Client::new()
        .get(relay.url(&format!("/api/cobrowse/sessions/{session}/audit")))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let entries = answer.as_array().context("the audit is a list")?;
    Ok(entries
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (text("event"), text("detail"))
        })
        .collect())
}

/// The status and the JSON body (`null` when there is none) of an answer.
pub async fn answer(r: reqwest::RequestBuilder) -> Result<(u16, Value)> {
    let r = r.send().await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}
