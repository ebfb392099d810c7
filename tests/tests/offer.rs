//! The chat pairing flow end to end: a visitor writes in the messaging widget, the agent takes
//! the conversation in the inbox and invites to co-browse, opens the console from the
//! invitation (attached to the offer's session), the visitor accepts in the widget, and the
//! console's mirror shows the visitor's page, end-to-end encrypted by comparison (no code: one
//! safety code on both sides, to be compared by phone). Screenshots go to
//! `tests/output/offer-*.png`.

mod mirror_support;

use anyhow::Context;
use e2e::{Browser, Relay, WIDGET};
use mirror_support::*;
use serde_json::{json, Value};

async fn js(browser: &Browser, script: &str) -> anyhow::Result<Value> {
    browser.js(script).await
}

async fn until(browser: &Browser, what: &str, expr: &str) -> anyhow::Result<()> {
    browser.until(what, expr).await
}

async fn shot(browser: &Browser, name: &str) -> anyhow::Result<()> {
    browser.screenshot(&format!("offer-{name}")).await
}

#[tokio::test]
async fn an_inbox_invitation_accepted_in_the_widget_shows_the_page_in_the_console(
) -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    let (console, customer) = tokio::try_join!(Browser::start(), Browser::start())?;
    console.client.set_window_size(1400, 900).await?;

    customer
        .client
        .goto(&relay.url("/messaging/demo.html"))
        .await?;
    customer
        .widget_sends("Can you show me where to pay?")
        .await?;

    sign_in(&console, &relay).await?;
    console
        .client
        .goto(&relay.url("/console/inbox.html"))
        .await?;
    console
        .press(
            "the waiting conversation",
            "document.querySelector('#waiting .conv')",
        )
        .await?;
    until(
        &console,
        "the Take button",
        "!document.getElementById('take').hidden",
    )
    .await?;
    console
        .press("Take", "document.getElementById('take')")
        .await?;
    until(
        &console,
        "the taken conversation",
        "document.querySelector('#mine .conv')",
    )
    .await?;
    console
        .press("Invite to co-browse", "document.getElementById('invite')")
        .await?;
    until(
        &console,
        "the link to the co-browse pane",
        "!document.getElementById('cobrowse-open').hidden",
    )
    .await?;
    shot(&console, "1-invited").await?;
    let link = js(
        &console,
        "return document.getElementById('cobrowse-open').href",
    )
    .await?;
    let link = link.as_str().context("the link has an href")?.to_owned();
    let session = link
        .split_once("#session=")
        .map(|(_, id)| id.to_owned())
        .context("the link names the session")?;
    console.client.goto(&link).await?;
    until_console(&console, "the console attached to the offer", |s| {
        s["sessionId"] == session.as_str()
    })
    .await?;

    customer
        .press(
            "the invitation's Accept button",
            &format!("{WIDGET}.querySelector('.offer button.accept')"),
        )
        .await?;
    let s = until_console(&console, "the mirror to show the visitor's page", |s| {
        s["synced"].as_u64().unwrap_or(0) >= 1 && s["customer"] == true
    })
    .await?;
    assert!(
        s["url"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/messaging/demo.html"),
        "{s}"
    );
    let heading = js(
        &console,
        "return document.getElementById('mirror').contentDocument.querySelector('h1').textContent",
    )
    .await?;
    assert_eq!(heading, json!("Demo shop · messaging"));
    // The widget is blocked for co-browse: the agent sees its box, never the conversation
    // (which would otherwise arrive inside the widget's open shadow root).
    let widget = js(
        &console,
        "const w = document.getElementById('mirror').contentDocument.getElementById('cobrowse-messaging');
         return w && { shadow: !!w.shadowRoot, text: w.textContent }",
    )
    .await?;
    assert_eq!(
        widget,
        json!({ "shadow": false, "text": "" }),
        "the widget is a neutral box"
    );
    // Keyed without a code: both sides show one safety code and say to compare it by phone.
    let s = until_console(&console, "the safety code", |s| s["safety"].is_string()).await?;
    let safety = s["safety"].as_str().unwrap_or_default().to_owned();
    let badge = js(
        &console,
        "const b = document.getElementById('e2ee'); return [b.dataset.state, b.dataset.compare, b.textContent]",
    )
    .await?;
    assert_eq!(
        (&badge[0], &badge[1]),
        (&json!("keyed"), &json!("phone")),
        "{badge}"
    );
    assert!(
        badge[2].as_str().unwrap_or_default().contains("by phone"),
        "{badge}"
    );
    let banner_js =
        "const e = document.getElementById('cobrowse-ui').shadowRoot.querySelector('[data-e2ee]');
         return e && e.dataset.e2ee ? [e.dataset.e2ee, e.dataset.compare, e.textContent] : null";
    until(
        &customer,
        "the banner's safety code",
        &format!("(() => {{ {banner_js} }})()"),
    )
    .await?;
    let banner = js(&customer, banner_js).await?;
    assert_eq!(
        banner[0],
        json!(safety),
        "the two sides' codes differ: {banner}"
    );
    assert_eq!(banner[1], json!("phone"), "{banner}");
    assert!(
        banner[2]
            .as_str()
            .unwrap_or_default()
            .contains("not in this chat"),
        "{banner}"
    );
    shot(&console, "2-mirror").await?;
    shot(&customer, "3-banner").await?;
    Ok(())
}
