//! The agent console in a real browser against the real relay and a real customer page: sign
//! in, start a session (the key shows while waiting), see the customer's page, request and get
//! control, act in the mirror, end. Screenshots of each state go to `tests/output/console-*.png`.

mod mirror_support;

use std::time::Duration;

use e2e::{output_dir, wait_for, Browser, Relay};
use fantoccini::Locator;
use mirror_support::*;

async fn shot(browser: &Browser, name: &str) -> anyhow::Result<()> {
    let png = browser.client.screenshot().await?;
    std::fs::write(output_dir().join(format!("console-{name}.png")), png)?;
    Ok(())
}

#[tokio::test]
async fn an_agent_signs_in_shares_a_page_gets_control_types_and_ends() -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    let (console, customer) = tokio::try_join!(Browser::start(), Browser::start())?;
    console.client.set_window_size(1600, 1000).await?;

    console.client.goto(&relay.url("/console/")).await?;
    until_console(&console, "the sign-in form", |s| s["phase"] == "login").await?;
    shot(&console, "1-sign-in").await?;
    sign_in(&console, &relay).await?;
    shot(&console, "2-ready").await?;

    let key = start(&console).await?;
    let shown = console
        .client
        .find(Locator::Id("key"))
        .await?
        .text()
        .await?;
    assert_eq!(
        shown.replace(' ', ""),
        key,
        "the key is shown large while waiting"
    );
    shot(&console, "3-waiting-for-customer").await?;

    share(&customer, &relay, "/demo/checkout.html", &key).await?;
    let s = until_console(&console, "the mirror", |s| {
        s["synced"].as_u64().unwrap_or(0) >= 1 && s["customer"] == true
    })
    .await?;
    assert_eq!(s["mode"], "read-only");
    assert!(s["url"]
        .as_str()
        .unwrap_or_default()
        .ends_with("/demo/checkout.html"));
    let mode = console
        .client
        .find(Locator::Id("mode"))
        .await?
        .text()
        .await?;
    assert_eq!(mode, "Read-only");
    shot(&console, "4-connected-read-only").await?;

    // Show and tell: an arrow and a freehand stroke drawn over the mirror, then a highlight.
    let drawn = run(
        &console,
        r#"const glass = document.getElementById('glass');
           const s = document.getElementById('stage').getBoundingClientRect();
           const ev = (type, x, y) => glass.dispatchEvent(new PointerEvent(type, { clientX: s.left + x, clientY: s.top + y, bubbles: true, pointerId: 1 }));
           const stroke = (tool, pts) => {
             document.querySelector(`[data-tool="${tool}"]`).click();
             ev('pointerdown', ...pts[0]);
             for (const p of pts.slice(1)) ev('pointermove', ...p);
             ev('pointerup', ...pts[pts.length - 1]);
           };
           stroke('arrow', [[700, 420], [760, 380], [820, 330]]);
           stroke('draw', Array.from({ length: 40 }, (_, i) => [300 + i * 6, 560 + Math.round(18 * Math.sin(i / 3))]));
           document.querySelector('[data-tool="highlight"]').click();
           ev('pointerdown', 420, 390); ev('pointerup', 420, 390);
           done(document.querySelectorAll('#ink .stroke').length);"#,
    )
    .await?;
    assert_eq!(drawn, 2, "both strokes show in the console");
    shot(&console, "4b-annotations").await?;

    // Request control; the customer allows; the console says so and enables the control tool.
    grant_control(&console, &customer).await?;
    let mode = console
        .client
        .find(Locator::Id("mode"))
        .await?
        .text()
        .await?;
    assert_eq!(mode, "Control granted");

    // Type into the customer's name field through the mirror, targeted by node id.
    let typed = run(
        &console,
        &control_click(
            "#name",
            "const box = document.querySelector('.typing');
             if (!box) return done('no typing box');
             box.value = 'Ada Lovelace';
             box.dispatchEvent(new Event('input'));
             done('ok');",
        ),
    )
    .await?;
    assert_eq!(typed, "ok");
    wait_for(
        "the customer's field to hold the text",
        Duration::from_secs(10),
        || async {
            let v = customer
                .client
                .execute("return document.getElementById('name').value", vec![])
                .await
                .ok()?;
            (v == "Ada Lovelace").then_some(())
        },
    )
    .await?;
    wait_for("the mirror to show the typed value", Duration::from_secs(10), || async {
        let v = console
            .client
            .execute(
                "return document.getElementById('mirror').contentDocument.getElementById('name').value",
                vec![],
            )
            .await
            .ok()?;
        (v == "Ada Lovelace").then_some(())
    })
    .await?;
    run(
        &console,
        "requestAnimationFrame(() => requestAnimationFrame(() => done(true)))",
    )
    .await?;
    shot(&console, "5-control-granted").await?;
    // Enter in the typing box goes to the customer's field; there it would send the form whose
    // "Place order" button is read-only, so the page refuses and the console says why.
    run(
        &console,
        r#"document.querySelector('.typing').dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));
           done(true);"#,
    )
    .await?;
    wait_for("the read-only form refusal toast", Duration::from_secs(10), || async {
        let t = console.client.execute("const t = document.getElementById('toast'); return t.hidden ? '' : t.textContent", vec![]).await.ok()?;
        t.as_str().filter(|t| t.contains("only the customer can send that form")).map(drop)
    })
    .await?;
    let at = customer
        .client
        .execute("return location.pathname", vec![])
        .await?;
    assert_eq!(
        at, "/demo/checkout.html",
        "the order was placed by the agent"
    );

    // End from the console: both sides are told.
    console
        .client
        .find(Locator::Id("end"))
        .await?
        .click()
        .await?;
    let s = until_console(&console, "the end", |s| s["mode"] == "ended").await?;
    assert_eq!(s["phase"], "session");
    shot(&console, "6-ended").await?;

    console.close().await?;
    customer.close().await?;
    tokio::time::timeout(Duration::from_secs(5), relay.kill()).await??;
    Ok(())
}
