//! Enforced control and lifecycle: agent input is dropped and audited until the customer grants
//! navigation; grants and revokes are announced to both sides; every way a session ends tells
//! both sides why; late joiners get the page at once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: failing loudly is the point

mod common;

use std::time::Duration;

use common::*;
use protocol::*;

fn agent_inputs() -> Vec<Message> {
    vec![
        Message::Click(Click {
            node: 5,
            x: 10,
            y: 20,
            button: Button::Primary,
        }),
        Message::TextInput(TextInput {
            node: 5,
            value: "typed by agent".into(),
        }),
        Message::Key(Key {
            node: 5,
            key: "Enter".into(),
            modifiers: 0,
        }),
        Message::AgentScroll(Scroll {
            node: 0,
            x: 0,
            y: 500,
        }),
        Message::Navigate(Navigate::Url("https://shop.test/admin".into())),
    ]
}

#[tokio::test]
async fn hostile_agent_input_in_read_only_and_requested_modes_is_dropped_audited_and_never_reaches_the_customer(
) {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (id, mut customer, mut agent) = relay.paired(&token, "voice", "call-1").await;

    for input in agent_inputs() {
        agent.send(input).await;
    }
    // A pointer is always allowed: the first thing the customer sees after the inputs.
    let marker = agent.send(pointer(1)).await;
    assert_eq!(
        customer.recv_bytes().await,
        marker,
        "no input frame got through"
    );

    // Asking for control changes nothing until the customer accepts.
    agent.send(Message::NavigationRequest(Empty)).await;
    customer.recv_until(FrameKind::ModeChanged).await;
    // Each mode change is followed by why, and (while granted) how long is left.
    customer.recv_until(FrameKind::GrantStatus).await;
    for input in agent_inputs() {
        agent.send(input).await;
    }
    let marker = agent.send(pointer(2)).await;
    assert_eq!(
        customer.recv_bytes().await,
        marker,
        "no input frame got through"
    );

    let audit = relay
        .audit_until(&token, &id, |a| {
            a.iter().filter(|(e, _)| e == "dropped").count() == 10
        })
        .await;
    for kind in ["Click", "TextInput", "Key", "AgentScroll", "Navigate"] {
        let dropped: Vec<_> = audit
            .iter()
            .filter(|(e, d)| e == "dropped" && d.contains(&format!("Agent {kind}:")))
            .collect();
        assert_eq!(dropped.len(), 2, "{kind} in both modes: {audit:?}");
        assert!(dropped.iter().all(|(_, d)| d.ends_with("NotGranted")));
    }
    relay.stop().await;
}

#[tokio::test]
async fn grant_lets_input_through_and_revoke_stops_it_on_the_next_frame() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (id, mut customer, mut agent) = relay.paired(&token, "voice", "call-2").await;

    let request = agent.send(Message::NavigationRequest(Empty)).await;
    assert_eq!(customer.recv_bytes().await, request);
    let mode = |f: Frame| match f.message {
        Message::ModeChanged(m) => m.mode,
        other => panic!("expected a mode change, got {other:?}"),
    };
    assert_eq!(
        mode(customer.recv().await),
        SessionMode::NavigationRequested
    );
    assert_eq!(mode(agent.recv().await), SessionMode::NavigationRequested);

    customer.send(Message::NavigationAccept(Empty)).await;
    assert_eq!(
        mode(agent.recv_until(FrameKind::ModeChanged).await),
        SessionMode::NavigationGranted
    );
    assert_eq!(
        mode(customer.recv_until(FrameKind::ModeChanged).await),
        SessionMode::NavigationGranted
    );
    customer.recv_until(FrameKind::GrantStatus).await;

    for input in agent_inputs() {
        let sent = agent.send(input).await;
        assert_eq!(
            customer.recv_bytes().await,
            sent,
            "granted input is forwarded untouched"
        );
    }

    customer.send(Message::Revoke(Empty)).await;
    assert_eq!(mode(customer.recv().await), SessionMode::ReadOnly);
    assert_eq!(
        mode(agent.recv_until(FrameKind::ModeChanged).await),
        SessionMode::ReadOnly
    );
    customer.recv_until(FrameKind::GrantStatus).await;
    agent.send(agent_inputs().remove(0)).await;
    let marker = agent.send(pointer(3)).await;
    assert_eq!(customer.recv_bytes().await, marker);

    let audit = relay
        .audit_until(&token, &id, |a| a.iter().any(|(e, _)| e == "dropped"))
        .await;
    let modes: Vec<_> = audit
        .iter()
        .filter(|(e, _)| e == "mode")
        .map(|(_, d)| d.as_str())
        .collect();
    assert_eq!(modes.len(), 3, "{modes:?}");
    assert!(modes[1].starts_with("NavigationGranted after Customer NavigationAccept"));
    assert!(modes[2].starts_with("ReadOnly after Customer Revoke"));
    relay.stop().await;
}

