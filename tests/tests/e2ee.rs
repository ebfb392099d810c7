//! End-to-end encryption, end to end: the console's code typed into the customer's page keys
//! both sides (the same safety code on the console's badge and the page's banner, the page in
//! the mirror) on a site that requires encryption (so no frame went clear), the relay keeps
//! for a late viewer only sealed bytes, and a relay that alters the key exchange (a WebSocket
//! proxy standing in for it on the agent's side) makes both sides fail closed.

mod cobrowse;
mod mirror_support;

use std::time::Duration;

use anyhow::{Context, Result};
use cobrowse::{login, open, start_key, start_with_key, wait_event, Agent};
use e2e::{Browser, Relay};
use futures_util::{SinkExt, StreamExt};
use protocol::{FrameKind, Message, SEALED};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::{
    client::IntoClientRequest,
    handshake::server::{Request, Response},
    Message as Ws,
};

/// A stand-in for a hostile relay on the agent's side: forwards every WebSocket message
/// between the agent and the relay, flipping one byte of the first frame of `kind` that goes
/// to the agent. Returns its base URL.
#[allow(
    clippy::result_large_err,
    reason = "tungstenite's handshake callback must return its own ErrorResponse"
)]
async fn tampering_proxy(relay: &str, kind: FrameKind) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let relay_ws = relay.replacen("http", "ws", 1);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let relay_ws = relay_ws.clone();
            tokio::spawn(async move {
                let mut head = None;
                let callback = |req: &Request, resp: Response| {
                    head = Some((req.uri().clone(), req.headers().clone()));
                    Ok(resp)
                };
                let Ok(agent) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
                    return;
                };
                let Some((uri, headers)) = head else { return };
                let Ok(mut req) = format!("{relay_ws}{uri}").into_client_request() else {
                    return;
                };
                if let Some(auth) = headers.get("authorization") {
                    req.headers_mut().insert("authorization", auth.clone());
                }
                let Ok((upstream, _)) = tokio_tungstenite::connect_async(req).await else {
                    return;
                };
                let (mut agent_tx, mut agent_rx) = agent.split();
                let (mut relay_tx, mut relay_rx) = upstream.split();
                let up = async {
                    while let Some(Ok(m)) = agent_rx.next().await {
                        if relay_tx.send(m).await.is_err() {
                            break;
                        }
                    }
                };
                let down = async {
                    let mut done = false;
                    while let Some(Ok(m)) = relay_rx.next().await {
                        let m = match m {
                            Ws::Binary(b) if !done && b.first() == Some(&kind.code()) => {
                                done = true;
                                let mut bytes = b.to_vec();
                                // Inside the key message, past the envelope and its length.
                                let at = bytes.len() / 2;
                                bytes[at] ^= 0x20;
                                Ws::Binary(bytes.into())
                            }
                            m => m,
                        };
                        if agent_tx.send(m).await.is_err() {
                            break;
                        }
                    }
                };
                tokio::join!(up, down);
            });
        }
    });
    Ok(base)
}

/// The page's events so far, waiting up to `secs` for `name` among them.
async fn page_ends_with(browser: &Browser, event: &str) -> Result<()> {
    wait_event(browser, event).await
}

