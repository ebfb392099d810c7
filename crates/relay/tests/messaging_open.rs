//! Open messaging against a real relay and a real local HTTP server standing in for the
//! third-party channel: signatures (forged, missing, stale, replayed), outbound deliveries
//! retried until the channel answers, receipts, a bot that answers first and hands off, and
//! cards: out as structured content, a customer's postback in (checked) and on to the bot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{sync::Arc, time::Duration};

use axum::{extract::State, http::HeaderMap, routing::post, Json, Router};
use common::{Relay, WAIT};
use relay::messaging::{
    model::Integration,
    open::integration_add,
    signature::{self, outbound_headers, sign, Presented},
};
use relay::store::{Options, Store, Target};
use serde_json::{json, Value};
use tokio::sync::{mpsc, Mutex};

const SECRET: &str = "integration-secret-123";

/// One request the fake channel received.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: String,
}

struct Channel {
    /// Requests still to refuse with 503.
    fail: Mutex<u32>,
    seen: mpsc::UnboundedSender<Received>,
    /// What the bot endpoint answers, in order.
    bot_answers: Mutex<Vec<Value>>,
}

/// A local HTTP server: `/webhook` fails `fail` times then accepts; `/bot` answers in turn.
async fn channel(
    fail: u32,
    bot_answers: Vec<Value>,
) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Arc::new(Channel {
        fail: Mutex::new(fail),
        seen: tx,
        bot_answers: Mutex::new(bot_answers),
    });
    async fn webhook(
        State(s): State<Arc<Channel>>,
        headers: HeaderMap,
        body: String,
    ) -> axum::http::StatusCode {
        s.seen.send(Received { headers, body }).unwrap();
        let mut fail = s.fail.lock().await;
        if *fail > 0 {
            *fail -= 1;
            axum::http::StatusCode::SERVICE_UNAVAILABLE
        } else {
            axum::http::StatusCode::OK
        }
    }
    async fn bot(State(s): State<Arc<Channel>>, headers: HeaderMap, body: String) -> Json<Value> {
        s.seen.send(Received { headers, body }).unwrap();
        let mut answers = s.bot_answers.lock().await;
        Json(if answers.is_empty() {
            json!({"action": "handoff", "reason": "out of answers"})
        } else {
            answers.remove(0)
        })
    }
    let app = Router::new()
        .route("/webhook", post(webhook))
        .route("/bot", post(bot))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), rx)
}

/// Saves integration `chan` in the relay database `db`, as `relay integration add` does (in
/// a process of its own: here a thread with its own runtime, so it can run from anywhere).
fn save_integration(db: Target, secret: &str, webhook_url: String, bot_url: Option<String>) {
    let integration = Integration {
        name: "chan".into(),
        secret: secret.to_owned(),
        webhook_url,
        bot_url,
    };
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let store = Store::open_async(db, Options::command()).await.unwrap();
            integration_add(&store, integration).await.unwrap();
        });
    })
    .join()
    .unwrap();
}

