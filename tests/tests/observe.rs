//! A supervisor observes a running co-browse in real headless Chromium, against the real relay:
//! the customer shares the checkout with an agent; the supervisor picks the session on the
//! Observe page, where the page stays sealed (the session is end-to-end encrypted for the
//! agent's console, and the observer is told so); the customer's banner says two people are viewing;
//! what the observer's mirror sends (a control request, a pointer) never reaches the customer,
//! and the agent's stream goes on; when the supervisor stops, the banner is back to one viewer.

mod cobrowse;

use anyhow::{ensure, Result};
use cobrowse::*;
use e2e::{Browser, Relay};

const BANNER: &str = "document.getElementById('cobrowse-ui').shadowRoot.querySelector('.bar')";

#[tokio::test]
async fn a_supervisor_observing_an_encrypted_co_browse_sees_no_page_gets_no_control_and_is_named_on_the_banner(
) -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let token = login(&relay.base).await?;
    let (id, key) = start_key(&relay.base, &token).await?;
    let customer = Browser::start().await?;
    open(&customer, &relay.base, "/demo/checkout.html").await?;
    let started = start_with_key(&customer, &key).await?;
    ensure!(started["id"].as_str() == Some(id.as_str()), "{started}");
    let mut agent = Agent::join(&relay.base, &token, &id).await?;
    agent.snapshot_of("/demo/checkout.html").await?;
    customer
        .until(
            "one viewer on the banner",
            &format!("/An agent is viewing/.test({BANNER}.textContent)"),
        )
        .await?;

    let supervisor = Browser::start().await?;
    supervisor
        .client
        .goto(&relay.url("/console/observe.html"))
        .await?;
    supervisor.sign_in("supervisor").await?;
    let row = format!("tr[data-session='{id}'] button.observe");
    supervisor
        .until(
            "the session listed",
            &format!("document.querySelector(\"{row}\")"),
        )
        .await?;
    supervisor.click(&row).await?;
    // The session is end-to-end encrypted for the agent's console: the observer is counted
    // and told so, and sees nothing of the page (keying an observer needs the customer's
    // consent, not built yet).
    supervisor
        .until(
            "the observer told the page is sealed",
            "document.getElementById('watch-state').dataset.sealed === 'true'",
        )
        .await?;
    ensure!(
        supervisor
            .js("return !document.getElementById('mirror').contentDocument.getElementById('place-order')")
            .await?
            == true,
        "the observer's mirror shows the encrypted page"
    );
    customer
        .until(
            "two viewers on the banner",
            &format!(
                "{BANNER}.dataset.viewers === '2' && /2 people are viewing/.test({BANNER}.textContent)"
            ),
        )
        .await?;
    supervisor.screenshot("observe-mirror").await?;
    customer.screenshot("observe-customer-banner").await?;

    // The observer's mirror asks for control and moves a pointer: the customer is never asked,
    // sees no pointer, and the session stays read-only for the agent.
    supervisor
        .js("window.observerMirror.requestControl(); window.observerMirror.pointer(40, 40); return 1")
        .await?;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let asked = customer
        .js("return !!document.getElementById('cobrowse-ui').shadowRoot.querySelector('[data-act=allow]')")
        .await?;
    ensure!(
        asked == false,
        "the customer was asked to grant control to the observer"
    );
    let state: serde_json::Value = reqwest::Client::new()
        .get(relay.url(&format!("/api/cobrowse/sessions/{id}")))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    ensure!(
        state["mode"] != "requested" && state["observers"] == 1,
        "the session after the observer's tries: {state}"
    );
    // The agent's own stream goes on: a change on the page reaches it.
    customer
        .js("document.getElementById('city').value = 'x'; document.getElementById('city').dispatchEvent(new Event('input', {bubbles: true})); return 1")
        .await?;
    agent
        .until("the page's change", |m| {
            matches!(m, protocol::Message::InputValue(_))
        })
        .await?;

    // The supervisor stops observing: one viewer again.
    supervisor.click("#stop").await?;
    customer
        .until(
            "one viewer again",
            &format!("{BANNER}.dataset.viewers === '1' && /An agent is viewing/.test({BANNER}.textContent)"),
        )
        .await?;
    customer.close().await?;
    supervisor.close().await?;
    Ok(())
}
