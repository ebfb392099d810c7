//! Routing in a real browser against the real relay: an agent signs in to the agent desk, goes
//! available, gets a call offered through the telephony connector API, accepts it, the call
//! ends, the agent wraps up with a code; the reports page then shows the call. Screenshots of
//! each state go to `tests/output/routing-*.png`.

use std::time::Duration;

use e2e::{output_dir, wait_for, Browser, Relay};
use fantoccini::Locator;
use serde_json::{json, Value};

const CONNECTOR: &str = "pbx=e2e-connector-token-0123456789";
const TOKEN: &str = "e2e-connector-token-0123456789";
const WAIT: Duration = Duration::from_secs(15);

async fn shot(browser: &Browser, name: &str) -> anyhow::Result<()> {
    let png = browser.client.screenshot().await?;
    std::fs::write(output_dir().join(format!("routing-{name}.png")), png)?;
    Ok(())
}

/// Waits until `selector` matches an element in the page.
async fn until_shown(browser: &Browser, what: &str, selector: &str) -> anyhow::Result<()> {
    wait_for(what, WAIT, || async {
        browser
            .client
            .find(Locator::Css(selector))
            .await
            .ok()
            .map(drop)
    })
    .await
}

async fn post(
    http: &reqwest::Client,
    url: String,
    bearer: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let r = http
        .post(url)
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "{}", r.status());
    Ok(r.json().await?)
}

#[tokio::test]
async fn an_agent_goes_available_accepts_a_call_and_wraps_up() -> anyhow::Result<()> {
    let relay = Relay::start(&["--connector-token", CONNECTOR]).await?;
    let http = reqwest::Client::new();
    let login = post(
        &http,
        relay.url("/api/login"),
        "",
        json!({"name": "admin", "password": "admin"}),
    )
    .await?;
    // The agent also supervises: it reads the reports page after its call.
    relay
        .cli(&["user", "role", "agent", "--add", "supervisor"])
        .await?;
    let admin = login["token"].as_str().unwrap_or_default().to_owned();
    post(
        &http,
        relay.url("/api/routing/queues"),
        &admin,
        json!({"name": "support", "wrap_up_codes": ["resolved", "callback"]}),
    )
    .await?;

    let browser = Browser::start().await?;
    browser
        .client
        .goto(&relay.url("/console/agent-desk.html"))
        .await?;
    until_shown(&browser, "the sign-in form", "#view-login:not([hidden])").await?;
    browser
        .client
        .find(Locator::Id("login-name"))
        .await?
        .send_keys("agent")
        .await?;
    browser
        .client
        .find(Locator::Id("login-password"))
        .await?
        .send_keys("agent")
        .await?;
    browser
        .client
        .find(Locator::Css("#login-form button[type=submit]"))
        .await?
        .click()
        .await?;
    until_shown(&browser, "the desk", "#view-desk:not([hidden])").await?;

    browser
        .client
        .execute(
            "const s = document.getElementById('presence'); s.value = 'available';
             s.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await?;
    until_shown(&browser, "status available", "#status.available").await?;
    shot(&browser, "1-available").await?;

    post(
        &http,
        relay.url("/api/telephony/calls"),
        TOKEN,
        json!({"id": "call-e2e", "queue": "support"}),
    )
    .await?;
    until_shown(
        &browser,
        "the offer",
        ".item.offered[data-id='call-e2e'] .countdown",
    )
    .await?;
    shot(&browser, "2-offer").await?;
    browser
        .client
        .find(Locator::Css(
            ".item.offered[data-id='call-e2e'] button.accept",
        ))
        .await?
        .click()
        .await?;
    until_shown(
        &browser,
        "the connected call",
        "[data-id='call-e2e'][data-state='connected']",
    )
    .await?;
    shot(&browser, "3-connected").await?;

    post(
        &http,
        relay.url("/api/telephony/calls/call-e2e/ended"),
        TOKEN,
        json!({}),
    )
    .await?;
    until_shown(&browser, "the wrap-up dialog", "#wrapup-dialog[open]").await?;
    browser
        .client
        .execute(
            "document.getElementById('wrapup-code').value = 'callback';",
            vec![],
        )
        .await?;
    shot(&browser, "4-wrap-up").await?;
    browser
        .client
        .find(Locator::Id("wrapup-done"))
        .await?
        .click()
        .await?;
    until_shown(&browser, "an empty desk", "#work .empty").await?;
    assert!(browser
        .client
        .find(Locator::Css("#wrapup-dialog[open]"))
        .await
        .is_err());

    browser
        .client
        .goto(&relay.url("/console/reports.html"))
        .await?;
    until_shown(&browser, "the queue row", "#queues tbody tr").await?;
    let row = browser
        .client
        .find(Locator::Css("#queues tbody tr"))
        .await?
        .text()
        .await?;
    assert!(row.starts_with("support 1 1 0"), "{row}");
    until_shown(&browser, "the charts", "#volume-chart svg rect").await?;
    shot(&browser, "5-reports").await?;

    browser.close().await?;
    tokio::time::timeout(Duration::from_secs(5), relay.kill()).await??;
    Ok(())
}
