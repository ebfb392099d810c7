//! Attack: consent lost on a network blip. With control granted, the customer's connection is
//! cut (a TCP proxy between the customer's Chromium and the relay); while it is down the
//! customer presses Revoke, or Stop sharing; then the network comes back. The customer's word
//! must hold: no control after the reconnect, or no session at all. On the old code the page
//! came back granted (the relay restored the grant it kept, the page followed) and the agent
//! navigated it; and a Stop made offline did nothing, so sharing resumed with the network.

use anyhow::{ensure, Result};
use e2e::{Browser, Relay};
use protocol::{
    Button, Click, Empty, EndReason, Message, ModeChanged, Navigate, Presence, Role, SessionMode,
};
use serde_json::Value;

use super::cobrowse::*;
use super::proxy::Proxy;
use super::support::audit;

const PAGE: &str = "/demo/checkout.html";

fn mode(m: SessionMode) -> impl Fn(&Message) -> bool {
    move |msg| matches!(msg, Message::ModeChanged(ModeChanged { mode, .. }) if *mode == m)
}

fn customer_present(connected: bool) -> impl Fn(&Message) -> bool {
    move |m| matches!(m, Message::Presence(Presence { role: Role::Customer, connected: c }) if *c == connected)
}

/// A session whose customer's page reaches the relay only through `proxy`, with control
/// granted the way a customer grants it.
struct Granted {
    relay: Relay,
    proxy: Proxy,
    token: String,
    id: String,
    browser: Browser,
    agent: Agent,
}

async fn granted() -> Result<Granted> {
    let relay = Relay::start(&[]).await?;
    let proxy = Proxy::start(&relay.base).await?;
    relay
        .cli(&["site", "add", "demo", "--origin", &proxy.base])
        .await?;
    let token = login(&relay.base).await?;
    let (id, key) = start_key(&relay.base, &token).await?;
    let browser = Browser::start().await?;
    open(&browser, &proxy.base, PAGE).await?;
    let started = start_with_key(&browser, &key).await?;
    ensure!(started["id"].as_str() == Some(id.as_str()), "{started}");
    let mut agent = Agent::join(&relay.base, &token, &id).await?;
    agent.snapshot_of(PAGE).await?;
    agent.send(Message::NavigationRequest(Empty)).await?;
    press(&browser, "allow").await?;
    agent
        .until("granted", mode(SessionMode::NavigationGranted))
        .await?;
    ensure!(offers_revoke(&browser).await?, "the banner offers Revoke");
    Ok(Granted {
        relay,
        proxy,
        token,
        id,
        browser,
        agent,
    })
}

/// Whether the co-browse banner on the page offers Revoke.
async fn offers_revoke(browser: &Browser) -> Result<bool> {
    let v = run(
        browser,
        r#"const go = () => {
             const host = document.getElementById('cobrowse-ui');
             const bar = host && host.shadowRoot.querySelector('[role=status]');
             if (!bar) return setTimeout(go, 10);
             done(!!host.shadowRoot.querySelector('[data-act="revoke"]'));
           };
           go();"#,
    )
    .await?;
    Ok(v == Value::Bool(true))
}

/// The network under the customer's page goes away; the agent sees the customer leave.
async fn cut(s: &mut Granted) -> Result<usize> {
    s.proxy.cut();
    s.agent
        .until("the customer to drop", customer_present(false))
        .await?;
    Ok(s.agent.seen.len())
}

/// The network comes back once the page tried to reconnect and was refused (it is offline
/// for real, not between two attempts).
async fn restore(s: &Granted) -> Result<()> {
    s.proxy.refused_at_least(1, WAIT).await?;
    s.proxy.resume();
    Ok(())
}

#[tokio::test]
async fn a_revoke_pressed_while_the_page_is_offline_is_not_undone_by_the_reconnect() -> Result<()> {
    let mut s = granted().await?;
    let since = cut(&mut s).await?;
    press(&s.browser, "revoke").await?;
    restore(&s).await?;
    s.agent
        .until("the customer back", customer_present(true))
        .await?;
    s.agent.snapshot_of(PAGE).await?;
    // What the console shows: the last mode it was told.
    let last_mode = s.agent.seen[since..].iter().rev().find_map(|m| match m {
        Message::ModeChanged(m) => Some(m.mode),
        _ => None,
    });
    ensure!(
        last_mode == Some(SessionMode::ReadOnly),
        "after the reconnect the console was told {last_mode:?}, so it still shows control granted"
    );
    ensure!(
        !offers_revoke(&s.browser).await?,
        "the page's banner still offers Revoke: it follows a grant the customer took back"
    );
    // The agent tries anyway: a navigation and a click on a link.
    let link = s.agent.node("back-to-cart")?;
    s.agent
        .send(Message::Navigate(Navigate::Url("/demo/cart.html".into())))
        .await?;
    s.agent
        .send(Message::Click(Click {
            node: link,
            x: 0,
            y: 0,
            button: Button::Primary,
        }))
        .await?;
    let refused = |a: &[(String, String)]| {
        ["Agent Navigate: NotGranted", "Agent Click: NotGranted"]
            .iter()
            .all(|want| a.iter().any(|(e, d)| e == "dropped" && d == want))
    };
    let (relay, token, id, browser) = (&s.relay, &s.token, &s.id, &s.browser);
    let outcome = e2e::wait_for("the navigate and click refused, or done", WAIT, || async {
        let moved = path(browser).await.map_or(true, |p| p != PAGE);
        let log = audit(relay, token, id).await.ok()?;
        (moved || refused(&log)).then_some((moved, log))
    })
    .await?;
    let (moved, log) = outcome;
    ensure!(
        !moved,
        "the agent navigated the customer's page after the revoke"
    );
    ensure!(refused(&log), "the relay did not refuse: {log:?}");
    let restored = log
        .iter()
        .any(|(e, d)| e == "mode" && d.contains("resumed without grant"));
    ensure!(restored, "the withdrawn grant is audited: {log:?}");
    ensure!(path(&s.browser).await? == PAGE);
    s.browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_stop_pressed_while_the_page_is_offline_ends_the_session_for_good() -> Result<()> {
    let mut s = granted().await?;
    let since = cut(&mut s).await?;
    press(&s.browser, "stop").await?;
    // At once, on the page: the session is over there.
    wait_event(&s.browser, "end:customer").await?;
    restore(&s).await?;
    let next = s
        .agent
        .until("the end, or sharing again", |m| {
            matches!(m, Message::End(_) | Message::Snapshot(_))
        })
        .await?;
    ensure!(
        matches!(&next, Message::End(e) if e.reason == EndReason::CustomerEnded),
        "after the reconnect the agent got {:?}: the page shared again instead of ending",
        next.kind()
    );
    ensure!(
        !s.agent.seen[since..]
            .iter()
            .any(|m| matches!(m, Message::Snapshot(_) | Message::Mutations(_))),
        "capture restarted after Stop"
    );
    let (relay, token, id) = (&s.relay, &s.token, &s.id);
    e2e::wait_for("the end in the audit log", WAIT, || async {
        let log = audit(relay, token, id).await.ok()?;
        log.iter()
            .any(|(e, d)| e == "ended" && d == "CustomerEnded")
            .then_some(())
    })
    .await?;
    // Nothing is left on the page to resume with, and no UI.
    let left = run(
        &s.browser,
        "done([!!document.getElementById('cobrowse-ui'), sessionStorage.getItem('cobrowse:demo')])",
    )
    .await?;
    ensure!(left == serde_json::json!([false, null]), "{left}");
    s.browser.close().await?;
    Ok(())
}
