//! Robustness: a slow reader is dropped without slowing anyone else; malformed, unknown-kind,
//! wrong-version, text and oversized frames close only the connection that sent them, with a
//! reason; shutdown closes every connection with "going away".

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: failing loudly is the point

mod common;

use common::*;
use protocol::*;

/// A second, healthy session carries a frame end to end.
async fn still_flows(customer: &mut Peer, agent: &mut Peer) {
    let sent = customer.send(text_mutation("still here")).await;
    assert_eq!(agent.recv_bytes().await, sent);
}

#[tokio::test]
async fn slow_agent_is_dropped_as_slow_consumer_without_affecting_another_session() {
    let relay = Relay::start(|c| {
        c.peer_queue_bytes = 256 << 10;
        c.peer_queue_frames = 64;
    })
    .await;
    let token = relay.login("alice").await;
    let (id, mut customer, slow_agent) = relay.paired(&token, "voice", "call-1").await;
    let (_, mut other_customer, mut other_agent) = relay.paired(&token, "voice", "call-2").await;

    // The slow agent never reads; the customer keeps the page busy with 64 KiB mutations
    // until the relay gives up on the agent. The kernel's socket buffers absorb some
    // megabytes first, so this is bounded by a deadline, not a count.
    let big = text_mutation(&"x".repeat(64 << 10));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        customer.send(big.clone()).await;
        let audit = relay.audit(&token, &id).await;
        if audit.iter().any(|(e, _)| e == "slow_consumer") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never dropped: {audit:?}"
        );
        // Meanwhile the other session is unaffected.
        still_flows(&mut other_customer, &mut other_agent).await;
    }
    let gone = customer.recv_until(FrameKind::Presence).await;
    assert_eq!(
        gone.message,
        Message::Presence(Presence {
            role: Role::Agent,
            connected: false
        })
    );
    still_flows(&mut other_customer, &mut other_agent).await;
    drop(slow_agent);
    relay.stop().await;
}

/// Sends `bytes` as the agent's next frame and checks the agent is closed with `code` and
/// `ws_code`, while the customer of the same session and another session go on.
async fn check_bad_agent_frame(bytes: Vec<u8>, code: ErrorCode, ws_code: u16) {
    let relay = Relay::start(|c| c.limits.max_frame_bytes = 64 << 10).await;
    let token = relay.login("alice").await;
    let (_, mut customer, mut agent) = relay.paired(&token, "voice", "call-1").await;
    let (_, mut other_customer, mut other_agent) = relay.paired(&token, "voice", "call-2").await;
    agent.send_raw(bytes).await;
    let closed = agent.closed().await;
    assert_eq!(closed.error(), Some(code), "{closed:?}");
    assert_eq!(closed.code, Some(ws_code), "{closed:?}");
    assert!(!closed.reason.is_empty());
    // The session lives on: its customer hears the agent left and can still share.
    customer.recv_until(FrameKind::Presence).await;
    customer.send(snapshot("https://shop.test/")).await;
    still_flows(&mut other_customer, &mut other_agent).await;
    relay.stop().await;
}

#[tokio::test]
async fn empty_frame_closes_that_connection_as_malformed() {
    check_bad_agent_frame(vec![], ErrorCode::Malformed, 1002).await;
}

#[tokio::test]
async fn bad_sequence_number_closes_that_connection_as_malformed() {
    let bytes = vec![
        FrameKind::AgentPointer.code(),
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
        0xff,
    ];
    check_bad_agent_frame(bytes, ErrorCode::Malformed, 1002).await;
}

#[tokio::test]
async fn unknown_kind_closes_that_connection_as_malformed() {
    check_bad_agent_frame(vec![0x7f, 0x00, 0x01], ErrorCode::Malformed, 1002).await;
}

#[tokio::test]
async fn malformed_end_body_closes_that_connection() {
    let bytes = vec![FrameKind::End.code(), 0x01, 0xee];
    check_bad_agent_frame(bytes, ErrorCode::Malformed, 1002).await;
}

#[tokio::test]
async fn frame_over_the_limit_closes_that_connection_as_too_large() {
    let mut bytes = encode(1, pointer(0));
    bytes.resize(100 << 10, 0);
    check_bad_agent_frame(bytes, ErrorCode::TooLarge, 1009).await;
}

#[tokio::test]
async fn frame_far_over_the_websocket_limit_closes_that_connection_as_too_large() {
    let mut bytes = encode(1, pointer(0));
    bytes.resize(1 << 20, 0);
    check_bad_agent_frame(bytes, ErrorCode::TooLarge, 1009).await;
}

#[tokio::test]
async fn second_hello_is_a_violation() {
    let hello = encode(
        1,
        Message::Hello(Hello {
            version: PROTOCOL_VERSION,
            role: Role::Agent,
            site: String::new(),
            pairing: Pairing::AgentJoin {
                session_id: "x".into(),
            },
        }),
    );
    check_bad_agent_frame(hello, ErrorCode::NotAllowed, 1008).await;
}

#[tokio::test]
async fn hello_of_another_protocol_version_is_refused_with_a_clear_reason() {
    let relay = Relay::start(|_| {}).await;
    let mut customer = relay.customer_socket(SITE, ORIGIN).await.unwrap();
    customer
        .send(Message::Hello(Hello {
            version: PROTOCOL_VERSION + 1,
            role: Role::Customer,
            site: SITE.into(),
            pairing: Pairing::SecurityKey("123".into()),
        }))
        .await;
    let closed = customer.closed().await;
    assert_eq!(closed.error(), Some(ErrorCode::UnsupportedVersion));
    let expected = format!("version {}", PROTOCOL_VERSION + 1);
    assert!(closed.reason.contains(&expected), "{}", closed.reason);
    relay.stop().await;
}

#[tokio::test]
async fn first_frame_other_than_hello_and_text_frames_are_refused() {
    let relay = Relay::start(|_| {}).await;
    let mut customer = relay.customer_socket(SITE, ORIGIN).await.unwrap();
    customer.send(snapshot("https://shop.test/")).await;
    assert_eq!(customer.closed().await.error(), Some(ErrorCode::NotAllowed));

    let mut texter = relay.customer_socket(SITE, ORIGIN).await.unwrap();
    use futures_util::SinkExt;
    texter
        .ws
        .send(tokio_tungstenite::tungstenite::Message::text("hello?"))
        .await
        .unwrap();
    let closed = texter.closed().await;
    assert_eq!(
        (closed.error(), closed.code),
        (Some(ErrorCode::Malformed), Some(1003))
    );
    relay.stop().await;
}

#[tokio::test]
async fn shutdown_closes_every_connection_as_going_away() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (_, mut customer, mut agent) = relay.paired(&token, "voice", "call-1").await;
    let stopping = tokio::spawn(relay.stop());
    for peer in [&mut customer, &mut agent] {
        assert_eq!(peer.closed().await.code, Some(1001));
    }
    stopping.await.unwrap();
}
