//! Mirror fidelity: two real headless Chromium browsers (the customer's page and the agent's
//! console) and the real relay, over pages with real-world shapes. After a scripted sequence
//! of changes on each page, the mirror's DOM put through the canonical serialisation
//! (`www/test-pages/canonical.js`) equals the customer's, and screenshots of the customer's
//! viewport and of the mirror at 1:1 match within a small per-pixel tolerance. The share of
//! differing pixels is printed per page; screenshots go to `tests/output/mirror-*.png`.

mod mirror_support;

use std::time::Duration;

use e2e::{output_dir, Browser, Relay};
use fantoccini::Locator;
use mirror_support::*;

/// Channel difference under which two pixels count as equal (antialiasing, subpixel text).
const PIXEL_TOLERANCE: u8 = 48;
/// The most of the viewport that may differ between the customer's page and the mirror.
const MAX_DIFFERING_SHARE: f64 = 0.01;

/// The checkout's scripted changes: a shopper filling the form, card and password masked.
const CHECKOUT_CHANGES: &str = r#"
  const set = (id, v) => { const e = document.getElementById(id); e.value = v; e.dispatchEvent(new Event('input', { bubbles: true })); e.dispatchEvent(new Event('change', { bubbles: true })); };
  set('name', 'Grace Hopper'); set('email', 'grace@example.com'); set('city', 'Arlington');
  set('country', 'Canada'); set('card', '4111111111111111'); set('password', 'hunter2!');
  document.querySelector('h1').textContent = 'Checkout (2 items)';
"#;

struct Page {
    name: &'static str,
    path: &'static str,
    /// Script run in the customer's page (async; the page's own `runChanges` when empty).
    changes: &'static str,
}

const PAGES: &[Page] = &[
    Page {
        name: "checkout",
        path: "/demo/checkout.html",
        changes: CHECKOUT_CHANGES,
    },
    Page {
        name: "css-in-js",
        path: "/test-pages/cssinjs.html",
        changes: "",
    },
    Page {
        name: "web-component",
        path: "/test-pages/component.html",
        changes: "",
    },
    Page {
        name: "iframe",
        path: "/test-pages/iframe.html",
        changes: "",
    },
    Page {
        name: "svg",
        path: "/test-pages/svg.html",
        changes: "",
    },
    Page {
        name: "article",
        path: "/test-pages/article.html",
        changes: "",
    },
    Page {
        name: "spa",
        path: "/test-pages/spa.html",
        changes: "",
    },
];

async fn run_changes(customer: &Browser, page: &Page) -> anyhow::Result<()> {
    let script = if page.changes.is_empty() {
        "Promise.resolve(window.runChanges()).then(() => done(true), (e) => done(String(e)));"
            .to_owned()
    } else {
        format!("{}\ndone(true);", page.changes)
    };
    let result = run(customer, &script).await?;
    anyhow::ensure!(result == true, "{}: changes failed: {result}", page.name);
    Ok(())
}

/// Screenshots of the customer's viewport and of the mirror at 1:1; returns the differing
/// share.
async fn compare_pixels(console: &Browser, customer: &Browser, page: &Page) -> anyhow::Result<f64> {
    // Our overlay (banner, pointer) is not part of the page: hide it for the picture. Capture
    // never sees the overlay, so this changes nothing on the mirror's side.
    run(
        customer,
        "document.querySelectorAll('[data-cobrowse-overlay]').forEach((e) => e.style.visibility = 'hidden');
         requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
    )
    .await?;
    run(
        console,
        "const one = document.getElementById('one-to-one'); if (!one.checked) one.click();
         document.getElementById('customer-pointer').hidden = true;
         const w = document.getElementById('mirror').contentWindow;
         Promise.all([...w.document.images].map((i) => i.decode().catch(() => {})))
           .then(() => w.document.fonts.ready)
           .then(() => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));",
    )
    .await?;
    let theirs = customer.client.screenshot().await?;
    let ours = console
        .client
        .find(Locator::Id("mirror"))
        .await?
        .screenshot()
        .await?;
    let dir = output_dir();
    std::fs::write(
        dir.join(format!("mirror-{}-customer.png", page.name)),
        &theirs,
    )?;
    std::fs::write(dir.join(format!("mirror-{}-mirror.png", page.name)), &ours)?;
    differing_share(&theirs, &ours, PIXEL_TOLERANCE)
}

#[tokio::test]
async fn the_mirror_matches_the_customers_page_in_dom_and_pixels() -> anyhow::Result<()> {
    let relay = Relay::start(&[]).await?;
    let (console, customer) = tokio::try_join!(Browser::start(), Browser::start())?;
    console.client.set_window_size(1700, 1200).await?;
    sign_in(&console, &relay).await?;
    let mut failures = Vec::new();
    for page in PAGES {
        // A fresh session per page: the customer's tab forgets the last one.
        run(
            &customer,
            "try { sessionStorage.clear(); } catch (e) {} done(true);",
        )
        .await?;
        session(&console, &customer, &relay, page.path).await?;
        converge(&console, &customer, page.name).await?;
        run_changes(&customer, page).await?;
        let canonical = converge(&console, &customer, page.name).await?;
        let share = compare_pixels(&console, &customer, page).await?;
        println!(
            "{{\"page\":\"{}\",\"canonical_lines\":{},\"differing_pixel_share\":{share:.5}}}",
            page.name,
            canonical.lines().count()
        );
        if share > MAX_DIFFERING_SHARE {
            failures.push(format!(
                "{}: {:.2}% of pixels differ",
                page.name,
                share * 100.0
            ));
        }
        console
            .client
            .find(Locator::Id("end"))
            .await?
            .click()
            .await?;
        until_console(&console, "the end", |s| s["mode"] == "ended").await?;
        console
            .client
            .find(Locator::Id("again"))
            .await?
            .click()
            .await?;
        until_console(&console, "ready again", |s| s["phase"] == "start").await?;
    }
    assert!(failures.is_empty(), "{failures:?}");
    console.close().await?;
    customer.close().await?;
    tokio::time::timeout(Duration::from_secs(5), relay.kill()).await??;
    Ok(())
}
