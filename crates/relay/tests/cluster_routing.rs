//! Routing on several nodes (real PostgreSQL and NATS, as `make setup` leaves them): one node
//! decides, the others carry their agents' and conversations' commands to it and hear its
//! desks; when the deciding node stops, another takes over from the persisted state, with
//! the work agents held still theirs and the next offer on its way at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod routing_support;

use std::time::Instant;

use common::{guest_conversation, Relay};
use routing_support::{get_text, Desk};
use serde_json::json;

/// Sets `token`'s presence through `node`; the desk it answers.
async fn presence(node: &Relay, token: &str, presence: &str) -> serde_json::Value {
    let body = json!({ "presence": presence });
    let (status, desk) = node
        .api(token, "POST", "/api/routing/presence", Some(body))
        .await;
    assert_eq!(status, 200, "{desk}");
    desk
}

/// A POST with an empty body through `node` as `token`, which must succeed.
async fn post_ok(node: &Relay, token: &str, path: &str) {
    let (status, body) = node.api(token, "POST", path, Some(json!({}))).await;
    assert_eq!(status, 200, "{body}");
}

/// Whether `relay` says it decides routing (`routing_owner` on `/metrics`).
async fn decides(relay: &Relay) -> bool {
    let (status, text) = get_text(relay, "/metrics", Some("scrape")).await;
    assert_eq!(status, 200, "{text}");
    text.lines()
        .any(|l| l.starts_with("routing_owner{") && l.trim().ends_with(" 1"))
}

