//! Messaging end to end: the widget on a customer page and the inbox console in two headless
//! Chromium instances exchange messages through the real relay (typing, read receipts), and
//! a hard kill of the relay mid-stream loses no acknowledged message, and a first-time visitor
//! can attach a file before writing anything. Screenshots go to
//! `tests/output/messaging-*.png`.

use anyhow::Context;
use e2e::{Browser, Relay, Writers, WIDGET};
use serde_json::{json, Value};

async fn js(browser: &Browser, script: &str) -> anyhow::Result<Value> {
    browser.js(script).await
}

async fn until(browser: &Browser, what: &str, expr: &str) -> anyhow::Result<()> {
    browser.until(what, expr).await
}

async fn shot(browser: &Browser, name: &str) -> anyhow::Result<()> {
    browser.screenshot(&format!("messaging-{name}")).await
}

#[tokio::test]
async fn a_widget_visitor_and_an_inbox_agent_exchange_messages_with_typing_and_read_receipts(
) -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    let (console, customer) = tokio::try_join!(Browser::start(), Browser::start())?;
    console.client.set_window_size(1400, 900).await?;

    customer
        .client
        .goto(&relay.url("/messaging/demo.html"))
        .await?;
    customer.widget_sends("Hello from the widget").await?;

    console
        .client
        .goto(&relay.url("/console/inbox.html"))
        .await?;
    console
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'},
               body: JSON.stringify({name: 'agent', password: 'agent'})}).then(r => done(r.status));",
            vec![],
        )
        .await?;
    console
        .client
        .goto(&relay.url("/console/inbox.html"))
        .await?;
    until(
        &console,
        "the waiting conversation",
        "document.querySelector('#waiting .conv .last').textContent === 'Hello from the widget'",
    )
    .await?;
    js(
        &console,
        "document.querySelector('#waiting .conv').click(); return 1",
    )
    .await?;
    until(
        &console,
        "the Take button",
        "!document.getElementById('take').hidden",
    )
    .await?;
    js(
        &console,
        "document.getElementById('take').click(); return 1",
    )
    .await?;
    until(
        &console,
        "the taken conversation",
        "document.querySelector('#mine .conv')",
    )
    .await?;

    // The agent opened it, so the customer sees "Read" on its message.
    until(
        &customer,
        "the read receipt in the widget",
        &format!("{WIDGET}.querySelector('.msg.customer .meta').textContent === 'Read'"),
    )
    .await?;

    // Typing shows on the other side.
    js(
        &customer,
        &format!(
            "const t = {WIDGET}.querySelector('textarea'); t.value = 'and'; 
             t.dispatchEvent(new Event('input')); return 1"
        ),
    )
    .await?;
    until(
        &console,
        "the customer typing",
        "document.getElementById('typing').textContent.includes('typing')",
    )
    .await?;

    js(
        &console,
        "document.getElementById('text').value = 'Hi! How can I help?';
         document.getElementById('quick').value = 'Returns, Delivery';
         document.getElementById('compose').requestSubmit(); return 1",
    )
    .await?;
    until(
        &customer,
        "the agent's reply with quick replies",
        &format!(
            "[...{WIDGET}.querySelectorAll('.msg.agent')].some(m => m.textContent.includes('How can I help'))
             && {WIDGET}.querySelectorAll('.quick button').length === 2"
        ),
    )
    .await?;
    shot(&customer, "widget").await?;
    js(
        &customer,
        &format!("{WIDGET}.querySelector('.quick button').click(); return 1"),
    )
    .await?;
    until(
        &console,
        "the quick reply in the inbox",
        "[...document.querySelectorAll('#log .msg.customer')].some(m => m.textContent.startsWith('Returns'))",
    )
    .await?;
    shot(&console, "inbox").await?;
    Ok(())
}

#[tokio::test]
async fn every_acknowledged_message_survives_a_hard_kill_of_the_relay() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("messages.db");
    let db_arg = db.to_str().context("utf-8 path")?.to_owned();
    // Forty guests from one address: more than the sign-up limits let one address start.
    let relay = Relay::start(&[
        "--database-url",
        &db_arg,
        "--guest-tokens-per-address",
        "100/50",
        "--conversation-starts-per-address",
        "100/50",
    ])
    .await?;
    let writers = Writers::start(&relay, 40).await?;
    writers.until_acked(120).await?;
    relay.kill().await?;
    let relay = Relay::start(&["--database-url", &db_arg]).await?;
    let total = writers.all_stored_in(&relay).await?;
    assert!(total >= 120, "{total} acknowledged");
    Ok(())
}

