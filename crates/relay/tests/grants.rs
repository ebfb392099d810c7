//! Time-boxed and scoped control grants at the relay, over real WebSockets: a grant ends at its
//! deadline (audited "expired", both sides told, a resume never extends it); under a scoped
//! grant, a hostile agent's input outside the region is refused, audited and told to the
//! agent; a page that sends an oversized region is refused cleanly and the session flows on.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: failing loudly is the point

mod common;

use common::*;
use protocol::*;

fn click(node: u32) -> Message {
    Message::Click(Click {
        node,
        x: 1,
        y: 1,
        button: Button::Primary,
    })
}

/// The next `GrantStatus` `peer` receives.
async fn status(peer: &mut Peer) -> GrantStatus {
    match peer.recv_until(FrameKind::GrantStatus).await.message {
        Message::GrantStatus(s) => s,
        other => panic!("expected a grant status, got {other:?}"),
    }
}

/// The first `GrantStatus` in `mode` that `peer` receives.
async fn status_in(peer: &mut Peer, mode: SessionMode) -> GrantStatus {
    loop {
        let s = status(peer).await;
        if s.mode == mode {
            return s;
        }
    }
}

/// Asserts `frame` reaches the customer next: whatever the agent sent before it was dropped.
async fn next_is(customer: &mut Peer, marker: Vec<u8>, what: &str) {
    assert_eq!(customer.recv_bytes().await, marker, "{what} got through");
}

#[tokio::test]
async fn a_time_boxed_grant_ends_at_its_deadline_for_both_sides_and_a_resume_never_extends_it() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (id, key) = relay.start_key(&token, "voice", "call-timed").await;
    let mut customer = relay.customer(Pairing::SecurityKey(key)).await;
    let Message::Welcome(welcome) = customer.recv().await.message else {
        panic!("expected welcome")
    };
    let mut agent = relay.agent(&token, &id).await;
    agent.send(Message::NavigationRequest(Empty)).await;
    customer.recv_until(FrameKind::ModeChanged).await;
    customer
        .send(Message::GrantAccept(GrantTerms {
            duration_secs: 2,
            scope: vec![],
        }))
        .await;
    let granted = status_in(&mut agent, SessionMode::NavigationGranted).await;
    assert_eq!(granted.reason, ModeReason::Accepted);
    let left = granted.remaining_ms.expect("a countdown for the console");
    assert!((1_500..=2_000).contains(&left), "{left} ms left");

    // Input flows while the grant runs.
    let sent = agent.send(click(5)).await;
    assert_eq!(
        customer
            .recv_until(FrameKind::Click)
            .await
            .encode()
            .unwrap(),
        sent
    );

    // The page reloads under the grant: it keeps it, with no more time than it had.
    let grant = granted.grant;
    drop(customer);
    let mut page = relay
        .customer(Pairing::Resume {
            token: welcome.resume_token.clone().unwrap(),
            grant,
        })
        .await;
    let resumed = status(&mut page).await;
    assert_eq!(resumed.mode, SessionMode::NavigationGranted);
    assert_eq!(resumed.reason, ModeReason::Current);
    assert!(resumed.remaining_ms.unwrap() <= left, "{resumed:?}");

    // At the deadline both sides hear why, and agent input is dropped from then on.
    let ended = status_in(&mut page, SessionMode::ReadOnly).await;
    assert_eq!(
        (ended.reason, ended.remaining_ms),
        (ModeReason::Expired, None)
    );
    let told = status_in(&mut agent, SessionMode::ReadOnly).await;
    assert_eq!(told.reason, ModeReason::Expired);
    agent.send(click(5)).await;
    let marker = agent.send(pointer(9)).await;
    next_is(&mut page, marker, "a click after the expiry").await;
    let audit = relay
        .audit_until(&token, &id, |a| {
            a.iter().any(|(e, _)| e == "expired")
                && a.iter().any(|(e, d)| e == "dropped" && d.contains("Click"))
        })
        .await;
    assert!(audit
        .iter()
        .any(|(e, d)| e == "expired" && d.contains("grant 1")));
    relay.stop().await;
}

