//! The site rule `requireEncryption`: a site that requires end-to-end encryption has no Accept
//! flow (an offer is refused when named, withdrawn at the widget's lookup, refused when a page
//! presents its token), and its code sessions pass only sealed content and input. The relay
//! is the attacker's stand-in here: a page or console that sends clear content (a modified
//! one, or one that lost its keys) is what the rule stops.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: failing loudly is the point

mod common;

use common::*;
use protocol::*;
use serde_json::json;

/// An offer in a conversation `alice` took: (session id, offer token).
async fn offer(relay: &Relay, token: &str, conversation: &str) -> (String, String) {
    let (status, offer) = relay
        .api(
            token,
            "POST",
            "/api/cobrowse/offers",
            Some(json!({"conversation_id": conversation, "interaction": "web_messaging"})),
        )
        .await;
    assert_eq!(status, 200, "{offer}");
    (
        offer["session_id"].as_str().unwrap().to_owned(),
        offer["offer_token"].as_str().unwrap().to_owned(),
    )
}

/// What the agent's console hears before its offered session ends: the relay's reason.
async fn refusal_told(agent: &mut Peer) -> String {
    let closed = agent.closed().await;
    assert_eq!(closed.end(), Some(EndReason::Error), "{closed:?}");
    closed
        .frames
        .iter()
        .find_map(|f| match &f.message {
            Message::Error(e) if e.code == ErrorCode::NotAllowed => Some(e.message.clone()),
            _ => None,
        })
        .expect("the agent is told why")
}

#[tokio::test]
async fn a_site_that_requires_encryption_refuses_the_accept_flow_at_every_door() {
    let relay = Relay::with_rules(json!({"requireEncryption": true})).await;
    let token = relay.login("alice").await;
    let (guest, conversation) = guest_conversation(&relay).await;
    let assign = format!("/api/messaging/conversations/{conversation}/assign");
    assert_eq!(relay.api(&token, "POST", &assign, None).await.0, 200);

    // Named at the offer: refused at once, saying what to do instead.
    let (status, refused) = relay
        .api(
            &token,
            "POST",
            "/api/cobrowse/offers",
            Some(json!({"conversation_id": conversation, "interaction": "web_messaging", "site": SITE})),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("security code"),
        "{refused}"
    );

    // Not named: the widget's lookup from the site's page withdraws it and tells the guest.
    let (id, _) = offer(&relay, &token, &conversation).await;
    let mut agent = relay.agent(&token, &id).await;
    let lookup = format!("/api/cobrowse/offers?conversation={conversation}&site={SITE}");
    let headers = [("Origin", ORIGIN), ("X-Guest-Token", guest.as_str())];
    let (status, pending) = relay.http("GET", &lookup, &headers, None).await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["offers"], json!([]), "{pending}");
    assert!(
        pending["refused"]
            .as_str()
            .unwrap()
            .contains("security code"),
        "{pending}"
    );
    assert!(refusal_told(&mut agent).await.contains("security code"));
    let (status, again) = relay.http("GET", &lookup, &headers, None).await;
    assert_eq!((status, &again["offers"]), (200, &json!([])), "{again}");
    assert!(again.get("refused").is_none(), "told once: {again}");
    let audit = relay.audit(&token, &id).await;
    assert!(audit.iter().any(|(e, _)| e == "refused"), "{audit:?}");

    // A token the page got by other means: refused when presented, its session ended.
    let (id, offer_token) = offer(&relay, &token, &conversation).await;
    let mut agent = relay.agent(&token, &id).await;
    let mut page = relay
        .customer(Pairing::OfferToken(offer_token.clone()))
        .await;
    let closed = page.closed().await;
    assert_eq!(closed.error(), Some(ErrorCode::NotAllowed), "{closed:?}");
    assert!(closed.reason.contains("security code"), "{closed:?}");
    assert!(refusal_told(&mut agent).await.contains("security code"));
    // Presented again, refused again; its session is no longer live.
    let mut again = relay.customer(Pairing::OfferToken(offer_token)).await;
    assert_eq!(again.closed().await.error(), Some(ErrorCode::NotAllowed));
    let (status, state) = relay
        .api(&token, "GET", &format!("/api/cobrowse/sessions/{id}"), None)
        .await;
    assert_eq!(status, 404, "no longer live: {state}");
    relay.stop().await;
}

/// `message` encoded with `seq` and the sealed bit set: what a keyed page or console sends
/// (the relay never reads the body, so any bytes do).
fn sealed(seq: u32, message: Message) -> Vec<u8> {
    let mut bytes = encode(seq, message);
    bytes[0] |= SEALED;
    bytes
}

#[tokio::test]
async fn a_site_that_requires_encryption_passes_only_sealed_content_and_input() {
    let relay = Relay::with_rules(json!({"requireEncryption": true})).await;
    let token = relay.login("alice").await;
    let (id, mut customer, mut agent) = relay.paired(&token, "voice", "call-1").await;

    // Clear content from the page is dropped; the page is told once, and stays connected.
    for i in 0..3 {
        customer.send(text_mutation(&format!("secret {i}"))).await;
    }
    let told = customer.recv_until(FrameKind::Error).await;
    let Message::Error(e) = told.message else {
        unreachable!()
    };
    assert_eq!(e.code, ErrorCode::NotAllowed);
    assert!(e.message.contains("end-to-end encryption"), "{e:?}");
    let page_sealed = sealed(10, text_mutation("sealed"));
    customer.send_raw(page_sealed.clone()).await;
    assert_eq!(
        agent.recv_bytes().await,
        page_sealed,
        "the first the agent gets is the sealed frame, byte for byte: no clear one before it"
    );

    // Clear show-and-tell from the console is dropped too; sealed is carried.
    agent.send(pointer(5)).await;
    agent.send(pointer(6)).await;
    let told = agent.recv_until(FrameKind::Error).await;
    assert!(matches!(
        told.message,
        Message::Error(ErrorReport {
            code: ErrorCode::NotAllowed,
            ..
        })
    ));
    let agent_sealed = sealed(20, pointer(7));
    agent.send_raw(agent_sealed.clone()).await;
    assert_eq!(customer.recv_bytes().await, agent_sealed);

    // What is not content (a key exchange, an end) is still clear and still carried.
    customer
        .send(Message::KeyStart(KeyShare {
            exchange: 1,
            message: vec![1; 33],
        }))
        .await;
    assert_eq!(
        agent.recv().await.message.kind(),
        FrameKind::KeyStart,
        "key exchange frames stay clear"
    );

    // Five clear frames cost two audit entries: one per side.
    let audit = relay.audit(&token, &id).await;
    let dropped: Vec<_> = audit
        .iter()
        .filter(|(e, d)| e == "dropped" && d.contains("not sealed"))
        .collect();
    assert_eq!(dropped.len(), 2, "{audit:?}");
    relay.stop().await;
}

#[tokio::test]
async fn without_the_rule_clear_content_is_carried() {
    let relay = Relay::with_rules(json!({"requireEncryption": false})).await;
    let token = relay.login("alice").await;
    let (_, mut customer, mut agent) = relay.paired(&token, "voice", "call-1").await;
    let clear = customer.send(text_mutation("plain")).await;
    assert_eq!(agent.recv_bytes().await, clear);
    relay.stop().await;
}
