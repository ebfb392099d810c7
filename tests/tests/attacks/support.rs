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
    let answer: Value = client
        .post(relay.url("/api/login"))
        .json(&json!({"name": "agent", "password": "agent"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(answer["token"].as_str().context("no token")?.to_owned())
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
