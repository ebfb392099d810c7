//! The routing service over real sockets: desks pushed on `/ws/desk`, calls from the telephony
//! connector API, chats from the integrations API, and the seed behaviours: a call interrupts a
//! chat which resumes after the call, logout requeues, last-agent routing within the threading
//! window, an accept timeout re-offers to the next agent.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: failing loudly is the point

mod common;
mod routing_support;

use routing_support::*;
use serde_json::json;

#[tokio::test]
async fn call_interrupts_a_chat_which_resumes_after_the_call() {
    let center = Center::start().await;
    let alice = center.relay.login("alice").await;
    center.queue(&alice, json!({"name": "support"})).await;
    let mut desk = center.desk(&alice).await;
    center.presence(&alice, "available").await;

    center.chat("chat-1", "support", json!({})).await;
    desk.work("chat-1", Some("offered")).await;
    assert_eq!(center.act(&alice, "chat-1", "accept", None).await.0, 200);
    desk.work("chat-1", Some("connected")).await;

    center.call("call-1", "support").await;
    let offered = desk.work("call-1", Some("offered")).await;
    assert_eq!(
        item(&offered, "call-1").unwrap()["offer_reason"],
        "interrupt"
    );
    let (status, _) = center
        .connector("/api/telephony/calls/call-1/answered", None)
        .await;
    assert_eq!(status, 200);
    let during = desk.work("call-1", Some("connected")).await;
    let chat = item(&during, "chat-1").unwrap();
    assert_eq!(
        (chat["state"].as_str(), chat["parked_by"].as_str()),
        (Some("parked"), Some("call-1"))
    );

    center
        .connector("/api/telephony/calls/call-1/ended", None)
        .await;
    let after = desk.work("chat-1", Some("connected")).await;
    assert!(item(&after, "call-1").is_none(), "{after}");
    center.relay.stop().await;
}

#[tokio::test]
async fn logout_returns_an_agents_chats_to_the_queue() {
    let center = Center::start().await;
    let alice = center.relay.login("alice").await;
    let bob = center.relay.login("bob").await;
    center.queue(&alice, json!({"name": "support"})).await;
    let mut alice_desk = center.desk(&alice).await;
    center.presence(&alice, "available").await;
    center.chat("chat-1", "support", json!({})).await;
    alice_desk.work("chat-1", Some("offered")).await;
    center.act(&alice, "chat-1", "accept", None).await;
    alice_desk.work("chat-1", Some("connected")).await;

    let mut bob_desk = center.desk(&bob).await;
    center.presence(&bob, "available").await;
    let (status, _) = center.relay.api(&alice, "POST", "/api/logout", None).await;
    assert_eq!(status, 200);

    let offered = bob_desk.work("chat-1", Some("offered")).await;
    assert_eq!(item(&offered, "chat-1").unwrap()["offer_reason"], "queue");
    center.relay.stop().await;
}

#[tokio::test]
async fn last_agent_gets_the_conversation_only_within_the_threading_window() {
    let center = Center::start().await;
    let alice = center.relay.login("alice").await;
    let bob = center.relay.login("bob").await;
    center.queue(&alice, json!({"name": "support"})).await;
    let (alice_id, bob_id) = (center.me(&alice).await, center.me(&bob).await);
    let mut alice_desk = center.desk(&alice).await;
    let mut bob_desk = center.desk(&bob).await;
    // Alice signs in first, so she is the longest idle.
    center.presence(&alice, "available").await;
    center.presence(&bob, "available").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;

    // Bob handled this customer 100 hours ago: past the 72 h window, the queue picks Alice.
    let stale = json!({"last_agent_id": bob_id, "last_handled_at_ms": now - 100 * 3_600_000});
    center.chat("chat-old", "support", stale).await;
    let desk = alice_desk.work("chat-old", Some("offered")).await;
    assert_eq!(item(&desk, "chat-old").unwrap()["offer_reason"], "queue");

    // Now Bob is the longest idle, but Alice handled this one a minute ago: it goes back to her.
    let fresh = json!({"last_agent_id": alice_id, "last_handled_at_ms": now - 60_000});
    center.chat("chat-new", "support", fresh).await;
    let desk = alice_desk.work("chat-new", Some("offered")).await;
    assert_eq!(
        item(&desk, "chat-new").unwrap()["offer_reason"],
        "last_agent"
    );

    // And a conversation with no history goes to Bob, the longest idle.
    center.chat("chat-3", "support", json!({})).await;
    bob_desk.work("chat-3", Some("offered")).await;
    center.relay.stop().await;
}

