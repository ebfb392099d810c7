//! Filling the relay's disk with guest uploads. Observed on the old relay: fifty 5 MiB uploads
//! from fresh tokens took 3 s and added 262 MB to the disk; no per-guest, per-address or global
//! quota existed, and an upload needed no conversation.

use std::{path::Path, time::Duration};

use anyhow::{Context, Result};
use e2e::{wait_for, Relay};
use serde_json::Value;

use super::support::{client_from, guest_says, guest_token, minting, sign_in};

/// An upload of `bytes` bytes of PNG; a 429 from the guest's message rate is waited out (the
/// quotas are what these tests are about).
async fn upload(
    client: &reqwest::Client,
    relay: &Relay,
    token: &str,
    bytes: usize,
) -> Result<reqwest::Response> {
    // A refusal before the body is read may close the connection while the body is still
    // being sent: that is a 429 too, retried like one.
    for _ in 0..20 {
        match try_upload(client, relay, token, bytes).await {
            Ok(r) if r.status() != 429 => return Ok(r),
            _ => tokio::time::sleep(Duration::from_millis(600)).await,
        }
    }
    try_upload(client, relay, token, bytes).await
}

/// One upload, not retried.
async fn try_upload(
    client: &reqwest::Client,
    relay: &Relay,
    token: &str,
    bytes: usize,
) -> Result<reqwest::Response> {
    Ok(client
        .post(relay.url("/api/messaging/guest/attachments?name=big.png"))
        .header("X-Guest-Token", token)
        .header("Content-Type", "image/png")
        .body(vec![0x89u8; bytes])
        .send()
        .await?)
}

/// A guest with a conversation: minted, and said hello.
async fn guest_in_conversation(relay: &Relay, client: &reqwest::Client) -> Result<String> {
    let token = guest_token(relay, client).await.map_err(minting)?;
    assert_eq!(
        guest_says(relay, client, &token, "hello").await?.status(),
        200
    );
    Ok(token)
}

