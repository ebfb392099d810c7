//! Sign-in floods: wrong passwords from one address, from many, and against one account.
//! Observed on the old relay: 200 concurrent wrong-password sign-ins for 15 s were never
//! refused with 429, the relay's RSS went from 100 MiB to 2,274 MiB (a password hash in flight
//! each), `/healthz` took 2.6 s and a right sign-in 9.9 s.

use std::time::{Duration, Instant};

use anyhow::Result;
use e2e::Relay;
use serde_json::json;

use super::support::{client_from, sign_in};

async fn login(
    client: &reqwest::Client,
    relay: &Relay,
    name: &str,
    pw: &str,
) -> Result<reqwest::Response> {
    Ok(client
        .post(relay.url("/api/login"))
        .json(&json!({"name": name, "password": pw}))
        .send()
        .await?)
}

#[tokio::test]
async fn one_address_guessing_passwords_is_made_to_wait_and_others_sign_in_as_usual() -> Result<()>
{
    let relay = Relay::start(&[]).await?;
    let attacker = client_from(0, 9, 1);
    let mut refused = None;
    for i in 0..40 {
        let r = login(&attacker, &relay, &format!("user{i}"), "guess").await?;
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status(), 401);
    }
    let refused = refused.expect("the address is throttled after its free failures");
    let retry: u64 = refused.headers()["retry-after"].to_str()?.parse()?;
    assert!(retry >= 1);
    // Even the right password waits from that address...
    assert_eq!(
        login(&attacker, &relay, "agent", "agent").await?.status(),
        429
    );
    // ...but the agent at its own desk signs in.
    sign_in(&relay, &client_from(0, 9, 2)).await?;
    Ok(())
}

#[tokio::test]
async fn guessing_one_account_from_many_addresses_delays_it_only_briefly() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let mut throttled = None;
    for i in 0..12u8 {
        let r = login(&client_from(0, 8, i + 1), &relay, "agent", "wrong").await?;
        if r.status() == 429 {
            throttled = Some(r);
            break;
        }
    }
    let r = throttled.expect("the account is throttled after its free failures");
    let retry: u64 = r.headers()["retry-after"].to_str()?.parse()?;
    assert!(
        (1..=30).contains(&retry),
        "an account is never locked for long: Retry-After {retry}"
    );
    Ok(())
}

#[tokio::test]
async fn a_flood_of_wrong_passwords_from_many_addresses_leaves_the_relay_answering() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    // The agent signed in from its desk before (yesterday, say).
    let desk = client_from(0, 7, 2);
    sign_in(&relay, &desk).await?;
    let rss_before = relay.rss_kib().unwrap_or(0);
    let stop = Instant::now() + Duration::from_secs(8);
    let flood: Vec<_> = (0..200u16)
        .map(|i| {
            let client = client_from(1, (i / 250) as u8, (i % 250) as u8 + 1);
            let url = relay.url("/api/login");
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while Instant::now() < stop {
                    let body = json!({"name": format!("n{i}"), "password": "x"});
                    match client.post(&url).json(&body).send().await {
                        Ok(r) => statuses.push(r.status().as_u16()),
                        Err(_) => statuses.push(0),
                    }
                }
                statuses
            })
        })
        .collect();
    // Meanwhile the relay keeps answering everyone else, and the agent signs in again from
    // its desk in the middle of the flood.
    let desk = {
        let url = relay.url("/api/login");
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(4)).await;
            let t = Instant::now();
            let r = desk
                .post(url)
                .json(&json!({"name": "agent", "password": "agent"}))
                .send()
                .await;
            (r.map(|r| r.status().as_u16()).unwrap_or(0), t.elapsed())
        })
    };
    let probe = client_from(0, 7, 1);
    let mut slowest = Duration::ZERO;
    let mut peak_rss = rss_before;
    while Instant::now() < stop {
        let t = Instant::now();
        let ok = probe
            .get(relay.url("/healthz"))
            .send()
            .await?
            .status()
            .is_success();
        assert!(ok);
        slowest = slowest.max(t.elapsed());
        peak_rss = peak_rss.max(relay.rss_kib().unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (desk_status, sign_in_took) = desk.await?;
    let mut statuses = Vec::new();
    for f in flood {
        statuses.extend(f.await?);
    }
    let refused = statuses.iter().filter(|&&s| s == 429 || s == 503).count();
    assert_eq!(
        desk_status, 200,
        "the agent at its desk signs in during the flood"
    );
    eprintln!(
        "sign-in flood: {} attempts, {refused} refused (429/503), /healthz slowest {slowest:?}, \
         the agent's own sign-in in the middle of it {sign_in_took:?}, RSS {rss_before} -> peak {peak_rss} KiB",
        statuses.len()
    );
    assert!(refused > statuses.len() / 2, "most of the flood is refused");
    assert!(
        slowest < Duration::from_secs(1),
        "/healthz took {slowest:?}"
    );
    // A password check of the test build takes about a second; one in its own line.
    assert!(
        sign_in_took < Duration::from_secs(5),
        "the agent's sign-in took {sign_in_took:?}"
    );
    assert!(
        peak_rss.saturating_sub(rss_before) < 256 * 1024,
        "RSS grew {rss_before} -> {peak_rss} KiB"
    );
    Ok(())
}
