//! Voice and video calls placed from a conversation, over real HTTP and real push streams:
//! only the conversation's agent and its guest take part, the signalling is carried between
//! them and bounded, the timeline records the call, routing counts the agent busy while it
//! lasts, and the end of the conversation ends its call.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod routing_support;

use std::time::Duration;

use common::{guest_conversation, Relay, ORIGIN};
use routing_support::*;
use serde_json::{json, Value};

fn calls(c: &mut relay::Config) {
    let calls = &mut c.messaging.calls;
    calls.ring = Duration::from_millis(1_500);
    calls.redial_after = Duration::from_millis(300);
    calls.max_signals_per_side = 6;
    calls.stun = vec!["stun:stun.example.org:3478".into()];
    calls.turn = vec!["turn:turn.example.org:3478".into()];
    calls.turn_secret = Some("coturn-secret".into());
}

/// A guest's request (its token in the header, from the site's origin).
async fn as_guest(
    relay: &Relay,
    guest: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    relay
        .http(
            method,
            path,
            &[("Origin", ORIGIN), ("X-Guest-Token", guest)],
            body,
        )
        .await
}

async fn guest_stream(relay: &Relay, guest: &str) -> Pushes {
    let path = format!("/api/messaging/guest/stream?token={guest}");
    Pushes::open(relay, &path, &[("Origin", ORIGIN)]).await
}

async fn agent_stream(relay: &Relay, token: &str) -> Pushes {
    let auth = format!("Bearer {token}");
    Pushes::open(relay, "/api/messaging/stream", &[("Authorization", &auth)]).await
}

/// `token` takes the waiting conversation.
async fn take(relay: &Relay, token: &str, conversation: &str) {
    let path = format!("/api/messaging/conversations/{conversation}/assign");
    let (status, body) = relay.api(token, "POST", &path, None).await;
    assert_eq!(status, 200, "{body}");
}

async fn ring(relay: &Relay, token: &str, conversation: &str, media: &str) -> (u16, Value) {
    let path = format!("/api/messaging/conversations/{conversation}/call");
    relay
        .api(token, "POST", &path, Some(json!({ "media": media })))
        .await
}

/// The guest answers call `call` with `media`: the status and body.
async fn answer(relay: &Relay, guest: &str, call: &str, media: &str) -> (u16, Value) {
    let path = format!("/api/messaging/guest/call/{call}/answer");
    as_guest(
        relay,
        guest,
        "POST",
        &path,
        Some(json!({ "answer": media })),
    )
    .await
}

fn call_news<'a>(event: &'a str) -> impl Fn(&Value) -> bool + 'a {
    move |v| v["type"] == "call" && v["news"]["event"] == event
}

fn sdp() -> Value {
    json!({"kind": "description", "sdp_type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"})
}

