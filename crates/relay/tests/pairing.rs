//! Pairing: security keys (call flow), offers (chat and messaging flow), resume after a reload,
//! origins, key expiry, reuse and the guessing limit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: failing loudly is the point

mod common;

use std::time::Duration;

use common::*;
use protocol::*;
use relay::cobrowse::limiter::GuessBudget;

#[tokio::test]
async fn call_flow_pairs_customer_and_agent_by_security_key_in_read_only_mode() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let body = serde_json::json!({"interaction": "voice", "interaction_id": "call-1"});
    let (status, started) = relay
        .api(&token, "POST", "/api/cobrowse/sessions", Some(body))
        .await;
    assert_eq!(status, 200, "{started}");
    let (id, key) = (
        started["session_id"].as_str().unwrap(),
        started["security_key"].as_str().unwrap(),
    );
    // The relay issues the code's 6-digit locator; the console adds 6 secret digits of its own,
    // and the JSON says so, so a console never has to assume the split.
    assert_eq!(key.len(), 6, "a 6-digit locator by default: {started}");
    assert!(key.bytes().all(|b| b.is_ascii_digit()), "{key}");
    assert_eq!(
        (&started["locator_digits"], &started["secret_digits"]),
        (&serde_json::json!(6), &serde_json::json!(6))
    );
    assert_eq!(
        started["security_key_display"],
        format!("{} {}", &key[..4], &key[4..])
    );

    // The page sends the locator as the customer typed it, with the spaces the agent read out
    // (the secret's digits it keeps for the key exchange).
    let grouped = format!("{} {}", &key[..4], &key[4..]);
    let mut customer = relay.customer(Pairing::SecurityKey(grouped)).await;
    let Message::Welcome(welcome) = customer.recv().await.message else {
        panic!("expected welcome")
    };
    assert_eq!(welcome.session_id, id);
    assert_eq!(welcome.mode, SessionMode::ReadOnly);
    assert_eq!(welcome.interaction, Interaction::Voice);
    assert!(welcome.resume_token.is_some());

    let mut agent = relay.agent(&token, id).await;
    let snapshot = customer.send(snapshot("https://shop.test/cart")).await;
    assert_eq!(
        agent.recv_until(FrameKind::Snapshot).await.message.kind(),
        FrameKind::Snapshot
    );
    let mutation = customer.send(text_mutation("3 items")).await;
    assert_eq!(
        agent.recv_bytes().await,
        mutation,
        "DOM frames arrive byte for byte"
    );
    assert_ne!(snapshot, mutation);

    let audit = relay.audit(&token, id).await;
    assert!(audit
        .iter()
        .any(|(e, d)| e == "attached" && d.contains("security key")));
    relay.stop().await;
}