#[tokio::test]
async fn frames_of_the_other_side_close_the_sender_with_a_reason() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (_, mut customer, mut agent) = relay.paired(&token, "voice", "call-3").await;
    customer.send(Message::NavigationAccept(Empty)).await; // no request pending: just dropped
    agent
        .send(Message::Snapshot(match snapshot("x") {
            Message::Snapshot(s) => s,
            _ => unreachable!(),
        }))
        .await;
    let closed = agent.closed().await;
    assert_eq!(closed.error(), Some(ErrorCode::NotAllowed));
    assert_eq!(closed.code, Some(1008));
    assert!(closed.reason.contains("Snapshot"), "{}", closed.reason);
    // The customer is told the agent left, and is still connected.
    let gone = customer.recv_until(FrameKind::Presence).await;
    assert!(matches!(
        gone.message,
        Message::Presence(Presence {
            role: Role::Agent,
            connected: false
        })
    ));
    customer
        .send(Message::AgentPointer(Pointer { x: 0, y: 0 }))
        .await;
    assert_eq!(customer.closed().await.error(), Some(ErrorCode::NotAllowed));
    relay.stop().await;
}

/// How a test ends a session.
enum Trigger {
    CustomerEnd,
    AgentEnd,
    /// A side's key exchange failed: it says so in its End.
    KeyFailed(Role),
    ApiEnd,
    InteractionEnd,
    InteractionTransfer,
}

async fn check_end(trigger: Trigger, expected: EndReason) {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (id, mut customer, mut agent) = relay.paired(&token, "web_chat", "chat-9").await;
    let end = Message::End(End {
        reason: EndReason::Error, // the relay decides the reason from the sender's side
    });
    match trigger {
        Trigger::CustomerEnd => drop(customer.send(end).await),
        Trigger::AgentEnd => drop(agent.send(end).await),
        Trigger::KeyFailed(role) => {
            let failed = Message::End(End {
                reason: EndReason::KeyExchangeFailed,
            });
            match role {
                Role::Customer => drop(customer.send(failed).await),
                Role::Agent => drop(agent.send(failed).await),
            }
        }
        Trigger::ApiEnd => {
            let path = format!("/api/cobrowse/sessions/{id}/end");
            assert_eq!(relay.api(&token, "POST", &path, None).await.0, 200);
        }
        Trigger::InteractionEnd => {
            let (status, body) = relay
                .api(&token, "POST", "/api/interactions/chat-9/end", None)
                .await;
            assert_eq!((status, body["ended_sessions"].as_u64()), (200, Some(1)));
        }
        Trigger::InteractionTransfer => {
            let path = "/api/interactions/chat-9/transfer";
            assert_eq!(relay.api(&token, "POST", path, None).await.0, 200);
        }
    }
    for peer in [&mut customer, &mut agent] {
        let closed = peer.closed().await;
        assert_eq!(closed.end(), Some(expected));
        assert_eq!(closed.code, Some(1000));
    }
    let audit = relay
        .audit_until(&token, &id, |a| a.iter().any(|(e, _)| e == "ended"))
        .await;
    assert!(audit.contains(&("ended".into(), format!("{expected:?}"))));
    relay.stop().await;
}

#[tokio::test]
async fn customer_end_tells_both_sides() {
    check_end(Trigger::CustomerEnd, EndReason::CustomerEnded).await;
}

#[tokio::test]
async fn agent_end_frame_tells_both_sides() {
    check_end(Trigger::AgentEnd, EndReason::AgentEnded).await;
}

/// A failed end-to-end key exchange, reported by either side, ends the session as that, not
/// as the side's plain end: both sides and the audit say the keys did not agree.
#[tokio::test]
async fn a_failed_key_exchange_ends_the_session_as_such_whichever_side_reports_it() {
    check_end(
        Trigger::KeyFailed(Role::Customer),
        EndReason::KeyExchangeFailed,
    )
    .await;
    check_end(
        Trigger::KeyFailed(Role::Agent),
        EndReason::KeyExchangeFailed,
    )
    .await;
}

#[tokio::test]
async fn agent_end_through_the_api_tells_both_sides() {
    check_end(Trigger::ApiEnd, EndReason::AgentEnded).await;
}

#[tokio::test]
async fn primary_interaction_end_ends_the_session() {
    check_end(Trigger::InteractionEnd, EndReason::InteractionEnded).await;
}

#[tokio::test]
async fn primary_interaction_transfer_ends_the_session() {
    check_end(
        Trigger::InteractionTransfer,
        EndReason::InteractionTransferred,
    )
    .await;
}

