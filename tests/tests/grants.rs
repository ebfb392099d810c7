//! Time-boxed and scoped control grants in a real browser against the real relay, with a raw
//! agent client: a grant the customer gives for a few seconds (the site offers them) stops the
//! agent at the second the banner's countdown reaches zero; a grant of one area lets the agent
//! act inside it and refuses it outside, and the agent is told.

mod cobrowse;

use anyhow::{ensure, Context};
use serde_json::{json, Value};

use cobrowse::*;
use e2e::{Browser, Relay};
use protocol::{
    AreaRequest, Button, Click, Empty, GrantStatus, InputRefused, Message, ModeReason, Refusal,
    SessionMode, TextInput,
};

/// The demo site offers a grant of `secs` seconds, as a site's `grantSecs` rule does.
async fn offer_grants_of(relay: &Relay, secs: u32) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{}/api/login", relay.base))
        .json(&json!({"name": "admin", "password": "admin"}))
        .send()
        .await?
        .json()
        .await?;
    let admin = login["token"].as_str().context("no admin token")?;
    let mut rules: Value = http
        .get(format!("{}/api/cobrowse/sites/demo/config", relay.base))
        .send()
        .await?
        .json()
        .await?;
    rules["grantSecs"] = json!([secs]);
    let status = http
        .put(format!("{}/api/admin/sites/demo", relay.base))
        .bearer_auth(admin)
        .json(&json!({ "rules": rules }))
        .send()
        .await?
        .status();
    ensure!(status.is_success(), "setting grantSecs: {status}");
    Ok(())
}

async fn paired(path: &str, grant_secs: Option<u32>) -> anyhow::Result<(Relay, Browser, Agent)> {
    let relay = Relay::start(&[]).await?;
    if let Some(secs) = grant_secs {
        offer_grants_of(&relay, secs).await?;
    }
    let (_, _, browser, agent) = pair_by_key(&relay.base, path).await?;
    Ok((relay, browser, agent))
}

/// Presses the prompt's allow button for `secs` seconds (0: until stopped).
async fn allow_for(browser: &Browser, secs: u32) -> anyhow::Result<()> {
    let script = format!(
        r#"const go = () => {{
          const host = document.getElementById('cobrowse-ui');
          const b = host && host.shadowRoot.querySelector('[data-act="allow"][data-value="{secs}"]');
          if (!b) return setTimeout(go, 10);
          b.click(); done(true);
        }};
        go();"#
    );
    run(browser, &script).await.map(drop)
}

fn granted_status(m: &Message) -> bool {
    matches!(
        m,
        Message::GrantStatus(GrantStatus {
            mode: SessionMode::NavigationGranted,
            ..
        })
    )
}