#[tokio::test]
async fn chat_flow_pairs_by_offer_the_widget_fetched_for_its_conversation() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (guest, conversation) = guest_conversation(&relay).await;
    let (stranger, _) = guest_conversation(&relay).await;
    // Only the conversation's own agent offers co-browse in it.
    let (status, taken) = relay
        .api(
            &token,
            "POST",
            &format!("/api/messaging/conversations/{conversation}/assign"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{taken}");
    let (status, offer) = relay
        .api(
            &token,
            "POST",
            "/api/cobrowse/offers",
            Some(serde_json::json!({"conversation_id": conversation, "interaction": "web_messaging"})),
        )
        .await;
    assert_eq!(status, 200, "{offer}");
    let id = offer["session_id"].as_str().unwrap().to_owned();
    let lookup = format!("/api/cobrowse/offers?conversation={conversation}&site={SITE}");

    // Without the conversation's guest token, nobody sees it: not without a token, not with
    // another guest's, whatever the Origin.
    let (status, _) = relay
        .http("GET", &lookup, &[("Origin", ORIGIN)], None)
        .await;
    assert_eq!(status, 401);
    let (status, _) = relay
        .http(
            "GET",
            &lookup,
            &[("Origin", ORIGIN), ("X-Guest-Token", &stranger)],
            None,
        )
        .await;
    assert_eq!(status, 404);
    // Another site's origin may not look.
    let (status, _) = relay
        .http(
            "GET",
            &lookup,
            &[("Origin", OTHER_ORIGIN), ("X-Guest-Token", &guest)],
            None,
        )
        .await;
    assert_eq!(status, 403);

    // The widget on the customer's page (another origin than the relay's) asks for offers in
    // its conversation, sending its token: a preflight first.
    let response = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{}{lookup}", relay.addr),
        )
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "x-guest-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let allowed = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(allowed("access-control-allow-origin"), ORIGIN);
    assert_eq!(allowed("access-control-allow-headers"), "x-guest-token");
    let (status, pending) = relay
        .http(
            "GET",
            &lookup,
            &[("Origin", ORIGIN), ("X-Guest-Token", &guest)],
            None,
        )
        .await;
    assert_eq!(status, 200);
    let offers = pending["offers"].as_array().unwrap();
    assert_eq!(offers.len(), 1);
    let token_seen = offers[0]["offer_token"].as_str().unwrap().to_owned();
    assert_eq!(token_seen, offer["offer_token"].as_str().unwrap());

    // Looked up from the shop's pages, it is the shop's: another site's page may not claim it.
    let mut elsewhere = relay
        .customer_socket(OTHER_SITE, OTHER_ORIGIN)
        .await
        .unwrap();
    elsewhere
        .hello(
            Role::Customer,
            OTHER_SITE,
            Pairing::OfferToken(token_seen.clone()),
        )
        .await;
    assert_eq!(
        elsewhere.closed().await.error(),
        Some(ErrorCode::NotAllowed)
    );

    let mut customer = relay
        .customer(Pairing::OfferToken(token_seen.clone()))
        .await;
    let Message::Welcome(welcome) = customer.recv().await.message else {
        panic!("expected welcome")
    };
    assert_eq!(welcome.session_id, id);
    assert_eq!(welcome.interaction, Interaction::WebMessaging);
    let mut agent = relay.agent(&token, &id).await;
    let bytes = customer.send(snapshot("https://shop.test/")).await;
    agent.recv_until(FrameKind::Presence).await;
    assert_eq!(agent.recv_bytes().await, bytes);

    // The offer is single-use.
    let mut again = relay.customer(Pairing::OfferToken(token_seen)).await;
    assert_eq!(again.closed().await.error(), Some(ErrorCode::UnknownKey));
    relay.stop().await;
}

#[tokio::test]
async fn customer_socket_from_an_origin_not_allowed_for_the_site_is_refused() {
    let relay = Relay::start(|_| {}).await;
    assert_eq!(
        relay.customer_socket(SITE, OTHER_ORIGIN).await.err(),
        Some(403)
    );
    assert_eq!(
        relay.customer_socket("nosuchsite", ORIGIN).await.err(),
        Some(403)
    );
    assert!(relay
        .customer_socket(OTHER_SITE, OTHER_ORIGIN)
        .await
        .is_ok());
    relay.stop().await;
}

#[tokio::test]
async fn agent_endpoints_require_sign_in_and_agents_join_only_their_own_sessions() {
    let relay = Relay::start(|_| {}).await;
    let (status, _) = relay.http("GET", "/api/me", &[], None).await;
    assert_eq!(status, 401);
    let (status, _) = relay
        .http(
            "POST",
            "/api/login",
            &[],
            Some(serde_json::json!({"name": "alice", "password": "wrong"})),
        )
        .await;
    assert_eq!(status, 401);
    let alice = relay.login("alice").await;
    let (status, me) = relay.api(&alice, "GET", "/api/me", None).await;
    assert_eq!((status, me["name"].as_str()), (200, Some("alice")));

    let (id, _) = relay.start_key(&alice, "voice", "call-2").await;
    let bob = relay.login("bob").await;
    let mut intruder = relay.agent_socket(&bob).await;
    intruder
        .hello(Role::Agent, "", Pairing::AgentJoin { session_id: id })
        .await;
    assert_eq!(intruder.closed().await.error(), Some(ErrorCode::NotAllowed));

    let (status, _) = relay.api(&alice, "POST", "/api/logout", None).await;
    assert_eq!(status, 200);
    let (status, _) = relay.api(&alice, "GET", "/api/me", None).await;
    assert_eq!(status, 401, "a revoked token signs nobody in");
    relay.stop().await;
}