/// Bytes of every file under `dir`.
fn disk_usage(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_usage(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

async fn refusal(r: reqwest::Response) -> (u16, String) {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or_default();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn an_upload_needs_a_conversation_of_the_guest() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let client = client_from(0, 12, 1);
    let fresh = guest_token(&relay, &client).await.map_err(minting)?;
    let made_up = format!("{:064x}", 0xabcdef_u64);
    for token in [&fresh, &made_up] {
        let (status, why) = refusal(upload(&client, &relay, token, 1_000).await?).await;
        assert_eq!(status, 409, "an upload without a conversation: {why}");
        assert!(why.contains("message"), "{why}");
    }
    assert_eq!(
        guest_says(&relay, &client, &fresh, "hello").await?.status(),
        200
    );
    assert_eq!(upload(&client, &relay, &fresh, 1_000).await?.status(), 200);
    Ok(())
}

#[tokio::test]
async fn uploads_past_a_conversation_s_quota_are_refused_with_413_naming_it() -> Result<()> {
    // The address's upload budget is lifted: this is about the conversation's quota.
    let relay = Relay::start(&["--upload-mib-per-address", "1000/1000"]).await?;
    let client = client_from(0, 12, 2);
    let token = guest_in_conversation(&relay, &client).await?;
    // 4 MiB each against the default 25 MiB a conversation: six fit, the seventh does not.
    let mut stored = 0;
    let refused = loop {
        let r = upload(&client, &relay, &token, 4 << 20).await?;
        if r.status() != 200 {
            break refusal(r).await;
        }
        stored += 1;
        assert!(
            stored <= 10,
            "{stored} uploads of 4 MiB in one conversation"
        );
    };
    assert_eq!(stored, 6);
    assert_eq!(refused.0, 413, "{}", refused.1);
    assert!(
        refused.1.contains("per conversation") && refused.1.contains("25 MiB"),
        "the refusal names the limit: {}",
        refused.1
    );
    Ok(())
}

#[tokio::test]
async fn uploads_past_a_guest_s_quota_are_refused_with_413_naming_it() -> Result<()> {
    let relay = Relay::start(&[
        "--attachment-bytes-per-conversation",
        "600K",
        "--attachment-bytes-per-guest",
        "1M",
    ])
    .await?;
    let client = client_from(0, 12, 3);
    let token = guest_in_conversation(&relay, &client).await?;
    let quarter = 256 << 10;
    for _ in 0..2 {
        assert_eq!(
            upload(&client, &relay, &token, quarter).await?.status(),
            200
        );
    }
    let (status, why) = refusal(upload(&client, &relay, &token, quarter).await?).await;
    assert_eq!(status, 413);
    assert!(
        why.contains("per conversation") && why.contains("600 KiB"),
        "{why}"
    );
    // The agent wraps the conversation up; the guest's next message starts another.
    let agent = sign_in(&relay, &client_from(0, 12, 250)).await?;
    let history: Value = client
        .get(relay.url("/api/messaging/guest/history"))
        .header("X-Guest-Token", &token)
        .send()
        .await?
        .json()
        .await?;
    let first = history["history"][0]["conversation"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Only its own agent wraps a conversation up: the agent takes it first.
    reqwest::Client::new()
        .post(relay.url(&format!("/api/messaging/conversations/{first}/assign")))
        .bearer_auth(&agent)
        .send()
        .await?
        .error_for_status()?;
    reqwest::Client::new()
        .post(relay.url(&format!("/api/messaging/conversations/{first}/wrap-up")))
        .bearer_auth(&agent)
        .send()
        .await?
        .error_for_status()?;
    let mut again = guest_says(&relay, &client, &token, "me again").await?;
    while again.status() == 429 {
        // The uploads spent the guest's message rate.
        tokio::time::sleep(Duration::from_millis(600)).await;
        again = guest_says(&relay, &client, &token, "me again").await?;
    }
    assert_eq!(again.status(), 200);
    assert_eq!(
        upload(&client, &relay, &token, quarter).await?.status(),
        200
    );
    let (status, why) = refusal(upload(&client, &relay, &token, quarter).await?).await;
    assert_eq!(status, 413);
    assert!(why.contains("per guest") && why.contains("1 MiB"), "{why}");
    Ok(())
}

#[tokio::test]
async fn a_full_store_answers_507_and_the_disk_stays_bounded() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let files = dir.path().join("attachments");
    let store = 2u64 << 20;
    let relay = Relay::start(&[
        "--attachment-store-bytes",
        "2M",
        "--attachments-dir",
        files.to_str().unwrap_or_default(),
    ])
    .await?;
    // Ten guests at ten addresses, each uploading 256 KiB at a time.
    let (mut stored, mut full) = (0u64, 0);
    for host in 0..10u8 {
        let client = client_from(0, 13, host + 1);
        let token = guest_in_conversation(&relay, &client).await?;
        for _ in 0..3 {
            let r = upload(&client, &relay, &token, 256 << 10).await?;
            match refusal(r).await {
                (200, _) => stored += 256 << 10,
                (507, why) => {
                    assert!(why.contains("full") && why.contains("2 MiB"), "{why}");
                    full += 1;
                }
                (status, why) => panic!("upload answered {status}: {why}"),
            }
        }
    }
    assert!(
        full > 0,
        "30 uploads of 256 KiB into a 2 MiB store, none refused"
    );
    let used = disk_usage(&files);
    assert!(used <= store, "{used} bytes on disk for a 2 MiB store");
    assert!(
        stored >= 1 << 20,
        "only {stored} bytes stored before the store was full"
    );
    Ok(())
}

#[tokio::test]
async fn an_upload_no_message_carries_is_collected_after_its_grace() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let files = dir.path().join("attachments");
    let relay = Relay::start(&[
        "--orphan-upload-grace-secs",
        "1",
        "--attachments-dir",
        files.to_str().unwrap_or_default(),
    ])
    .await?;
    let client = client_from(0, 14, 1);
    let token = guest_in_conversation(&relay, &client).await?;
    let id = |r: Value| r["id"].as_str().unwrap_or_default().to_owned();
    let sent = id(upload(&client, &relay, &token, 10_000)
        .await?
        .json()
        .await?);
    let orphan = id(upload(&client, &relay, &token, 10_000)
        .await?
        .json()
        .await?);
    let r = client
        .post(relay.url("/api/messaging/guest/messages"))
        .header("X-Guest-Token", &token)
        .json(&serde_json::json!({ "text": "the photo", "attachments": [sent] }))
        .send()
        .await?;
    assert_eq!(r.status(), 200);
    assert!(files.join(&orphan).exists());
    wait_for(
        "the orphan upload is collected",
        Duration::from_secs(10),
        || {
            // The body goes, then its description: both, not the first alone.
            let gone =
                !files.join(&orphan).exists() && !files.join(format!("{orphan}.json")).exists();
            async move { gone.then_some(()) }
        },
    )
    .await?;
    assert!(files.join(&sent).exists(), "the sent one stays");
    let download = |id: String| {
        client
            .get(relay.url(&format!("/api/messaging/attachments/{id}")))
            .header("X-Guest-Token", &token)
            .send()
    };
    assert_eq!(download(orphan).await?.status(), 404);
    assert_eq!(download(sent).await?.status(), 200);
    Ok(())
}

#[tokio::test]
async fn one_address_cannot_send_more_upload_bytes_than_its_budget() -> Result<()> {
    // 4 MiB at once, then 1 MiB a minute: little refills during the test.
    let relay = Relay::start(&["--upload-mib-per-address", "1/4"]).await?;
    let client = client_from(0, 12, 9);
    let token = guest_in_conversation(&relay, &client).await?;
    let mut stored = 0u32;
    for _ in 0..8 {
        // The guest's own message rate (2/s) is kept by a pause.
        tokio::time::sleep(Duration::from_millis(550)).await;
        match try_upload(&client, &relay, &token, 1 << 20).await {
            Ok(r) if r.status() == 200 => stored += 1,
            // Refused before the body was read: the connection may close under it.
            _ => break,
        }
    }
    assert!(
        (3..=4).contains(&stored),
        "{stored} MiB stored from one address before a refusal"
    );
    // Small uploads are read whole before the answer, so the refusal is seen as such (on a
    // new connection: the refused one may be closed). What is left of the budget is less than
    // a MiB: sixteen of 1 KB (each charged 64 KiB) at most.
    let client = client_from(0, 12, 9);
    let mut refused = None;
    for _ in 0..24 {
        tokio::time::sleep(Duration::from_millis(550)).await;
        let r = try_upload(&client, &relay, &token, 1_000).await?;
        if r.status() == 429 {
            let retry = r.headers().get("retry-after").cloned();
            refused = Some((refusal(r).await, retry));
            break;
        }
    }
    let ((_, why), retry) = refused.context("small uploads went on unrefused")?;
    assert!(retry.is_some(), "a 429 says when to come back");
    assert!(why.contains("uploads"), "{why}");
    // Another address still uploads.
    let other = client_from(0, 12, 10);
    let token = guest_in_conversation(&relay, &other).await?;
    assert_eq!(upload(&other, &relay, &token, 1 << 20).await?.status(), 200);
    Ok(())
}
