//! The admin's settings page in real headless Chromium against the real relay: an admin adds a
//! mask selector to the demo site, and a customer's page that was sharing the City field in
//! clear masks it from its next page load on (no restart, nothing cached), while the agent
//! mirrors the page over the real protocol. The people tab adds a person whom the relay then
//! signs in with the roles the admin ticked; the routing tab adds a queue with wrap-up codes
//! and a skill (routing at once) and sets a signed-in agent's queues, skills and capacity
//! (applying at once); the connectors tab issues a telephony connector whose token, shown once,
//! offers a call, which reaches that agent.

mod cobrowse;

use anyhow::{ensure, Result};
use cobrowse::*;
use e2e::{wait_for, Browser, Relay};
use fantoccini::Locator;
use protocol::{InputValue, Message};
use serde_json::{json, Value};

/// The customer types `text` into the City field, as a person would (an input event).
async fn type_city(browser: &Browser, text: &str) -> Result<()> {
    run(
        browser,
        &format!(
            "const c = document.getElementById('city'); c.focus(); c.value = {text:?};
             c.dispatchEvent(new Event('input', {{ bubbles: true }})); done(true);"
        ),
    )
    .await
    .map(drop)
}

/// The next value the agent receives for the City field.
async fn city_seen(agent: &mut Agent) -> Result<String> {
    let city = agent.node("city")?;
    let m = agent
        .until(
            "the City field's value",
            |m| matches!(m, Message::InputValue(InputValue { node, .. }) if *node == city),
        )
        .await?;
    Ok(format!("{m:?}"))
}

/// Signs `name` in on the settings page and waits for the settings.
async fn sign_in(browser: &Browser, name: &str) -> Result<()> {
    browser.sign_in(name).await?;
    browser
        .until(
            "the settings",
            "!document.getElementById('view-settings').hidden",
        )
        .await
}

/// The demo site's rules as its pages read them.
async fn demo_config(relay: &Relay) -> Result<Value> {
    Ok(reqwest::Client::new()
        .get(relay.url("/api/cobrowse/sites/demo/config"))
        .send()
        .await?
        .json()
        .await?)
}

/// The settings page's sites tab, signed in as the admin, on the demo site's form.
async fn demo_site_form(relay: &Relay) -> Result<Browser> {
    let admin = Browser::start().await?;
    admin
        .client
        .goto(&relay.url("/console/settings.html"))
        .await?;
    sign_in(&admin, "admin").await?;
    admin.click("#tab-sites").await?;
    admin
        .until(
            "the demo site on the form",
            "document.getElementById('site-title').textContent === 'Site demo'",
        )
        .await?;
    Ok(admin)
}