/// What the banner's countdown shows now ("" when there is none).
async fn countdown(browser: &Browser) -> anyhow::Result<String> {
    let v = run(
        browser,
        "const r = document.getElementById('cobrowse-ui').shadowRoot;
         const l = r.querySelector('[data-left]');
         done(l ? l.getAttribute('data-left') : '')",
    )
    .await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

fn type_into(node: u32, value: &str) -> Message {
    Message::TextInput(TextInput {
        node,
        value: value.into(),
    })
}

#[tokio::test]
async fn an_expired_grant_stops_agent_input_at_the_second_the_banner_reaches_zero(
) -> anyhow::Result<()> {
    let (_relay, browser, mut agent) = paired("/demo/checkout.html", Some(3)).await?;
    agent.send(Message::NavigationRequest(Empty)).await?;
    allow_for(&browser, 3).await?;
    let status = agent.until("granted", granted_status).await?;
    let Message::GrantStatus(GrantStatus { remaining_ms, .. }) = status else {
        unreachable!()
    };
    let left = remaining_ms.context("a time-boxed grant tells the console its time")?;
    ensure!((2_000..=3_000).contains(&left), "{left} ms left");

    // While the countdown runs, typing applies.
    let first = countdown(&browser).await?;
    ensure!(
        first == "00:03" || first == "00:02",
        "the banner shows {first:?}"
    );
    let name = agent.node("name")?;
    agent.send(type_into(name, "Ada")).await?;
    e2e::wait_for("typed name", WAIT, || async {
        value(&browser, "name").await.ok().filter(|v| v == "Ada")
    })
    .await?;

    // The banner counts down to zero, and at that second control ends on the page.
    e2e::wait_for("the banner at 00:01", WAIT, || async {
        countdown(&browser).await.ok().filter(|c| c == "00:01")
    })
    .await?;
    wait_event(&browser, "revoked").await?;
    ensure!(
        countdown(&browser).await?.is_empty(),
        "no countdown after the end"
    );
    // The agent types and clicks the moment after: nothing happens on the page.
    agent.send(type_into(name, "HACKED")).await?;
    let link = agent.node("back-to-cart")?;
    agent
        .send(Message::Click(Click {
            node: link,
            x: 0,
            y: 0,
            button: Button::Primary,
        }))
        .await?;
    let ended = agent
        .until("the relay's expiry", |m| {
            matches!(
                m,
                Message::GrantStatus(GrantStatus {
                    mode: SessionMode::ReadOnly,
                    reason: ModeReason::Expired,
                    ..
                })
            )
        })
        .await?;
    ensure!(matches!(ended, Message::GrantStatus(_)));
    // A mark after the input: once the page drew it, the input before it was handled.
    agent
        .send(Message::Highlight(protocol::Highlight { node: name }))
        .await?;
    run(
        &browser,
        "const go = () => {
           const r = document.getElementById('cobrowse-ui').shadowRoot;
           if (!r.querySelector('.hl')) return setTimeout(go, 10);
           done(true);
         };
         go();",
    )
    .await?;
    let banner = banner(&browser).await?;
    ensure!(banner.contains("An agent is viewing"), "{banner}");
    ensure!(
        value(&browser, "name").await? == "Ada",
        "input after the expiry applied"
    );
    ensure!(
        path(&browser).await? == "/demo/checkout.html",
        "a click after the expiry followed the link"
    );
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_scoped_grant_applies_input_inside_the_area_and_refuses_it_outside_and_the_agent_is_told(
) -> anyhow::Result<()> {
    let (_relay, browser, mut agent) = paired("/demo/checkout.html", None).await?;
    let name = agent.node("name")?;
    agent
        .send(Message::AreaRequest(AreaRequest { node: name }))
        .await?;
    // The customer is asked about the area, outlined on the page.
    let prompt = run(
        &browser,
        "const go = () => {
           const r = document.getElementById('cobrowse-ui').shadowRoot;
           const d = r.querySelector('[role=dialog]');
           if (!d || !r.querySelector('[data-cobrowse-area]')) return setTimeout(go, 10);
           done(d.textContent);
         };
         go();",
    )
    .await?;
    ensure!(
        prompt.as_str().is_some_and(|t| t.contains("outlined area")),
        "{prompt}"
    );
    allow_for(&browser, 0).await?;
    let status = agent.until("granted", granted_status).await?;
    ensure!(
        matches!(status, Message::GrantStatus(GrantStatus { scope: Some(n), remaining_ms: None, .. }) if n == name),
        "{status:?}"
    );

    // Inside the area: applied.
    agent.send(type_into(name, "Ada Lovelace")).await?;
    e2e::wait_for("typed name", WAIT, || async {
        value(&browser, "name")
            .await
            .ok()
            .filter(|v| v == "Ada Lovelace")
    })
    .await?;
    // Outside: refused, and the agent is told why.
    let city = agent.node("city")?;
    agent.send(type_into(city, "Atlantis")).await?;
    let link = agent.node("back-to-cart")?;
    agent
        .send(Message::Click(Click {
            node: link,
            x: 0,
            y: 0,
            button: Button::Primary,
        }))
        .await?;
    for node in [city, link] {
        agent
            .until("the refusal outside the area", |m| {
                matches!(
                    m,
                    Message::InputDropped(InputRefused {
                        node: n,
                        reason: Refusal::OutsideScope
                    }) if *n == node
                )
            })
            .await?;
    }
    ensure!(
        value(&browser, "city").await?.is_empty(),
        "typed outside the area"
    );
    ensure!(
        path(&browser).await? == "/demo/checkout.html",
        "a click outside the area followed the link"
    );
    // The banner says the agent controls one area, still outlined.
    let banner = run(
        &browser,
        "const r = document.getElementById('cobrowse-ui').shadowRoot;
         done([r.querySelector('[role=status]').textContent, !!r.querySelector('[data-cobrowse-area]')])",
    )
    .await?;
    ensure!(
        banner[0]
            .as_str()
            .is_some_and(|t| t.contains("outlined area"))
            && banner[1] == true,
        "{banner}"
    );
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_scoped_grant_follows_its_area_as_it_grows_refuses_leaving_the_page_and_ends_when_it_goes(
) -> anyhow::Result<()> {
    let (_relay, browser, mut agent) = paired("/demo/checkout.html", None).await?;
    let form = agent.node("checkout")?;
    agent
        .send(Message::AreaRequest(AreaRequest { node: form }))
        .await?;
    allow_for(&browser, 0).await?;
    agent.until("granted", granted_status).await?;

    // The link inside the area is in the relay's set, so it passes the first gate; the page
    // refuses it, since following it would leave the page.
    let link = agent.node("back-to-cart")?;
    agent
        .send(Message::Click(Click {
            node: link,
            x: 0,
            y: 0,
            button: Button::Primary,
        }))
        .await?;
    agent
        .until("the page's refusal", |m| {
            matches!(m, Message::InputRefused(InputRefused { node, reason: Refusal::OutsideScope }) if *node == link)
        })
        .await?;
    ensure!(
        path(&browser).await? == "/demo/checkout.html",
        "the link was followed"
    );

    // A field added inside the area is the agent's to fill once the page told the relay.
    run(
        &browser,
        "const i = document.createElement('input'); i.id = 'gift-note';
         document.getElementById('checkout').append(i); done(true);",
    )
    .await?;
    agent
        .until("the new field in the mirror", |m| {
            matches!(m, Message::ScopeUpdate(_))
        })
        .await?;
    let note = agent.node("gift-note")?;
    agent.send(type_into(note, "Happy birthday")).await?;
    e2e::wait_for("typed note", WAIT, || async {
        value(&browser, "gift-note")
            .await
            .ok()
            .filter(|v| v == "Happy birthday")
    })
    .await?;

    // The area leaves the page: the grant ends, and the agent hears why.
    run(
        &browser,
        "document.getElementById('checkout').remove(); done(true);",
    )
    .await?;
    agent
        .until("the grant's end", |m| {
            matches!(
                m,
                Message::GrantStatus(GrantStatus {
                    mode: SessionMode::ReadOnly,
                    reason: ModeReason::ScopeRemoved,
                    ..
                })
            )
        })
        .await?;
    wait_event(&browser, "revoked").await?;
    browser.close().await?;
    Ok(())
}
