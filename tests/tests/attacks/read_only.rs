//! Attack: read-only reached sideways. With control granted, a direct click on a read-only
//! checkbox or submit button is refused; the agent goes around it instead: a click on the
//! checkbox's `<label>` (nested, or `for=`), a `type="submit" form="…"` button outside the form
//! whose own submit is read-only, Enter in one of that form's fields, a link to another origin,
//! history back out of the site. Each must be refused by the customer's page, told to the agent
//! (what the console shows) and audited by the relay. On the old code each one acted.

use anyhow::{ensure, Result};
use e2e::{Browser, Relay};
use protocol::{
    Button, Click, Empty, Key, Message, ModeChanged, Navigate, NodeId, Presence, Refusal, Role,
    SessionMode,
};
use serde_json::Value;

use super::cobrowse::*;
use super::support::audit;

const PAGE: &str = "/test-pages/readonly.html";

/// A node id no page has: the page refuses a click on it, which tells the agent that every
/// input sent before was handled.
const MARKER: NodeId = u32::MAX - 7;

struct Granted {
    relay: Relay,
    token: String,
    id: String,
    browser: Browser,
    agent: Agent,
}

/// The fixture page shared and control granted; `before` is loaded first (history behind it).
async fn granted(before: Option<&str>) -> Result<Granted> {
    let relay = Relay::start(&[]).await?;
    let token = login(&relay.base).await?;
    let (id, key) = start_key(&relay.base, &token).await?;
    let browser = Browser::start().await?;
    if let Some(url) = before {
        browser.client.goto(url).await?;
    }
    open(&browser, &relay.base, PAGE).await?;
    let started = start_with_key(&browser, &key).await?;
    ensure!(started["id"].as_str() == Some(id.as_str()), "{started}");
    let mut agent = Agent::join(&relay.base, &token, &id).await?;
    agent.snapshot_of(PAGE).await?;
    agent.send(Message::NavigationRequest(Empty)).await?;
    press(&browser, "allow").await?;
    agent
        .until("granted", |m| {
            matches!(
                m,
                Message::ModeChanged(ModeChanged {
                    mode: SessionMode::NavigationGranted,
                    ..
                })
            )
        })
        .await?;
    Ok(Granted {
        relay,
        token,
        id,
        browser,
        agent,
    })
}

fn click(node: NodeId) -> Message {
    Message::Click(Click {
        node,
        x: 0,
        y: 0,
        button: Button::Primary,
    })
}

impl Granted {
    /// Sends `input` (aimed at `node`; 0 for navigation) and waits until the page handled it:
    /// its answer to the marker after it, or the page going away. Returns the page's refusal.
    async fn attempt(&mut self, input: Message, node: NodeId) -> Result<Option<Refusal>> {
        let since = self.agent.seen.len();
        self.agent.send(input).await?;
        self.agent.send(click(MARKER)).await?;
        self.agent
            .until("the page to answer, or leave", |m| match m {
                Message::InputRefused(r) => r.node == MARKER,
                Message::Snapshot(_) => true,
                Message::Presence(Presence {
                    role: Role::Customer,
                    connected,
                }) => !connected,
                _ => false,
            })
            .await?;
        Ok(self.agent.seen[since..].iter().find_map(|m| match m {
            Message::InputRefused(r) if r.node == node => Some(r.reason),
            _ => None,
        }))
    }

    async fn js(&self, expr: &str) -> Result<Value> {
        run(&self.browser, &format!("done({expr})")).await
    }

    /// Waits until the relay audited the page's refusal of `node` for `reason`.
    async fn audited(&self, node: NodeId, reason: Refusal) -> Result<()> {
        let want = format!("node {node}: {reason:?}");
        let (relay, token, id) = (&self.relay, &self.token, &self.id);
        e2e::wait_for(&format!("audit of {want}"), WAIT, || async {
            let log = audit(relay, token, id).await.ok()?;
            log.iter()
                .any(|(e, d)| e == "refused" && *d == want)
                .then_some(())
        })
        .await
    }
}