#[tokio::test]
async fn an_admin_masks_a_field_in_the_settings_page_and_the_customer_page_masks_it_from_its_next_load(
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
    // Before: the City field is not masked, so the agent reads it (the test can fail).
    type_city(&customer, "Springfield-before").await?;
    let before = city_seen(&mut agent).await?;
    ensure!(
        before.contains("Springfield-before"),
        "the unmasked field did not reach the agent: {before}"
    );

    // The admin adds `#city` to the demo site's mask list in the settings page.
    let admin = demo_site_form(&relay).await?;
    let nav = admin
        .client
        .find(Locator::Css("nav.pages"))
        .await?
        .text()
        .await?;
    ensure!(
        nav.contains("Settings") && !nav.contains("Agent desk"),
        "{nav}"
    );
    // A selector a browser would refuse is refused with the relay's reason, nothing saved.
    admin
        .js("const m = document.getElementById('mask'); m.value += '\\ninput[type='; return 1")
        .await?;
    admin.click("#site-save").await?;
    admin
        .until(
            "the refusal",
            "!document.getElementById('site-error').hidden && /mask/.test(document.getElementById('site-error').textContent)",
        )
        .await?;
    admin
        .js("const m = document.getElementById('mask'); m.value = m.value.replace('\\ninput[type=', ''); return 1")
        .await?;
    admin.type_into("mask", "\n#city").await?;
    admin.click("#site-save").await?;
    admin
        .until("the save", "window.settings.saved === 1")
        .await?;
    admin.screenshot("settings-sites").await?;
    let stored = demo_config(&relay).await?;
    ensure!(
        stored.to_string().contains("#city") && stored.to_string().contains(".account-number"),
        "the page's config after the save: {stored}"
    );

    // The customer's next page load takes the new rules: the session goes on, masked.
    customer
        .client
        .goto(&relay.url("/demo/checkout.html"))
        .await?;
    watch(&customer).await?;
    agent.snapshot_of("/demo/checkout.html").await?;
    type_city(&customer, "Springfield-after").await?;
    let after = city_seen(&mut agent).await?;
    ensure!(
        !after.contains("Springfield-after"),
        "the masked field reached the agent in clear: {after}"
    );
    let everything = format!("{:?}", agent.seen);
    ensure!(
        !everything.contains("Springfield-after"),
        "the masked value is in a frame the agent received"
    );

    // The people tab: a new supervisor, who then signs in with that role.
    admin.click("#tab-people").await?;
    for (field, text) in [("new-name", "dora"), ("new-password", "dora-password")] {
        admin.type_into(field, text).await?;
    }
    admin
        .js(
            "document.querySelector('#new-roles [data-role=agent]').checked = false;
             document.querySelector('#new-roles [data-role=supervisor]').checked = true; return 1",
        )
        .await?;
    admin.click("#person-form button[type=submit]").await?;
    admin
        .until(
            "dora listed",
            "document.querySelector('tr[data-person=dora] [data-role=supervisor]:checked')",
        )
        .await?;
    let dora: Value = wait_for("dora signs in", WAIT, || async {
        let r = reqwest::Client::new()
            .post(relay.url("/api/login"))
            .json(&json!({"name": "dora", "password": "dora-password"}))
            .send()
            .await
            .ok()?;
        r.json::<Value>().await.ok()
    })
    .await?;
    ensure!(dora["agent"]["roles"] == json!(["supervisor"]), "{dora}");

    // The routing tab: a queue with wrap-up codes and a skill it needs, routing at once, and
    // the profile of an agent already signed in to routing, applying at once too.
    let agent_token = relay.token_of("agent").await?;
    let signed_in = reqwest::Client::new()
        .post(relay.url("/api/routing/presence"))
        .bearer_auth(&agent_token)
        .json(&json!({"presence": "available"}))
        .send()
        .await?
        .status();
    ensure!(
        signed_in.is_success(),
        "the agent signs in to routing: {signed_in}"
    );
    admin.click("#tab-routing").await?;
    admin
        .until(
            "the profile form",
            "document.querySelector('#profile-person option[value=agent]')",
        )
        .await?;
    for (field, text) in [
        ("queue-name", "billing"),
        ("queue-skills", "7:2"),
        ("queue-codes", "paid, refund"),
    ] {
        admin.type_into(field, text).await?;
    }
    admin.click("#queue-form button[type=submit]").await?;
    admin
        .until(
            "billing listed",
            "document.querySelector('tr[data-queue=billing]') && document.querySelector('#profile-queues [data-queue=billing]')",
        )
        .await?;
    admin
        .js("document.getElementById('profile-person').value = 'agent';
             document.querySelector('#profile-queues [data-queue=billing]').checked = true;
             document.getElementById('cap-chat').value = '2'; return 1")
        .await?;
    // A skill typed wrong is refused in the page, and nothing is saved.
    admin.type_into("profile-skills", "7:x").await?;
    admin.click("#profile-save").await?;
    admin
        .until(
            "the bad skill refused",
            "/not skill:level/.test(document.getElementById('profile-error').textContent)",
        )
        .await?;
    admin
        .js("document.getElementById('profile-skills').value = '7:3'; return 1")
        .await?;
    admin.click("#profile-save").await?;
    admin
        .until(
            "the profile saved",
            "/routing profile saved/.test(document.getElementById('notice').textContent)",
        )
        .await?;
    let admin_token = relay.token_of("admin").await?;
    let http = reqwest::Client::new();
    let queues: Value = http
        .get(relay.url("/api/routing/queues"))
        .bearer_auth(&admin_token)
        .send()
        .await?
        .json()
        .await?;
    let billing = queues
        .as_array()
        .and_then(|q| q.iter().find(|q| q["queue"]["name"] == "billing"))
        .cloned()
        .unwrap_or_default();
    ensure!(
        billing["queue"]["wrap_up_codes"] == json!(["paid", "refund"])
            && billing["queue"]["skills"] == json!([{"skill": 7, "level": 2}]),
        "the queue the page saved: {queues}"
    );
    let profile: Value = http
        .get(relay.url("/api/routing/agents/agent/profile"))
        .bearer_auth(&admin_token)
        .send()
        .await?
        .json()
        .await?;
    ensure!(
        profile["queues"] == json!(["billing"])
            && profile["capacity"]["chat"] == 2
            && profile["skills"] == json!([{"skill": 7, "level": 3}]),
        "the profile the page saved: {profile}"
    );
    admin.screenshot("settings-routing").await?;

    // The connectors tab: a telephony connector whose token, shown once, offers a call.
    admin.click("#tab-connectors").await?;
    admin.type_into("connector-name", "pbx").await?;
    admin.click("#connector-form button[type=submit]").await?;
    admin
        .until(
            "the token shown and the connector listed",
            "!document.getElementById('secret-box').hidden && document.querySelector('tr[data-connector=pbx]')",
        )
        .await?;
    let shown = admin
        .js("return document.getElementById('secret').textContent")
        .await?;
    let token = shown.as_str().unwrap_or_default().to_owned();
    let offered = http
        .post(relay.url("/api/telephony/calls"))
        .bearer_auth(&token)
        .json(&json!({"id": "call-7", "queue": "billing"}))
        .send()
        .await?
        .status();
    ensure!(
        token.len() == 64 && offered.is_success(),
        "the page's token {token:?} offered a call: {offered}"
    );
    // The agent signed in before billing existed; its new profile put it there at once.
    let desk: Value = http
        .get(relay.url("/api/routing/desk"))
        .bearer_auth(&agent_token)
        .send()
        .await?
        .json()
        .await?;
    ensure!(
        desk["work"][0]["interaction"] == "call-7" && desk["work"][0]["state"] == "offered",
        "billing's call is offered to the agent the profile put in billing: {desk}"
    );
    let listed = admin
        .js("return document.getElementById('connectors-table').textContent")
        .await?;
    ensure!(
        !listed.to_string().contains(&token),
        "the list shows the token"
    );
    customer.close().await?;
    admin.close().await?;
    Ok(())
}

/// An authenticated JSON call of the demo agent's.
async fn agent_api(
    relay: &Relay,
    token: &str,
    method: &str,
    path: &str,
    body: Value,
) -> Result<Value> {
    let method = reqwest::Method::from_bytes(method.as_bytes())?;
    let mut request = reqwest::Client::new()
        .request(method.clone(), relay.url(path))
        .bearer_auth(token);
    if method != reqwest::Method::GET {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status();
    let value: Value = response.json().await?;
    ensure!(status.is_success(), "{path}: {status} {value}");
    Ok(value)
}

#[tokio::test]
async fn an_admin_requires_encryption_and_an_invitation_in_a_chat_is_withdrawn_with_the_reason(
) -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let admin = demo_site_form(&relay).await?;
    admin.click("#requireEncryption").await?;
    admin.click("#site-save").await?;
    admin
        .until("the save", "window.settings.saved === 1")
        .await?;
    let stored = demo_config(&relay).await?;
    ensure!(stored["requireEncryption"] == json!(true), "{stored}");
    ensure!(
        stored.to_string().contains(".account-number"),
        "the other rules stay: {stored}"
    );

    // A visitor writes in the widget; the agent takes the conversation and invites to co-browse.
    let visitor = Browser::start().await?;
    visitor
        .client
        .goto(&relay.url("/messaging/demo.html"))
        .await?;
    visitor.widget_sends("Can you look at my screen?").await?;
    let token = login(&relay.base).await?;
    let waiting = agent_api(
        &relay,
        &token,
        "GET",
        "/api/messaging/conversations?scope=waiting",
        Value::Null,
    )
    .await?;
    let conversation = waiting[0]["conversation"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let base = format!("/api/messaging/conversations/{conversation}");
    agent_api(&relay, &token, "POST", &format!("{base}/assign"), json!({})).await?;
    let offer = agent_api(
        &relay,
        &token,
        "POST",
        "/api/cobrowse/offers",
        json!({"conversation_id": conversation, "interaction": "web_messaging"}),
    )
    .await?;
    let session = offer["session_id"].as_str().unwrap_or_default();
    let mut agent = Agent::join(&relay.base, &token, session).await?;
    agent_api(
        &relay,
        &token,
        "POST",
        &format!("{base}/messages"),
        json!({"text": "Press Accept to share your screen."}),
    )
    .await?;

    // The widget looks the offer up: no Accept button, and the reason, in the visitor's chat.
    let reason = "[...document.getElementById('cobrowse-messaging').shadowRoot.querySelectorAll('.msg.system')]\
        .some((m) => /security code/.test(m.textContent))";
    visitor.until("the reason in the widget", reason).await?;
    let accept = visitor
        .js("return !!document.getElementById('cobrowse-messaging').shadowRoot.querySelector('.offer')")
        .await?;
    ensure!(accept == json!(false), "an Accept was shown: {accept}");
    visitor.screenshot("settings-require-encryption").await?;
    // The agent's console is told why before its offered session ends.
    let told = agent
        .until("the refusal", |m| matches!(m, Message::Error(_)))
        .await?;
    ensure!(format!("{told:?}").contains("security code"), "{told:?}");
    Ok(())
}
