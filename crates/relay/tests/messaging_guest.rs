//! The widget's guest API and the agent's inbox against a real relay: history on return,
//! unread counts and read receipts, the per-guest rate limit (nothing acknowledged is lost),
//! and attachments checked for type and size, allowed only in a conversation, and served only
//! to participants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Relay, ORIGIN};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn guest(relay: &Relay) -> String {
    let (status, body) = relay.http("POST", "/api/messaging/guest", &[], None).await;
    assert_eq!(status, 200);
    body["token"].as_str().unwrap().to_owned()
}

async fn say(relay: &Relay, token: &str, text: &str) -> (u16, Value) {
    relay
        .http(
            "POST",
            "/api/messaging/guest/messages",
            &[("X-Guest-Token", token)],
            Some(json!({ "text": text, "name": "Dana" })),
        )
        .await
}

async fn history(relay: &Relay, token: &str) -> Value {
    let (status, body) = relay
        .http(
            "GET",
            "/api/messaging/guest/history",
            &[("X-Guest-Token", token)],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A raw request with a binary body; returns status, headers and body.
async fn raw(
    relay: &Relay,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head, out[split + 4..].to_vec())
}

#[tokio::test]
async fn a_returning_guest_sees_its_history_and_the_agent_sees_unread_until_it_reads() {
    let relay = Relay::start(|_| {}).await;
    let token = guest(&relay).await;
    assert_eq!(history(&relay, &token).await["history"], json!([]));
    let (status, first) = say(&relay, &token, "Is the blue one in stock?").await;
    assert_eq!(status, 200, "{first}");
    say(&relay, &token, "Size M").await;
    let conv = first["conversation_id"].as_str().unwrap().to_owned();
    let agent = relay.login("alice").await;
    let (_, waiting) = relay
        .api(
            &agent,
            "GET",
            "/api/messaging/conversations?scope=waiting",
            None,
        )
        .await;
    assert_eq!(waiting[0]["contact_name"], "Dana");
    assert_eq!(waiting[0]["unread"], 2);
    relay
        .api(
            &agent,
            "POST",
            &format!("/api/messaging/conversations/{conv}/assign"),
            None,
        )
        .await;
    relay
        .api(
            &agent,
            "POST",
            &format!("/api/messaging/conversations/{conv}/messages"),
            Some(json!({"text": "Yes, in M too", "quick_replies": ["Buy", "No thanks"]})),
        )
        .await;
    let (status, _) = relay
        .api(
            &agent,
            "POST",
            &format!("/api/messaging/conversations/{conv}/read"),
            Some(json!({"seq": 2})),
        )
        .await;
    assert_eq!(status, 204);
    let (_, mine) = relay
        .api(&agent, "GET", "/api/messaging/conversations", None)
        .await;
    assert_eq!(mine[0]["unread"], 0);
    // The guest comes back later (same token from localStorage): the whole thread is there.
    let back = history(&relay, &token).await;
    let messages = back["history"][0]["messages"].as_array().unwrap();
    let texts: Vec<_> = messages
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["Is the blue one in stock?", "Size M", "Yes, in M too"]
    );
    assert_eq!(
        messages[0]["delivery"], "read",
        "the agent's read receipt shows"
    );
    assert_eq!(messages[2]["quick_replies"], json!(["Buy", "No thanks"]));
    assert!(
        back["history"][0].get("events").is_none(),
        "the timeline is for agents"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_guest_over_two_messages_a_second_gets_429_and_every_acknowledged_message_is_stored() {
    let relay = Relay::start(|_| {}).await;
    let token = guest(&relay).await;
    let mut acked = Vec::new();
    let mut refused = 0;
    for i in 0..20 {
        let (status, body) = say(&relay, &token, &format!("m{i}")).await;
        match status {
            200 => acked.push(body["message"]["id"].as_str().unwrap().to_owned()),
            429 => refused += 1,
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(
        refused >= 6,
        "burst of 4 plus 2/s, got {} acked",
        acked.len()
    );
    let stored: Vec<String> = history(&relay, &token).await["history"][0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, acked);
    relay.stop().await;
}

#[tokio::test]
async fn attachments_are_checked_for_type_and_size_and_served_only_to_participants() {
    let relay = Relay::start(|c| {
        c.messaging.max_attachment_bytes = 1024;
        // Every request below is one the guest's message bucket counts.
        c.messaging.guest_burst = 10;
    })
    .await;
    let token = guest(&relay).await;
    let upload = |mime: &'static str, bytes: Vec<u8>| {
        let token = token.clone();
        let relay = &relay;
        async move {
            raw(
                relay,
                "POST",
                "/api/messaging/guest/attachments?name=photo.png",
                &[("X-Guest-Token", &token), ("Content-Type", mime)],
                &bytes,
            )
            .await
        }
    };
    // A token that never wrote has no conversation to attach a file to.
    let (status, _, body) = upload("image/png", vec![7; 100]).await;
    assert_eq!(status, 409, "{}", String::from_utf8_lossy(&body));
    assert_eq!(say(&relay, &token, "a photo follows").await.0, 200);
    let (status, _, _) = upload("application/x-msdownload", vec![1; 10]).await;
    assert_eq!(status, 400);
    let (status, _, _) = upload("image/png", vec![1; 2048]).await;
    assert_eq!(status, 413);
    let (status, _, body) = upload("image/png", vec![7; 100]).await;
    assert_eq!(status, 200);
    let attachment: Value = serde_json::from_slice(&body).unwrap();
    let id = attachment["id"].as_str().unwrap().to_owned();
    let (status, sent) = relay
        .http(
            "POST",
            "/api/messaging/guest/messages",
            &[("X-Guest-Token", &token)],
            Some(json!({"text": "see photo", "attachments": [id]})),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["message"]["attachments"][0]["mime"], "image/png");
    let path = format!("/api/messaging/attachments/{id}");
    let (status, head, bytes) = raw(&relay, "GET", &path, &[("X-Guest-Token", &token)], b"").await;
    assert_eq!(status, 200);
    assert!(head
        .to_ascii_lowercase()
        .contains("x-content-type-options: nosniff"));
    assert_eq!(bytes, vec![7; 100]);
    let stranger = guest(&relay).await;
    let (status, _, _) = raw(&relay, "GET", &path, &[("X-Guest-Token", &stranger)], b"").await;
    assert_eq!(status, 404);
    let (status, _, _) = raw(&relay, "GET", &path, &[], b"").await;
    assert_eq!(status, 404);
    let agent = relay.login("bob").await;
    let auth = format!("Bearer {agent}");
    let (status, _, _) = raw(&relay, "GET", &path, &[("Authorization", &auth)], b"").await;
    assert_eq!(status, 200);
    relay.stop().await;
}

#[tokio::test]
async fn the_widget_origin_of_a_registered_site_gets_cors_answers_and_others_do_not() {
    let relay = Relay::start(|_| {}).await;
    let (status, head, _) = raw(
        &relay,
        "OPTIONS",
        "/api/messaging/guest/messages",
        &[("Origin", ORIGIN)],
        b"",
    )
    .await;
    assert_eq!(status, 204);
    assert!(head.contains(ORIGIN), "{head}");
    let (_, head, _) = raw(
        &relay,
        "POST",
        "/api/messaging/guest",
        &[("Origin", "http://evil.test")],
        b"",
    )
    .await;
    assert!(!head
        .to_ascii_lowercase()
        .contains("access-control-allow-origin"));
    relay.stop().await;
}

/// Another agent's conversation is refused on every agent route (403 naming the permission);
/// its own agent still works it.
#[tokio::test]
async fn an_agent_cannot_read_or_act_on_another_agents_conversation() {
    let relay = Relay::start(|_| {}).await;
    let token = guest(&relay).await;
    let (_, first) = say(&relay, &token, "Hello").await;
    let conv = first["conversation_id"].as_str().unwrap().to_owned();
    let alice = relay.login("alice").await;
    let bob = relay.login("bob").await;
    let base = format!("/api/messaging/conversations/{conv}");
    let (status, _) = relay
        .api(&alice, "POST", &format!("{base}/assign"), None)
        .await;
    assert_eq!(status, 200);
    let routes = [
        ("GET", String::new(), None, "work.read_any"),
        (
            "POST",
            "/messages".into(),
            Some(json!({"text": "mine now"})),
            "work.own",
        ),
        ("POST", "/read".into(), Some(json!({"seq": 1})), "work.own"),
        (
            "POST",
            "/typing".into(),
            Some(json!({"typing": true})),
            "work.own",
        ),
        (
            "POST",
            "/events".into(),
            Some(json!({"kind": "parked"})),
            "work.own",
        ),
        ("POST", "/wrap-up".into(), None, "work.own"),
        ("POST", "/assign".into(), None, "work.assign_any"),
    ];
    for (method, tail, body, permission) in routes {
        let (status, answer) = relay
            .api(&bob, method, &format!("{base}{tail}"), body)
            .await;
        assert_eq!(status, 403, "{method} {tail}: {answer}");
        assert_eq!(answer["permission"], permission, "{method} {tail}");
    }
    let (status, _, _) = raw(
        &relay,
        "POST",
        &format!("{base}/attachments?name=a.png"),
        &[
            ("Authorization", &format!("Bearer {bob}")),
            ("Content-Type", "image/png"),
        ],
        b"\x89PNG\r\n\x1a\n",
    )
    .await;
    assert_eq!(status, 403);
    let (status, view) = relay.api(&alice, "GET", &base, None).await;
    assert_eq!(status, 200);
    assert!(view["conversation"]["agent_id"].is_string(), "{view}");
    let (status, _) = relay
        .api(
            &alice,
            "POST",
            &format!("{base}/messages"),
            Some(json!({"text": "Hi"})),
        )
        .await;
    assert_eq!(status, 200);
    relay.stop().await;
}
