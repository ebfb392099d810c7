//! What the customer sees beyond the DOM, in the mirror: a long jump on a page with
//! `scroll-behavior: smooth` lands at once, a canvas's stand-in keeps the canvas's place on its
//! line, and the customer's hover (a hover-only menu),
//! focus (and the console's outline of the field) and `:target` anchor are shown. Two real
//! headless Chromium browsers and the real relay. The console with the customer's menu open
//! and field focused goes to `tests/output/mirror-states-console.png`.

mod mirror_support;

use std::time::Duration;

use anyhow::Context;
use e2e::{output_dir, wait_for, Browser, Relay};
use fantoccini::actions::{InputSource, MouseActions, PointerAction};
use fantoccini::Locator;
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

async fn until_mirror(console: &Browser, what: &str, expr: &str) -> anyhow::Result<()> {
    wait_for(what, Duration::from_secs(10), || async {
        in_mirror(console, expr)
            .await
            .ok()
            .filter(|v| *v == Value::Bool(true))
    })
    .await
    .map(drop)
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

#[tokio::test]
async fn the_mirror_shows_the_customers_hover_focus_and_target() -> anyhow::Result<()> {
    let (relay, console, customer) = shared().await?;
    let items = "getComputedStyle(doc.getElementById('items')).display";
    assert_eq!(in_mirror(&console, items).await?, "none");

    // The customer's pointer over the menu trigger opens the hover-only menu.
    let trigger = customer.client.find(Locator::Id("menu")).await?;
    let hover = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
        element: trigger,
        duration: Some(Duration::from_millis(50)),
        x: 0.0,
        y: 0.0,
    });
    customer.client.perform_actions(hover).await?;
    until_mirror(
        &console,
        "the mirrored menu to open",
        &format!("{items} === 'block'"),
    )
    .await?;

    // The field the customer is in is styled as focused, and the console outlines it.
    run(
        &customer,
        "document.getElementById('email').focus(); done(true);",
    )
    .await?;
    until_mirror(
        &console,
        "the mirrored field to be focused",
        "doc.getElementById('email').hasAttribute('data-cb-focus')
           && getComputedStyle(doc.getElementById('email')).outlineColor === 'rgb(255, 0, 0)'
           && getComputedStyle(doc.getElementById('signup')).backgroundColor === 'rgb(230, 240, 255)'
           && !document.getElementById('customer-focus').hidden",
    )
    .await?;

    let png = console.client.screenshot().await?;
    std::fs::write(output_dir().join("mirror-states-console.png"), png)?;

    // A hash jump highlights its anchor.
    run(&customer, "location.hash = '#faq'; done(true);").await?;
    until_mirror(
        &console,
        "the :target anchor to be highlighted",
        "getComputedStyle(doc.getElementById('faq')).backgroundColor === 'rgb(255, 255, 0)'",
    )
    .await?;
    // The marks are the mirror's own: in the canonical form both sides still agree.
    converge(&console, &customer, "hover, focus and target").await?;

    // Moving away closes the menu again.
    let away = MouseActions::new("mouse".into()).then(PointerAction::MoveTo {
        duration: Some(Duration::from_millis(50)),
        x: 600.0,
        y: 400.0,
    });
    customer.client.perform_actions(away).await?;
    until_mirror(
        &console,
        "the mirrored menu to close",
        &format!("{items} === 'none'"),
    )
    .await?;
    // The pointer leaving the window (a mouseout to nowhere) unhovers everything.
    run(
        &customer,
        "document.body.dispatchEvent(new MouseEvent('mouseout', { bubbles: true, relatedTarget: null }));
         done(true);",
    )
    .await?;
    until_mirror(
        &console,
        "nothing hovered once the pointer left the window",
        "!doc.querySelector('[data-cb-hover]')",
    )
    .await?;
    console.close().await?;
    customer.close().await?;
    tokio::time::timeout(Duration::from_secs(5), relay.kill()).await??;
    Ok(())
}

/// A canvas (and a video) sits on the text's baseline like an image; the mirror's striped
/// stand-in must sit there too, or everything after it moves.
#[tokio::test]
async fn a_canvas_stand_in_keeps_the_canvas_s_place_on_the_line() -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    let (console, customer) = tokio::try_join!(Browser::start(), Browser::start())?;
    sign_in(&console, &relay).await?;
    session(&console, &customer, &relay, "/test-pages/canvas.html").await?;
    let geometry = "['chart', 'clip', 'after'].map((id) => { \
        const r = doc.getElementById(id).getBoundingClientRect(); \
        return [Math.round(r.top), Math.round(r.height)]; })";
    until_mirror(
        &console,
        "the paragraph after the chart",
        "!!doc.getElementById('after')",
    )
    .await?;
    let theirs = customer
        .client
        .execute(
            &format!("const doc = document; return ({geometry});"),
            vec![],
        )
        .await?;
    let ours = in_mirror(&console, geometry).await?;
    let (theirs, ours) = (theirs.to_string(), ours.to_string());
    anyhow::ensure!(
        theirs == ours,
        "[top, height] of the canvas, the video and the next paragraph: customer {theirs}, mirror {ours}"
    );
    drop(relay);
    Ok(())
}
