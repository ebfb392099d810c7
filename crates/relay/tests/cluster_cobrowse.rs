//! Co-browse across relay nodes on one NATS server (127.0.0.1:4222, as `make setup` leaves
//! it): the agent starts a session on one node, and the customer's page and the agent's
//! console connect to another; their connections are piped to the session's node, where
//! pairing, the control gate and the bounds apply as on one node.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use futures_util::StreamExt;
use protocol::*;

fn nats_url() -> String {
    std::env::var("RELAY_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// A session started on `home`, with the customer and the agent connected to `other`: (id,
/// resume token, customer past welcome and presence, agent past welcome and presence).
async fn paired_across(home: &Relay, other: &Relay, token: &str) -> (String, String, Peer, Peer) {
    let (id, key) = home.start_key(token, "voice", "call-x").await;
    let mut customer = other.customer(Pairing::SecurityKey(key)).await;
    let Message::Welcome(welcome) = customer.recv().await.message else {
        panic!("no welcome")
    };
    assert_eq!(welcome.session_id, id);
    customer.recv_until(FrameKind::Presence).await;
    let mut agent = other.agent(token, &id).await;
    agent.recv_until(FrameKind::Presence).await;
    customer.recv_until(FrameKind::Presence).await;
    (id, welcome.resume_token.unwrap(), customer, agent)
}

/// The agent asks for control and the customer grants it: the mode the page was told.
async fn grant(agent: &mut Peer, customer: &mut Peer) -> ModeChanged {
    agent.send(Message::NavigationRequest(Empty)).await;
    customer.recv_until(FrameKind::ModeChanged).await;
    customer.send(Message::NavigationAccept(Empty)).await;
    let Message::ModeChanged(granted) = customer.recv_until(FrameKind::ModeChanged).await.message
    else {
        unreachable!()
    };
    assert_eq!(granted.mode, SessionMode::NavigationGranted);
    granted
}

fn click() -> Message {
    Message::Click(Click {
        node: 5,
        x: 10,
        y: 20,
        button: Button::Primary,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_and_an_agent_on_another_node_pair_stream_and_obey_the_gate_of_the_sessions_node(
) {
    let nodes = Relay::cluster(2, |_| {}).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let alice = b.login("alice").await;
    let (id, resume, mut customer, mut agent) = paired_across(b, a, &alice).await;

    // The page's frames reach the agent byte for byte, one larger than a NATS message too.
    let sent = customer.send(snapshot("https://shop.example/")).await;
    assert_eq!(agent.recv_bytes().await, sent);
    let big = customer.send(text_mutation(&"x".repeat(1_500_000))).await;
    assert_eq!(agent.recv_bytes().await, big);

    // Read-only: a click is dropped at the session's node, a pointer passes.
    agent.send(click()).await;
    let marker = agent.send(pointer(1)).await;
    assert_eq!(customer.recv_bytes().await, marker, "the click got through");
    // Granted, the click passes; revoked, it is dropped again.
    agent.send(Message::NavigationRequest(Empty)).await;
    customer.recv_until(FrameKind::ModeChanged).await;
    customer.recv_until(FrameKind::GrantStatus).await;
    customer.send(Message::NavigationAccept(Empty)).await;
    agent.recv_until(FrameKind::ModeChanged).await;
    customer.recv_until(FrameKind::ModeChanged).await;
    customer.recv_until(FrameKind::GrantStatus).await;
    let clicked = agent.send(click()).await;
    assert_eq!(customer.recv_bytes().await, clicked);
    customer.send(Message::Revoke(Empty)).await;
    customer.recv_until(FrameKind::GrantStatus).await;
    agent.recv_until(FrameKind::ModeChanged).await;
    agent.send(click()).await;
    let marker = agent.send(pointer(2)).await;
    assert_eq!(customer.recv_bytes().await, marker, "the click got through");
    let audit = b
        .audit_until(&alice, &id, |a| {
            a.iter().filter(|(e, _)| e == "dropped").count() == 2
        })
        .await;
    assert!(audit.iter().any(|(e, _)| e == "mode"), "{audit:?}");

    // The page reloads and resumes through the other node: the agent hears it come back.
    drop(customer);
    agent.recv_until(FrameKind::Presence).await;
    let mut again = a
        .customer(Pairing::Resume {
            token: resume,
            grant: 0,
        })
        .await;
    assert!(matches!(again.recv().await.message, Message::Welcome(_)));
    agent.recv_until(FrameKind::Presence).await;
    again.send(snapshot("https://shop.example/cart")).await;
    let Message::Snapshot(fresh) = agent.recv_until(FrameKind::Snapshot).await.message else {
        unreachable!()
    };
    assert_eq!(fresh.url, "https://shop.example/cart");

    // Another agent cannot join it through either node.
    let bob = a.login("bob").await;
    let mut intruder = a.agent_socket(&bob).await;
    intruder
        .hello(
            Role::Agent,
            "",
            Pairing::AgentJoin {
                session_id: id.clone(),
            },
        )
        .await;
    assert_eq!(intruder.closed().await.error(), Some(ErrorCode::NotAllowed));

    // The agent ends it: both sides hear why, across the pipe.
    agent
        .send(Message::End(End {
            reason: EndReason::AgentEnded,
        }))
        .await;
    assert_eq!(again.closed().await.end(), Some(EndReason::AgentEnded));
    assert_eq!(agent.closed().await.end(), Some(EndReason::AgentEnded));
    for node in nodes {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn guesses_spread_over_the_nodes_share_one_budget_and_past_it_never_ask_the_others() {
    let nodes = Relay::cluster(2, |c| {
        c.guesses_per_address = relay::config::GuessBudget {
            burst: 3,
            per_minute: 0.01,
        }
    })
    .await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let alice = b.login("alice").await;
    let (_, key) = b.start_key(&alice, "voice", "call-g").await;
    // Wrong guesses spread over both nodes are refused and charged where they land, and each
    // node tells the other: one budget for the cluster.
    for node in [a, b, a] {
        let mut guess = node.customer(Pairing::SecurityKey("000000".into())).await;
        assert_eq!(guess.closed().await.error(), Some(ErrorCode::UnknownKey));
    }
    // Past the budget, a guess is refused before any other node is asked, even the right key
    // that node b holds (as on one node: the budget is the address's, not the key's), through
    // b too, which saw one of the three failures itself.
    let (_, ready) = a.http("GET", "/readyz", &[], None).await;
    let node = ready["node"].as_str().expect("a node id").to_owned();
    let scope = node.split_once('-').expect("n<i>-<schema>").1.to_owned();
    let nats = async_nats::connect(nats_url()).await.unwrap();
    let mut finds = nats
        .subscribe(format!("relay.cobrowse.find.{scope}"))
        .await
        .unwrap();
    nats.flush().await.unwrap();
    let mut guess = b.customer(Pairing::SecurityKey(key.clone())).await;
    assert_eq!(guess.closed().await.error(), Some(ErrorCode::RateLimited));
    let mut guess = a.customer(Pairing::SecurityKey(key.clone())).await;
    assert_eq!(guess.closed().await.error(), Some(ErrorCode::RateLimited));
    // (The subject is this cluster's alone: any find of the key is one of these guesses.)
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(300);
    while let Ok(Some(find)) = tokio::time::timeout_at(deadline, finds.next()).await {
        let asked = String::from_utf8_lossy(&find.payload).into_owned();
        assert!(
            !asked.contains(&key),
            "a rate-limited guess reached the cluster: {asked}"
        );
    }

    for node in nodes {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopping_home_closes_the_sockets_piped_to_it() {
    let nodes = Relay::cluster(2, |_| {}).await;
    let alice = nodes[1].login("alice").await;
    let (_, _, mut customer, mut agent) = paired_across(&nodes[1], &nodes[0], &alice).await;
    let [a, b]: [Relay; 2] = nodes.try_into().ok().unwrap();
    b.stop().await;
    // Both sockets on node a are told to go elsewhere, not left hanging.
    for peer in [&mut customer, &mut agent] {
        let closed = peer.closed().await;
        assert!(
            matches!(closed.code, Some(1001 | 1013)),
            "closed with {:?} {}",
            closed.code,
            closed.reason
        );
    }
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_that_stops_reading_on_another_node_is_dropped_as_a_slow_consumer() {
    let nodes = Relay::cluster(2, |c| {
        c.peer_queue_frames = 64;
        c.peer_queue_bytes = 256 * 1024;
    })
    .await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let alice = b.login("alice").await;
    let (_, _, mut customer, mut agent) = paired_across(b, a, &alice).await;
    customer.send(snapshot("https://shop.example/")).await;
    // Far more than the socket's buffers and the pipe's queue hold while the agent reads
    // nothing.
    let chunk = "y".repeat(64 * 1024);
    for _ in 0..400 {
        customer.send(text_mutation(&chunk)).await;
    }
    // The session's node hears the agent is gone and tells the customer.
    loop {
        let frame = customer.recv_until(FrameKind::Presence).await;
        if let Message::Presence(Presence {
            connected: false, ..
        }) = frame.message
        {
            break;
        }
    }
    let closed = agent.closed().await;
    assert_eq!(closed.error(), Some(ErrorCode::SlowConsumer), "{closed:?}");
    for node in nodes {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn when_the_customers_node_goes_the_page_resumes_through_another_with_its_control_kept() {
    let nodes = Relay::cluster(2, |_| {}).await;
    let alice = nodes[1].login("alice").await;
    let (id, resume, mut customer, agent) = paired_across(&nodes[1], &nodes[0], &alice).await;
    // The agent's console moves to the session's node; the page stays on the other.
    drop(agent);
    let mut agent = nodes[1].agent(&alice, &id).await;
    let granted = grant(&mut agent, &mut customer).await;
    // The page's node stops: the page is told to go elsewhere, and resumes through the other.
    let [a, b]: [Relay; 2] = nodes.try_into().ok().unwrap();
    a.stop().await;
    assert!(matches!(customer.closed().await.code, Some(1001 | 1013)));
    let mut again = b
        .customer(Pairing::Resume {
            token: resume,
            grant: granted.grant,
        })
        .await;
    let Message::Welcome(welcome) = again.recv().await.message else {
        panic!("no welcome")
    };
    assert_eq!(welcome.mode, SessionMode::NavigationGranted, "control kept");
    // The resumed page's fresh snapshot reaches the agent.
    again.send(snapshot("https://shop.example/again")).await;
    agent.recv_until(FrameKind::Snapshot).await;
    b.stop().await;
}

/// The session's own node goes: both sides come back through the other, which takes the
/// session over from the store, with the customer's grant and the audit chain kept.
#[tokio::test(flavor = "multi_thread")]
async fn when_the_sessions_own_node_goes_the_other_takes_it_over_with_its_control_kept() {
    let nodes = Relay::cluster(2, |_| {}).await;
    let alice = nodes[0].login("alice").await;
    let (id, resume, mut customer, mut agent) = paired_across(&nodes[0], &nodes[0], &alice).await;
    let granted = grant(&mut agent, &mut customer).await;
    // The home goes.
    let [a, b]: [Relay; 2] = nodes.try_into().ok().unwrap();
    a.stop().await;
    assert!(matches!(customer.closed().await.code, Some(1001 | 1013)));
    // Bob, first to come to b naming Alice's session, makes b take it over, and is refused
    // there as on its home; a made-up resume token takes nothing over.
    let bob = b.login("bob").await;
    let mut intruder = b.agent_socket(&bob).await;
    let join = Pairing::AgentJoin {
        session_id: id.clone(),
    };
    intruder.hello(Role::Agent, "", join).await;
    assert_eq!(intruder.closed().await.error(), Some(ErrorCode::NotAllowed));
    let mut forged = b
        .customer(Pairing::Resume {
            token: "0".repeat(64),
            grant: granted.grant,
        })
        .await;
    assert!(forged.closed().await.error().is_some());
    let mut again = b
        .customer(Pairing::Resume {
            token: resume.clone(),
            grant: granted.grant,
        })
        .await;
    let Message::Welcome(welcome) = again.recv().await.message else {
        panic!("no welcome")
    };
    assert_eq!(welcome.session_id, id);
    assert_eq!(welcome.mode, SessionMode::NavigationGranted, "control kept");
    // The console joins the same session through b; the page's fresh snapshot reaches it,
    // and a click passes the gate, now b's.
    let mut agent = b.agent(&alice, &id).await;
    let sent = again
        .send(snapshot("https://shop.example/taken-over"))
        .await;
    let mut seen = Vec::new();
    while seen.len() < 6 {
        let bytes = agent.recv_bytes().await;
        if bytes == sent {
            break;
        }
        seen.push(bytes);
    }
    assert!(seen.len() < 6, "the snapshot never came");
    agent.send(click()).await;
    let Message::Click(clicked) = again.recv_until(FrameKind::Click).await.message else {
        unreachable!()
    };
    assert_eq!(clicked.node, 5);
    // The audit goes on where the stored chain ended, and still verifies.
    let ada = b.login("ada").await;
    let path = format!("/api/cobrowse/sessions/{id}/audit");
    let (status, audit) = b.api(&alice, "GET", &path, None).await;
    assert_eq!(status, 200, "{audit}");
    assert!(audit.to_string().contains("adopted"), "{audit}");
    let verify = format!("/api/admin/cobrowse/sessions/{id}/audit/verify");
    let (status, verdict) = b.api(&ada, "GET", &verify, None).await;
    assert_eq!(status, 200, "{verdict}");
    assert!(verdict.to_string().contains("intact"), "{verdict}");
    // The revoke is honoured and carried: a page resuming without the grant gets none.
    again.send(Message::Revoke(Empty)).await;
    again.recv_until(FrameKind::ModeChanged).await;
    drop(again);
    let mut third = b
        .customer(Pairing::Resume {
            token: resume,
            grant: granted.grant,
        })
        .await;
    let Message::Welcome(welcome) = third.recv().await.message else {
        panic!("no welcome")
    };
    assert_eq!(
        welcome.mode,
        SessionMode::ReadOnly,
        "a revoked grant stays revoked"
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sessions_state_end_observers_and_its_interactions_end_work_through_any_node() {
    let nodes = Relay::cluster(2, |_| {}).await;
    let (a, b) = (&nodes[0], &nodes[1]);
    let alice = b.login("alice").await;
    let (id, _resume, mut customer, mut agent) = paired_across(b, a, &alice).await;
    let path = format!("/api/cobrowse/sessions/{id}");
    // Alice reads her session through a, which does not hold it.
    let (status, view) = a.api(&alice, "GET", &path, None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["session_id"], id.as_str());
    assert_eq!(view["paired"], true);
    assert_eq!(view["customer_connected"], true);
    // Bob may neither read nor end it through a: refused there, and nothing ends.
    let bob = a.login("bob").await;
    let (status, _) = a.api(&bob, "GET", &path, None).await;
    assert_eq!(status, 403);
    let (status, _) = a.api(&bob, "POST", &format!("{path}/end"), None).await;
    assert_eq!(status, 403);
    let (status, view) = b.api(&alice, "GET", &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(view["end_reason"], serde_json::Value::Null, "still running");
    // A session no node holds is unknown through either.
    let (status, _) = a
        .api(
            &alice,
            "GET",
            "/api/cobrowse/sessions/no-such-session",
            None,
        )
        .await;
    assert_eq!(status, 404);
    // Alice ends it through a: both sides hear the end, on b's say.
    let (status, body) = a.api(&alice, "POST", &format!("{path}/end"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ended"], true);
    for peer in [&mut customer, &mut agent] {
        let Message::End(end) = peer.recv_until(FrameKind::End).await.message else {
            panic!("no end")
        };
        assert_eq!(end.reason, EndReason::AgentEnded);
    }
    // A supervisor observes the next session through a, which pipes her to b: she sees what
    // the agent sees.
    let (id, _resume, mut customer, mut agent) = paired_across(b, a, &alice).await;
    let ada = a.login("ada").await;
    // Her list of live sessions holds it through either node, named by its home; Bob, who
    // may not observe, is refused the list.
    let mut homes = Vec::new();
    for node in [a, b] {
        let (status, list) = node.api(&ada, "GET", "/api/cobrowse/sessions", None).await;
        assert_eq!(status, 200, "{list}");
        let list = list.as_array().expect("a list").clone();
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["session_id"], id.as_str());
        assert_eq!(list[0]["paired"], true);
        homes.push((list[0]["node"].clone(), list[0]["agent_id"].clone()));
    }
    assert_eq!(
        homes[0], homes[1],
        "one home and one owner, whoever is asked"
    );
    assert!(
        homes[0].0.as_str().is_some_and(|n| !n.is_empty()),
        "{homes:?}"
    );
    let bob = a.login("bob").await;
    let (status, _) = a.api(&bob, "GET", "/api/cobrowse/sessions", None).await;
    assert_eq!(status, 403);
    let mut observer = a.observer(&ada, &id).await;
    let (status, view) = a
        .api(&alice, "GET", &format!("/api/cobrowse/sessions/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["observers"], 1, "{view}");
    let sent = customer
        .send(snapshot("https://shop.example/observed"))
        .await;
    // Each also hears of the observer (presence) before the snapshot.
    for peer in [&mut agent, &mut observer] {
        let mut seen = Vec::new();
        while seen.len() < 5 {
            let bytes = peer.recv_bytes().await;
            if bytes == sent {
                break;
            }
            seen.push(bytes);
        }
        assert!(seen.len() < 5, "the snapshot never came: {seen:?}");
    }
    // Bob, without the permission, is refused before any socket opens.
    let status = a
        .upgrade_status(&format!("/ws/observe?session={id}"), &bob)
        .await;
    assert_eq!(status, 403);
    drop(observer);
    let (status, _) = a
        .api(
            &alice,
            "POST",
            &format!("/api/cobrowse/sessions/{id}/end"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    for peer in [&mut customer, &mut agent] {
        peer.recv_until(FrameKind::End).await;
    }
    // The call the next session rides on ends, told through a: b ends the session.
    let (_id, _resume, mut customer, mut agent) = paired_across(b, a, &alice).await;
    let (status, body) = a
        .api(&alice, "POST", "/api/interactions/call-x/end", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ended_sessions"], 1, "{body}");
    for peer in [&mut customer, &mut agent] {
        let Message::End(end) = peer.recv_until(FrameKind::End).await.message else {
            panic!("no end")
        };
        assert_eq!(end.reason, EndReason::InteractionEnded);
    }
    for node in nodes {
        node.stop().await;
    }
}

/// The session's node goes and neither side comes back: past the inactivity timeout the
/// other node ends it in the store, on its audit chain, and nothing can resume it.
#[tokio::test(flavor = "multi_thread")]
async fn a_session_nobody_comes_back_to_after_its_node_went_is_ended_by_another() {
    // Only b times sessions out: a, stopped in this process, leaves tasks behind that would
    // otherwise end the session themselves (a process that died leaves none).
    let nodes = Relay::cluster(2, |c| {
        let b = c.node_id.as_deref().is_some_and(|n| n.starts_with("n1-"));
        c.inactivity_voice = b.then_some(std::time::Duration::from_secs(3));
    })
    .await;
    let alice = nodes[0].login("alice").await;
    let (id, resume, customer, agent) = paired_across(&nodes[0], &nodes[0], &alice).await;
    let [a, b]: [Relay; 2] = nodes.try_into().ok().unwrap();
    a.stop().await;
    drop((customer, agent));
    let path = format!("/api/cobrowse/sessions/{id}/audit");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (status, audit) = b.api(&alice, "GET", &path, None).await;
        assert_eq!(status, 200, "{audit}");
        if audit.to_string().contains("went away") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never ended: {audit}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let ada = b.login("ada").await;
    let verify = format!("/api/admin/cobrowse/sessions/{id}/audit/verify");
    let (status, verdict) = b.api(&ada, "GET", &verify, None).await;
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["result"], "intact", "{verdict}");
    assert_eq!(verdict["anchored"], true, "{verdict}");
    let mut late = b
        .customer(Pairing::Resume {
            token: resume,
            grant: 0,
        })
        .await;
    assert!(late.closed().await.error().is_some(), "nothing to resume");
    b.stop().await;
}

/// A node's id and its cluster's scope, read from its `/metrics` (`node="n{i}-{scope}"`).
async fn node_and_scope(relay: &Relay) -> (String, String) {
    let (status, text) = relay
        .request(
            "GET",
            "/metrics",
            &[("Authorization", "Bearer scrape")],
            None,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let start = text.find("node=\"").expect("a node label") + "node=\"".len();
    let node = text[start..][..text[start..].find('"').unwrap()].to_owned();
    let scope = node.split_once('-').unwrap().1.to_owned();
    (node, scope)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_home_that_nats_still_delivers_to_but_that_stopped_beating_is_taken_over() {
    let nodes = Relay::cluster(2, |c| c.metrics.token = Some("scrape".into())).await;
    let alice = nodes[0].login("alice").await;
    let (id, resume, mut customer, _agent) = paired_across(&nodes[0], &nodes[0], &alice).await;
    let (home, scope) = node_and_scope(&nodes[0]).await;
    let [a, b]: [Relay; 2] = nodes.try_into().ok().unwrap();
    a.stop().await;
    assert!(matches!(customer.closed().await.code, Some(1001 | 1013)));
    // Its machine "stopped": NATS still has a subscriber on the home's subject, which never
    // answers (a hand-held one here), so NATS never says nobody listens.
    let client = async_nats::connect(nats_url()).await.unwrap();
    let _silent = client
        .subscribe(format!("relay.cobrowse.rest.{home}.{scope}"))
        .await
        .unwrap();
    client.flush().await.unwrap();
    // The page comes back through b until b takes the session over: once the home has not
    // beaten for five seconds.
    let gone = std::time::Instant::now();
    let deadline = gone + std::time::Duration::from_secs(15);
    let welcome = loop {
        let mut again = b
            .customer(Pairing::Resume {
                token: resume.clone(),
                grant: 0,
            })
            .await;
        if let Message::Welcome(welcome) = again.recv().await.message {
            break welcome;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a home that stopped beating was never taken over"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!(welcome.session_id, id);
    let took = gone.elapsed();
    println!(
        "taken over {} ms after its home went silent",
        took.as_millis()
    );
    assert!(
        took >= std::time::Duration::from_secs(4),
        "taken over after {took:?}, while the home's last beat was still fresh"
    );
    b.stop().await;
}