#[tokio::test]
async fn inactivity_ends_a_messaging_session_but_not_a_voice_session() {
    let relay = Relay::start(|c| {
        c.inactivity_web_messaging = Some(Duration::from_millis(400));
        c.inactivity_voice = None;
    })
    .await;
    let token = relay.login("alice").await;
    let (_, mut voice_customer, mut voice_agent) = relay.paired(&token, "voice", "call-4").await;
    let (_, mut customer, mut agent) = relay.paired(&token, "web_messaging", "msg-1").await;
    for peer in [&mut customer, &mut agent] {
        assert_eq!(peer.closed().await.end(), Some(EndReason::Inactivity));
    }
    // The voice session, paired before and idle just as long, still carries frames.
    let sent = voice_customer.send(snapshot("https://shop.test/")).await;
    assert_eq!(voice_agent.recv_bytes().await, sent);
    relay.stop().await;
}

#[tokio::test]
async fn late_joining_agent_gets_the_snapshot_and_page_state_since_then_live_frames() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (id, key) = relay.start_key(&token, "voice", "call-5").await;
    let mut customer = relay.customer(Pairing::SecurityKey(key)).await;
    customer.recv().await; // welcome
    customer.send(text_mutation("before any snapshot")).await;
    let snap = customer.send(snapshot("https://shop.test/")).await;
    let m1 = customer.send(text_mutation("one")).await;
    customer
        .send(Message::Pointer(Pointer { x: 1, y: 1 }))
        .await; // not page state
    let m2 = customer.send(text_mutation("two")).await;
    relay.processed(&token, &id, &mut customer).await;

    let mut agent = relay.agent(&token, &id).await;
    agent.recv_until(FrameKind::Presence).await;
    assert_eq!(agent.recv_bytes().await, snap);
    assert_eq!(agent.recv_bytes().await, m1);
    assert_eq!(agent.recv_bytes().await, m2);
    let live = customer.send(text_mutation("three")).await;
    assert_eq!(agent.recv_bytes().await, live);

    // A reconnecting console replaces the old connection and gets the same view plus "three".
    let mut again = relay.agent(&token, &id).await;
    assert!(agent.closed().await.reason.contains("replaced"));
    again.recv_until(FrameKind::Presence).await;
    for expected in [snap, m1, m2, live] {
        assert_eq!(again.recv_bytes().await, expected);
    }
    relay.stop().await;
}

#[tokio::test]
async fn agent_resync_request_reaches_the_customer_and_an_overflowing_buffer_asks_for_one() {
    let relay = Relay::start(|c| c.page_buffer_bytes = 4096).await;
    let token = relay.login("alice").await;
    let (_, mut customer, mut agent) = relay.paired(&token, "voice", "call-6").await;
    let resync = agent.send(Message::ResyncRequest(Empty)).await;
    assert_eq!(customer.recv_bytes().await, resync);

    customer.send(snapshot("https://shop.test/")).await;
    let big = "x".repeat(1000);
    for _ in 0..5 {
        customer.send(text_mutation(&big)).await;
    }
    // Past 4 KiB the relay drops its copy and asks the page for a fresh snapshot.
    assert_eq!(customer.recv().await.message, Message::ResyncRequest(Empty));
    relay.stop().await;
}

#[tokio::test]
async fn an_agent_joining_while_the_first_snapshot_is_on_its_way_waits_for_it() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (id, key) = relay.start_key(&token, "voice", "call-7").await;
    let mut customer = relay.customer(Pairing::SecurityKey(key)).await;
    customer.recv_until(FrameKind::Presence).await; // welcome, then "no agent yet"
    let mut agent = relay.agent(&token, &id).await;
    agent.recv_until(FrameKind::Presence).await;
    // The page is still taking its snapshot: asking for another would make it take two.
    let next = customer.recv().await;
    assert!(
        matches!(
            next.message,
            Message::Presence(Presence {
                connected: true,
                ..
            })
        ),
        "{next:?}"
    );
    let snap = customer.send(snapshot("https://shop.test/")).await;
    assert_eq!(agent.recv_bytes().await, snap);
    relay.stop().await;

    // A snapshot that does not come in time (a paused page, a failed one) is asked for again.
    let relay = Relay::start(|c| c.snapshot_wait = Duration::from_millis(50)).await;
    let token = relay.login("alice").await;
    let (id, key) = relay.start_key(&token, "voice", "call-8").await;
    let mut customer = relay.customer(Pairing::SecurityKey(key)).await;
    customer.recv_until(FrameKind::Presence).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let mut agent = relay.agent(&token, &id).await;
    agent.recv_until(FrameKind::Presence).await;
    assert_eq!(customer.recv().await.message, Message::ResyncRequest(Empty));
    relay.stop().await;
}

