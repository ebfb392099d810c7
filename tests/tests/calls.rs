//! Calls from a conversation, end to end: the inbox console and the messaging widget in two
//! headless Chromium with fake cameras, microphones and screens, through a real relay. The
//! agent rings with video, the customer accepts with video, and both sides decode the other's
//! frames and audio; the customer's mute silences the agent's side and says "muted"; the
//! agent's camera off stops the customer's frames; the agent asks for the screen and receives
//! it until the customer stops; the agent ends it and the timeline has the call with its
//! duration; a second call declined says so. Screenshots go to `tests/output/call-*.png`.

use std::time::Duration;

use e2e::{call_pair, video_call_accepted, Browser, Relay, WIDGET};
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
    grows(
        &console,
        "the customer's audio",
        &format!("{PANEL}.dataset.audioBytes"),
        2000.0,
    )
    .await?;
    grows(
        &customer,
        "the agent's audio",
        &format!("{b}.dataset.audioBytes"),
        2000.0,
    )
    .await?;
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