#[tokio::test]
async fn a_first_time_visitor_attaches_a_picture_before_writing_anything() -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    let customer = Browser::start().await?;
    customer
        .client
        .goto(&relay.url("/messaging/demo.html"))
        .await?;
    customer
        .press("the widget", &format!("{WIDGET}.querySelector('.launch')"))
        .await?;
    // What the file picker would hand the page: a tiny PNG.
    js(
        &customer,
        &format!(
            "const input = {WIDGET}.querySelector('input.file');
             const png = Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII='), c => c.charCodeAt(0));
             const dt = new DataTransfer();
             dt.items.add(new File([png], 'receipt.png', {{type: 'image/png'}}));
             input.files = dt.files;
             input.dispatchEvent(new Event('change'));
             return 1"
        ),
    )
    .await?;
    until(
        &customer,
        "the picture in the visitor's message",
        &format!("{WIDGET}.querySelector('.msg.customer img[alt=\"receipt.png\"]')"),
    )
    .await?;
    let refused = js(
        &customer,
        &format!("[...{WIDGET}.querySelectorAll('.msg.system')].map(e => e.textContent).join('|')"),
    )
    .await?;
    anyhow::ensure!(
        !refused.as_str().unwrap_or_default().contains("refused"),
        "the widget showed: {refused}"
    );
    shot(&customer, "attachment-first").await?;
    Ok(())
}

#[tokio::test]
async fn another_agent_cannot_open_an_agents_conversation_in_the_inbox_and_a_supervisor_reads_it(
) -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    relay
        .cli(&["user", "add", "bob", "--role", "agent", "--password", "bob"])
        .await?;
    let alice = relay.token_of("agent").await?;
    let (conversation, _guest) = relay.conversation_of(&alice).await?;
    let link = relay.url(&format!("/console/inbox.html#conversation={conversation}"));

    // Bob follows a link to the demo agent's conversation: the page refuses it, naming why,
    // shows nothing of it, and does not list it; the API refuses him too.
    let bob = Browser::start().await?;
    bob.client.goto(&link).await?;
    bob.sign_in("bob").await?;
    until(
        &bob,
        "the refusal",
        "/You may not open this conversation/.test(document.getElementById('no-conv').textContent)",
    )
    .await?;
    let page = js(
        &bob,
        "return { conv: document.getElementById('conv').hidden,
                  role: document.getElementById('no-conv').getAttribute('role'),
                  text: document.getElementById('no-conv').textContent,
                  body: document.body.innerText,
                  listed: document.querySelectorAll('.conv').length }",
    )
    .await?;
    anyhow::ensure!(
        page["conv"] == json!(true)
            && page["role"] == "alert"
            && page["text"]
                .as_str()
                .is_some_and(|t| t.contains("work.read_any")),
        "bob's page: {page}"
    );
    anyhow::ensure!(
        !page["body"]
            .as_str()
            .unwrap_or_default()
            .contains("can you show me?")
            && page["listed"] == json!(0),
        "bob's page shows the customer's words or lists the conversation: {page}"
    );
    let api = bob
        .eval_async(&format!(
            "const done = arguments[arguments.length - 1];
             Promise.all(['', '/messages'].map((tail) => fetch('/api/messaging/conversations/{conversation}' + tail,
                 tail ? {{ method: 'POST', headers: {{ 'Content-Type': 'application/json' }}, body: JSON.stringify({{ text: 'hi' }}) }} : {{}})
               .then((r) => r.status))).then(done)"
        ))
        .await?;
    anyhow::ensure!(api == json!([403, 403]), "bob's read and send: {api}");
    // His page links are an agent's: no wallboard, observing, reports or settings.
    until(
        &bob,
        "an agent's page links",
        "[...document.querySelectorAll('nav.pages a')].map((a) => a.textContent).join() === 'Co-browse,Inbox,Agent desk,API'",
    )
    .await?;
    shot(&bob, "refused").await?;

    // The supervisor following the same link reads it, without a composer.
    let boss = Browser::start().await?;
    boss.client.goto(&link).await?;
    boss.sign_in("supervisor").await?;
    until(
        &boss,
        "the conversation read",
        "!document.getElementById('conv').hidden && /can you show me\\?/.test(document.getElementById('log').textContent)",
    )
    .await?;
    let read_only = js(
        &boss,
        "return document.getElementById('compose').hidden && !document.getElementById('others').hidden",
    )
    .await?;
    anyhow::ensure!(read_only == json!(true), "the supervisor may write in it");

    // Nothing bob tried reached the conversation.
    let view: Value = reqwest::Client::new()
        .get(relay.url(&format!("/api/messaging/conversations/{conversation}")))
        .bearer_auth(&alice)
        .send()
        .await?
        .json()
        .await?;
    let texts: Vec<&str> = view["history"][0]["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["text"].as_str())
        .collect();
    anyhow::ensure!(texts == ["can you show me?"], "{texts:?}");
    bob.close().await?;
    boss.close().await?;
    Ok(())
}