/// Grants control: the agent asks, the customer accepts; returns the grant's number.
async fn granted(customer: &mut Peer, agent: &mut Peer) -> u32 {
    agent.send(Message::NavigationRequest(Empty)).await;
    customer.recv_until(FrameKind::ModeChanged).await;
    customer.send(Message::NavigationAccept(Empty)).await;
    match customer.recv_until(FrameKind::ModeChanged).await.message {
        Message::ModeChanged(ModeChanged {
            mode: SessionMode::NavigationGranted,
            grant,
        }) => grant,
        other => panic!("expected the grant, got {other:?}"),
    }
}

#[tokio::test]
async fn a_page_that_resumes_without_the_grant_gets_no_control_back_and_the_agent_is_told() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (id, key) = relay.start_key(&token, "voice", "call-resume").await;
    let mut customer = relay.customer(Pairing::SecurityKey(key)).await;
    let Message::Welcome(welcome) = customer.recv().await.message else {
        panic!("expected welcome")
    };
    let resume = welcome
        .resume_token
        .expect("a customer gets a resume token");
    let mut agent = relay.agent(&token, &id).await;
    let grant = granted(&mut customer, &mut agent).await;
    assert_eq!(grant, 1);

    // A page load under the grant keeps it: the page names the grant it holds.
    drop(customer);
    let mut page = relay
        .customer(Pairing::Resume {
            token: resume.clone(),
            grant,
        })
        .await;
    let Message::Welcome(again) = page.recv().await.message else {
        panic!("expected welcome")
    };
    assert_eq!(
        (again.mode, again.grant),
        (SessionMode::NavigationGranted, 1)
    );

    // The customer revoked while offline: the page resumes holding no grant.
    drop(page);
    let mut page = relay
        .customer(Pairing::Resume {
            token: resume.clone(),
            grant: 0,
        })
        .await;
    let Message::Welcome(again) = page.recv().await.message else {
        panic!("expected welcome")
    };
    assert_eq!(again.mode, SessionMode::ReadOnly);
    // The agent heard of the request and the grant before; then of the grant's end.
    let told = loop {
        match agent.recv_until(FrameKind::ModeChanged).await.message {
            Message::ModeChanged(ModeChanged {
                mode: SessionMode::NavigationRequested | SessionMode::NavigationGranted,
                ..
            }) => {}
            told => break told,
        }
    };
    assert_eq!(
        told,
        Message::ModeChanged(ModeChanged {
            mode: SessionMode::ReadOnly,
            grant: 1
        })
    );
    // Input from now on is dropped, not forwarded.
    page.recv_until(FrameKind::Presence).await;
    agent
        .send(Message::Navigate(Navigate::Url("/elsewhere".into())))
        .await;
    let marker = agent.send(pointer(4)).await;
    assert_eq!(page.recv_bytes().await, marker, "the navigate got through");

    // A copy of the page still naming the first grant cannot revive it after a second one.
    let grant = granted(&mut page, &mut agent).await;
    assert_eq!(grant, 2);
    let mut copy = relay
        .customer(Pairing::Resume {
            token: resume,
            grant: 1,
        })
        .await;
    let Message::Welcome(again) = copy.recv().await.message else {
        panic!("expected welcome")
    };
    assert_eq!((again.mode, again.grant), (SessionMode::ReadOnly, 2));
    let audit = relay
        .audit_until(&token, &id, |a| {
            a.iter()
                .filter(|(e, d)| e == "mode" && d.contains("resumed without grant"))
                .count()
                == 2
        })
        .await;
    assert!(audit
        .iter()
        .any(|(e, d)| e == "dropped" && d.contains("Navigate")));
    relay.stop().await;
}

#[tokio::test]
async fn the_pages_refusals_of_forwarded_input_are_audited_and_reach_the_agent() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (id, mut customer, mut agent) = relay.paired(&token, "voice", "call-refused").await;
    granted(&mut customer, &mut agent).await;
    agent.send(agent_inputs().remove(0)).await;
    customer.recv_until(FrameKind::Click).await;
    let refusal = |reason| Message::InputRefused(InputRefused { node: 5, reason });
    customer.send(refusal(Refusal::FormReadOnly)).await;
    // One more than was asked of it: forwarded, but not audited.
    customer.send(refusal(Refusal::CrossSite)).await;
    assert_eq!(
        agent.recv_until(FrameKind::InputRefused).await.message,
        refusal(Refusal::FormReadOnly)
    );
    assert_eq!(
        agent.recv_until(FrameKind::InputRefused).await.message,
        refusal(Refusal::CrossSite)
    );
    relay.processed(&token, &id, &mut customer).await;
    let audit = relay.audit(&token, &id).await;
    let refused: Vec<_> = audit.iter().filter(|(e, _)| e == "refused").collect();
    assert_eq!(
        refused,
        [&("refused".to_owned(), "node 5: FormReadOnly".to_owned())],
        "{audit:?}"
    );
    relay.stop().await;
}
