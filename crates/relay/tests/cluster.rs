//! Several relay nodes on one PostgreSQL and one NATS server (127.0.0.1:5432 and :4222, as
//! `make setup` leaves them): a guest and an agent on different nodes talk live, and what
//! the nodes share in the store goes out once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{collections::HashMap, sync::Arc, time::Duration};

use axum::{extract::State, http::HeaderMap, routing::post, Router};
use common::{guest_conversation, sse::Stream, Relay, ORIGIN, WAIT};
use serde_json::json;
use tokio::sync::Mutex;

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_on_one_node_and_its_agent_on_another_see_each_other_live() {
    let nodes = Relay::cluster(2, |_| {}).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    // Alice signs in through node b, the guest writes through node a.
    let alice = b.login("alice").await;
    let mut inbox = Stream::agent(b, &alice).await;
    let (guest, conv) = guest_conversation(a).await;
    let mut widget = Stream::guest(a, &guest).await;
    // The waiting conversation, written on a, is on b's list (the store is shared) and b's
    // stream heard of it (the push crossed).
    inbox.until(&conv).await;
    let (status, _) = b
        .api(
            &alice,
            "POST",
            &format!("/api/messaging/conversations/{conv}/assign"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = b
        .api(
            &alice,
            "POST",
            &format!("/api/messaging/conversations/{conv}/messages"),
            Some(json!({"text": "answered from node b"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    widget.until("answered from node b").await;
    let (status, body) = a
        .http(
            "POST",
            "/api/messaging/guest/messages",
            &[("Origin", ORIGIN), ("X-Guest-Token", &guest)],
            Some(json!({"text": "thanks, from node a"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    inbox.until("thanks, from node a").await;
    // Typing crosses too, and the guest's history on b is the same conversation.
    let (status, _) = a
        .http(
            "POST",
            "/api/messaging/guest/typing",
            &[("Origin", ORIGIN), ("X-Guest-Token", &guest)],
            Some(json!({"typing": true})),
        )
        .await;
    assert_eq!(status, 204);
    inbox.until("\"typing\":true").await;
    let (status, history) = b
        .http(
            "GET",
            "/api/messaging/guest/history",
            &[("Origin", ORIGIN), ("X-Guest-Token", &guest)],
            None,
        )
        .await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(
        history["history"][0]["messages"].as_array().unwrap().len(),
        3
    );
    for node in nodes {
        node.stop().await;
    }
}

/// A call lives on the node that placed it; its news reach the guest's stream on another node.
/// A guest's request to `relay` (its token in the header, from the site's origin).
async fn as_guest(
    relay: &Relay,
    guest: &str,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let headers = [("Origin", ORIGIN), ("X-Guest-Token", guest)];
    relay.http(method, path, &headers, body).await
}

/// The call lives on b, where Alice placed it; everything else reaches a: the widget's
/// stream and requests, Alice's console stream and her hang-up, another guest's forgery.
#[tokio::test(flavor = "multi_thread")]
async fn a_call_placed_on_one_node_is_answered_signalled_and_ended_through_another() {
    let nodes = Relay::cluster(2, |c| {
        c.messaging.calls.redial_after = Duration::from_millis(300);
    })
    .await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let alice = b.login("alice").await;
    let (guest, conv) = guest_conversation(a).await;
    let (intruder, _other) = guest_conversation(a).await;
    let mut widget = Stream::guest(a, &guest).await;
    let mut console = Stream::agent(a, &alice).await;
    let path = format!("/api/messaging/conversations/{conv}");
    assert_eq!(
        b.api(&alice, "POST", &format!("{path}/assign"), None)
            .await
            .0,
        200
    );
    let ring = Some(json!({"media": "voice"}));
    let (status, started) = b.api(&alice, "POST", &format!("{path}/call"), ring).await;
    assert_eq!(status, 200, "{started}");
    let call = started["call"]["id"].as_str().unwrap().to_owned();
    widget.until("\"event\":\"ringing\"").await;
    widget.until(&call).await;
    // A second ring through a finds the call on b: one call per conversation, cluster-wide.
    let ring = Some(json!({"media": "voice"}));
    let (status, _) = a.api(&alice, "POST", &format!("{path}/call"), ring).await;
    assert_eq!(status, 409);
    // Both sides read the call through a.
    let (status, current) = as_guest(a, &guest, "GET", "/api/messaging/guest/call", None).await;
    assert_eq!((status, current["call"]["id"].clone()), (200, json!(call)));
    let (status, options) = a.api(&alice, "GET", &format!("{path}/call"), None).await;
    assert_eq!((status, options["call"]["id"].clone()), (200, json!(call)));
    // The agent's offer crosses to the widget.
    let offer = json!({"kind": "description", "sdp_type": "offer",
                       "sdp": "v=0\r\no=- 7 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"});
    let signal = format!("{path}/call/{call}/signal");
    assert_eq!(b.api(&alice, "POST", &signal, Some(offer)).await.0, 204);
    widget.until("o=- 7 2 IN IP4").await;
    // The guest answers through a: b decides, and Alice's console on a hears it.
    let answer = format!("/api/messaging/guest/call/{call}/answer");
    let body = Some(json!({"answer": "audio"}));
    let (status, live) = as_guest(a, &guest, "POST", &answer, body).await;
    assert_eq!(status, 200, "{live}");
    assert_eq!(live["call"]["phase"], "live");
    console.until("\"event\":\"accepted\"").await;
    // Answering twice is refused with the home's own reason and status.
    let body = Some(json!({"answer": "audio"}));
    let (status, again) = as_guest(a, &guest, "POST", &answer, body).await;
    assert_eq!(status, 409, "{again}");
    assert!(again.to_string().contains("not ringing"), "{again}");
    // The guest's answer SDP crosses back through a to Alice.
    let reply = json!({"kind": "description", "sdp_type": "answer",
                       "sdp": "v=0\r\no=- 9 3 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"});
    let guest_signal = format!("/api/messaging/guest/call/{call}/signal");
    let (status, body) = as_guest(a, &guest, "POST", &guest_signal, Some(reply.clone())).await;
    assert_eq!(status, 204, "{body}");
    console.until("o=- 9 3 IN IP4").await;
    // Another guest naming this call is refused through a: no call in its conversation.
    let forged = json!({"kind": "description", "sdp_type": "answer",
                        "sdp": "v=0\r\no=- 66 6 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"});
    let (status, _) = as_guest(a, &intruder, "POST", &guest_signal, Some(forged)).await;
    assert_eq!(status, 409);
    let end = format!("/api/messaging/guest/call/{call}/end");
    assert_eq!(as_guest(a, &intruder, "POST", &end, None).await.0, 409);
    // Alice hangs up through a; the end is written on b's say, with who ended it.
    let (status, body) = a
        .api(&alice, "POST", &format!("{path}/call/{call}/end"), None)
        .await;
    assert!(status == 200 || status == 204, "{status} {body}");
    widget.until("\"event\":\"ended\"").await;
    let (status, current) = as_guest(a, &guest, "GET", "/api/messaging/guest/call", None).await;
    assert_eq!((status, current["call"].clone()), (200, json!(null)));
    // The next call ends when the conversation is wrapped up through a.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let ring = Some(json!({"media": "voice"}));
    let (status, started) = b.api(&alice, "POST", &format!("{path}/call"), ring).await;
    assert_eq!(status, 200, "{started}");
    let second = started["call"]["id"].as_str().unwrap().to_owned();
    widget.until(&second).await;
    let (status, body) = a
        .api(&alice, "POST", &format!("{path}/wrap-up"), None)
        .await;
    assert_eq!(status, 204, "{body}");
    widget.until("conversation_ended").await;
    let (status, view) = b.api(&alice, "GET", &path, None).await;
    assert_eq!(status, 200);
    let text = view.to_string();
    for kind in ["call_offered", "call_accepted", "call_ended"] {
        assert!(text.contains(kind), "{kind} missing from {text}");
    }
    for node in nodes {
        node.stop().await;
    }
}

/// Deliveries the fake integration saw, by delivery id.
#[derive(Default)]
struct Seen {
    by_id: Mutex<HashMap<String, u32>>,
}

#[tokio::test(flavor = "multi_thread")]
async fn two_nodes_retrying_the_same_webhooks_deliver_each_once() {
    // The integration refuses every delivery's first try, so both nodes' outbox workers wake
    // for the same retries at the same moment (each sleeps until the store's next due row).
    async fn webhook(State(s): State<Arc<Seen>>, headers: HeaderMap) -> axum::http::StatusCode {
        let id = headers
            .get("x-delivery-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?")
            .to_owned();
        let mut seen = s.by_id.lock().await;
        let n = seen.entry(id).or_default();
        *n += 1;
        if *n == 1 {
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        } else {
            axum::http::StatusCode::OK
        }
    }
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route("/webhook", post(webhook))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/webhook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let nodes = Relay::cluster(2, |c| {
        c.messaging.outbox_base_delay = Duration::from_millis(300);
    })
    .await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let alice = a.login("ada").await;
    let (status, saved) = a
        .api(
            &alice,
            "PUT",
            "/api/messaging/integrations/chan",
            Some(json!({ "webhook_url": hook })),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    let secret = saved["secret"].as_str().unwrap().to_owned();
    let inbound = json!({
        "id": "in-1",
        "channel": {"platform": "Open", "type": "Private", "messageId": "m1",
                    "from": {"id": "u1", "idType": "Opaque", "nickname": "Pat"}},
        "type": "Text", "text": "hello", "direction": "Inbound",
    });
    let sig = relay::messaging::signature::sign(&secret, inbound.to_string().as_bytes());
    let (status, body) = a
        .http(
            "POST",
            "/api/messaging/open/chan",
            &[("X-Hub-Signature-256", &sig)],
            Some(inbound),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let conv = body["conversation_id"].as_str().unwrap().to_owned();
    let path = format!("/api/messaging/conversations/{conv}");
    assert_eq!(
        b.api(&alice, "POST", &format!("{path}/assign"), None)
            .await
            .0,
        200
    );
    const REPLIES: usize = 20;
    for i in 0..REPLIES {
        let node = if i % 2 == 0 { a } else { b };
        let text = json!({ "text": format!("reply {i}") });
        let (status, body) = node
            .api(&alice, "POST", &format!("{path}/messages"), Some(text))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let deadline = tokio::time::Instant::now() + 3 * WAIT;
    loop {
        let done = {
            let seen = seen.by_id.lock().await;
            seen.len() == REPLIES && seen.values().all(|&n| n >= 2)
        };
        if done {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "deliveries so far: {:?}",
            seen.by_id.lock().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Time for a second node's duplicate to arrive, were there one.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let seen = seen.by_id.lock().await;
    let twice: Vec<_> = seen.iter().filter(|(_, &n)| n != 2).collect();
    assert!(
        twice.is_empty(),
        "delivered other than refused-then-accepted: {twice:?}"
    );
    drop(seen);
    for node in nodes {
        node.stop().await;
    }
}

/// A password reset through one node takes the person's open sockets away on the others too.
#[tokio::test(flavor = "multi_thread")]
async fn a_password_reset_through_one_node_closes_the_persons_sockets_on_another() {
    use futures_util::StreamExt;
    let nodes = Relay::cluster(2, |_| {}).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let alice = b.login("alice").await;
    let mut desk = b.signed_in_socket("/ws/desk", &alice).await;
    let ada = a.login("ada").await;
    let (status, body) = a
        .api(
            &ada,
            "POST",
            "/api/admin/people/alice/password",
            Some(json!({"password": "a new one, long enough"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The desk on b closes (a close frame, or the stream ends), well within the sweep's
    // reach, which would never notice a password reset.
    let closed = tokio::time::timeout(WAIT, async {
        while let Some(message) = desk.next().await {
            match message {
                Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "alice's desk on b stayed open");
    for node in nodes {
        node.stop().await;
    }
}

/// A node's `/metrics` text (scraped with the token the cluster below is given).
async fn metrics(relay: &Relay) -> String {
    let auth = [("Authorization", "Bearer scrape")];
    let (status, text) = relay.request("GET", "/metrics", &auth, None).await;
    assert_eq!(status, 200);
    text
}

/// Someone on NATS who is not a node sends a call's home garbage: it is refused with an
/// answer, counted, and the node's calls go on.
#[tokio::test(flavor = "multi_thread")]
async fn garbage_on_a_nodes_call_subject_is_refused_and_counted() {
    let nodes = Relay::cluster(2, |c| c.metrics.token = Some("scrape".into())).await;
    let text = metrics(&nodes[0]).await;
    let start = text.find("node=\"").expect("a node label") + "node=\"".len();
    let node = text[start..].split('"').next().unwrap().to_owned();
    let scope = node.split_once('-').unwrap().1.to_owned();
    let nats = std::env::var("RELAY_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let client = async_nats::connect(nats).await.unwrap();
    let subject = format!("relay.messaging.call.ask.{node}.{scope}");
    for garbage in [
        &b"not json"[..],
        br#"{"op":"signal","conversation":"c","call":"x"}"#,
        br#"{"op":"transfer_funds"}"#,
    ] {
        let answer = tokio::time::timeout(WAIT, client.request(subject.clone(), garbage.into()))
            .await
            .expect("answered in time")
            .expect("answered");
        let text = String::from_utf8_lossy(&answer.payload).into_owned();
        assert!(text.contains("refused"), "refused: {text}");
    }
    let refused: u64 = metrics(&nodes[0])
        .await
        .lines()
        .filter(|l| l.starts_with("cluster_news_refused"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(refused, 3, "each refusal counted");
    // A call still rings through the node that was sent garbage.
    let alice = nodes[0].login("alice").await;
    let (_guest, conv) = guest_conversation(&nodes[0]).await;
    let path = format!("/api/messaging/conversations/{conv}");
    let (status, _) = nodes[0]
        .api(&alice, "POST", &format!("{path}/assign"), None)
        .await;
    assert_eq!(status, 200);
    let ring = Some(json!({"media": "voice"}));
    let (status, started) = nodes[0]
        .api(&alice, "POST", &format!("{path}/call"), ring)
        .await;
    assert_eq!(status, 200, "{started}");
    for node in nodes {
        node.stop().await;
    }
}
