//! The supervisor's wallboard in real headless Chromium against the real relay, beside an
//! agent's desk in a second browser: the board fills and moves by push as calls and chats
//! arrive (the page is never reloaded); the agent takes a call; the supervisor's assignment of
//! a waiting chat to her is refused without force (she is on a call) and made with it; her
//! desk shows the chat at once, and so does the board. Screenshots go to
//! `tests/output/wallboard-*.png`, and the live board to `/work/notes/wallboard.png` when that
//! folder exists.

use std::time::Duration;

use anyhow::{ensure, Result};
use e2e::{output_dir, wait_for, Browser, Relay};
use fantoccini::Locator;
use serde_json::{json, Value};

const CONNECTOR: &str = "pbx=wallboard-connector-token-0123456789";
const TOKEN: &str = "wallboard-connector-token-0123456789";
const WAIT: Duration = Duration::from_secs(15);

async fn post(http: &reqwest::Client, url: String, bearer: &str, body: Value) -> Result<Value> {
    let r = http
        .post(url)
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await?;
    ensure!(r.status().is_success(), "{}", r.status());
    Ok(r.json().await?)
}

async fn until_shown(browser: &Browser, what: &str, selector: &str) -> Result<()> {
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

async fn shot(browser: &Browser, name: &str) -> Result<Vec<u8>> {
    let png = browser.client.screenshot().await?;
    std::fs::write(output_dir().join(format!("wallboard-{name}.png")), &png)?;
    Ok(png)
}

#[tokio::test]
async fn a_supervisor_force_assigns_a_chat_to_an_agent_on_a_call_and_the_board_moves_by_push(
) -> Result<()> {
    let relay = Relay::start(&["--connector-token", CONNECTOR]).await?;
    let http = reqwest::Client::new();
    relay
        .cli(&["user", "add", "bob", "--role", "agent", "--password", "bob"])
        .await?;
    let login = post(
        &http,
        relay.url("/api/login"),
        "",
        json!({"name": "admin", "password": "admin"}),
    )
    .await?;
    let admin = login["token"].as_str().unwrap_or_default().to_owned();
    for queue in ["support", "sales"] {
        post(
            &http,
            relay.url("/api/routing/queues"),
            &admin,
            json!({ "name": queue }),
        )
        .await?;
    }

    // The supervisor opens the wallboard first: everything after this arrives by push.
    let board = Browser::start().await?;
    board
        .client
        .goto(&relay.url("/console/wallboard.html"))
        .await?;
    board.sign_in("supervisor").await?;
    board
        .until("the board is live", "window.wallboard.renders > 0")
        .await?;
    board.js("window.neverReloaded = true; return 1").await?;
    let nav: String = board
        .client
        .find(Locator::Css("nav.pages"))
        .await?
        .text()
        .await?;
    ensure!(
        nav.contains("Wallboard") && !nav.contains("Agent desk"),
        "{nav}"
    );

    // Bob signs in to routing (over the API) and goes away: a stuck agent on the board.
    let bob = post(
        &http,
        relay.url("/api/login"),
        "",
        json!({"name": "bob", "password": "bob"}),
    )
    .await?;
    let bob = bob["token"].as_str().unwrap_or_default().to_owned();
    post(
        &http,
        relay.url("/api/routing/presence"),
        &bob,
        json!({ "presence": "away" }),
    )
    .await?;
    board
        .until(
            "bob on the board",
            "document.querySelector('tr[data-agent=bob] .state.away')",
        )
        .await?;

    // The agent, in her own browser, goes available and takes a call.
    let desk = Browser::start().await?;
    desk.client
        .goto(&relay.url("/console/agent-desk.html"))
        .await?;
    desk.sign_in("agent").await?;
    until_shown(&desk, "the desk", "#view-desk:not([hidden])").await?;
    desk.js(
        "const s = document.getElementById('presence'); s.value = 'available';
         s.dispatchEvent(new Event('change')); return 1",
    )
    .await?;
    until_shown(&desk, "status available", "#status.available").await?;
    post(
        &http,
        relay.url("/api/telephony/calls"),
        TOKEN,
        json!({"id": "call-1", "queue": "support"}),
    )
    .await?;
    until_shown(
        &desk,
        "the offer",
        ".item.offered[data-id='call-1'] button.accept",
    )
    .await?;
    desk.click(".item.offered[data-id='call-1'] button.accept")
        .await?;
    until_shown(
        &desk,
        "the call",
        "[data-id='call-1'][data-state='connected']",
    )
    .await?;
    board
        .until(
            "the agent on the call, on the board",
            "document.querySelector(\"tr[data-agent=agent] li[data-interaction='call-1'][data-state=connected]\")",
        )
        .await?;

    // A chat and a second call arrive while she is on the call: they wait, on the board.
    let before: u64 = board
        .js("return window.wallboard.renders")
        .await?
        .as_u64()
        .unwrap_or_default();
    for (id, media, queue) in [("chat-1", "chat", "support"), ("call-2", "call", "sales")] {
        post(
            &http,
            relay.url("/api/routing/interactions"),
            TOKEN,
            json!({ "id": id, "queue": queue, "media": media }),
        )
        .await?;
    }
    board
        .until(
            "the waiting chat and call, pushed",
            "document.querySelector(\"#waiting tr[data-interaction='chat-1']\")
             && document.querySelector(\"#waiting tr[data-interaction='call-2']\")
             && document.querySelector(\"#queues tr[data-queue=sales] .waiting-count\").textContent === '1'",
        )
        .await?;
    let after = board.js("return window.wallboard.renders").await?;
    ensure!(after.as_u64().unwrap_or_default() > before, "{after}");
    ensure!(
        board.js("return window.neverReloaded === true").await? == json!(true),
        "the board reloaded"
    );

    // Assign the chat to her: refused without force (she is on a call), made with it.
    board
        .click("#waiting tr[data-interaction='chat-1'] button.assign")
        .await?;
    until_shown(&board, "the assign dialog", "#assign-dialog[open]").await?;
    board
        .js("document.getElementById('assign-agent').value = 'agent'; return 1")
        .await?;
    board.click("#assign-go").await?;
    until_shown(&board, "the refusal", "#assign-error:not([hidden])").await?;
    let refusal = board
        .client
        .find(Locator::Id("assign-error"))
        .await?
        .text()
        .await?;
    ensure!(refusal.contains("Force"), "{refusal}");
    // Keyboard: the force box is a real checkbox in the dialog's tab order.
    board.type_into("assign-force", " ").await?;
    ensure!(
        board
            .js("return document.getElementById('assign-force').checked")
            .await?
            == json!(true),
        "the space bar did not tick Force"
    );
    board.click("#assign-go").await?;
    until_shown(&board, "the notice", "#board-notice:not([hidden])").await?;
    let notice = board
        .client
        .find(Locator::Id("board-notice"))
        .await?
        .text()
        .await?;
    ensure!(notice.contains("forced"), "{notice}");

    // Her desk shows the chat at once (pushed on /ws/desk), beside the call that goes on.
    until_shown(
        &desk,
        "the assigned chat",
        "[data-id='chat-1'][data-state='connected']",
    )
    .await?;
    until_shown(
        &desk,
        "the call",
        "[data-id='call-1'][data-state='connected']",
    )
    .await?;
    shot(&desk, "agent-desk").await?;
    board
        .until(
            "the chat on her row of the board, marked forced",
            "document.querySelector(\"tr[data-agent=agent] li[data-interaction='chat-1'][data-state=connected] .forced\")
             && !document.querySelector(\"#waiting tr[data-interaction='chat-1']\")",
        )
        .await?;
    // Times in state and waits tick on by themselves, between boards.
    board
        .until(
            "times counting on",
            "['tr[data-agent=agent] .since', \"#waiting tr[data-interaction='call-2'] .since\"]
               .every((s) => /^([3-9]|\\d\\d+) s|min/.test(document.querySelector(s).textContent))",
        )
        .await?;
    let png = shot(&board, "live").await?;
    let notes = std::path::Path::new("/work/notes");
    if notes.is_dir() {
        std::fs::write(notes.join("wallboard.png"), png)?;
    }

    // Bob is stuck away: the supervisor signs him out from the board.
    board.click("tr[data-agent=bob] button.sign-out").await?;
    board
        .until(
            "bob signed out",
            "document.querySelector('tr[data-agent=bob] .state.offline')",
        )
        .await?;

    desk.close().await?;
    board.close().await?;
    tokio::time::timeout(Duration::from_secs(5), relay.kill()).await??;
    Ok(())
}