#[tokio::test]
async fn security_key_is_single_use() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (_, key) = relay.start_key(&token, "voice", "call-3").await;
    let mut first = relay.customer(Pairing::SecurityKey(key.clone())).await;
    assert!(matches!(first.recv().await.message, Message::Welcome(_)));
    let mut second = relay.customer(Pairing::SecurityKey(key)).await;
    assert_eq!(second.closed().await.error(), Some(ErrorCode::KeyExpired));
    relay.stop().await;
}

#[tokio::test]
async fn security_key_expires_and_the_waiting_agent_is_told() {
    let relay = Relay::start(|c| c.key_ttl = Duration::from_millis(300)).await;
    let token = relay.login("alice").await;
    let (id, key) = relay.start_key(&token, "voice", "call-4").await;
    let mut agent = relay.agent(&token, &id).await;
    // The session gives up when its key lapses; the console hears why.
    assert_eq!(agent.closed().await.end(), Some(EndReason::Inactivity));
    let mut late = relay.customer(Pairing::SecurityKey(key)).await;
    assert_eq!(late.closed().await.error(), Some(ErrorCode::KeyExpired));
    relay.stop().await;
}

#[tokio::test]
async fn guessing_is_refused_past_the_per_address_budget_even_with_the_right_key() {
    let relay = Relay::start(|c| {
        c.guesses_per_address = GuessBudget {
            burst: 3,
            per_minute: 0.01,
        }
    })
    .await;
    let token = relay.login("alice").await;
    let (_, key) = relay.start_key(&token, "voice", "call-5").await;
    // Three locators of the key's length that are not the key: each digit moved by 1, 2, 3.
    for shift in 1..=3 {
        let guess: String = key
            .chars()
            .map(|c| char::from_digit((c.to_digit(10).unwrap() + shift) % 10, 10).unwrap())
            .collect();
        let mut guesser = relay.customer(Pairing::SecurityKey(guess)).await;
        assert_eq!(guesser.closed().await.error(), Some(ErrorCode::UnknownKey));
    }
    let mut guesser = relay.customer(Pairing::SecurityKey(key)).await;
    assert_eq!(guesser.closed().await.error(), Some(ErrorCode::RateLimited));
    relay.stop().await;
}

#[tokio::test]
async fn reloaded_page_resumes_its_session_and_sends_a_fresh_snapshot() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("alice").await;
    let (id, key) = relay.start_key(&token, "web_chat", "chat-1").await;
    let mut customer = relay.customer(Pairing::SecurityKey(key)).await;
    let Message::Welcome(welcome) = customer.recv().await.message else {
        panic!("expected welcome")
    };
    let resume = welcome.resume_token.unwrap();
    let mut agent = relay.agent(&token, &id).await;
    customer.send(snapshot("https://shop.test/a")).await;
    agent.recv_until(FrameKind::Snapshot).await;

    // The page reloads: its socket goes away and a new one presents the resume token.
    drop(customer);
    let gone = agent.recv_until(FrameKind::Presence).await;
    assert_eq!(
        gone.message,
        Message::Presence(Presence {
            role: Role::Customer,
            connected: false
        })
    );
    // From another site the token is refused.
    let mut elsewhere = relay
        .customer_socket(OTHER_SITE, OTHER_ORIGIN)
        .await
        .unwrap();
    elsewhere
        .hello(
            Role::Customer,
            OTHER_SITE,
            Pairing::Resume {
                token: resume.clone(),
                grant: 0,
            },
        )
        .await;
    assert_eq!(
        elsewhere.closed().await.error(),
        Some(ErrorCode::NotAllowed)
    );

    let mut reloaded = relay
        .customer(Pairing::Resume {
            token: resume,
            grant: 0,
        })
        .await;
    let Message::Welcome(again) = reloaded.recv().await.message else {
        panic!("expected welcome")
    };
    assert_eq!(again.session_id, id);
    let back = agent.recv_until(FrameKind::Presence).await;
    assert_eq!(
        back.message,
        Message::Presence(Presence {
            role: Role::Customer,
            connected: true
        })
    );
    let fresh = reloaded.send(snapshot("https://shop.test/b")).await;
    assert_eq!(agent.recv_bytes().await, fresh);
    relay.stop().await;
}