/// A relay with integration `chan` pointing at `base` (and its bot, if `bot`), and its
/// database file.
async fn relay_with_db(base: &str, bot: bool) -> (Relay, Target) {
    let (webhook, bot_url) = (
        format!("{base}/webhook"),
        bot.then(|| format!("{base}/bot")),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let relay = Relay::start(move |config| {
        config.messaging.outbox_base_delay = Duration::from_millis(20);
        tx.send(common::config_target(config)).unwrap();
        save_integration(common::config_target(config), SECRET, webhook, bot_url);
    })
    .await;
    (relay, rx.recv().unwrap())
}

async fn relay_with(base: &str, bot: bool) -> Relay {
    relay_with_db(base, bot).await.0
}

fn inbound(from: &str, text: &str) -> Value {
    json!({
        "id": format!("in-{text}"),
        "channel": {"platform": "Open", "type": "Private", "messageId": "m1",
                    "from": {"id": from, "idType": "Opaque", "nickname": "Pat"}},
        "type": "Text", "text": text, "direction": "Inbound",
        "metadata": {"customField": "x"},
    })
}

async fn post_hub(relay: &Relay, body: &Value, secret: &str) -> (u16, Value) {
    let sig = sign(secret, body.to_string().as_bytes());
    relay
        .http(
            "POST",
            "/api/messaging/open/chan",
            &[("X-Hub-Signature-256", &sig)],
            Some(body.clone()),
        )
        .await
}

async fn post_timestamped(relay: &Relay, body: &Value, delivery: &str, at: i64) -> (u16, Value) {
    let h = outbound_headers(SECRET, body.to_string().as_bytes(), delivery, at);
    let headers: Vec<(&str, &str)> = h[1..].iter().map(|(k, v)| (*k, v.as_str())).collect();
    relay
        .http(
            "POST",
            "/api/messaging/open/chan",
            &headers,
            Some(body.clone()),
        )
        .await
}

fn now_secs() -> i64 {
    relay::ids::now_ms() / 1000
}

async fn waiting(relay: &Relay, token: &str) -> Vec<Value> {
    let (status, body) = relay
        .api(
            token,
            "GET",
            "/api/messaging/conversations?scope=waiting",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn forged_and_missing_signatures_are_refused_with_401_and_nothing_is_stored() {
    let (base, _rx) = channel(0, vec![]).await;
    let relay = relay_with(&base, false).await;
    let body = inbound("u1", "hello");
    let (status, err) = post_hub(&relay, &body, "wrong-secret").await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "signature does not match the body");
    let (status, err) = relay
        .http("POST", "/api/messaging/open/chan", &[], Some(body.clone()))
        .await;
    assert_eq!(status, 401);
    assert!(err["error"]
        .as_str()
        .unwrap()
        .starts_with("missing signature"));
    let token = relay.login("alice").await;
    assert!(waiting(&relay, &token).await.is_empty());
    relay.stop().await;
}

#[tokio::test]
async fn a_secret_changed_from_the_command_line_while_the_relay_runs_applies_within_two_seconds() {
    let (base, _rx) = channel(0, vec![]).await;
    let (relay, db) = relay_with_db(&base, false).await;
    let body = inbound("u1", "hello");
    assert_eq!(post_hub(&relay, &body, SECRET).await.0, 200);
    const ROTATED: &str = "rotated-secret-456";
    let webhook = format!("{base}/webhook");
    tokio::task::spawn_blocking(move || save_integration(db, ROTATED, webhook, None))
        .await
        .unwrap();
    let changed = std::time::Instant::now();
    loop {
        let (status, _) = post_hub(&relay, &body, ROTATED).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 401);
        assert!(
            changed.elapsed() < Duration::from_secs(2),
            "the new secret is still refused"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(post_hub(&relay, &body, SECRET).await.0, 401);
}

#[tokio::test]
async fn replayed_and_stale_timestamped_deliveries_are_refused() {
    let (base, _rx) = channel(0, vec![]).await;
    let relay = relay_with(&base, false).await;
    let body = inbound("u2", "once");
    let (status, ack) = post_timestamped(&relay, &body, "del-1", now_secs()).await;
    assert_eq!(status, 200);
    // The same delivery again is answered as the first was, and stores nothing.
    let (status, again) = post_timestamped(&relay, &body, "del-1", now_secs()).await;
    assert_eq!((status, &again), (200, &ack));
    // Another message under a spent delivery id is refused.
    let (status, err) =
        post_timestamped(&relay, &inbound("u2", "other"), "del-1", now_secs()).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "delivery id was already received");
    let (status, err) = post_timestamped(&relay, &body, "del-2", now_secs() - 301).await;
    assert_eq!(status, 401, "{err}");
    let token = relay.login("alice").await;
    let id = waiting(&relay, &token).await[0]["conversation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, conv) = relay
        .api(
            &token,
            "GET",
            &format!("/api/messaging/conversations/{id}"),
            None,
        )
        .await;
    assert_eq!(conv["history"][0]["messages"].as_array().unwrap().len(), 1);
    relay.stop().await;
}

/// A delivery id is used up only by a delivery that was stored: one refused for its content
/// can be sent again, corrected, under the same id (as a channel retries what failed).
#[tokio::test]
async fn a_refused_timestamped_delivery_leaves_its_id_for_the_corrected_retry() {
    let (base, _rx) = channel(0, vec![]).await;
    let relay = relay_with(&base, false).await;
    let mut broken = inbound("u9", "retry me");
    broken["channel"]["from"]["id"] = json!("");
    let (status, err) = post_timestamped(&relay, &broken, "del-9", now_secs()).await;
    assert_eq!(status, 400, "{err}");
    let fixed = inbound("u9", "retry me");
    let (status, ack) = post_timestamped(&relay, &fixed, "del-9", now_secs()).await;
    assert_eq!(status, 200, "{ack}");
    let (status, err) =
        post_timestamped(&relay, &inbound("u9", "another"), "del-9", now_secs()).await;
    assert_eq!(status, 401, "once stored, the id is spent: {err}");
    relay.stop().await;
}

#[tokio::test]
async fn agent_reply_reaches_the_webhook_signed_after_retries_with_one_delivery_id_and_receipts_update_it(
) {
    let (base, mut rx) = channel(3, vec![]).await;
    let relay = relay_with(&base, false).await;
    let (status, ack) = post_hub(&relay, &inbound("u3", "where is my order?"), SECRET).await;
    assert_eq!(status, 200, "{ack}");
    let conv = ack["conversation_id"].as_str().unwrap().to_owned();
    let token = relay.login("alice").await;
    let (status, _) = relay
        .api(
            &token,
            "POST",
            &format!("/api/messaging/conversations/{conv}/assign"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, sent) = relay
        .api(
            &token,
            "POST",
            &format!("/api/messaging/conversations/{conv}/messages"),
            Some(json!({"text": "It ships today", "quick_replies": ["Thanks", "Track it"]})),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let message_id = sent["id"].as_str().unwrap().to_owned();
    let mut deliveries = Vec::new();
    for _ in 0..4 {
        deliveries.push(next(&mut rx).await);
    }
    let ids: Vec<_> = deliveries
        .iter()
        .map(|d| d.headers["x-delivery-id"].to_str().unwrap().to_owned())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let last = deliveries.last().unwrap();
    let presented = Presented {
        hub: None,
        signature: Some(last.headers["x-signature-256"].to_str().unwrap().into()),
        timestamp: Some(last.headers["x-timestamp"].to_str().unwrap().into()),
        delivery_id: Some(ids[0].clone()),
    };
    assert!(signature::verify(SECRET, &presented, last.body.as_bytes(), now_secs()).is_ok());
    let body: Value = serde_json::from_str(&last.body).unwrap();
    assert_eq!(body["text"], "It ships today");
    assert_eq!(body["channel"]["to"]["id"], "u3");
    assert_eq!(body["content"][1]["quickReply"]["text"], "Track it");
    let receipt = json!({"id": message_id, "type": "Receipt", "status": "Read", "channel": {}});
    let (status, _) = post_hub(&relay, &receipt, SECRET).await;
    assert_eq!(status, 200);
    let (_, view) = relay
        .api(
            &token,
            "GET",
            &format!("/api/messaging/conversations/{conv}"),
            None,
        )
        .await;
    assert_eq!(view["history"][0]["messages"][1]["delivery"], "read");
    relay.stop().await;
}

#[tokio::test]
async fn a_bot_answers_a_new_conversation_first_then_hands_off_with_its_reason_on_the_timeline() {
    let answers = vec![
        json!({"action": "reply", "text": "Hi! Order number?", "quick_replies": ["I don't know"]}),
        json!({"action": "handoff", "reason": "asked for a human", "data": {"order": "A-17"}}),
    ];
    let (base, mut rx) = channel(0, answers).await;
    let relay = relay_with(&base, true).await;
    let (status, ack) = post_hub(&relay, &inbound("u4", "hello"), SECRET).await;
    assert_eq!(status, 200);
    let conv = ack["conversation_id"].as_str().unwrap().to_owned();
    let to_bot = next(&mut rx).await;
    assert!(to_bot.body.contains("hello"));
    let reply = next(&mut rx).await;
    assert!(
        reply.body.contains("Order number?"),
        "the bot's reply goes out to the channel"
    );
    let token = relay.login("alice").await;
    assert!(waiting(&relay, &token).await.is_empty(), "the bot holds it");
    let (status, _) = post_hub(&relay, &inbound("u4", "A-17, a human please"), SECRET).await;
    assert_eq!(status, 200);
    next(&mut rx).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let queued = loop {
        let w = waiting(&relay, &token).await;
        if !w.is_empty() || tokio::time::Instant::now() > deadline {
            break w;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(queued[0]["conversation"]["id"], conv.as_str());
    let (_, view) = relay
        .api(
            &token,
            "GET",
            &format!("/api/messaging/conversations/{conv}"),
            None,
        )
        .await;
    let events = view["history"][0]["events"].as_array().unwrap();
    let handoff = events.iter().find(|e| e["kind"] == "bot_handoff").unwrap();
    assert_eq!(handoff["detail"]["reason"], "asked for a human");
    assert_eq!(handoff["detail"]["data"]["order"], "A-17");
    let authors: Vec<_> = view["history"][0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["author"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(authors, ["customer", "bot", "customer"]);
    relay.stop().await;
}

/// A customer's press of a card's button on the channel, as the integration delivers it.
fn button_response(from: &str, id: &str, label: &str, payload: &str) -> Value {
    json!({
        "id": id,
        "channel": {"platform": "Open", "type": "Private",
                    "from": {"id": from, "idType": "Opaque", "nickname": "Pat"}},
        "type": "Structured", "direction": "Inbound",
        "content": [{"contentType": "ButtonResponse",
                     "buttonResponse": {"type": "Button", "text": label, "payload": payload}}],
    })
}

#[tokio::test]
async fn a_bots_card_goes_out_structured_and_its_flow_branches_on_the_customers_postback() {
    let sizes = json!({"type": "card", "card": {
    "title": "Blue runner", "text": "Our best seller", "image": "https://shop.example/b.png",
    "buttons": [
        {"label": "Details", "action": {"type": "link", "url": "https://shop.example/blue"}},
        {"label": "Buy", "action": {"type": "postback", "payload": "BUY_BLUE"}},
    ]}});
    let pair = |t: &str| {
        json!({"title": t, "buttons": [
        {"label": "Pick", "action": {"type": "postback", "payload": format!("PAY_{t}")}}]})
    };
    let answers = vec![
        json!({"action": "reply", "rich": sizes}),
        json!({"action": "reply", "text": "How will you pay?",
               "rich": {"type": "carousel", "cards": [pair("card"), pair("cash")]}}),
    ];
    let (base, mut rx) = channel(0, answers).await;
    let relay = relay_with(&base, true).await;
    let (status, _) = post_hub(&relay, &inbound("u7", "shoes?"), SECRET).await;
    assert_eq!(status, 200);
    next(&mut rx).await;
    let out: Value = serde_json::from_str(&next(&mut rx).await.body).unwrap();
    assert_eq!(out["type"], "Structured");
    assert_eq!(out["content"][0]["contentType"], "Card");
    let card = &out["content"][0]["card"];
    assert_eq!(card["title"], "Blue runner");
    assert_eq!(card["description"], "Our best seller");
    assert_eq!(card["image"], "https://shop.example/b.png");
    assert_eq!(
        card["actions"],
        json!([
            {"type": "Link", "text": "Details", "url": "https://shop.example/blue"},
            {"type": "Postback", "text": "Buy", "payload": "BUY_BLUE"},
        ])
    );

    // A payload the card never offered is refused, and the bot hears nothing of it.
    let forged = button_response("u7", "in-forged", "Buy", "REFUND_ALL");
    let (status, err) = post_hub(&relay, &forged, SECRET).await;
    assert_eq!(status, 400, "{err}");
    let pressed = button_response("u7", "in-buy", "Buy", "BUY_BLUE");
    let (status, ack) = post_hub(&relay, &pressed, SECRET).await;
    assert_eq!(status, 200, "{ack}");
    let to_bot: Value = serde_json::from_str(&next(&mut rx).await.body).unwrap();
    assert_eq!(
        to_bot["message"]["postback"],
        json!({"payload": "BUY_BLUE", "label": "Buy"})
    );
    assert_eq!(to_bot["message"]["text"], "Buy");
    let out: Value = serde_json::from_str(&next(&mut rx).await.body).unwrap();
    assert_eq!(out["text"], "How will you pay?");
    assert_eq!(out["content"][0]["contentType"], "Carousel");
    let cards = out["content"][0]["carousel"]["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 2);
    assert_eq!(cards[1]["actions"][0]["payload"], "PAY_cash");
    relay.stop().await;
}

#[tokio::test]
async fn a_bot_answering_a_card_out_of_its_bounds_hands_off_and_nothing_goes_out() {
    let bad = json!({"action": "reply", "rich": {"type": "card", "card": {"title": "Hi",
        "buttons": [{"label": "Run", "action": {"type": "link", "url": "javascript:alert(1)"}}]}}});
    let (base, mut rx) = channel(0, vec![bad]).await;
    let relay = relay_with(&base, true).await;
    let (status, ack) = post_hub(&relay, &inbound("u8", "hi"), SECRET).await;
    assert_eq!(status, 200);
    let conv = ack["conversation_id"].as_str().unwrap().to_owned();
    next(&mut rx).await;
    let token = relay.login("alice").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while waiting(&relay, &token).await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "never handed off");
        tokio::task::yield_now().await;
    }
    let (_, view) = relay
        .api(
            &token,
            "GET",
            &format!("/api/messaging/conversations/{conv}"),
            None,
        )
        .await;
    assert_eq!(view["history"][0]["messages"].as_array().unwrap().len(), 1);
    let events = view["history"][0]["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["kind"] == "bot_handoff"));
    assert!(rx.try_recv().is_err(), "no delivery to the channel");
    relay.stop().await;
}
