//! Messaging and routing joined by the bridge, over real HTTP: a guest's first message becomes
//! a conversation offered on an available agent's desk, accepting it assigns the conversation
//! to that agent in the messaging API, and wrapping it up in the inbox ends the routed work;
//! the contact's next conversation goes back to that agent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod routing_support;

use common::{sse::Stream, Relay, WAIT};
use routing_support::*;
use serde_json::{json, Value};

async fn guest(relay: &Relay) -> String {
    let (status, body) = relay.http("POST", "/api/messaging/guest", &[], None).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// The guest writes; returns the conversation the message landed in.
async fn says(relay: &Relay, token: &str, text: &str) -> String {
    let (status, body) = relay
        .http(
            "POST",
            "/api/messaging/guest/messages",
            &[("X-Guest-Token", token)],
            Some(json!({ "text": text, "name": "Dana" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["conversation_id"].as_str().unwrap().to_owned()
}

async fn guest_says(relay: &Relay, text: &str) -> String {
    says(relay, &guest(relay).await, text).await
}

/// The agent wraps `conversation` up in the inbox.
async fn wrap_up(center: &Center, token: &str, conversation: &str) {
    let path = format!("/api/messaging/conversations/{conversation}/wrap-up");
    let (status, body) = center.relay.api(token, "POST", &path, None).await;
    assert_eq!(status, 204, "{body}");
}

/// Waits until the bridge has assigned `conversation` in messaging (routing's `Connected`
/// reaches it asynchronously), as the inbox shows it: the inbox offers wrap-up only then.
async fn assigned(center: &Center, token: &str, conversation: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, inbox) = center
            .relay
            .api(token, "GET", "/api/messaging/conversations", None)
            .await;
        assert_eq!(status, 200, "{inbox}");
        let state = row(&inbox, conversation).map(|r| r["conversation"]["state"].clone());
        if state == Some(json!("assigned")) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{conversation} never assigned: {inbox}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The conversation view, as the agent with `token` reads it.
async fn view(center: &Center, token: &str, conversation: &str) -> Value {
    let path = format!("/api/messaging/conversations/{conversation}");
    let (status, body) = center.relay.api(token, "GET", &path, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn row<'a>(inbox: &'a Value, conversation: &str) -> Option<&'a Value> {
    inbox
        .as_array()?
        .iter()
        .find(|s| s["conversation"]["id"] == conversation)
}

#[tokio::test]
async fn a_guest_message_is_offered_on_the_desk_and_accepting_assigns_the_conversation() {
    let center = Center::start().await;
    let alice = center.relay.login("alice").await;
    let alice_id = center.me(&alice).await;
    let mut desk = center.desk(&alice).await;
    center.presence(&alice, "available").await;
    let mut pushes = Stream::agent(&center.relay, &alice).await;

    let conversation = guest_says(&center.relay, "Where is my parcel?").await;
    let offered = desk.work(&conversation, Some("offered")).await;
    assert_eq!(item(&offered, &conversation).unwrap()["media"], "message");
    let (status, body) = center.act(&alice, &conversation, "accept", None).await;
    assert_eq!(status, 200, "{body}");
    desk.work(&conversation, Some("connected")).await;

    pushes.until("\"kind\":\"assigned\"").await;
    let (status, inbox) = center
        .relay
        .api(&alice, "GET", "/api/messaging/conversations", None)
        .await;
    assert_eq!(status, 200, "{inbox}");
    let mine = row(&inbox, &conversation).unwrap_or_else(|| panic!("{inbox}"));
    assert_eq!(mine["conversation"]["agent_id"], alice_id.as_str());
    assert_eq!(mine["conversation"]["state"], "assigned");

    wrap_up(&center, &alice, &conversation).await;
    desk.work(&conversation, None).await;
    // The open push stream ends at shutdown instead of holding the relay up.
    center.relay.stop().await;
    drop(pushes);
}

#[tokio::test]
async fn a_returning_contacts_new_conversation_goes_back_to_its_last_agent() {
    let center = Center::start().await;
    let alice = center.relay.login("alice").await;
    let bob = center.relay.login("bob").await;
    let mut alice_desk = center.desk(&alice).await;
    center.presence(&alice, "available").await;
    let token = guest(&center.relay).await;
    let first = says(&center.relay, &token, "My order is late").await;
    alice_desk.work(&first, Some("offered")).await;
    center.act(&alice, &first, "accept", None).await;
    alice_desk.work(&first, Some("connected")).await;
    assigned(&center, &alice, &first).await;
    wrap_up(&center, &alice, &first).await;
    alice_desk.work(&first, None).await;

    // Bob is now the longest idle, so only last-agent routing sends the next one to Alice.
    let _bob_desk = center.desk(&bob).await;
    center.presence(&bob, "available").await;
    let second = says(&center.relay, &token, "It is still late").await;
    assert_ne!(first, second, "a wrapped-up conversation is not continued");
    let offered = alice_desk.work(&second, Some("offered")).await;
    assert_eq!(
        item(&offered, &second).unwrap()["offer_reason"],
        "last_agent"
    );
    center.relay.stop().await;
}

#[tokio::test]
async fn a_conversation_taken_back_by_routing_waits_again_and_leaves_its_agents_inbox() {
    let center = Center::start().await;
    let alice = center.relay.login("alice").await;
    let bob = center.relay.login("bob").await;
    let bob_id = center.me(&bob).await;
    let mut alice_desk = center.desk(&alice).await;
    center.presence(&alice, "available").await;
    let mut pushes = Stream::agent(&center.relay, &alice).await;
    let conversation = guest_says(&center.relay, "Can someone call me back?").await;
    alice_desk.work(&conversation, Some("offered")).await;
    center.act(&alice, &conversation, "accept", None).await;
    pushes.until("\"kind\":\"assigned\"").await;

    // Alice signs out of routing: her conversation goes back to the queue.
    center.presence(&alice, "offline").await;
    pushes.until("\"kind\":\"requeued\"").await;
    let (status, inbox) = center
        .relay
        .api(&alice, "GET", "/api/messaging/conversations", None)
        .await;
    assert_eq!(status, 200, "{inbox}");
    assert!(
        row(&inbox, &conversation).is_none(),
        "still Alice's: {inbox}"
    );
    let waiting = view(&center, &bob, &conversation).await;
    assert_eq!(waiting["conversation"]["state"], "waiting", "{waiting}");
    assert!(waiting["conversation"]["agent_id"].is_null(), "{waiting}");

    // The next agent to come available gets it, and owns it.
    let mut bob_desk = center.desk(&bob).await;
    center.presence(&bob, "available").await;
    bob_desk.work(&conversation, Some("offered")).await;
    let (status, body) = center.act(&bob, &conversation, "accept", None).await;
    assert_eq!(status, 200, "{body}");
    bob_desk.work(&conversation, Some("connected")).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let view = view(&center, &bob, &conversation).await;
        if view["conversation"]["agent_id"] == bob_id.as_str() {
            assert_eq!(view["conversation"]["state"], "assigned");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never Bob's: {view}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    center.relay.stop().await;
    drop(pushes);
}

#[tokio::test]
async fn after_a_restart_an_agents_conversations_come_back_on_her_and_hold_her_capacity() {
    let center = Center::start().await;
    let alice = center.relay.login("alice").await;
    let (status, body) = center
        .relay
        .api(
            &alice,
            "PUT",
            "/api/routing/agents/alice/profile",
            Some(json!({ "capacity": { "call": 1, "chat": 1, "message": 1 } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut desk = center.desk(&alice).await;
    center.presence(&alice, "available").await;
    let first = guest_says(&center.relay, "My parcel never came").await;
    desk.work(&first, Some("offered")).await;
    center.act(&alice, &first, "accept", None).await;
    desk.work(&first, Some("connected")).await;
    assigned(&center, &alice, &first).await;
    drop(desk);

    // The relay restarts; a second customer writes before Alice is back.
    let center = center.restart().await;
    let second = guest_says(&center.relay, "Is anyone there?").await;
    let alice = center.relay.login("alice").await;
    let mut desk = center.desk(&alice).await;
    let signed_in = center.presence(&alice, "available").await;
    // Her conversation is back on her desk, and it fills her one message slot.
    assert_eq!(
        item(&signed_in, &first).map(|w| w["state"].clone()),
        Some(json!("connected")),
        "{signed_in}"
    );
    assert!(item(&signed_in, &second).is_none(), "{signed_in}");

    // Wrapping it up in the inbox ends the routed work, and the room goes to the waiting one.
    wrap_up(&center, &alice, &first).await;
    desk.work(&second, Some("offered")).await;
    center.relay.stop().await;
}