fn timeline(view: &Value, conversation: &str) -> Vec<Value> {
    let entry = (view["history"].as_array().unwrap().iter())
        .find(|h| h["conversation"]["id"] == conversation)
        .unwrap();
    entry["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_call_rings_the_guest_alone_is_signalled_both_ways_and_lands_on_the_timeline() {
    let center = Center::start_with(calls).await;
    let relay = &center.relay;
    let (guest, conversation) = guest_conversation(relay).await;
    let (other_guest, other_conversation) = guest_conversation(relay).await;
    let alice = relay.login("alice").await;
    let bob = relay.login("bob").await;
    take(relay, &alice, &conversation).await;
    take(relay, &bob, &other_conversation).await;
    let mut guest_pushes = guest_stream(relay, &guest).await;
    let mut other_guest_pushes = guest_stream(relay, &other_guest).await;
    let mut alice_pushes = agent_stream(relay, &alice).await;
    let mut bob_pushes = agent_stream(relay, &bob).await;

    // Bob may not ring Alice's customer.
    assert_eq!(ring(relay, &bob, &conversation, "video").await.0, 403);
    let (status, started) = ring(relay, &alice, &conversation, "video").await;
    assert_eq!(status, 200, "{started}");
    let call = started["call"]["id"].as_str().unwrap().to_owned();
    assert_eq!(started["call"]["phase"], "ringing");
    // Both sides get STUN, and TURN with coturn's time-limited credential.
    let ice = started["ice_servers"].as_array().unwrap();
    assert_eq!(ice[0]["urls"], json!(["stun:stun.example.org:3478"]));
    let user = ice[1]["username"].as_str().unwrap();
    assert!(user.ends_with(&format!(":{call}")), "{user}");
    assert!(ice[1]["credential"].as_str().is_some_and(|c| c.len() == 28));
    // One call at a time, in the conversation and for the agent.
    assert_eq!(ring(relay, &alice, &conversation, "voice").await.0, 409);

    let ringing = guest_pushes.until("ringing", call_news("ringing")).await;
    assert_eq!(ringing["news"]["call"]["id"], call.as_str());
    assert_eq!(ringing["news"]["call"]["offered"], "video");
    let (status, current) = as_guest(relay, &guest, "GET", "/api/messaging/guest/call", None).await;
    assert_eq!((status, current["call"]["id"].clone()), (200, json!(call)));

    // The agent's offer reaches the guest before the answer; the guest signals only after.
    let agent_signal = format!("/api/messaging/conversations/{conversation}/call/{call}/signal");
    assert_eq!(
        relay
            .api(&alice, "POST", &agent_signal, Some(sdp()))
            .await
            .0,
        204
    );
    let carried = guest_pushes.until("the offer", call_news("signal")).await;
    assert_eq!(carried["news"]["signal"], sdp());
    let guest_signal = format!("/api/messaging/guest/call/{call}/signal");
    let candidate = json!({"kind": "candidate", "candidate": "candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host", "sdp_mid": "0", "sdp_m_line_index": 0});
    let early = as_guest(
        relay,
        &guest,
        "POST",
        &guest_signal,
        Some(candidate.clone()),
    )
    .await;
    assert_eq!(early.0, 409, "{}", early.1);

    // Another guest cannot answer, signal into or end this call with its id.
    let answer = format!("/api/messaging/guest/call/{call}/answer");
    let forged = as_guest(
        relay,
        &other_guest,
        "POST",
        &answer,
        Some(json!({"answer": "video"})),
    )
    .await;
    assert_eq!(forged.0, 409, "{}", forged.1);
    let forged = as_guest(
        relay,
        &other_guest,
        "POST",
        &guest_signal,
        Some(candidate.clone()),
    )
    .await;
    assert_eq!(forged.0, 409);
    let end_path = format!("/api/messaging/guest/call/{call}/end");
    assert_eq!(
        as_guest(relay, &other_guest, "POST", &end_path, None)
            .await
            .0,
        409
    );
    // Nor can Bob, with the id, in his own conversation.
    let bobs = format!("/api/messaging/conversations/{other_conversation}/call/{call}/signal");
    assert_eq!(relay.api(&bob, "POST", &bobs, Some(sdp())).await.0, 409);

    let (status, live) = as_guest(
        relay,
        &guest,
        "POST",
        &answer,
        Some(json!({"answer": "audio"})),
    )
    .await;
    assert_eq!(status, 200, "{live}");
    assert_eq!(live["call"]["answer"], "audio");
    assert_eq!(live["ice_servers"].as_array().map(Vec::len), Some(2));
    let accepted = alice_pushes.until("accepted", call_news("accepted")).await;
    assert_eq!(accepted["news"]["answer"], "audio");
    assert_eq!(
        as_guest(
            relay,
            &guest,
            "POST",
            &guest_signal,
            Some(candidate.clone())
        )
        .await
        .0,
        204
    );
    let carried = alice_pushes
        .until("the candidate", call_news("signal"))
        .await;
    assert_eq!(carried["news"]["signal"], candidate);

    // Hostile or broken signalling is refused, and the call goes on.
    let huge = json!({"kind": "description", "sdp_type": "answer", "sdp": format!("v=0\r\n{}", "a".repeat(40_000))});
    assert_eq!(
        as_guest(relay, &guest, "POST", &guest_signal, Some(huge))
            .await
            .0,
        400
    );
    let junk = json!({"kind": "candidate", "candidate": "<img src=x>"});
    assert_eq!(
        as_guest(relay, &guest, "POST", &guest_signal, Some(junk))
            .await
            .0,
        400
    );
    let ask = json!({"kind": "screen_request", "active": true});
    assert_eq!(
        as_guest(relay, &guest, "POST", &guest_signal, Some(ask))
            .await
            .0,
        400
    );
    let mute = json!({"kind": "media", "audio": false, "video": false});
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            as_guest(relay, &guest, "POST", &guest_signal, Some(mute.clone()))
                .await
                .0,
        );
    }
    // Six signals per side: one candidate was carried, so the sixth mute is refused.
    assert_eq!(statuses, [204, 204, 204, 204, 204, 429]);

    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _) = as_guest(
        relay,
        &guest,
        "POST",
        &format!("{end_path}?reason=hung_up"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let ended = alice_pushes.until("ended", call_news("ended")).await;
    assert_eq!(ended["news"]["by"], "customer");
    assert_eq!(ended["news"]["reason"], "hung_up");
    assert!(
        ended["news"]["duration_ms"].as_i64().unwrap() >= 200,
        "{ended}"
    );
    guest_pushes.until("ended", call_news("ended")).await;

    let path = format!("/api/messaging/conversations/{conversation}");
    let (_, view) = relay.api(&alice, "GET", &path, None).await;
    let kinds: Vec<Value> = timeline(&view, &conversation)
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    let calls: Vec<&Value> = kinds
        .iter()
        .filter(|k| k.as_str().unwrap().starts_with("call_"))
        .collect();
    assert_eq!(
        calls,
        [
            &json!("call_offered"),
            &json!("call_accepted"),
            &json!("call_ended")
        ]
    );
    let last = timeline(&view, &conversation)
        .into_iter()
        .rev()
        .find(|e| e["kind"] == "call_ended")
        .unwrap();
    assert_eq!(last["detail"]["media"], "video");
    assert!(last["detail"]["duration_ms"].as_i64().unwrap() >= 200);

    // Nobody else heard of the call: not Bob's stream, not the other guest's.
    let heard = |events: Vec<Value>| events.into_iter().filter(|v| v["type"] == "call").count();
    assert_eq!(heard(bob_pushes.during(200).await), 0);
    assert_eq!(heard(other_guest_pushes.during(50).await), 0);
    center.relay.stop().await;
}

#[tokio::test]
async fn decline_no_answer_and_the_end_of_the_conversation_each_end_the_call() {
    let center = Center::start_with(calls).await;
    let relay = &center.relay;
    let (guest, conversation) = guest_conversation(relay).await;
    let alice = relay.login("alice").await;
    take(relay, &alice, &conversation).await;
    let mut guest_pushes = guest_stream(relay, &guest).await;
    let mut alice_pushes = agent_stream(relay, &alice).await;

    let (_, started) = ring(relay, &alice, &conversation, "voice").await;
    let call = started["call"]["id"].as_str().unwrap().to_owned();
    let decline = format!("/api/messaging/guest/call/{call}/decline");
    assert_eq!(as_guest(relay, &guest, "POST", &decline, None).await.0, 204);
    let ended = alice_pushes.until("declined", call_news("ended")).await;
    assert_eq!(ended["news"]["reason"], "declined");
    // A redial waits a moment, then rings again.
    assert_eq!(ring(relay, &alice, &conversation, "voice").await.0, 429);
    tokio::time::sleep(Duration::from_millis(350)).await;

    let (status, started) = ring(relay, &alice, &conversation, "voice").await;
    assert_eq!(status, 200, "{started}");
    let ended = alice_pushes.until("no answer", call_news("ended")).await;
    assert_eq!(ended["news"]["reason"], "no_answer");
    tokio::time::sleep(Duration::from_millis(350)).await;

    let (_, started) = ring(relay, &alice, &conversation, "video").await;
    let call = started["call"]["id"].as_str().unwrap().to_owned();
    assert_eq!(answer(relay, &guest, &call, "video").await.0, 200);
    let wrap = format!("/api/messaging/conversations/{conversation}/wrap-up");
    assert_eq!(relay.api(&alice, "POST", &wrap, None).await.0, 204);
    let ended = guest_pushes
        .until("conversation ended", |v| {
            call_news("ended")(v) && v["news"]["call_id"] == call.as_str()
        })
        .await;
    assert_eq!(ended["news"]["reason"], "conversation_ended");
    let path = format!("/api/messaging/conversations/{conversation}");
    let (_, view) = relay.api(&alice, "GET", &path, None).await;
    let kinds: Vec<String> = timeline(&view, &conversation)
        .iter()
        .filter_map(|e| {
            e["kind"]
                .as_str()
                .filter(|k| k.starts_with("call_"))
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "call_offered",
            "call_declined",
            "call_offered",
            "call_ended",
            "call_offered",
            "call_accepted",
            "call_ended"
        ]
    );
    center.relay.stop().await;
}

#[tokio::test]
async fn while_an_agent_is_on_a_call_new_work_goes_to_another_agent() {
    let center = Center::start_with(calls).await;
    let relay = &center.relay;
    let alice = relay.login("alice").await;
    let bob = relay.login("bob").await;
    let mut alice_desk = center.desk(&alice).await;
    center.presence(&alice, "available").await;
    let mut alice_pushes = agent_stream(relay, &alice).await;
    let (guest, conversation) = guest_conversation(relay).await;
    alice_desk.work(&conversation, Some("offered")).await;
    let (status, body) = center.act(&alice, &conversation, "accept", None).await;
    assert_eq!(status, 200, "{body}");
    alice_pushes
        .until("assigned", |v| v["event"]["kind"] == "assigned")
        .await;

    let (status, started) = ring(relay, &alice, &conversation, "voice").await;
    assert_eq!(status, 200, "{started}");
    let call = started["call"]["id"].as_str().unwrap().to_owned();
    let desk = alice_desk
        .work(&format!("call:{call}"), Some("connected"))
        .await;
    assert_eq!(
        item(&desk, &format!("call:{call}")).unwrap()["media"],
        "call"
    );

    // Bob comes on; the next conversation is his, though Alice has room for messages.
    let mut bob_desk = center.desk(&bob).await;
    center.presence(&bob, "available").await;
    let (_, next) = guest_conversation(relay).await;
    bob_desk.work(&next, Some("offered")).await;

    // The call ends: Alice's capacity is back at once, with no wrap-up of the call.
    assert_eq!(answer(relay, &guest, &call, "audio").await.0, 200);
    let end = format!("/api/messaging/conversations/{conversation}/call/{call}/end");
    assert_eq!(relay.api(&alice, "POST", &end, None).await.0, 204);
    alice_desk.work(&format!("call:{call}"), None).await;
    let (_, third) = guest_conversation(relay).await;
    alice_desk.work(&third, Some("offered")).await;
    center.relay.stop().await;
}

#[tokio::test]
async fn a_queue_set_to_voice_or_none_offers_only_those_calls() {
    let center = Center::start_with(calls).await;
    let relay = &center.relay;
    let alice = relay.login("alice").await;
    let (_guest, conversation) = guest_conversation(relay).await;
    take(relay, &alice, &conversation).await;
    let options = format!("/api/messaging/conversations/{conversation}/call");
    let (status, body) = relay.api(&alice, "GET", &options, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["media"], json!(["voice", "video"]));
    assert_eq!(body["call"], Value::Null);

    // Voice only: the video button goes, and a video ring is refused with the reason.
    let spec = json!({ "name": "messaging", "calls_from_chat": "voice" });
    center.queue(&alice, spec).await;
    let (_, body) = relay.api(&alice, "GET", &options, None).await;
    assert_eq!(body["media"], json!(["voice"]));
    let (status, body) = ring(relay, &alice, &conversation, "video").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("voice calls only"), "{body}");
    // Nothing rang: the conversation has no call and a voice call still may.
    let (_, body) = relay.api(&alice, "GET", &options, None).await;
    assert_eq!(body["call"], Value::Null);
    let (status, started) = ring(relay, &alice, &conversation, "voice").await;
    assert_eq!(status, 200, "{started}");
    let call = started["call"]["id"].as_str().unwrap().to_owned();
    let (_, body) = relay.api(&alice, "GET", &options, None).await;
    assert_eq!(body["call"]["id"], call.as_str());
    let end = format!("/api/messaging/conversations/{conversation}/call/{call}/end");
    assert_eq!(relay.api(&alice, "POST", &end, None).await.0, 204);

    // None: no call at all; and someone else's agent learns nothing of the conversation.
    let spec = json!({ "name": "messaging", "calls_from_chat": "none" });
    center.queue(&alice, spec).await;
    let (_, body) = relay.api(&alice, "GET", &options, None).await;
    assert_eq!(body["media"], json!([]));
    tokio::time::sleep(Duration::from_millis(400)).await; // past the redial pause
    let (status, body) = ring(relay, &alice, &conversation, "voice").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.to_string().contains("no calls"), "{body}");
    let bob = relay.login("bob").await;
    assert_eq!(relay.api(&bob, "GET", &options, None).await.0, 403);
    // A misspelt setting is refused rather than read as the default.
    let spec = json!({ "name": "messaging", "calls_from_chat": "video" });
    let (status, _) = relay
        .api(&alice, "POST", "/api/routing/queues", Some(spec))
        .await;
    assert!((400..500).contains(&status), "{status}");
    center.relay.stop().await;
}
