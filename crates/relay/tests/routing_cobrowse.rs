//! Routing ends co-browse sessions riding on its interactions: when a routed call ends, or a
//! routed chat is transferred, the session tied to it ends with the matching reason.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: failing loudly is the point

mod common;
mod routing_support;

use protocol::EndReason;
use routing_support::*;
use serde_json::json;

#[tokio::test]
async fn ending_a_routed_call_ends_its_cobrowse_session() {
    let center = Center::start().await;
    let alice = center.relay.login("alice").await;
    center.queue(&alice, json!({"name": "support"})).await;
    let mut desk = center.desk(&alice).await;
    center.presence(&alice, "available").await;
    center.call("call-7", "support").await;
    desk.work("call-7", Some("offered")).await;
    center.act(&alice, "call-7", "accept", None).await;
    let (_, mut customer, mut agent) = center.relay.paired(&alice, "voice", "call-7").await;

    center
        .connector("/api/telephony/calls/call-7/ended", None)
        .await;
    for peer in [&mut customer, &mut agent] {
        assert_eq!(peer.closed().await.end(), Some(EndReason::InteractionEnded));
    }
    center.relay.stop().await;
}

#[tokio::test]
async fn transferring_a_routed_chat_to_a_queue_ends_its_cobrowse_session() {
    let center = Center::start().await;
    let alice = center.relay.login("alice").await;
    center.queue(&alice, json!({"name": "support"})).await;
    center.queue(&alice, json!({"name": "billing"})).await;
    let mut desk = center.desk(&alice).await;
    center.presence(&alice, "available").await;
    center.chat("chat-7", "support", json!({})).await;
    desk.work("chat-7", Some("offered")).await;
    center.act(&alice, "chat-7", "accept", None).await;
    let (_, mut customer, mut agent) = center.relay.paired(&alice, "web_chat", "chat-7").await;

    let (status, _) = center
        .act(
            &alice,
            "chat-7",
            "transfer",
            Some(json!({"queue": "billing"})),
        )
        .await;
    assert_eq!(status, 200);
    for peer in [&mut customer, &mut agent] {
        assert_eq!(
            peer.closed().await.end(),
            Some(EndReason::InteractionTransferred)
        );
    }
    center.relay.stop().await;
}
