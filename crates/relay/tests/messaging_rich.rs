//! Rich messages against a real relay: an agent's carousel reaches the widget's stream live
//! and stays in the guest's history; a card out of its bounds, or with a script link, is
//! refused and nothing is stored; a guest's postback is taken only as the answer to a button
//! its own conversation offered (with that button's label), and a forged one is refused.
//! (Open messaging's structured content and bots are in `messaging_open`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{guest_conversation, sse::Stream, Relay, ORIGIN};
use serde_json::{json, Value};

fn card(title: &str, buttons: Value) -> Value {
    json!({"title": title, "text": format!("About {title}"),
           "image": "https://shop.example/img.png", "buttons": buttons})
}

fn postback(label: &str, payload: &str) -> Value {
    json!({"label": label, "action": {"type": "postback", "payload": payload}})
}

fn link(label: &str, url: &str) -> Value {
    json!({"label": label, "action": {"type": "link", "url": url}})
}

/// The shoe carousel: two cards, each with a link and a postback.
fn carousel() -> Value {
    json!({"type": "carousel", "cards": [
        card("Blue runner", json!([link("Details", "https://shop.example/blue"),
                                   postback("Size M", "SIZE_M")])),
        card("Red runner", json!([link("Details", "https://shop.example/red"),
                                  postback("Size L", "SIZE_L")])),
    ]})
}