/// Two nodes: the one that decides routing, then the other.
async fn owner_and_other() -> (Relay, Relay) {
    let mut nodes = Relay::cluster(2, |c| c.metrics.token = Some("scrape".into())).await;
    let (n1, n0) = (nodes.pop().unwrap(), nodes.pop().unwrap());
    if decides(&n0).await {
        (n0, n1)
    } else {
        (n1, n0)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_on_one_node_is_offered_to_an_agent_on_another_and_survives_its_owner() {
    // One node holds the lease (a); the other (b) asks it.
    let (a, b) = owner_and_other().await;
    assert!(decides(&a).await, "one node decides routing");
    assert!(!decides(&b).await, "and only one");
    // Alice signs in to routing through b, and her desk is on b.
    let alice = b.login("alice").await;
    let body = presence(&b, &alice, "available").await;
    assert_eq!(body["presence"], "available", "the owner's desk, through b");
    let mut desk = Desk::on(&b, &alice).await;
    // A guest writes through b; a, deciding, offers it to Alice; b's desk hears of it.
    let (_guest, first) = guest_conversation(&b).await;
    desk.work(&first, Some("offered")).await;
    post_ok(
        &b,
        &alice,
        &format!("/api/routing/interactions/{first}/accept"),
    )
    .await;
    desk.work(&first, Some("connected")).await;
    // An action on someone else's work is refused through b as on a (the refusal's kind
    // crosses with it).
    let bob = b.login("bob").await;
    presence(&a, &bob, "busy").await;
    let (status, _) = b
        .api(
            &bob,
            "POST",
            &format!("/api/routing/interactions/{first}/end"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 403, "Bob may not end Alice's conversation");
    // The accept reached messaging through the owner's bridge: the conversation is Alice's.
    let deadline = Instant::now() + common::WAIT;
    loop {
        let (status, body) = b
            .api(
                &alice,
                "GET",
                &format!("/api/messaging/conversations/{first}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        if body["conversation"]["agent_id"].is_string() {
            break;
        }
        assert!(Instant::now() < deadline, "never assigned: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The deciding node stops. b takes over: Alice is still signed in, her conversation is
    // still hers, and the next conversation is offered to her.
    let stopped = Instant::now();
    a.stop().await;
    let (_guest, second) = guest_conversation(&b).await;
    let offer = desk.work(&second, Some("offered")).await;
    println!(
        "routing failover: next offer {} ms after the owner stopped",
        stopped.elapsed().as_millis()
    );
    assert_eq!(
        routing_support::item(&offer, &first).map(|w| w["state"].clone()),
        Some(json!("connected")),
        "the held conversation came back on Alice: {offer}"
    );
    assert!(decides(&b).await, "n1 decides routing now");
    b.stop().await;
}

/// The cluster's scope, read from a node's id (`n{i}-{schema}`) on `/metrics`.
async fn scope_of(relay: &Relay) -> String {
    let (_, text) = get_text(relay, "/metrics", Some("scrape")).await;
    let start = text.find("node=\"n").expect("a node label") + "node=\"n".len();
    let id = &text[start..];
    let id = &id[..id.find('"').unwrap()];
    id.split_once('-').unwrap().1.to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_on_the_command_subject_is_refused_and_routing_goes_on() {
    let nodes = Relay::cluster(2, |c| c.metrics.token = Some("scrape".into())).await;
    let scope = scope_of(&nodes[0]).await;
    let nats = std::env::var("RELAY_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let client = async_nats::connect(nats).await.unwrap();
    let subject = format!("relay.routing.command.{scope}");
    for garbage in [
        &b"not json"[..],
        br#"{"ask":"arrive","arrival":{"id":7}}"#,
        br#"{"ask":"launch_missiles"}"#,
    ] {
        let answer = tokio::time::timeout(
            common::WAIT,
            client.request(subject.clone(), garbage.to_vec().into()),
        )
        .await
        .expect("answered in time")
        .expect("answered");
        let text = String::from_utf8_lossy(&answer.payload).into_owned();
        assert!(text.contains("Err"), "refused: {text}");
    }
    // Routing still serves, through either node.
    for node in &nodes {
        let alice = node.login("alice").await;
        let (status, body) = node
            .api(
                &alice,
                "POST",
                "/api/routing/presence",
                Some(json!({"presence": "away"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["presence"], "away");
    }
    let (_, text) = get_text(&nodes[0], "/metrics", Some("scrape")).await;
    let (_, other) = get_text(&nodes[1], "/metrics", Some("scrape")).await;
    let refused = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("cluster_news_refused"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum::<u64>()
    };
    assert_eq!(refused(&text) + refused(&other), 3, "each refusal counted");
    for node in nodes {
        node.stop().await;
    }
}

/// A call offered by the telephony connector through `node`.
async fn offer_call(node: &Relay, connector: &str, id: &str) -> (u16, serde_json::Value) {
    let body = json!({"id": id, "queue": "messaging"});
    node.api(connector, "POST", "/api/telephony/calls", Some(body))
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_from_a_connector_outlive_the_node_that_was_routing_them() {
    let target = std::sync::Mutex::new(None);
    let mut nodes = Relay::cluster(2, |c| {
        c.metrics.token = Some("scrape".into());
        *target.lock().unwrap() = Some(common::config_target(c));
    })
    .await;
    let target = target.lock().unwrap().clone().unwrap();
    let store = relay::store::Store::open_async(target, relay::store::Options::command())
        .await
        .unwrap();
    let connector = store
        .write(|db| relay::routing::service::persist::connector_add(db, "pbx"))
        .await
        .unwrap();
    drop(store);
    let (a, b) = {
        let (n1, n0) = (nodes.pop().unwrap(), nodes.pop().unwrap());
        if decides(&n0).await {
            (n0, n1)
        } else {
            (n1, n0)
        }
    };
    // Bob takes call-1 through b; call-2 waits, with nobody available.
    let bob = b.login("bob").await;
    presence(&b, &bob, "available").await;
    let mut bobs = Desk::on(&b, &bob).await;
    let (status, body) = offer_call(&b, &connector, "call-1").await;
    assert_eq!(status, 200, "{body}");
    bobs.work("call-1", Some("offered")).await;
    post_ok(&b, &bob, "/api/routing/interactions/call-1/accept").await;
    bobs.work("call-1", Some("connected")).await;
    let (status, body) = offer_call(&a, &connector, "call-2").await;
    assert_eq!(status, 200, "{body}");
    // What the owner journaled reaches the store before it stops (its writer is flushed).
    a.stop().await;
    // b decides now: Bob still has call-1, and call-2 goes to Alice once she is available.
    let desk = bobs.work("call-1", Some("connected")).await;
    assert!(routing_support::item(&desk, "call-2").is_none(), "{desk}");
    let alice = b.login("alice").await;
    let mut alices = Desk::on(&b, &alice).await;
    presence(&b, &alice, "available").await;
    alices.work("call-2", Some("offered")).await;
    // The connector ends call-1 through b: Bob's capacity is back.
    post_ok(&b, &connector, "/api/telephony/calls/call-1/ended").await;
    bobs.work("call-1", None).await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn desk_news_from_an_older_routing_owner_than_the_current_one_never_reaches_a_desk() {
    let (a, b) = owner_and_other().await;
    let scope = scope_of(&b).await;
    // Alice's desk is on b, which hears it from a, the owner (lease epoch 1 or more).
    let alice = b.login("alice").await;
    let (_, me) = b.api(&alice, "GET", "/api/me", None).await;
    let alice_id = me["id"].as_str().unwrap().to_owned();
    presence(&b, &alice, "available").await;
    let mut desk = Desk::on(&b, &alice).await;
    desk.until("desk", "her desk", |d| d["presence"] == "available")
        .await;
    // An owner that lost the lease (epoch 0: before any owner) still speaks: a desk with an
    // offer that is not hers.
    let nats = std::env::var("RELAY_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let client = async_nats::connect(nats).await.unwrap();
    let forged = json!({"type": "desk", "presence": "forged",
        "work": [{"interaction": "forged-offer", "state": "offered"}]});
    let stale = json!({"node": "n9-stale", "news": {"epoch": 0, "news": {
        "news": "desk", "agent": alice_id, "body": forged.to_string()}}});
    client
        .publish(
            format!("relay.routing.news.{scope}"),
            stale.to_string().into_bytes().into(),
        )
        .await
        .unwrap();
    client.flush().await.unwrap();
    // The current owner's news still comes through; the stale desk never does.
    for next in ["busy", "available"] {
        presence(&a, &alice, next).await;
        desk.until("desk", next, |d| {
            assert_ne!(
                d["presence"], "forged",
                "a stale owner's desk was shown: {d}"
            );
            d["presence"] == next
        })
        .await;
    }
    a.stop().await;
    b.stop().await;
}