#[tokio::test]
async fn an_offer_that_times_out_goes_to_the_next_agent_and_sets_the_first_away() {
    let center = Center::start().await;
    let alice = center.relay.login("alice").await;
    let bob = center.relay.login("bob").await;
    center
        .queue(&alice, json!({"name": "fast", "offer_timeout_ms": 300}))
        .await;
    let mut alice_desk = center.desk(&alice).await;
    let mut bob_desk = center.desk(&bob).await;
    center.presence(&alice, "available").await;
    center.presence(&bob, "available").await;

    center.call("call-1", "fast").await;
    alice_desk.work("call-1", Some("offered")).await;
    // Alice does nothing: after 300 ms the offer moves to Bob and Alice is set away.
    let away = alice_desk
        .until("desk", "alice away without the call", |d| {
            d["presence"] == "away" && item(d, "call-1").is_none()
        })
        .await;
    assert_eq!(away["status"], "away");
    bob_desk.work("call-1", Some("offered")).await;
    // Bob accepts in time; Alice's late accept is refused.
    assert_eq!(center.act(&bob, "call-1", "accept", None).await.0, 200);
    assert_eq!(center.act(&alice, "call-1", "accept", None).await.0, 409);
    center.relay.stop().await;
}

#[tokio::test]
async fn wrap_up_takes_a_queue_code_and_transfer_moves_work_between_agents() {
    let center = Center::start().await;
    let alice = center.relay.login("alice").await;
    let bob = center.relay.login("bob").await;
    center
        .queue(
            &alice,
            json!({"name": "sales", "wrap_up_codes": ["sold", "no sale"]}),
        )
        .await;
    let mut alice_desk = center.desk(&alice).await;
    let mut bob_desk = center.desk(&bob).await;
    center.presence(&alice, "available").await;
    center.chat("chat-1", "sales", json!({})).await;
    alice_desk.work("chat-1", Some("offered")).await;
    center.act(&alice, "chat-1", "accept", None).await;

    center.presence(&bob, "available").await;
    let (status, _) = center
        .act(&alice, "chat-1", "transfer", Some(json!({"agent": "bob"})))
        .await;
    assert_eq!(status, 200);
    let offered = bob_desk.work("chat-1", Some("offered")).await;
    assert_eq!(
        item(&offered, "chat-1").unwrap()["offer_reason"],
        "transfer"
    );
    center.act(&bob, "chat-1", "accept", None).await;
    // Only the owner may end it.
    assert_eq!(center.act(&alice, "chat-1", "end", None).await.0, 403);
    center.act(&bob, "chat-1", "end", None).await;
    let wrap = bob_desk.work("chat-1", Some("wrap_up")).await;
    assert_eq!(
        item(&wrap, "chat-1").unwrap()["wrap_up_codes"],
        json!(["sold", "no sale"])
    );
    let (status, _) = center
        .act(&bob, "chat-1", "wrap-up", Some(json!({"code": "maybe"})))
        .await;
    assert_eq!(status, 409, "not one of the queue's codes");
    center
        .act(&bob, "chat-1", "wrap-up", Some(json!({"code": "sold"})))
        .await;
    bob_desk
        .until("desk", "empty desk", |d| d["work"] == json!([]))
        .await;
    center.relay.stop().await;
}

#[tokio::test]
async fn connector_endpoints_refuse_agents_and_unknown_tokens() {
    let center = Center::start().await;
    let alice = center.relay.login("alice").await;
    center.queue(&alice, json!({"name": "support"})).await;
    let body = Some(json!({"id": "call-1", "queue": "support"}));
    let (status, _) = center
        .relay
        .api(&alice, "POST", "/api/telephony/calls", body.clone())
        .await;
    assert_eq!(status, 401);
    let (status, _) = center
        .relay
        .api("nope", "POST", "/api/telephony/calls", body)
        .await;
    assert_eq!(status, 401);
    let (status, _) = center
        .connector(
            "/api/telephony/calls",
            Some(json!({"id": "c", "queue": "nowhere"})),
        )
        .await;
    assert_eq!(status, 400);
    center.relay.stop().await;
}

#[tokio::test]
async fn openapi_describes_the_routing_reporting_and_metrics_endpoints() {
    let center = Center::start().await;
    let (status, doc) = center
        .relay
        .http("GET", "/api/openapi.json", &[], None)
        .await;
    assert_eq!(status, 200);
    for path in [
        "/api/routing/desk",
        "/api/routing/presence",
        "/api/routing/interactions/{id}/{action}",
        "/api/routing/interactions",
        "/api/routing/queues",
        "/api/routing/agents/{name}/profile",
        "/api/routing/realtime",
        "/api/telephony/calls",
        "/api/telephony/calls/{id}/answered",
        "/api/telephony/calls/{id}/ended",
        "/api/reports/queues",
        "/api/reports/queues.csv",
        "/api/reports/agents",
        "/api/reports/agents.csv",
        "/ws/desk",
        "/metrics",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not described");
    }
    center.relay.stop().await;
}