/// A guest with a conversation the signed-in agent `alice` took: guest token, conversation,
/// agent token.
async fn taken(relay: &Relay) -> (String, String, String) {
    let (guest, conv) = guest_conversation(relay).await;
    let agent = relay.login("alice").await;
    let (status, body) = relay
        .api(
            &agent,
            "POST",
            &format!("/api/messaging/conversations/{conv}/assign"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    (guest, conv, agent)
}

async fn agent_sends(relay: &Relay, agent: &str, conv: &str, body: Value) -> (u16, Value) {
    relay
        .api(
            agent,
            "POST",
            &format!("/api/messaging/conversations/{conv}/messages"),
            Some(body),
        )
        .await
}

async fn guest_sends(relay: &Relay, guest: &str, body: Value) -> (u16, Value) {
    relay
        .http(
            "POST",
            "/api/messaging/guest/messages",
            &[("Origin", ORIGIN), ("X-Guest-Token", guest)],
            Some(body),
        )
        .await
}

/// The messages of the guest's latest conversation, as the widget reads them.
async fn guest_messages(relay: &Relay, guest: &str) -> Vec<Value> {
    let (status, body) = relay
        .http(
            "GET",
            "/api/messaging/guest/history",
            &[("X-Guest-Token", guest)],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["history"][0]["messages"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_agents_carousel_reaches_the_widget_live_and_stays_in_the_guests_history() {
    let relay = Relay::start(|_| {}).await;
    let (guest, conv, agent) = taken(&relay).await;
    let mut stream = Stream::guest(&relay, &guest).await;
    let (status, sent) = agent_sends(&relay, &agent, &conv, json!({"rich": carousel()})).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["rich"], carousel(), "stored as sent");
    stream.until("Red runner").await;
    assert!(
        stream.seen.contains(r#""type":"carousel""#),
        "{}",
        stream.seen
    );

    let messages = guest_messages(&relay, &guest).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["author"], "agent");
    assert_eq!(messages[1]["rich"], carousel());
    assert!(
        messages[0].get("rich").is_none(),
        "a plain message carries no rich field"
    );
    let (_, view) = relay
        .api(
            &agent,
            "GET",
            &format!("/api/messaging/conversations/{conv}"),
            None,
        )
        .await;
    assert_eq!(view["history"][0]["messages"][1]["rich"], carousel());
    relay.stop().await;
}

#[tokio::test]
async fn a_card_out_of_its_bounds_or_with_a_script_link_is_refused_and_nothing_is_stored() {
    let relay = Relay::start(|_| {}).await;
    let (guest, conv, agent) = taken(&relay).await;
    let refused = [
        (
            json!({"type": "card", "card": card("Hi", json!([link("Go", "javascript:alert(1)")]))}),
            "button link must be an http or https URL",
        ),
        (
            json!({"type": "card", "card": card("Hi", json!([link("Go", "data:text/html,x")]))}),
            "button link must be an http or https URL",
        ),
        (
            json!({"type": "card", "card": {"title": "Hi", "image": "http://shop.example/a.png"}}),
            "card image must be an https URL",
        ),
        (
            json!({"type": "card", "card": card(&"T".repeat(81), json!([]))}),
            "card title must be at most 80 characters, got 81",
        ),
        (
            json!({"type": "card", "card": card("Hi", json!([
                postback("a", "a"), postback("b", "b"), postback("c", "c"), postback("d", "d")
            ]))}),
            "a card has at most 3 buttons, got 4",
        ),
        (
            json!({"type": "carousel", "cards": [card("Only one", json!([]))]}),
            "a carousel has 2 to 10 cards, got 1",
        ),
    ];
    for (rich, why) in refused {
        let (status, body) = agent_sends(&relay, &agent, &conv, json!({ "rich": rich })).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error"].as_str().unwrap().starts_with(why),
            "{why}: {body}"
        );
    }
    let (status, _) = agent_sends(&relay, &agent, &conv, json!({"text": "  "})).await;
    assert_eq!(status, 400, "still no empty message");
    assert_eq!(
        guest_messages(&relay, &guest).await.len(),
        1,
        "only the guest's first message"
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_guest_postback_answers_a_button_its_conversation_offered_and_a_forged_one_is_refused() {
    let relay = Relay::start(|c| c.messaging.guest_burst = 10).await;
    let (guest, conv, agent) = taken(&relay).await;
    let (other, _) = guest_conversation(&relay).await;
    // Before any card, no postback is an answer.
    let (status, body) = guest_sends(
        &relay,
        &guest,
        json!({"postback": {"payload": "SIZE_M", "label": "Size M"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = agent_sends(&relay, &agent, &conv, json!({"rich": carousel()})).await;
    assert_eq!(status, 200);

    // The real press: the label stored is the button's, whatever the guest claimed.
    let (status, body) = guest_sends(
        &relay,
        &guest,
        json!({"text": "ignored", "postback": {"payload": "SIZE_L", "label": "Refund me"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["message"]["text"], "Size L");
    assert_eq!(
        body["message"]["postback"],
        json!({"payload": "SIZE_L", "label": "Size L"})
    );

    // Forged: a payload no button carries, a link's URL, or another guest's button.
    for (token, payload) in [
        (&guest, "REFUND_ALL"),
        (&guest, "https://shop.example/blue"),
        (&other, "SIZE_M"),
    ] {
        let (status, body) = guest_sends(
            &relay,
            token,
            json!({"postback": {"payload": payload, "label": "Size M"}}),
        )
        .await;
        assert_eq!(status, 400, "{payload}: {body}");
        assert_eq!(
            body["error"],
            "the postback matches no button offered in this conversation"
        );
    }
    let (status, body) = guest_sends(
        &relay,
        &guest,
        json!({"postback": {"payload": "x".repeat(257), "label": "Size M"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    let messages = guest_messages(&relay, &guest).await;
    let texts: Vec<_> = messages.iter().map(|m| m["text"].clone()).collect();
    assert_eq!(
        texts,
        [json!("can you show me?"), json!(""), json!("Size L")]
    );
    let (_, view) = relay
        .api(
            &agent,
            "GET",
            &format!("/api/messaging/conversations/{conv}"),
            None,
        )
        .await;
    assert_eq!(
        view["history"][0]["messages"][2]["postback"]["payload"], "SIZE_L",
        "the agent sees it as a postback"
    );
    relay.stop().await;
}