#[tokio::test]
async fn a_hostile_agent_outside_a_scoped_grant_is_refused_audited_and_told_and_the_region_can_grow_and_go(
) {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (id, mut customer, mut agent) = relay.paired(&token, "voice", "call-scope").await;
    agent
        .send(Message::AreaRequest(AreaRequest { node: 40 }))
        .await;
    let asked = customer.recv_until(FrameKind::AreaRequest).await;
    assert_eq!(
        asked.message,
        Message::AreaRequest(AreaRequest { node: 40 })
    );
    let requested = status(&mut customer).await;
    assert_eq!(
        (requested.mode, requested.scope),
        (SessionMode::NavigationRequested, Some(40))
    );
    customer
        .send(Message::GrantAccept(GrantTerms {
            duration_secs: 0,
            scope: vec![40, 41],
        }))
        .await;
    let granted = status_in(&mut agent, SessionMode::NavigationGranted).await;
    assert_eq!((granted.scope, granted.remaining_ms), (Some(40), None));

    // Inside: forwarded. Outside, and a navigation: dropped, and the agent is told.
    let inside = agent.send(click(41)).await;
    assert_eq!(
        customer
            .recv_until(FrameKind::Click)
            .await
            .encode()
            .unwrap(),
        inside
    );
    agent.send(click(7)).await;
    agent
        .send(Message::Navigate(Navigate::Url("/admin".into())))
        .await;
    agent
        .send(Message::AgentScroll(Scroll {
            node: 0,
            x: 0,
            y: 900,
        }))
        .await;
    let marker = agent.send(pointer(3)).await;
    next_is(&mut customer, marker, "input outside the region").await;
    let notice = agent.recv_until(FrameKind::InputDropped).await;
    assert_eq!(
        notice.message,
        Message::InputDropped(InputRefused {
            node: 7,
            reason: Refusal::OutsideScope
        })
    );

    // A node added inside the region is inside.
    customer
        .send(Message::ScopeUpdate(ScopeNodes {
            replace: false,
            nodes: vec![90],
        }))
        .await;
    let grown = agent.send(click(90)).await;
    assert_eq!(
        customer
            .recv_until(FrameKind::Click)
            .await
            .encode()
            .unwrap(),
        grown
    );

    // The region leaves the page: the grant ends for both sides.
    customer.send(Message::ScopeRemoved(Empty)).await;
    let gone = status_in(&mut agent, SessionMode::ReadOnly).await;
    assert_eq!(gone.reason, ModeReason::ScopeRemoved);
    let audit = relay
        .audit_until(&token, &id, |a| {
            a.iter()
                .any(|(e, d)| e == "mode" && d.contains("ScopeRemoved"))
        })
        .await;
    assert!(audit
        .iter()
        .any(|(e, d)| e == "dropped" && d.contains("Click on node 7: outside scope")));
    assert!(audit
        .iter()
        .any(|(e, d)| e == "dropped" && d.contains("Navigate") && d.contains("scoped grant")));
    assert!(audit
        .iter()
        .any(|(e, d)| e == "dropped" && d.contains("AgentScroll on node 0: outside scope")));
    relay.stop().await;
}

#[tokio::test]
async fn a_page_sending_an_oversized_region_is_refused_cleanly_and_the_session_flows_on() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (id, mut customer, mut agent) = relay.paired(&token, "voice", "call-huge").await;
    agent
        .send(Message::AreaRequest(AreaRequest { node: 1 }))
        .await;
    customer.recv_until(FrameKind::AreaRequest).await;
    customer
        .send(Message::GrantAccept(GrantTerms {
            duration_secs: 60,
            scope: (1..=MAX_SCOPE_NODES as u32 + 1).collect(),
        }))
        .await;
    let refused = status_in(&mut agent, SessionMode::ReadOnly).await;
    assert_eq!(
        (refused.mode, refused.reason, refused.grant),
        (SessionMode::ReadOnly, ModeReason::ScopeTooLarge, 0)
    );
    status_in(&mut customer, SessionMode::ReadOnly).await;
    agent.send(click(1)).await;
    let marker = agent.send(pointer(2)).await;
    next_is(&mut customer, marker, "input after a refused region").await;
    // The page's connection is still open and its frames still reach the agent.
    let sent = customer.send(snapshot("https://shop.test/")).await;
    assert_eq!(
        agent
            .recv_until(FrameKind::Snapshot)
            .await
            .encode()
            .unwrap(),
        sent
    );
    relay
        .audit_until(&token, &id, |a| {
            a.iter()
                .any(|(e, d)| e == "mode" && d.contains("ScopeTooLarge"))
        })
        .await;

    // A body that does not decode is a malformed frame: that connection closes, nothing more.
    agent.send(Message::NavigationRequest(Empty)).await;
    customer.recv_until(FrameKind::ModeChanged).await;
    customer.send_raw(vec![0x33, 0x05, 0xac]).await;
    let closed = customer.closed().await;
    assert_eq!(closed.error(), Some(ErrorCode::Malformed));
    assert_eq!(closed.code, Some(1002));
    relay.stop().await;
}