#[tokio::test]
async fn a_relay_that_alters_the_page_s_key_message_makes_both_sides_fail_closed() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let token = login(&relay.base).await?;
    let (id, code) = start_key(&relay.base, &token).await?;
    let browser = Browser::start().await?;
    open(&browser, &relay.base, "/demo/checkout.html").await?;
    let started = start_with_key(&browser, &code).await?;
    anyhow::ensure!(started["id"].as_str() == Some(id.as_str()), "{started}");
    let proxy = tampering_proxy(&relay.base, FrameKind::KeyStart).await?;
    let mut agent = Agent::join_via(&proxy, &token, &id).await?;
    // Either the console refuses the altered message at once, or it answers and the page's
    // check of that answer fails; the page reveals nothing a guess could be tested against.
    // Both ways the session ends, on both sides, as a failed exchange.
    match agent
        .until("the end", |m| matches!(m, Message::End(_)))
        .await
    {
        Ok(end) => assert_eq!(
            end,
            Message::End(protocol::End {
                reason: protocol::EndReason::KeyExchangeFailed
            })
        ),
        Err(e) => assert!(format!("{e:#}").contains("key exchange"), "{e:#}"),
    }
    page_ends_with(&browser, "end:key-exchange-failed").await?;
    assert!(agent.safety.is_none(), "the console was keyed");
    assert!(agent.dom.is_none(), "the console read the page");
    assert!(
        !agent.seen.iter().any(|m| m.kind() == FrameKind::Snapshot),
        "a snapshot opened"
    );
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_relay_that_alters_the_page_s_confirmation_is_caught_by_the_console() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let token = login(&relay.base).await?;
    let (id, code) = start_key(&relay.base, &token).await?;
    let browser = Browser::start().await?;
    open(&browser, &relay.base, "/demo/checkout.html").await?;
    start_with_key(&browser, &code).await?;
    let proxy = tampering_proxy(&relay.base, FrameKind::KeyConfirm).await?;
    let mut agent = Agent::join_via(&proxy, &token, &id).await?;
    let failed = agent
        .until("the confirmation", |m| m.kind() == FrameKind::Snapshot)
        .await;
    let error = failed.err().context("the console opened the page")?;
    assert!(
        format!("{error:#}").contains("key confirmation"),
        "{error:#}"
    );
    // The console's End reached the relay, which ended the session on the page too.
    page_ends_with(&browser, "end:key-exchange-failed").await?;
    assert!(agent.safety.is_none());
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn console_and_page_show_one_safety_code_and_a_late_viewer_gets_only_sealed_bytes(
) -> Result<()> {
    const VISIBLE: &str = "VISIBLE-E2EE-NAME";
    let relay = Relay::start(&[]).await?;
    // The demo site requires encryption, so a frame either side failed to seal would be dropped
    // and audited: the mirror working and the audit clean show the whole session was sealed.
    require_encryption(&relay).await?;
    let (console, customer) = tokio::try_join!(Browser::start(), Browser::start())?;
    console.client.goto(&relay.url("/console/")).await?;
    mirror_support::sign_in(&console, &relay).await?;
    mirror_support::session(&console, &customer, &relay, "/demo/checkout.html").await?;
    let s = mirror_support::until_console(&console, "the safety code", |s| s["safety"].is_string())
        .await?;
    let safety = s["safety"].as_str().unwrap_or_default().to_owned();
    let badge = mirror_support::run(
        &console,
        "const b = document.getElementById('e2ee'); done([b.dataset.state, b.textContent])",
    )
    .await?;
    assert_eq!(badge[0], "keyed", "{badge}");
    assert!(
        badge[1].as_str().unwrap_or_default().contains(&safety),
        "{badge}"
    );
    let banner = e2e::wait_for("the banner's code", Duration::from_secs(10), || async {
        mirror_support::run(
            &customer,
            "const r = document.getElementById('cobrowse-ui').shadowRoot;
             const e = r.querySelector('[data-e2ee]'); done(e ? e.dataset.e2ee : null)",
        )
        .await
        .ok()
        .filter(|v| v.as_str().is_some_and(|v| !v.is_empty()))
    })
    .await?;
    assert_eq!(
        banner,
        Value::String(safety.clone()),
        "the two sides' codes differ"
    );

    // Typed into an unmasked field: the mirror shows it.
    mirror_support::run(
        &customer,
        &format!(
            "const e = document.getElementById('name'); e.value = '{VISIBLE}';
             e.dispatchEvent(new Event('input', {{ bubbles: true }})); done(true)"
        ),
    )
    .await?;
    e2e::wait_for(
        "the value in the mirror",
        Duration::from_secs(10),
        || async {
            mirror_support::run(
            &console,
            "done(document.getElementById('mirror').contentDocument.getElementById('name').value)",
        )
        .await
        .ok()
        .filter(|v| v.as_str() == Some(VISIBLE))
        },
    )
    .await?;

    // A supervisor joining late gets what the relay kept: sealed bytes, nothing readable.
    let supervisor = supervisor_token(&relay).await?;
    let id = mirror_support::console_state(&console).await?["sessionId"]
        .as_str()
        .context("session id")?
        .to_owned();
    let mut observer = Agent::observe(&relay.base, &supervisor, &id).await?;
    let _ =
        tokio::time::timeout(Duration::from_secs(2), observer.until("nothing", |_| false)).await;
    assert!(
        observer
            .wire
            .iter()
            .any(|f| f[0] == FrameKind::Snapshot.code() | SEALED),
        "the late viewer got no sealed snapshot"
    );
    let kept: Vec<u8> = observer.wire.concat();
    assert!(
        !kept.windows(VISIBLE.len()).any(|w| w == VISIBLE.as_bytes()),
        "the relay kept the value in clear"
    );
    assert!(observer.dom.is_none(), "an observer read the page");
    let audit: Value = reqwest::Client::new()
        .get(relay.url(&format!("/api/cobrowse/sessions/{id}/audit")))
        .bearer_auth(&supervisor)
        .send()
        .await?
        .json()
        .await?;
    assert!(
        audit.to_string().contains("attached") && !audit.to_string().contains("not sealed"),
        "a clear frame was refused, or no audit: {audit}"
    );
    console.close().await?;
    customer.close().await?;
    Ok(())
}

async fn supervisor_token(relay: &Relay) -> Result<String> {
    let body: Value = reqwest::Client::new()
        .post(relay.url("/api/login"))
        .json(&serde_json::json!({"name": "supervisor", "password": "supervisor"}))
        .send()
        .await?
        .json()
        .await?;
    Ok(body["token"].as_str().context("no token")?.to_owned())
}

/// Turns the demo site's `requireEncryption` on (as an admin, keeping its other rules).
async fn require_encryption(relay: &Relay) -> Result<()> {
    let http = reqwest::Client::new();
    let mut rules: Value = http
        .get(relay.url("/api/cobrowse/sites/demo/config"))
        .send()
        .await?
        .json()
        .await?;
    rules["requireEncryption"] = Value::Bool(true);
    let saved = http
        .put(relay.url("/api/admin/sites/demo"))
        .bearer_auth(relay.token_of("admin").await?)
        .json(&serde_json::json!({ "rules": rules }))
        .send()
        .await?;
    anyhow::ensure!(saved.status().is_success(), "{}", saved.text().await?);
    Ok(())
}
