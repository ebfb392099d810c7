//! Guest sign-up floods: minting guest tokens and starting conversations without signing in.
//! Observed on the old relay: one address minted 67,429 guest tokens in 5 s, and new token +
//! first message ran at 1,300 conversations/s, each a new contact, conversation and routing
//! arrival (the messaging queue's waiting count went from 0 to 12,965 and every agent's inbox
//! filled). These run on the relay's default limits.

use anyhow::Result;
use e2e::Relay;

use super::support::{
    client_from, guest_says, guest_token, minting, sign_in, waiting_conversations,
};

/// A made-up token of the right shape: the relay never minted it.
fn invented(i: u32) -> String {
    format!("{:064x}", 0xfeed_0000_u64 + u64::from(i))
}

#[tokio::test]
async fn one_address_minting_guest_tokens_is_refused_with_retry_after_long_before_thousands(
) -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let agent = sign_in(&relay, &client_from(0, 6, 250)).await?;
    let attacker = client_from(0, 6, 1);
    let mut minted = 0;
    let mut refused = None;
    for _ in 0..2_000 {
        let r = attacker
            .post(relay.url("/api/messaging/guest"))
            .send()
            .await?;
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
        minted += 1;
    }
    let refused = refused.unwrap_or_else(|| panic!("{minted} tokens minted, none refused"));
    assert!(minted <= 50, "{minted} tokens before the first refusal");
    let retry: u64 = refused.headers()["retry-after"].to_str()?.parse()?;
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    // Minting stored nothing: no conversation waits for an agent.
    assert_eq!(waiting_conversations(&relay, &agent).await?, 0);
    // A customer at another address signs up as usual.
    assert!(guest_token(&relay, &client_from(0, 6, 2)).await.is_ok());
    Ok(())
}

#[tokio::test]
async fn many_addresses_minting_together_are_held_by_the_global_cap() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    // 100 addresses, each within its own budget (15 of its 20), 1,500 together.
    let mut floods = Vec::new();
    for host in 0..100u8 {
        let client = client_from(0, 5, host + 1);
        let url = relay.url("/api/messaging/guest");
        floods.push(tokio::spawn(async move {
            let (mut ok, mut global) = (0, 0);
            for _ in 0..15 {
                let Ok(r) = client.post(&url).send().await else {
                    continue;
                };
                match r.status().as_u16() {
                    200 => ok += 1,
                    429 => {
                        let has_retry = r.headers().contains_key("retry-after");
                        let text = r.text().await.unwrap_or_default();
                        if has_retry && text.contains("too many right now") {
                            global += 1;
                        }
                    }
                    _ => {}
                }
            }
            (ok, global)
        }));
    }
    let (mut minted, mut held) = (0, 0);
    for flood in floods {
        let (ok, global) = flood.await?;
        minted += ok;
        held += global;
    }
    assert!(
        held > 0,
        "1,500 sign-ups from 100 addresses, none held globally"
    );
    assert!(minted < 1_200, "{minted} of 1,500 minted");
    Ok(())
}

#[tokio::test]
async fn first_messages_from_one_address_start_only_a_few_conversations() -> Result<()> {
    let relay = Relay::start(&["--no-fsync-commits"]).await?;
    let agent = sign_in(&relay, &client_from(0, 4, 250)).await?;
    let attacker = client_from(0, 4, 1);
    // Minted tokens and tokens the attacker made up itself: both have to start a conversation.
    let mut tokens = Vec::new();
    for _ in 0..10 {
        if let Ok(t) = guest_token(&relay, &attacker).await {
            tokens.push(t);
        }
    }
    tokens.extend((0..40).map(invented));
    let (mut started, mut refused) = (0, None);
    for token in &tokens {
        let r = guest_says(&relay, &attacker, token, "hello").await?;
        match r.status().as_u16() {
            200 => started += 1,
            429 => refused = Some(r),
            other => panic!("first message answered {other}"),
        }
    }
    let refused = refused.unwrap_or_else(|| panic!("{started} conversations, none refused"));
    assert!(refused.headers().contains_key("retry-after"));
    assert!(started <= 12, "{started} conversations from one address");
    let waiting = waiting_conversations(&relay, &agent).await?;
    assert_eq!(waiting, started, "agents see only what was started");
    // A started conversation goes on: its next message is no new start.
    let customer = client_from(0, 4, 2);
    let token = guest_token(&relay, &customer).await.map_err(minting)?;
    for text in ["hi", "are you there?"] {
        assert_eq!(
            guest_says(&relay, &customer, &token, text).await?.status(),
            200
        );
    }
    assert_eq!(waiting_conversations(&relay, &agent).await?, started + 1);
    Ok(())
}

#[tokio::test]
async fn first_messages_from_many_addresses_are_held_by_the_global_cap() -> Result<()> {
    let relay = Relay::start(&["--no-fsync-commits"]).await?;
    let agent = sign_in(&relay, &client_from(0, 3, 250)).await?;
    // 60 addresses, each within its own budget (9 of its 10), 540 together.
    let mut floods = Vec::new();
    for host in 0..60u8 {
        let client = client_from(0, 3, host + 1);
        let url = relay.url("/api/messaging/guest/messages");
        floods.push(tokio::spawn(async move {
            let (mut ok, mut global) = (0u32, 0u32);
            for i in 0..9u32 {
                let token = invented(u32::from(host) * 100 + i);
                let sent = client
                    .post(&url)
                    .header("X-Guest-Token", token)
                    .json(&serde_json::json!({ "text": "hello" }))
                    .send()
                    .await;
                let Ok(r) = sent else { continue };
                match r.status().as_u16() {
                    200 => ok += 1,
                    429 => {
                        let text = r.text().await.unwrap_or_default();
                        global += u32::from(text.contains("too many right now"));
                    }
                    _ => {}
                }
            }
            (ok, global)
        }));
    }
    let (mut started, mut held) = (0, 0);
    for flood in floods {
        let (ok, global) = flood.await?;
        started += ok;
        held += global;
    }
    assert!(
        held > 0,
        "540 conversations from 60 addresses, none held globally"
    );
    assert!(started < 450, "{started} of 540 started");
    let waiting = waiting_conversations(&relay, &agent).await?;
    assert_eq!(waiting, started as usize);
    Ok(())
}
