//! What the customer sees beyond the DOM, in the mirror: a long jump on a page with
//! `scroll-behavior: smooth` lands at once. Two real headless Chromium browsers and the real
//! relay.

mod mirror_support;

use std::time::Duration;

use anyhow::Context;
use e2e::{wait_for, Browser, Relay};
use mirror_support::*;
use serde_json::Value;

const PAGE: &str = "/test-pages/states.html";

async fn shared() -> anyhow::Result<(Relay, Browser, Browser)> {
    let relay = Relay::start(&[]).await?;
    let (console, customer) = tokio::try_join!(Browser::start(), Browser::start())?;
    sign_in(&console, &relay).await?;
    session(&console, &customer, &relay, PAGE).await?;
    Ok((relay, console, customer))
}

/// Evaluates `expr` in the console against `doc` (the mirror's document) and `win` (its
/// window).
async fn in_mirror(console: &Browser, expr: &str) -> anyhow::Result<Value> {
    Ok(console
        .client
        .execute(
            &format!(
                "const win = document.getElementById('mirror').contentWindow;
                 const doc = win.document; return ({expr});"
            ),
            vec![],
        )
        .await?)
}

#[tokio::test]
async fn a_long_jump_on_a_smooth_scrolling_page_lands_at_once_in_the_mirror() -> anyhow::Result<()>
{
    let (relay, console, customer) = shared().await?;
    // The page's smooth scrolling is in effect in the mirror: a plain scroll there animates.
    let plain = in_mirror(
        &console,
        "(() => { win.scrollTo(0, 2000); const y = win.scrollY;
                  win.scrollTo({ top: 0, behavior: 'instant' }); return y; })()",
    )
    .await?;
    assert!(
        plain.as_f64().context("a number")? < 2000.0,
        "smooth scrolling is not in effect, the test would prove nothing: {plain}"
    );
    // Right after each frame is applied, where the mirror is.
    console
        .client
        .execute(
            "window.mirrorYs = []; window.afterMirrorApply = () =>
               window.mirrorYs.push(document.getElementById('mirror').contentWindow.scrollY);",
            vec![],
        )
        .await?;
    let target = run(
        &customer,
        "window.scrollTo({ top: 2500, behavior: 'instant' }); done(window.scrollY);",
    )
    .await?;
    let target = target.as_f64().context("scrollY")?;
    assert!(target > 2000.0, "the customer's page jumped: {target}");
    let first = wait_for("the mirror to move", Duration::from_secs(10), || async {
        let ys = console
            .client
            .execute("return window.mirrorYs;", vec![])
            .await
            .ok()?;
        ys.as_array()?
            .iter()
            .filter_map(Value::as_f64)
            .find(|y| *y != 0.0)
    })
    .await?;
    println!(
        "smooth-scrolling page: customer at {target}, mirror at {first} right after the frame"
    );
    assert_eq!(first, target, "the mirror animated instead of jumping");
    console.close().await?;
    customer.close().await?;
    tokio::time::timeout(Duration::from_secs(5), relay.kill()).await??;
    Ok(())
}
