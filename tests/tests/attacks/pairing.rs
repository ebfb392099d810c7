//! Guessing security keys. Observed on the old relay: 25 addresses × 5 wrong keys drained the
//! global guess budget, after which a customer typing the right key was refused 15 times out
//! of 15 (behind a reverse proxy every customer shares one address, so five typos locked
//! everyone out); and one agent creating 1,000 keys made every other agent's next key fail
//! with 503 for five minutes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::{bail, Context, Result};
use e2e::Relay;
use futures_util::{SinkExt, StreamExt};
use protocol::{ErrorCode, Frame, Hello, Limits, Message, Pairing, Role, PROTOCOL_VERSION};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Message as Ws};

use super::support::{client_from, sign_in};

/// What the relay answered a customer presenting a key.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Paired,
    Refused(ErrorCode),
}

/// A customer's page, from `127.0.net.host`, presenting `key` to the demo site.
async fn present(relay: &Relay, net: u8, host: u8, key: &str) -> Result<Answer> {
    present_via(relay, net, host, None, key).await
}

/// The same through a proxy that names the client in `X-Forwarded-For`.
async fn present_via(
    relay: &Relay,
    net: u8,
    host: u8,
    forwarded_for: Option<&str>,
    key: &str,
) -> Result<Answer> {
    let url = format!(
        "{}/ws/customer?site=demo",
        relay.base.replacen("http", "ws", 1)
    );
    let mut req = url.into_client_request()?;
    req.headers_mut()
        .insert("origin", HeaderValue::from_str(&relay.base)?);
    if let Some(client) = forwarded_for {
        req.headers_mut()
            .insert("x-forwarded-for", HeaderValue::from_str(client)?);
    }
    let relay_addr: SocketAddr = relay.base.trim_start_matches("http://").parse()?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(127, 0, net, host)),
        0,
    ))?;
    let stream = socket.connect(relay_addr).await?;
    let (mut ws, _) = tokio_tungstenite::client_async(req, stream).await?;
    let hello = Message::Hello(Hello {
        version: PROTOCOL_VERSION,
        role: Role::Customer,
        site: "demo".into(),
        pairing: Pairing::SecurityKey(key.to_owned()),
    });
    ws.send(Ws::Binary(Frame::new(0, hello).encode()?.into()))
        .await?;
    while let Some(item) = ws.next().await {
        let Ws::Binary(bytes) = item? else { continue };
        match Frame::decode(&bytes, &Limits::default())?.message {
            Message::Welcome(_) => return Ok(Answer::Paired),
            Message::Error(e) => return Ok(Answer::Refused(e.code)),
            _ => {}
        }
    }
    bail!("closed without an answer")
}

async fn new_key(relay: &Relay, client: &reqwest::Client, token: &str) -> Result<(u16, Value)> {
    let r = client
        .post(relay.url("/api/cobrowse/sessions"))
        .bearer_auth(token)
        .json(&json!({"interaction": "voice", "interaction_id": "call-1"}))
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await.unwrap_or(Value::Null)))
}

fn wrong_key(i: u32) -> String {
    format!("{:012}", 100_000_000_000u64 + u64::from(i))
}

#[tokio::test]
async fn guessers_spending_everyone_s_budget_do_not_lock_out_a_customer_with_the_right_key(
) -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let client = client_from(0, 4, 1);
    let token = sign_in(&relay, &client).await?;
    // 25 addresses, each on a network of its own, guess five wrong keys each: more than the
    // whole global budget.
    let mut guesses = 0;
    for net in 10..35u8 {
        for _ in 0..5 {
            guesses += 1;
            let answer = present(&relay, net, 1, &wrong_key(guesses)).await?;
            assert_ne!(answer, Answer::Paired);
        }
    }
    // The guessers are refused now...
    assert_eq!(
        present(&relay, 10, 1, &wrong_key(0)).await?,
        Answer::Refused(ErrorCode::RateLimited)
    );
    // ...and customers with their right keys pair, each on the first try, even after a typo.
    for (i, net) in (60..75u8).enumerate() {
        let (status, started) = new_key(&relay, &client, &token).await?;
        assert_eq!(status, 200, "{started}");
        let key = started["security_key"].as_str().context("key")?.to_owned();
        if i % 3 == 0 {
            assert_ne!(
                present(&relay, net, 1, &wrong_key(9_000)).await?,
                Answer::Paired
            );
        }
        assert_eq!(
            present(&relay, net, 1, &key).await?,
            Answer::Paired,
            "customer {i}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn one_agent_cannot_use_up_the_keys_of_the_others() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let client = client_from(0, 4, 2);
    let hog = sign_in(&relay, &client).await?;
    let mut refused = None;
    for _ in 0..30 {
        let (status, body) = new_key(&relay, &client, &hog).await?;
        if status != 200 {
            refused = Some((status, body));
            break;
        }
    }
    let (status, body) = refused.context("the agent's keys are capped")?;
    assert_eq!(status, 429, "{body}");
    // Another agent still gets a key. The demo has one agent: add one through the CLI.
    let other = add_agent_and_sign_in(&relay, &client).await?;
    let (status, body) = new_key(&relay, &client, &other).await?;
    assert_eq!(status, 200, "{body}");
    Ok(())
}

/// A second agent, `bob` / `bob`, signed in.
async fn add_agent_and_sign_in(relay: &Relay, client: &reqwest::Client) -> Result<String> {
    relay
        .cli(&["agent", "add", "bob", "--password", "bob"])
        .await?;
    let answer: Value = client
        .post(relay.url("/api/login"))
        .json(&json!({"name": "bob", "password": "bob"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(answer["token"].as_str().context("token")?.to_owned())
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_customer_has_its_own_budget_and_a_forged_header_earns_none(
) -> Result<()> {
    // The proxy is 127.0.90.1; everyone else is the internet.
    let relay = Relay::start(&["--trusted-proxy", "127.0.90.1/32"]).await?;
    let client = client_from(0, 4, 3);
    let token = sign_in(&relay, &client).await?;
    // Through the proxy, one guesser spends its address's budget.
    for i in 0..5 {
        let answer = present_via(&relay, 90, 1, Some("203.0.113.9"), &wrong_key(i)).await?;
        assert_eq!(answer, Answer::Refused(ErrorCode::UnknownKey));
    }
    assert_eq!(
        present_via(&relay, 90, 1, Some("203.0.113.9"), &wrong_key(99)).await?,
        Answer::Refused(ErrorCode::RateLimited)
    );
    // A customer behind the same proxy is another client, and pairs.
    let (_, started) = new_key(&relay, &client, &token).await?;
    let key = started["security_key"].as_str().context("key")?.to_owned();
    assert_eq!(
        present_via(&relay, 90, 1, Some("198.51.100.7"), &key).await?,
        Answer::Paired
    );
    // From outside the proxy, a forged header does not make a guesser someone new.
    for i in 0..5 {
        let forged = format!("192.0.2.{i}");
        present_via(&relay, 91, 1, Some(&forged), &wrong_key(100 + i)).await?;
    }
    assert_eq!(
        present_via(&relay, 91, 1, Some("192.0.2.77"), &wrong_key(200)).await?,
        Answer::Refused(ErrorCode::RateLimited)
    );
    Ok(())
}
