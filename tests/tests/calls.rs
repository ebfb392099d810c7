//! Calls from a conversation, end to end: the inbox console and the messaging widget in two
//! headless Chromium with fake cameras, microphones and screens, through a real relay. The
//! agent rings with video, the customer accepts with video, and both sides decode the other's
//! frames and audio; the customer's mute silences the agent's side and says "muted"; the
//! agent's camera off stops the customer's frames; the agent asks for the screen and receives
//! it until the customer stops; the agent ends it and the timeline has the call with its
//! duration; a second call declined says so. The agent's laser over a shared screen reaches
//! the customer (drawn over the page when the shared surface is this very tab); an ICE restart
//! keeps the call; a lost connection ends it with that reason on both sides and the timeline;
//! a queue set to voice only shows no video button, here nor on the desk; co-browse runs
//! beside a live call. Screenshots go to `tests/output/call-*.png`.

mod mirror_support;

use std::time::Duration;

use e2e::{
    call_pair, call_pair_sharing, video_call_accepted, wait_for, Browser, Relay, SHARES_THIS_TAB,
    WIDGET,
};
use serde_json::Value;

async fn num(browser: &Browser, expr: &str) -> anyhow::Result<f64> {
    let v = browser.js(&format!("return Number({expr}) || 0")).await?;
    Ok(v.as_f64().unwrap_or(0.0))
}

/// `expr` (a number) grows by more than `by` within 20 s.
async fn grows(browser: &Browser, what: &str, expr: &str, by: f64) -> anyhow::Result<()> {
    let start = num(browser, expr).await?;
    browser
        .until(what, &format!("Number({expr}) > {}", start + by))
        .await
}

/// `expr` (a number) stays within `by` of itself for `ms`.
async fn flat(browser: &Browser, what: &str, expr: &str, by: f64, ms: u64) -> anyhow::Result<()> {
    let before = num(browser, expr).await?;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    let after = num(browser, expr).await?;
    anyhow::ensure!(
        after - before <= by,
        "{what}: went from {before} to {after} in {ms} ms"
    );
    Ok(())
}

const PANEL: &str = "document.getElementById('call-panel')";

/// Each side's inbound audio grows: the agent hears the customer, and the customer the agent.
async fn sound_both_ways(console: &Browser, customer: &Browser) -> anyhow::Result<()> {
    let b = bar();
    grows(
        console,
        "the customer's audio",
        &format!("{PANEL}.dataset.audioBytes"),
        2000.0,
    )
    .await?;
    grows(
        customer,
        "the agent's audio",
        &format!("{b}.dataset.audioBytes"),
        2000.0,
    )
    .await
}

