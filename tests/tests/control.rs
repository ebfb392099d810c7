//! The customer's side of co-browse in a real browser against the real relay, with a raw agent
//! client: pairing, read-only, consent to control, input applied or refused, revoke, navigation
//! and pause, and every way a session ends.

mod cobrowse;

use std::time::Duration;

use anyhow::Context;

use cobrowse::*;
use e2e::{Browser, Relay};
use protocol::{
    Button, Click, Empty, EndReason, FrameKind, InputRefused, Key, Message, ModeChanged, Refusal,
    SessionMode, SharingPaused, TextInput,
};

fn mode(m: SessionMode) -> impl Fn(&Message) -> bool {
    move |msg| matches!(msg, Message::ModeChanged(ModeChanged { mode, .. }) if *mode == m)
}

fn refused(reason: Refusal) -> impl Fn(&Message) -> bool {
    move |m| matches!(m, Message::InputRefused(InputRefused { reason: r, .. }) if *r == reason)
}

/// A paired session on `path`: (relay, token, session id, customer browser, agent).
async fn paired(
    extra: &[&str],
    path: &str,
) -> anyhow::Result<(Relay, String, String, Browser, Agent)> {
    let relay = Relay::start(extra).await?;
    let (token, id, browser, agent) = pair_by_key(&relay.base, path).await?;
    Ok((relay, token, id, browser, agent))
}