#[tokio::test]
async fn a_label_click_does_not_tick_a_read_only_checkbox() -> Result<()> {
    let mut s = granted(None).await?;
    // The box itself is refused, as before.
    let terms = s.agent.node("terms")?;
    ensure!(s.attempt(click(terms), terms).await? == Some(Refusal::ReadOnly));
    // Its label: nested, and by `for=`.
    for (label, field) in [("terms-label", "terms"), ("gift-label", "gift")] {
        let node = s.agent.node(label)?;
        let answer = s.attempt(click(node), node).await?;
        let ticked = s
            .js(&format!("document.getElementById('{field}').checked"))
            .await?;
        ensure!(
            ticked == Value::Bool(false),
            "a click on #{label} ticked the read-only #{field}"
        );
        ensure!(answer == Some(Refusal::ReadOnly), "{label}: {answer:?}");
        s.audited(node, Refusal::ReadOnly).await?;
    }
    // A label of a control that is not read-only still works.
    let news = s.agent.node("news-label")?;
    ensure!(s.attempt(click(news), news).await?.is_none());
    ensure!(
        s.js("document.getElementById('news').checked").await? == Value::Bool(true),
        "the newsletter label ticks its box"
    );
    s.browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_form_with_a_read_only_submit_is_sent_by_no_other_button_and_no_enter() -> Result<()> {
    let mut s = granted(None).await?;
    let sent = "location.search !== ''";
    // The `form=` button outside the form.
    let outside = s.agent.node("outside")?;
    let answer = s.attempt(click(outside), outside).await?;
    ensure!(
        s.js(sent).await? == Value::Bool(false),
        "the button outside the form sent it"
    );
    ensure!(answer == Some(Refusal::FormReadOnly), "{answer:?}");
    s.audited(outside, Refusal::FormReadOnly).await?;
    // Enter in one of its fields: implicit submission.
    let note = s.agent.node("note")?;
    let enter = Message::Key(Key {
        node: note,
        key: "Enter".into(),
        modifiers: 0,
    });
    let answer = s.attempt(enter, note).await?;
    ensure!(
        s.js(sent).await? == Value::Bool(false),
        "Enter in the note sent the form"
    );
    ensure!(answer == Some(Refusal::FormReadOnly), "{answer:?}");
    s.audited(note, Refusal::FormReadOnly).await?;
    s.browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn a_link_to_another_origin_is_not_followed() -> Result<()> {
    let mut s = granted(None).await?;
    let away = s.agent.node("away")?;
    let answer = s.attempt(click(away), away).await?;
    ensure!(
        path(&s.browser).await? == PAGE,
        "the link took the page off the site"
    );
    ensure!(answer == Some(Refusal::CrossSite), "{answer:?}");
    s.audited(away, Refusal::CrossSite).await?;
    // A link on the page's own origin is followed.
    let here = s.agent.node("here")?;
    ensure!(s.attempt(click(here), here).await?.is_none());
    ensure!(s.js("location.hash").await? == "#top");
    s.browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn history_back_does_not_leave_the_site() -> Result<()> {
    // The tab was elsewhere before the customer came to the site.
    let mut s = granted(Some("data:text/html,<title>elsewhere</title>")).await?;
    let back = Message::Navigate(Navigate::Back);
    let answer = s.attempt(back.clone(), 0).await?;
    ensure!(
        s.js("location.protocol").await? == "http:",
        "history back took the page off the site"
    );
    ensure!(answer == Some(Refusal::History), "{answer:?}");
    s.audited(0, Refusal::History).await?;
    // Back within the page's own history still works.
    s.js("(history.pushState({}, '', '?step=2'), true)").await?;
    ensure!(s.attempt(back, 0).await?.is_none());
    s.browser
        .until("back to the first step", "location.search === ''")
        .await?;
    s.browser.close().await?;
    Ok(())
}