/// The agent's pointer moves over the shared screen to (x, y), fractions of the picture.
async fn point(console: &Browser, x: f64, y: f64) -> anyhow::Result<()> {
    for step in 0..6 {
        let (dx, dy) = (x - 0.01 * f64::from(5 - step), y);
        console
            .js(&format!(
                "const v = document.getElementById('call-screen'); const r = v.getBoundingClientRect();
                 v.dispatchEvent(new PointerEvent('pointermove', {{ bubbles: true,
                   clientX: r.left + r.width * {dx}, clientY: r.top + r.height * {dy} }})); return 1"
            ))
            .await?;
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    Ok(())
}
fn bar() -> String {
    format!("{WIDGET}.querySelector('.callbar')")
}

#[tokio::test]
async fn an_agent_calls_from_the_inbox_and_the_customer_answers_in_the_widget() -> anyhow::Result<()>
{
    let relay = Relay::start(&[]).await?;
    let (console, customer) = call_pair(&relay).await?;

    // Video call: the widget rings, the customer accepts with video.
    video_call_accepted(&console, &customer).await?;
    let b = bar();
    console
        .until(
            "the call live",
            &format!("{PANEL}.dataset.state === 'live'"),
        )
        .await?;
    customer
        .until("the call live", &format!("{b}.dataset.state === 'live'"))
        .await?;
    // Both sides decode the other's video and receive its audio.
    grows(
        &console,
        "the customer's frames",
        &format!("{PANEL}.dataset.frames"),
        20.0,
    )
    .await?;
    grows(
        &customer,
        "the agent's frames",
        &format!("{b}.dataset.frames"),
        20.0,
    )
    .await?;
    sound_both_ways(&console, &customer).await?;
    console
        .until(
            "the timer",
            "/^\\d+:\\d\\d$/.test(document.getElementById('call-timer').textContent)",
        )
        .await?;
    console.screenshot("call-console").await?;
    customer.screenshot("call-widget").await?;

    // The customer mutes: the agent hears silence (no audio energy added) and reads "muted".
    grows(
        &console,
        "sound before mute",
        &format!("{PANEL}.dataset.audioEnergy"),
        0.0,
    )
    .await?;
    customer
        .js(&format!("{b}.querySelector('.mute').click(); return 1"))
        .await?;
    console
        .until(
            "muted shown",
            "document.getElementById('call-far').textContent.includes('muted')",
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    flat(
        &console,
        "silence while muted",
        &format!("{PANEL}.dataset.audioEnergy"),
        1e-6,
        3000,
    )
    .await?;
    customer
        .js(&format!("{b}.querySelector('.mute').click(); return 1"))
        .await?;

    // The agent turns the camera off: the customer receives no more frames.
    console.click("#call-camera").await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    flat(
        &customer,
        "no frames with the camera off",
        &format!("{b}.dataset.frames"),
        1.0,
        3000,
    )
    .await?;
    console.click("#call-camera").await?;
    grows(
        &customer,
        "frames again",
        &format!("{b}.dataset.frames"),
        10.0,
    )
    .await?;

    // The agent asks for the screen; the customer shares it, then stops.
    console.click("#call-share").await?;
    customer
        .press(
            "the screen request",
            &format!("{b}.querySelector('.share-yes')"),
        )
        .await?;
    grows(
        &console,
        "the shared screen",
        &format!("{PANEL}.dataset.screenFrames"),
        10.0,
    )
    .await?;
    console
        .until(
            "the screen shown",
            "!document.getElementById('call-screen').hidden",
        )
        .await?;
    console.screenshot("call-console-screen").await?;
    // The agent points at the shared screen: her laser is drawn over it and reaches the
    // customer, who shares the entire screen, so is told rather than shown an overlay.
    point(&console, 0.3, 0.6).await?;
    console
        .until(
            "the laser drawn and sent",
            &format!("{PANEL}.dataset.laserDraws > 0 && {PANEL}.dataset.laserSent > 0"),
        )
        .await?;
    customer
        .until(
            "the laser reported",
            &format!("{b}.dataset.laserSeen > 0 && {b}.dataset.laserWhere === 'elsewhere'"),
        )
        .await?;
    let dot: Value = customer
        .js(&format!("return {WIDGET}.querySelector('.laser').hidden"))
        .await?;
    assert_eq!(
        dot, true,
        "no overlay over a page that is not what is shared"
    );
    customer
        .js(&format!("{b}.querySelector('.share').click(); return 1"))
        .await?;
    console
        .until(
            "the screen stopped",
            &format!("{PANEL}.dataset.farScreen === 'off'"),
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    flat(
        &console,
        "no screen frames after stop",
        &format!("{PANEL}.dataset.screenFrames"),
        1.0,
        2000,
    )
    .await?;

    // The agent ends it: both torn down, and the timeline has the call with its duration.
    console.click("#call-end").await?;
    customer
        .until(
            "the call ended in the widget",
            &format!("{b}.dataset.state === 'ended'"),
        )
        .await?;
    customer
        .until(
            "the end said in the widget",
            &format!("[...{WIDGET}.querySelectorAll('.msg.system')].some(m => m.textContent.startsWith('Call ended'))"),
        )
        .await?;
    console
        .until(
            "the call on the timeline",
            "[...document.querySelectorAll('#log .event')].some(e => e.textContent.startsWith('call ended') && e.textContent.includes('lasted'))",
        )
        .await?;
    let media: Value = customer
        .js("return document.querySelectorAll('video').length")
        .await?;
    assert_eq!(media, 0, "the widget's videos are in its shadow root only");

    // A second call, declined: the agent reads "declined".
    tokio::time::sleep(Duration::from_millis(2500)).await;
    console
        .until(
            "call again",
            "!document.getElementById('call-voice').disabled",
        )
        .await?;
    console.click("#call-voice").await?;
    customer
        .until(
            "the second call",
            &format!("{WIDGET}.querySelector('.ring button.decline')"),
        )
        .await?;
    let video_offered: Value = customer
        .js(&format!(
            "return !!{WIDGET}.querySelector('.ring button.video')"
        ))
        .await?;
    assert_eq!(video_offered, false, "a voice call offers no video answer");
    // Redialled within the ended panel's four seconds, the agent can still hang up.
    let can_end: Value = console
        .js("return !document.getElementById('call-end').disabled")
        .await?;
    assert_eq!(
        can_end, true,
        "End works on a call placed soon after another"
    );
    customer
        .js(&format!(
            "{WIDGET}.querySelector('.ring button.decline').click(); return 1"
        ))
        .await?;
    console
        .until(
            "declined",
            &format!("{PANEL}.dataset.reason === 'declined'"),
        )
        .await?;
    console
        .until(
            "declined said",
            "document.getElementById('call-status').textContent.includes('declined')",
        )
        .await?;
    Ok(())
}

/// Counts every RTCPeerConnection the page makes (`window.__pcs`), so a test can restart its
/// ICE or cut it as a lost network would.
const TRACK_PEERS: &str = "if (!window.__pcs) { window.__pcs = []; const P = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends P { constructor(c) { super(c); window.__pcs.push(this); } }; } return 1";

#[tokio::test]
async fn the_laser_is_drawn_over_a_shared_tab_an_ice_restart_keeps_the_call_and_a_lost_connection_ends_it(
) -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    let (console, customer) = call_pair_sharing(&relay, SHARES_THIS_TAB).await?;
    customer.js(TRACK_PEERS).await?;
    video_call_accepted(&console, &customer).await?;
    let b = bar();
    console
        .until(
            "the call live",
            &format!("{PANEL}.dataset.state === 'live'"),
        )
        .await?;

    // The customer shares this very tab: the agent's laser shows over the page, where she
    // points.
    console.click("#call-share").await?;
    customer
        .press(
            "the screen request",
            &format!("{b}.querySelector('.share-yes')"),
        )
        .await?;
    customer
        .until(
            "this tab shared",
            &format!("{b}.dataset.screenSurface === 'this-tab'"),
        )
        .await?;
    grows(
        &console,
        "the shared tab",
        &format!("{PANEL}.dataset.screenFrames"),
        5.0,
    )
    .await?;
    point(&console, 0.25, 0.75).await?;
    let dot = format!("{WIDGET}.querySelector('.laser')");
    customer
        .until("the laser over the page", &format!("!{dot}.hidden"))
        .await?;
    let at: Value = customer
        .js(&format!(
            "const r = {dot}.getBoundingClientRect();
             return [r.left + r.width / 2, r.top + r.height / 2, innerWidth, innerHeight]"
        ))
        .await?;
    let n = |i: usize| at[i].as_f64().unwrap_or(-1.0);
    let (x, y) = (n(0) / n(2), n(1) / n(3));
    assert!(
        (x - 0.25).abs() < 0.03 && (y - 0.75).abs() < 0.03,
        "the laser at ({x:.3}, {y:.3}) of the page, pointed at (0.25, 0.75): {at}"
    );
    customer.screenshot("call-laser-tab").await?;
    console
        .js("document.getElementById('call-screen').dispatchEvent(new PointerEvent('pointerleave')); return 1")
        .await?;
    customer
        .until("the laser gone when she stops", &format!("{dot}.hidden"))
        .await?;

    // The customer's network changes: an ICE restart (new credentials, signalled through the
    // relay) and the call goes on.
    let ufrag = "(/a=ice-ufrag:(\\S+)/.exec(window.__pcs[0].localDescription.sdp) || [])[1]";
    let before: Value = customer.js(&format!("return {ufrag}")).await?;
    customer
        .js("window.__pcs[0].restartIce(); return 1")
        .await?;
    customer
        .until(
            "new ICE credentials",
            &format!("{ufrag} && {ufrag} !== {before}"),
        )
        .await?;
    grows(
        &console,
        "the customer's frames after the restart",
        &format!("{PANEL}.dataset.frames"),
        20.0,
    )
    .await?;
    let live: Value = console.js(&format!("return {PANEL}.dataset.state")).await?;
    assert_eq!(live, "live", "the restart did not end the call");

    // The customer's network goes for good: the agent's side restarts ICE, in vain, and ends
    // the call as lost; both sides say so and the timeline has the reason.
    customer.js("window.__pcs[0].close(); return 1").await?;
    let ended = format!("return {PANEL}.dataset.reason === 'connection_lost'");
    wait_for("the call lost", Duration::from_secs(60), || async {
        console
            .js(&ended)
            .await
            .ok()
            .filter(|v| *v == Value::Bool(true))
    })
    .await?;
    customer
        .until(
            "the widget told",
            &format!("[...{WIDGET}.querySelectorAll('.msg.system')].some(m => m.textContent.includes('connection was lost'))"),
        )
        .await?;
    console
        .until(
            "the reason on the timeline",
            "[...document.querySelectorAll('#log .event')].some(e => e.textContent.startsWith('call ended') && e.textContent.includes('connection lost'))",
        )
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_voice_only_queue_shows_no_video_call_and_an_audio_answer_carries_sound_both_ways(
) -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    // An admin sets the messaging queue to voice calls only.
    let admin = relay.token_of("admin").await?;
    let r = reqwest::Client::new()
        .post(relay.url("/api/routing/queues"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({ "name": "messaging", "calls_from_chat": "voice" }))
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "queue not saved: {}", r.status());

    let (console, customer) = tokio::try_join!(
        Browser::start_with(e2e::FAKE_MEDIA),
        Browser::start_with(e2e::FAKE_MEDIA)
    )?;
    console.client.set_window_size(1400, 900).await?;
    console
        .client
        .goto(&relay.url("/console/agent-desk.html"))
        .await?;
    console.sign_in("agent").await?;
    console
        .until("the desk", "!document.getElementById('view-desk').hidden")
        .await?;
    console
        .js(
            "const s = document.getElementById('presence'); s.value = 'available';
             s.dispatchEvent(new Event('change')); return 1",
        )
        .await?;
    console
        .until(
            "available",
            "document.getElementById('status').classList.contains('available')",
        )
        .await?;
    customer
        .client
        .goto(&relay.url("/messaging/demo.html"))
        .await?;
    customer.widget_sends("Can you call me?").await?;
    console
        .press(
            "the offer",
            "document.querySelector('.item.offered button.accept')",
        )
        .await?;
    // The routed chat on the desk: open it, or ring it by voice; no video.
    let links =
        "[...document.querySelectorAll('.item.connected a.button')].map(a => a.textContent)";
    console
        .until(
            "the chat's links",
            &format!("{links}.includes('Voice call')"),
        )
        .await?;
    let shown: Value = console.js(&format!("return {links}")).await?;
    assert_eq!(shown, serde_json::json!(["Open", "Voice call"]), "{shown}");
    console.screenshot("call-desk-voice-only").await?;
    let href: Value = console
        .js("return [...document.querySelectorAll('.item.connected a.button')].find(a => a.textContent === 'Voice call').href")
        .await?;
    console
        .client
        .goto(href.as_str().unwrap_or_default())
        .await?;
    // The inbox opens it and rings at once, by voice; it shows no video button.
    console
        .until(
            "ringing from the desk",
            &format!("{PANEL}.dataset.state === 'ringing' && {PANEL}.dataset.offered === 'voice'"),
        )
        .await?;
    let video: Value = console
        .js("return document.getElementById('call-video').hidden")
        .await?;
    assert_eq!(video, true, "no video call from a voice-only queue");
    // The customer accepts with audio: each side receives the other's sound.
    customer
        .press(
            "the ring",
            &format!("{WIDGET}.querySelector('.ring button.audio')"),
        )
        .await?;
    let b = bar();
    console
        .until(
            "the call live",
            &format!("{PANEL}.dataset.state === 'live'"),
        )
        .await?;
    sound_both_ways(&console, &customer).await?;
    console.click("#call-end").await?;
    customer
        .until("the call ended", &format!("{b}.dataset.state === 'ended'"))
        .await?;
    Ok(())
}

#[tokio::test]
async fn co_browse_runs_beside_a_live_call() -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    let (console, customer) = call_pair(&relay).await?;
    video_call_accepted(&console, &customer).await?;
    let b = bar();
    console
        .until(
            "the call live",
            &format!("{PANEL}.dataset.state === 'live'"),
        )
        .await?;

    // During the call the agent invites to co-browse and opens the pane in a second tab, so
    // the inbox (and its call) stays open.
    console
        .press("Invite to co-browse", "document.getElementById('invite')")
        .await?;
    console
        .until(
            "the link to the co-browse pane",
            "!document.getElementById('cobrowse-open').hidden",
        )
        .await?;
    let link: Value = console
        .js("return document.getElementById('cobrowse-open').href")
        .await?;
    let inbox = console.client.window().await?;
    let pane = console.client.new_window(true).await?;
    console.client.switch_to_window(pane.handle).await?;
    console
        .client
        .goto(link.as_str().unwrap_or_default())
        .await?;
    mirror_support::until_console(&console, "the pane attached to the offer", |s| {
        s["sessionId"].is_string()
    })
    .await?;
    customer
        .press(
            "the invitation's Accept button",
            &format!("{WIDGET}.querySelector('.offer button.accept')"),
        )
        .await?;
    mirror_support::until_console(&console, "the mirror of the customer's page", |s| {
        s["synced"].as_u64().unwrap_or(0) >= 1 && s["customer"] == true
    })
    .await?;
    console.screenshot("call-cobrowse-mirror").await?;

    // Both go on: the call is still live, with the customer's audio and frames still coming,
    // and the customer still hears the agent.
    console.client.switch_to_window(inbox).await?;
    let live: Value = console.js(&format!("return {PANEL}.dataset.state")).await?;
    assert_eq!(live, "live", "co-browse ended the call");
    grows(
        &console,
        "the customer's audio during co-browse",
        &format!("{PANEL}.dataset.audioBytes"),
        2000.0,
    )
    .await?;
    grows(
        &customer,
        "the agent's frames during co-browse",
        &format!("{b}.dataset.frames"),
        10.0,
    )
    .await?;
    let sharing: Value = customer
        .js("const ui = document.getElementById('cobrowse-ui'); return !!ui")
        .await?;
    assert_eq!(
        sharing, true,
        "the customer's page shares while the call lasts"
    );
    Ok(())
}
