//! Open-messaging webhooks. Observed on the old relay: the same signed hub-form delivery sent
//! three times stored three messages; a request signed both ways could be replayed long after
//! by dropping its timestamped signature (the hub form has no timestamp to be stale); and an
//! integration's webhook answering `302` had the relay's signed delivery follow it to another
//! server.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use anyhow::{Context, Result};
use base64::{engine::general_purpose::STANDARD, Engine};
use e2e::Relay;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use super::support::{client_from, sign_in};

const SECRET: &str = "attack-test-integration-secret";

fn sign(message: &[u8]) -> Result<String> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes())?;
    mac.update(message);
    Ok(format!(
        "sha256={}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// An inbound message from the channel's user `from`, with the channel's message id `id`.
fn message(id: &str, from: &str, text: &str) -> String {
    json!({
        "id": id,
        "channel": {"platform": "Open", "type": "Private", "from": {"id": from, "nickname": "Pat"}},
        "type": "Text", "text": text, "direction": "Inbound",
    })
    .to_string()
}

/// The signature headers of `body`: the hub form, and the timestamped form at `at` (unix
/// seconds) under `delivery`, as an integration that signs both ways sends them.
fn both_forms(body: &str, delivery: &str, at: i64) -> Result<Vec<(&'static str, String)>> {
    let timestamped = format!("{at}.{delivery}.{body}");
    Ok(vec![
        ("x-hub-signature-256", sign(body.as_bytes())?),
        ("x-signature-256", sign(timestamped.as_bytes())?),
        ("x-timestamp", at.to_string()),
        ("x-delivery-id", delivery.to_owned()),
    ])
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// A relay with integration `chan`, whose outbound webhook is `webhook`.
async fn relay_with_integration(webhook: &str) -> Result<Relay> {
    let relay = Relay::start(&[]).await?;
    relay
        .cli(&[
            "integration",
            "add",
            "chan",
            "--secret",
            SECRET,
            "--webhook",
            webhook,
        ])
        .await?;
    Ok(relay)
}

/// POSTs `body` to the integration's inbound webhook with `headers`; status and JSON answer.
async fn deliver(relay: &Relay, body: &str, headers: &[(&str, String)]) -> Result<(u16, Value)> {
    let mut request = reqwest::Client::new()
        .post(relay.url("/api/messaging/open/chan"))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

/// Every message stored in conversation `id`, as an agent reads it.
async fn messages(relay: &Relay, token: &str, id: &str) -> Result<Vec<Value>> {
    let view: Value = reqwest::Client::new()
        .get(relay.url(&format!("/api/messaging/conversations/{id}")))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(view["history"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["messages"].as_array().cloned().unwrap_or_default())
        .collect())
}

#[tokio::test]
async fn a_signed_delivery_sent_three_times_stores_one_message() -> Result<()> {
    let relay = relay_with_integration("http://127.0.0.1:9/unused").await?;
    let body = message("ext-1", "user-1", "where is my order?");
    let hub = vec![("x-hub-signature-256", sign(body.as_bytes())?)];
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(deliver(&relay, &body, &hub).await?);
    }
    let (status, first) = &answers[0];
    assert_eq!(*status, 200, "{first}");
    let conversation = first["conversation_id"]
        .as_str()
        .context("a conversation")?;
    let token = sign_in(&relay, &client_from(0, 30, 1)).await?;
    let stored = messages(&relay, &token, conversation).await?;
    assert_eq!(
        stored.len(),
        1,
        "one message, not one per delivery: {stored:?}"
    );
    for (status, answer) in &answers[1..] {
        assert_eq!(
            (*status, answer),
            (200, first),
            "a redelivery is answered as the first"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_replay_with_the_timestamped_signature_dropped_is_refused() -> Result<()> {
    let relay = relay_with_integration("http://127.0.0.1:9/unused").await?;
    // The integration signs every delivery both ways.
    let fresh = message("ext-1", "user-1", "hello");
    let (status, ack) = deliver(&relay, &fresh, &both_forms(&fresh, "d-1", now_secs())?).await?;
    assert_eq!(status, 200, "{ack}");
    // An attacker captured a delivery ten minutes ago: as captured it is stale...
    let captured = message("ext-0", "user-1", "please refund order 1234");
    let headers = both_forms(&captured, "d-0", now_secs() - 600)?;
    let (status, answer) = deliver(&relay, &captured, &headers).await?;
    assert_eq!(status, 401, "{answer}");
    // ...and without its timestamped headers it must not become fresh.
    let hub_only: Vec<_> = headers
        .into_iter()
        .filter(|(name, _)| *name == "x-hub-signature-256")
        .collect();
    let (status, answer) = deliver(&relay, &captured, &hub_only).await?;
    assert_eq!(status, 401, "the downgraded replay was accepted: {answer}");
    let token = sign_in(&relay, &client_from(0, 30, 2)).await?;
    let conversation = ack["conversation_id"].as_str().context("a conversation")?;
    let stored = messages(&relay, &token, conversation).await?;
    assert_eq!(stored.len(), 1, "{stored:?}");
    Ok(())
}

/// A local HTTP server that answers every request with `answer` and counts requests.
async fn server(
    answer: impl Fn(u16) -> String + Send + 'static,
) -> Result<(u16, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            let reply = answer(port);
            tokio::spawn(async move {
                // One request per connection: read its head (and whatever body came with it).
                let mut buf = vec![0u8; 64 * 1024];
                let mut read = 0;
                while let Ok(n) = socket.read(&mut buf[read..]).await {
                    if n == 0 {
                        return;
                    }
                    read += n;
                    if buf[..read].windows(4).any(|w| w == b"\r\n\r\n") || read == buf.len() {
                        break;
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Ok((port, seen))
}

#[tokio::test]
async fn an_outbound_delivery_does_not_follow_a_redirect() -> Result<()> {
    let ok = |_| "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned();
    let (elsewhere, reached_elsewhere) = server(ok).await?;
    let bounce = move |_| {
        format!(
            "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{elsewhere}/internal\r\n\
             content-length: 0\r\nconnection: close\r\n\r\n"
        )
    };
    let (webhook, reached_webhook) = server(bounce).await?;
    let relay = relay_with_integration(&format!("http://127.0.0.1:{webhook}/hook")).await?;
    let body = message("ext-1", "user-1", "hi");
    let hub = vec![("x-hub-signature-256", sign(body.as_bytes())?)];
    let (status, ack) = deliver(&relay, &body, &hub).await?;
    assert_eq!(status, 200, "{ack}");
    let conversation = ack["conversation_id"].as_str().context("a conversation")?;

    // An agent answers; the reply is delivered, signed, to the integration's webhook.
    let http = client_from(0, 30, 3);
    let token = sign_in(&relay, &http).await?;
    let path = |action: &str| {
        relay.url(&format!(
            "/api/messaging/conversations/{conversation}/{action}"
        ))
    };
    http.post(path("assign"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?;
    http.post(path("messages"))
        .bearer_auth(&token)
        .json(&json!({"text": "It ships today"}))
        .send()
        .await?
        .error_for_status()?;

    // The 302 is a failed delivery: it is tried again, and the other server never hears of it.
    e2e::wait_for(
        "a second attempt, or the redirect followed",
        Duration::from_secs(15),
        || {
            let (webhook, elsewhere) = (reached_webhook.clone(), reached_elsewhere.clone());
            async move {
                (webhook.load(Ordering::SeqCst) >= 2 || elsewhere.load(Ordering::SeqCst) > 0)
                    .then_some(())
            }
        },
    )
    .await?;
    assert_eq!(
        reached_elsewhere.load(Ordering::SeqCst),
        0,
        "the signed delivery followed the redirect"
    );
    assert!(reached_webhook.load(Ordering::SeqCst) >= 2);
    Ok(())
}
