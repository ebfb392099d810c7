//! The agent console's "Request control of an area" tool in a real browser against the real
//! relay and a real customer page: the agent picks an element in the mirror, the customer sees
//! it outlined and allows it, typing inside applies, and a click outside is refused with a short
//! notice in the console. Screenshots go to `tests/output/console-area-*.png`.

mod mirror_support;

use std::time::Duration;

use e2e::{output_dir, wait_for, Browser, Relay};
use fantoccini::Locator;
use mirror_support::*;

async fn shot(browser: &Browser, name: &str) -> anyhow::Result<()> {
    let png = browser.client.screenshot().await?;
    std::fs::write(output_dir().join(format!("console-area-{name}.png")), png)?;
    Ok(())
}

/// Presses (pointer down and up) on the mirrored element `id` with the console's current tool.
fn press_on(id: &str) -> String {
    format!(
        r#"const doc = document.getElementById('mirror').contentDocument;
           const field = doc.getElementById('{id}');
           const glass = document.getElementById('glass');
           const r = field.getBoundingClientRect(), s = document.getElementById('stage').getBoundingClientRect();
           const scale = s.width / doc.defaultView.innerWidth;
           const at = {{ clientX: s.left + (r.left + 5) * scale, clientY: s.top + (r.top + 5) * scale, bubbles: true, pointerId: 1 }};
           glass.dispatchEvent(new PointerEvent('pointerdown', at));
           glass.dispatchEvent(new PointerEvent('pointerup', at));
           done(true);"#
    )
}

#[tokio::test]
async fn the_agent_requests_an_area_in_the_mirror_and_a_click_outside_it_is_refused_with_a_notice(
) -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    let (console, customer) = tokio::try_join!(Browser::start(), Browser::start())?;
    console.client.set_window_size(1600, 1000).await?;
    console.client.goto(&relay.url("/console/")).await?;
    until_console(&console, "the sign-in form", |s| s["phase"] == "login").await?;
    sign_in(&console, &relay).await?;
    let key = start(&console).await?;
    share(&customer, &relay, "/demo/checkout.html", &key).await?;
    until_console(&console, "the mirror", |s| {
        s["synced"].as_u64().unwrap_or(0) >= 1 && s["customer"] == true
    })
    .await?;

    // The area tool, then the customer's name field in the mirror.
    console
        .client
        .find(Locator::Id("request-area"))
        .await?
        .click()
        .await?;
    run(&console, &press_on("name")).await?;
    // The customer is asked about the outlined area and allows it until stopped.
    run(
        &customer,
        r#"const go = () => {
             const host = document.getElementById('cobrowse-ui');
             const r = host && host.shadowRoot;
             const b = r && r.querySelector('[data-act="allow"][data-value="0"]');
             if (!b || !r.querySelector('[data-cobrowse-area]')) return setTimeout(go, 10);
             b.click(); done(true);
           };
           go();"#,
    )
    .await?;
    until_console(&console, "control of the area", |s| s["mode"] == "granted").await?;
    let left = console
        .client
        .find(Locator::Id("grant-left"))
        .await?
        .text()
        .await?;
    assert_eq!(left, "area only");

    // Typing inside the area applies.
    run(
        &console,
        &format!(
            "document.querySelector('[data-tool=\"control\"]').click();\n{}",
            press_on("name")
        ),
    )
    .await?;
    run(
        &console,
        r#"const box = document.querySelector('.typing');
           box.value = 'Ada Lovelace'; box.dispatchEvent(new Event('input')); done(true);"#,
    )
    .await?;
    wait_for("the typed name", Duration::from_secs(10), || async {
        let v = customer
            .client
            .execute("return document.getElementById('name').value", vec![])
            .await
            .ok()?;
        (v == "Ada Lovelace").then_some(())
    })
    .await?;

    // A click outside it (into the email field beside it) is refused, and the console says why.
    run(&console, &press_on("email")).await?;
    wait_for(
        "the outside-the-area notice",
        Duration::from_secs(10),
        || async {
            let t = console
            .client
            .execute(
                "const t = document.getElementById('toast'); return t.hidden ? '' : t.textContent",
                vec![],
            )
            .await
            .ok()?;
            t.as_str()
                .filter(|t| t.contains("outside the area the customer granted"))
                .map(drop)
        },
    )
    .await?;
    shot(&console, "refused").await?;
    // Typing there too (the console opened its typing box on the field): refused as well.
    run(
        &console,
        r#"const box = document.querySelector('.typing');
           box.value = 'Atlantis'; box.dispatchEvent(new Event('input')); done(true);"#,
    )
    .await?;
    until_console(&console, "both refusals", |s| {
        s["signals"]
            .as_array()
            .is_some_and(|a| a.iter().filter(|x| *x == "refused").count() >= 2)
    })
    .await?;
    let email = customer
        .client
        .execute("return document.getElementById('email').value", vec![])
        .await?;
    assert_eq!(email, "", "typing outside the area reached the page");
    console.close().await?;
    customer.close().await?;
    Ok(())
}