/// Control is granted the way a customer grants it: the agent asks, the customer allows.
async fn grant(browser: &Browser, agent: &mut Agent) -> anyhow::Result<()> {
    agent.send(Message::NavigationRequest(Empty)).await?;
    press(browser, "allow").await?;
    agent
        .until("granted", mode(SessionMode::NavigationGranted))
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_bad_key_rejects_with_a_clear_error_and_a_good_key_pairs_read_only() -> anyhow::Result<()>
{
    let relay = Relay::start(&[]).await?;
    let token = login(&relay.base).await?;
    let (id, key) = start_key(&relay.base, &token).await?;
    let browser = Browser::start().await?;
    open(&browser, &relay.base, "/demo/").await?;
    let bad = start_with_key(&browser, "000000000000").await?;
    assert!(
        bad["error"].as_str().is_some_and(|e| e.contains("key")),
        "{bad}"
    );
    let good = start_with_key(&browser, &key).await?;
    assert_eq!(good["id"].as_str(), Some(id.as_str()), "{good}");
    wait_event(&browser, "start").await?;
    let mut agent = Agent::join(&relay.base, &token, &id).await?;
    agent.snapshot_of("/demo/").await?;
    assert!(agent.node("products").is_ok());
    // The banner says an agent is viewing, and offers Stop.
    let banner = banner(&browser).await?;
    assert!(banner.contains("An agent is viewing"), "{banner}");
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn agent_input_never_changes_the_page_until_the_customer_allows_it() -> anyhow::Result<()> {
    let (_relay, _token, _id, browser, mut agent) = paired(&[], "/demo/checkout.html").await?;
    let name = agent.node("name")?;
    let link = agent.node("back-to-cart")?;
    // A hostile client sends input without asking: the relay drops it, the page never sees it.
    agent
        .send(Message::TextInput(TextInput {
            node: name,
            value: "HACKED".into(),
        }))
        .await?;
    agent
        .send(Message::Click(Click {
            node: link,
            x: 0,
            y: 0,
            button: Button::Primary,
        }))
        .await?;
    // Declined: still read-only.
    agent.send(Message::NavigationRequest(Empty)).await?;
    agent
        .until("requested", mode(SessionMode::NavigationRequested))
        .await?;
    press(&browser, "deny").await?;
    agent.until("declined", mode(SessionMode::ReadOnly)).await?;
    agent
        .send(Message::TextInput(TextInput {
            node: name,
            value: "HACKED".into(),
        }))
        .await?;
    // Accepted: now typing applies. The field's id is read again, as a console does from its
    // current mirror: any fresh snapshot since (a resync) numbers nodes anew, and ids are never
    // reused, so input aimed at an old one is refused, not misplaced.
    grant(&browser, &mut agent).await?;
    let name = agent.node("name")?;
    agent
        .send(Message::TextInput(TextInput {
            node: name,
            value: "Ada Lovelace".into(),
        }))
        .await?;
    e2e::wait_for("typed name", WAIT, || async {
        value(&browser, "name")
            .await
            .ok()
            .filter(|v| v == "Ada Lovelace")
    })
    .await?;
    assert_eq!(path(&browser).await?, "/demo/checkout.html");
    wait_event(&browser, "granted").await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn granted_agent_fills_checkout_is_refused_on_readonly_and_masked_and_follows_a_link(
) -> anyhow::Result<()> {
    let (_relay, _token, _id, browser, mut agent) = paired(&[], "/demo/checkout.html").await?;
    grant(&browser, &mut agent).await?;
    for (field, text) in [
        ("name", "Ada Lovelace"),
        ("email", "ada@example.com"),
        ("city", "London"),
    ] {
        let node = agent.node(field)?;
        agent
            .send(Message::TextInput(TextInput {
                node,
                value: text.into(),
            }))
            .await?;
    }
    e2e::wait_for("filled form", WAIT, || async {
        value(&browser, "city").await.ok().filter(|v| v == "London")
    })
    .await?;
    assert_eq!(value(&browser, "name").await?, "Ada Lovelace");
    assert_eq!(value(&browser, "email").await?, "ada@example.com");
    // The submit button is data-cobrowse-readonly: refused, and the agent is told why.
    let place = agent.node("place-order")?;
    agent
        .send(Message::Click(Click {
            node: place,
            x: 0,
            y: 0,
            button: Button::Primary,
        }))
        .await?;
    agent
        .until("readonly refusal", refused(Refusal::ReadOnly))
        .await?;
    // Enter in the name field would send the form that button sends (implicit submission):
    // only the customer sends it.
    let name = agent.node("name")?;
    agent
        .send(Message::Key(Key {
            node: name,
            key: "Enter".into(),
            modifiers: 0,
        }))
        .await?;
    agent
        .until(
            "Enter that submits is refused",
            refused(Refusal::FormReadOnly),
        )
        .await?;
    // The card field is masked and the demo site does not let agents type into masked fields.
    let card = agent.node("card")?;
    agent
        .send(Message::TextInput(TextInput {
            node: card,
            value: "4111".into(),
        }))
        .await?;
    agent
        .until("masked refusal", refused(Refusal::Masked))
        .await?;
    assert_eq!(value(&browser, "card").await?, "");
    assert_eq!(path(&browser).await?, "/demo/checkout.html");
    // A link click navigates; the page re-attaches and the mirror gets the new page.
    let link = agent.node("back-to-cart")?;
    agent
        .send(Message::Click(Click {
            node: link,
            x: 0,
            y: 0,
            button: Button::Primary,
        }))
        .await?;
    agent.snapshot_of("/demo/cart.html").await?;
    assert!(agent.node("promo").is_ok());
    // Control survives the page load.
    let promo = agent.node("promo")?;
    agent
        .send(Message::TextInput(TextInput {
            node: promo,
            value: "FREE".into(),
        }))
        .await?;
    agent
        .until(
            "promo is readonly by site config",
            refused(Refusal::ReadOnly),
        )
        .await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_granted_agent_presses_enter_and_the_form_submits() -> anyhow::Result<()> {
    let (_relay, _token, _id, browser, mut agent) = paired(&[], "/demo/account.html").await?;
    let enter = |node| {
        Message::Key(Key {
            node,
            key: "Enter".into(),
            modifiers: 0,
        })
    };
    let saved = || async {
        let v = run(&browser, "done(!document.getElementById('saved').hidden)").await;
        v.ok().and_then(|v| v.as_bool())
    };
    // Read-only: the relay drops the key; nothing is saved.
    agent.send(enter(agent.node("p-phone")?)).await?;
    grant(&browser, &mut agent).await?;
    assert_eq!(
        saved().await,
        Some(false),
        "a key in read-only mode reached the page"
    );
    // The id is read again after the grant, from the current mirror (see above).
    agent.send(enter(agent.node("p-phone")?)).await?;
    e2e::wait_for("the profile form to submit", WAIT, || async {
        saved().await.filter(|s| *s)
    })
    .await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn revoke_mid_typing_stops_input_at_once() -> anyhow::Result<()> {
    let (_relay, _token, _id, browser, mut agent) = paired(&[], "/demo/checkout.html").await?;
    grant(&browser, &mut agent).await?;
    let name = agent.node("name")?;
    agent
        .send(Message::TextInput(TextInput {
            node: name,
            value: "A".into(),
        }))
        .await?;
    e2e::wait_for("first letter", WAIT, || async {
        value(&browser, "name").await.ok().filter(|v| v == "A")
    })
    .await?;
    press(&browser, "revoke").await?;
    for typed in ["Ad", "Ada", "Ada "] {
        agent
            .send(Message::TextInput(TextInput {
                node: name,
                value: typed.into(),
            }))
            .await?;
    }
    agent.until("revoked", mode(SessionMode::ReadOnly)).await?;
    // A marker after the typing: once the prompt shows, every earlier frame was handled.
    agent.send(Message::NavigationRequest(Empty)).await?;
    agent
        .until("requested", mode(SessionMode::NavigationRequested))
        .await?;
    assert_eq!(value(&browser, "name").await?, "A");
    wait_event(&browser, "revoked").await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn customer_navigation_continues_the_session_and_pauses_on_configured_urls(
) -> anyhow::Result<()> {
    let (relay, _token, _id, browser, mut agent) = paired(&[], "/demo/account.html").await?;
    open(&browser, &relay.base, "/demo/security.html").await?;
    agent
        .until("paused", |m| {
            matches!(m, Message::SharingPaused(SharingPaused { paused: true }))
        })
        .await?;
    open(&browser, &relay.base, "/demo/account.html").await?;
    agent
        .until("resumed", |m| {
            matches!(m, Message::SharingPaused(SharingPaused { paused: false }))
        })
        .await?;
    agent.snapshot_of("/demo/account.html").await?;
    // The paused page was never sent.
    assert!(!agent
        .seen
        .iter()
        .any(|m| matches!(m, Message::Snapshot(s) if s.url.contains("security"))));
    assert!(!agent.saw(FrameKind::End));
    // Routing inside the page (pushState) pauses and resumes the same way.
    run(
        &browser,
        "history.pushState({}, '', '/demo/security.html?tab=2'); done(true)",
    )
    .await?;
    agent
        .until("paused by routing", |m| {
            matches!(m, Message::SharingPaused(SharingPaused { paused: true }))
        })
        .await?;
    run(
        &browser,
        "history.pushState({}, '', '/demo/account.html#profile'); done(true)",
    )
    .await?;
    agent
        .until("resumed by routing", |m| {
            matches!(m, Message::SharingPaused(SharingPaused { paused: false }))
        })
        .await?;
    agent.snapshot_of("/demo/account.html#profile").await?;
    wait_event(&browser, "resumed").await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn the_customer_ends_with_stop_and_the_agent_is_told() -> anyhow::Result<()> {
    let (_relay, _token, _id, browser, mut agent) = paired(&[], "/demo/").await?;
    press(&browser, "stop").await?;
    agent
        .until(
            "end",
            |m| matches!(m, Message::End(e) if e.reason == EndReason::CustomerEnded),
        )
        .await?;
    wait_event(&browser, "end:customer").await?;
    let ui = run(&browser, "done(!!document.getElementById('cobrowse-ui'))").await?;
    assert_eq!(ui, serde_json::Value::Bool(false));
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_huge_inline_image_is_sent_without_its_data_and_the_session_goes_on() -> anyhow::Result<()>
{
    let (_relay, _token, _id, browser, mut agent) = paired(&[], "/demo/").await?;
    // A 5 MB data: URL: whole, it would make a frame the relay refuses.
    run(
        &browser,
        "const img = document.createElement('img'); img.id = 'huge'; \
         img.src = 'data:image/png;base64,' + 'A'.repeat(5 << 20); \
         document.body.appendChild(img); done(true);",
    )
    .await?;
    agent
        .until("the image", |m| match m {
            Message::Mutations(b) => b.ops.iter().any(|op| {
                matches!(op, protocol::Mutation::Add { node, .. }
                    if matches!(&node.data, protocol::NodeData::Element { attrs, .. }
                        if attrs.iter().any(|a| a.value == "huge")))
            }),
            _ => false,
        })
        .await?;
    let huge = agent.node("huge")?;
    let dom = agent.dom.as_ref().context("no mirror")?;
    let Some(cobrowse_wasm::model::Content::Element { attrs, .. }) =
        dom.nodes.get(&huge).map(|n| &n.content)
    else {
        anyhow::bail!("#huge is not an element");
    };
    assert!(
        attrs.iter().any(|(k, v)| k == "src" && v.is_empty()),
        "{attrs:?}"
    );
    // Still shared: a later change arrives.
    run(
        &browser,
        "document.getElementById('huge').alt = 'after'; done(true);",
    )
    .await?;
    agent
        .until("a later change", |m| matches!(m, Message::Mutations(_)))
        .await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_page_larger_than_a_frame_goes_in_parts_and_one_element_too_large_for_any_ends_it(
) -> anyhow::Result<()> {
    let (_relay, _token, _id, browser, mut agent) = paired(&[], "/demo/").await?;
    // Twenty values each under the per-value cap, 5 MB together: more than any one frame
    // holds. The batch is dropped for a fresh snapshot, and that goes in parts.
    run(
        &browser,
        "for (let i = 0; i < 20; i++) { const d = document.createElement('div'); \
         d.id = 'big' + i; d.title = 'x'.repeat(250 << 10); document.body.appendChild(d); } \
         done(true);",
    )
    .await?;
    agent
        .until(
            "the last part",
            |m| matches!(m, Message::SnapshotPart(p) if p.last),
        )
        .await?;
    for i in 0..20 {
        agent.node(&format!("big{i}"))?;
    }
    assert!(agent.saw(FrameKind::SnapshotBegin));
    assert!(!events(&browser).await?.iter().any(|e| e.starts_with("end")));
    // One element of twenty such values is 5 MB no frame can hold, part or not: every
    // snapshot from now on would be refused, so the page ends the session, and says why.
    run(
        &browser,
        "const d = document.createElement('div'); \
         for (let i = 0; i < 20; i++) d.setAttribute('data-v' + i, 'y'.repeat(250 << 10)); \
         document.body.appendChild(d); done(true);",
    )
    .await?;
    wait_event(&browser, "end:too-large").await?;
    agent
        .until(
            "end",
            |m| matches!(m, Message::End(e) if e.reason == EndReason::CustomerEnded),
        )
        .await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn the_agent_ends_and_the_page_stops_sharing() -> anyhow::Result<()> {
    let (relay, token, id, browser, _agent) = paired(&[], "/demo/").await?;
    end_by_agent(&relay.base, &token, &id).await?;
    wait_event(&browser, "end:agent").await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn an_idle_session_ends_after_the_configured_inactivity() -> anyhow::Result<()> {
    let (_relay, _token, _id, browser, mut agent) =
        paired(&["--inactivity-voice-secs", "2"], "/demo/help.html").await?;
    agent
        .until(
            "inactivity end",
            |m| matches!(m, Message::End(e) if e.reason == EndReason::Inactivity),
        )
        .await?;
    e2e::wait_for("page end", Duration::from_secs(10), || async {
        events(&browser)
            .await
            .ok()
            .filter(|e| e.iter().any(|x| x == "end:inactivity"))
    })
    .await?;
    browser.close().await?;
    Ok(())
}

async fn screenshot(browser: &Browser, name: &str) -> anyhow::Result<()> {
    let png = browser.client.screenshot().await?;
    std::fs::write(e2e::output_dir().join(format!("customer-{name}.png")), png)?;
    Ok(())
}

#[tokio::test]
async fn show_and_tell_draws_on_the_customers_page_and_is_never_captured() -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    let browser = Browser::start().await?;
    open(&browser, &relay.base, "/demo/").await?;
    screenshot(&browser, "shop").await?;
    run(
        &browser,
        "Cobrowse.enterCode(); setTimeout(() => done(true), 300)",
    )
    .await?;
    screenshot(&browser, "code-prompt").await?;
    press(&browser, "cancel").await?;
    let token = login(&relay.base).await?;
    let (id, key) = start_key(&relay.base, &token).await?;
    open(&browser, &relay.base, "/demo/checkout.html").await?;
    start_with_key(&browser, &key).await?;
    let mut agent = Agent::join(&relay.base, &token, &id).await?;
    agent.snapshot_of("/demo/checkout.html").await?;
    screenshot(&browser, "viewing").await?;
    let name = agent.node("name")?;
    agent
        .send(Message::AgentPointer(protocol::Pointer { x: 300, y: 260 }))
        .await?;
    agent
        .send(Message::Highlight(protocol::Highlight { node: name }))
        .await?;
    let points = [(420, 420), (520, 330)]
        .iter()
        .map(|&(x, y)| protocol::Point { x, y })
        .collect();
    agent
        .send(Message::Stroke(protocol::Stroke {
            id: 1,
            kind: protocol::StrokeKind::Arrow,
            points,
            done: false,
        }))
        .await?;
    let drawn = run(
        &browser,
        "const go = () => {
           const r = document.getElementById('cobrowse-ui').shadowRoot;
           const ok = r.querySelector('.ptr').style.display === 'block' && r.querySelector('.hl')
             && (r.querySelector('svg.ink path') || {}).getAttribute;
           if (!ok) return setTimeout(go, 10);
           done(r.querySelector('svg.ink path').getAttribute('d'));
         };
         go();",
    )
    .await?;
    assert!(
        drawn.as_str().is_some_and(|d| d.starts_with("M420 420")),
        "{drawn}"
    );
    screenshot(&browser, "show-and-tell").await?;
    agent.send(Message::NavigationRequest(Empty)).await?;
    agent
        .until("requested", mode(SessionMode::NavigationRequested))
        .await?;
    screenshot(&browser, "navigation-request").await?;
    press(&browser, "allow").await?;
    agent
        .until("granted", mode(SessionMode::NavigationGranted))
        .await?;
    screenshot(&browser, "control").await?;
    // A marker round trip, then: the overlay never reached the mirror.
    agent.send(Message::ResyncRequest(Empty)).await?;
    agent.snapshot_of("/demo/checkout.html").await?;
    assert!(agent.node("cobrowse-ui").is_err());
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn share_my_screen_on_the_help_page_pairs_by_offer_and_the_chat_stays_blocked(
) -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    let token = login(&relay.base).await?;
    let (conversation, _) = relay.conversation_of(&token).await?;
    let offer: serde_json::Value = reqwest::Client::new()
        .post(relay.url("/api/cobrowse/offers"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"conversation_id": conversation, "interaction": "web_chat"}))
        .send()
        .await?
        .json()
        .await?;
    let id = offer["session_id"].as_str().unwrap_or_default().to_owned();
    let offer_token = offer["offer_token"].as_str().unwrap_or_default();
    let browser = Browser::start().await?;
    // The chat delivered the invitation as a link carrying the offer's token.
    open(
        &browser,
        &relay.base,
        &format!("/demo/help.html#cobrowse-offer={offer_token}"),
    )
    .await?;
    // The page found the offer in its address and shows the button.
    run(
        &browser,
        "const go = () => {
           const o = document.getElementById('offer');
           if (o.hidden) return setTimeout(go, 20);
           document.getElementById('share-screen').click(); done(true);
         };
         go();",
    )
    .await?;
    wait_event(&browser, "start").await?;
    let mut agent = Agent::join_offer(&relay.base, &token, &id).await?;
    agent.snapshot_of("/demo/help.html").await?;
    let dom = agent
        .dom
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no dom"))?;
    let boxed = dom.nodes.values().any(|n| {
        matches!(&n.content, cobrowse_wasm::model::Content::Boxed { attrs, .. }
            if attrs.iter().any(|(k, v)| k == "id" && v == "chat-transcript"))
    });
    assert!(boxed, "the chat transcript is not a blocked box");
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_hidden_tab_keeps_streaming_its_changes() -> anyhow::Result<()> {
    let (_relay, _token, _id, browser, mut agent) = paired(&[], "/demo/").await?;
    // The page changes on a timer (a live price, a chat badge) while the customer looks at
    // another tab; each change notes whether the tab was hidden when it was made.
    run(
        &browser,
        "window.tickStates = []; let n = 0;
         const t = setInterval(() => {
           const p = document.createElement('p'); p.id = 'tick' + n; p.textContent = 'tick ' + n;
           document.body.appendChild(p); window.tickStates.push(document.visibilityState);
           if (++n === 5) clearInterval(t);
         }, 300);
         done(true);",
    )
    .await?;
    let page = browser.client.window().await?;
    let other = browser.client.new_window(true).await?;
    browser.client.switch_to_window(other.handle).await?;
    // Every change reaches the agent while the page is still in the background: capture
    // flushes at the end of each observer callback, not on an animation frame (which a
    // hidden tab never runs).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while agent.node("tick4").is_err() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the hidden tab's changes did not arrive"
        );
        tokio::time::timeout(Duration::from_secs(20), agent.next())
            .await
            .context("no frame from the hidden tab")??;
    }
    browser.client.close_window().await?;
    browser.client.switch_to_window(page).await?;
    let states = run(&browser, "done(window.tickStates);").await?;
    let hidden = states
        .as_array()
        .context("tick states")?
        .iter()
        .filter(|s| *s == "hidden")
        .count();
    println!("hidden tab: {hidden} of 5 changes made while hidden, all 5 mirrored while hidden");
    assert!(
        hidden >= 3,
        "the page was not hidden while it changed: {states}"
    );
    browser.close().await?;
    Ok(())
}
