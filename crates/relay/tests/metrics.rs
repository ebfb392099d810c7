//! `/metrics` counts the co-browse frame path: a frame relayed from customer to agent bumps
//! `relay_frames_total`, and a peer closed for sending the other side's frames bumps
//! `relay_drops_total`. The counters are process-wide, so the test checks they grew. Nobody
//! scrapes without the operator's token or address.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod routing_support;

use common::{snapshot, Relay};
use protocol::*;
use routing_support::get_text;

const TOKEN: &str = "a-metrics-token";

async fn counter(relay: &Relay, name: &str) -> u64 {
    let (status, text) = get_text(relay, "/metrics", Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[tokio::test]
async fn relayed_frames_and_dropped_peers_show_in_metrics() {
    let relay = Relay::start(|c| c.metrics.token = Some(TOKEN.into())).await;
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

#[tokio::test]
async fn metrics_are_refused_without_the_operators_token() {
    let relay = Relay::start(|_| {}).await;
    let (status, text) = get_text(&relay, "/metrics", None).await;
    assert_eq!(
        status, 403,
        "a relay without a token serves no metrics: {text}"
    );
    assert!(!text.contains("relay_routing"), "{text}");
    relay.stop().await;

    let relay = Relay::start(|c| c.metrics.token = Some(TOKEN.into())).await;
    let agent = relay.login("alice").await;
    for wrong in [None, Some("a-metrics-tokem"), Some(agent.as_str())] {
        let (status, text) = get_text(&relay, "/metrics", wrong).await;
        assert_eq!(status, 401, "{wrong:?}: {text}");
        assert!(!text.contains("relay_"), "{text}");
    }
    assert_eq!(get_text(&relay, "/metrics", Some(TOKEN)).await.0, 200);
    relay.stop().await;
}

#[tokio::test]
async fn metrics_on_their_own_address_are_not_on_the_public_one() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let relay = Relay::start(|c| c.metrics.addr = Some(addr)).await;
    let (status, _) = get_text(&relay, "/metrics", None).await;
    assert_eq!(status, 404);
    let scraped = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(scraped.text().await.unwrap().contains("relay_frames_total"));
    relay.stop().await;
}
