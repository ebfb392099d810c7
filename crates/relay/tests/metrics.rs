//! `/metrics` counts the co-browse frame path: a frame relayed from customer to agent bumps
//! `relay_frames_total`, and a peer closed for sending the other side's frames bumps
//! `relay_drops_total`. The counters are process-wide, so the test checks they grew.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod routing_support;

use common::{snapshot, Relay};
use protocol::*;
use routing_support::get_text;

async fn counter(relay: &Relay, name: &str) -> u64 {
    let (status, text) = get_text(relay, "/metrics", None).await;
    assert_eq!(status, 200, "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[tokio::test]
async fn relayed_frames_and_dropped_peers_show_in_metrics() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (frames, drops) = (
        counter(&relay, "relay_frames_total").await,
        counter(&relay, "relay_drops_total").await,
    );
    let (_, mut customer, mut agent) = relay.paired(&token, "voice", "call-m").await;
    customer.send(snapshot("https://shop.test/")).await;
    agent.recv_until(FrameKind::Snapshot).await;
    assert!(counter(&relay, "relay_frames_total").await > frames);

    // The agent may not send a snapshot: it is closed, and that is a drop.
    agent.send(snapshot("x")).await;
    assert_eq!(agent.closed().await.error(), Some(ErrorCode::NotAllowed));
    assert!(counter(&relay, "relay_drops_total").await > drops);
    relay.stop().await;
}
