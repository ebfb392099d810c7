//! Holding messaging's event streams. Observed on the old relay: one address held 2,000 guest
//! event streams, which accept any 64-hex token; the agent's stream was not counted either.
//! These run on the relay's default limits (64 streams per client address).

use anyhow::Result;
use e2e::Relay;

use super::support::{client_from, guest_says, guest_token, minting, sign_in};

/// The relay's default `--streams-per-client`.
const PER_CLIENT: usize = 64;

/// Opens up to `tries` streams at `path` from `client`, keeping those the relay accepted open;
/// answers them and how many were refused with 429.
async fn hold_streams(
    client: &reqwest::Client,
    relay: &Relay,
    path: &str,
    bearer: Option<&str>,
    tries: usize,
) -> (Vec<reqwest::Response>, usize) {
    let (mut held, mut refused) = (Vec::new(), 0);
    for _ in 0..tries {
        let mut request = client.get(relay.url(path));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        match request.send().await {
            Ok(r) if r.status() == 200 => held.push(r),
            Ok(r) if r.status() == 429 => {
                refused += 1;
                // Read the refusal so its connection serves the next try.
                r.bytes().await.ok();
            }
            _ => {}
        }
    }
    (held, refused)
}

/// A guest that has written, so its token is a real one.
async fn real_guest(relay: &Relay) -> Result<String> {
    let customer = client_from(0, 2, 250);
    let token = guest_token(relay, &customer).await.map_err(minting)?;
    assert_eq!(
        guest_says(relay, &customer, &token, "hello")
            .await?
            .status(),
        200
    );
    Ok(token)
}

#[tokio::test]
async fn one_address_cannot_hold_two_thousand_guest_streams() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let token = real_guest(&relay).await?;
    let path = format!("/api/messaging/guest/stream?token={token}");
    let attacker = client_from(0, 2, 1);
    let (held, refused) = hold_streams(&attacker, &relay, &path, None, 2_000).await;
    assert!(
        held.len() <= PER_CLIENT,
        "one address holds {} guest streams",
        held.len()
    );
    assert!(!held.is_empty());
    assert_eq!(held.len() + refused, 2_000, "the rest are refused with 429");
    // The places come back when the streams close.
    drop(held);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (again, _) = hold_streams(&attacker, &relay, &path, None, 5).await;
    assert_eq!(again.len(), 5, "closed streams gave their places back");
    // Another address still opens the customer's stream.
    let (own, _) = hold_streams(&client_from(0, 2, 2), &relay, &path, None, 1).await;
    assert_eq!(own.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_made_up_token_opens_no_guest_stream_and_takes_no_place() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let attacker = client_from(0, 1, 1);
    // Minted but never used, or made up: neither is anyone's.
    let minted = guest_token(&relay, &attacker).await.map_err(minting)?;
    let mut fakes: Vec<String> = (0..100u64)
        .map(|i| format!("{:064x}", 0xbad0 + i))
        .collect();
    fakes.push(minted);
    for fake in &fakes {
        let r = attacker
            .get(relay.url(&format!("/api/messaging/guest/stream?token={fake}")))
            .send()
            .await?;
        assert_eq!(r.status(), 401, "a stream for a token nobody wrote with");
    }
    // None of them took a place: the address still has all of its own.
    let token = real_guest(&relay).await?;
    let path = format!("/api/messaging/guest/stream?token={token}");
    let (held, refused) = hold_streams(&attacker, &relay, &path, None, PER_CLIENT).await;
    assert_eq!((held.len(), refused), (PER_CLIENT, 0));
    Ok(())
}

#[tokio::test]
async fn the_agent_s_event_stream_takes_a_place_too() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let desk = client_from(0, 1, 7);
    let agent = sign_in(&relay, &desk).await?;
    let path = "/api/messaging/stream";
    let (held, refused) = hold_streams(&desk, &relay, path, Some(&agent), 200).await;
    assert!(
        held.len() <= PER_CLIENT,
        "one address holds {} agent streams",
        held.len()
    );
    assert!(refused > 0);
    drop(held);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (again, _) = hold_streams(&desk, &relay, path, Some(&agent), 3).await;
    assert_eq!(again.len(), 3, "closed streams gave their places back");
    Ok(())
}
