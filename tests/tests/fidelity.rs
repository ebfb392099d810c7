//! The fidelity suite: real pages no one here wrote (`tests/fidelity/`, vendored with their
//! licences: SQLite's, Python's and Apache httpd's documentation), each shared through the
//! real relay into the agent console in two real headless Chromium browsers, and compared
//! with the customer's page by canonical DOM and by pixels at the same viewport in four
//! states: at the top, scrolled halfway down, with a link under the customer's pointer, and
//! with an element focused. One JSON line per page and state; screenshots go to
//! `tests/output/mirror-fidelity-*.png`.

mod mirror_support;

use std::{path::Path, time::Duration};

use anyhow::Context;
use e2e::{wait_for, workspace_root, Browser, Relay};
use fantoccini::actions::{InputSource, MouseActions, PointerAction};
use fantoccini::Locator;
use mirror_support::*;
use serde_json::Value;

struct RealPage {
    name: &'static str,
    path: &'static str,
    /// A link the customer's pointer rests on (its hover style must show in the mirror).
    hover: &'static str,
    /// An element the customer focuses.
    focus: &'static str,
}

const PAGES: &[RealPage] = &[
    RealPage {
        name: "sqlite-upsert",
        path: "/fidelity/sqlite/lang_upsert.html",
        // Selectors that do not read a URL: the mirror makes every URL absolute.
        hover: ".mainmenu li.desktoponly a",
        focus: ".mainmenu li:first-child a",
    },
    RealPage {
        name: "python-json",
        path: "/fidelity/python/library/json.html",
        hover: ".sphinxsidebar a.reference.internal",
        // The mobile menu's search box is hidden at this width; the related bar's is not.
        focus: "div.related form.inline-search input[name='q']",
    },
    RealPage {
        name: "apache-mod-rewrite",
        path: "/fidelity/apache/en/mod/mod_rewrite.html",
        hover: "#page-header p.menu a",
        focus: "#quickview #topics a",
    },
];

/// A `www` for the relay: the workspace's, and the vendored pages under `/fidelity/`.
fn www_with_pages() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let www = workspace_root().join("www");
    for entry in std::fs::read_dir(&www)? {
        let entry = entry?;
        std::os::unix::fs::symlink(entry.path(), dir.path().join(entry.file_name()))?;
    }
    std::os::unix::fs::symlink(
        workspace_root().join("tests/fidelity"),
        dir.path().join("fidelity"),
    )?;
    Ok(dir)
}

/// Waits until the mirror's window is scrolled where the customer's is.
async fn scroll_converges(console: &Browser, customer: &Browser) -> anyhow::Result<f64> {
    let y = run(customer, "done(window.scrollY);").await?;
    let y = y.as_f64().context("scrollY")?;
    wait_for("the mirror to scroll", Duration::from_secs(10), || async {
        let got = console
            .client
            .execute(
                "return document.getElementById('mirror').contentWindow.scrollY;",
                vec![],
            )
            .await
            .ok()?
            .as_f64()?;
        ((got - y).abs() < 1.0).then_some(())
    })
    .await?;
    Ok(y)
}

/// Waits until the mirror's element at `selector` carries `mark` (`data-cb-hover`, ...).
async fn marked(console: &Browser, selector: &str, mark: &str) -> anyhow::Result<()> {
    let expr = format!(
        "const d = document.getElementById('mirror').contentWindow.document;
         const e = d.querySelector({selector:?}); return !!e && e.hasAttribute({mark:?});"
    );
    let found = wait_for(
        &format!("{selector} marked {mark} in the mirror"),
        Duration::from_secs(10),
        || async {
            let v = console.client.execute(&expr, vec![]).await.ok()?;
            (v == Value::Bool(true)).then_some(())
        },
    )
    .await;
    if found.is_err() {
        let what = console
            .client
            .execute(
                &format!(
                    "const d = document.getElementById('mirror').contentWindow.document;
                     return [...d.querySelectorAll('[{mark}]')].map((e) => e.outerHTML.slice(0, 80));"
                ),
                vec![],
            )
            .await?;
        return found.with_context(|| format!("marked instead: {what}"));
    }
    Ok(())
}

/// One state's comparison: canonical DOM equal (else an error), and the differing share of
/// pixels, printed and checked against the bound.
async fn compare(
    console: &Browser,
    customer: &Browser,
    page: &RealPage,
    state: &str,
    failures: &mut Vec<String>,
) -> anyhow::Result<()> {
    let canonical = converge(console, customer, page.name).await?;
    let name = format!("fidelity-{}-{state}", page.name);
    let share = compare_pixels(console, customer, &name).await?;
    judge(page.name, Some(state), &canonical, share, failures);
    Ok(())
}

async fn one_page(
    console: &Browser,
    customer: &Browser,
    relay: &Relay,
    page: &RealPage,
    failures: &mut Vec<String>,
) -> anyhow::Result<()> {
    session(console, customer, relay, page.path).await?;
    compare(console, customer, page, "top", failures).await?;

    run(
        customer,
        "window.scrollTo({ top: document.documentElement.scrollHeight / 2, behavior: 'instant' });
         requestAnimationFrame(() => done(true));",
    )
    .await?;
    let y = scroll_converges(console, customer).await?;
    anyhow::ensure!(y > 0.0, "{}: the page did not scroll", page.name);
    compare(console, customer, page, "scrolled", failures).await?;

    run(
        customer,
        "window.scrollTo({ top: 0, behavior: 'instant' }); requestAnimationFrame(() => done(true));",
    )
    .await?;
    scroll_converges(console, customer).await?;
    let link = customer
        .client
        .find(Locator::Css(page.hover))
        .await
        .with_context(|| format!("{}: no {}", page.name, page.hover))?;
    let hover = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
        element: link,
        duration: Some(Duration::from_millis(50)),
        x: 0.0,
        y: 0.0,
    });
    customer.client.perform_actions(hover).await?;
    marked(console, page.hover, "data-cb-hover").await?;
    compare(console, customer, page, "hover", failures).await?;

    run(
        customer,
        &format!(
            "document.querySelector({:?}).focus({{ preventScroll: true }}); done(true);",
            page.focus
        ),
    )
    .await?;
    marked(console, page.focus, "data-cb-focus").await?;
    compare(console, customer, page, "focus", failures).await?;
    Ok(())
}

#[tokio::test]
async fn real_pages_are_mirrored_in_dom_and_pixels_at_the_top_scrolled_hovered_and_focused(
) -> anyhow::Result<()> {
    let www = www_with_pages()?;
    let relay = Relay::start_serving(www.path(), &[]).await?;
    assert!(Path::new(&www.path().join("fidelity/README.md")).exists());
    let (console, customer) = tokio::try_join!(Browser::start(), Browser::start())?;
    console.client.set_window_size(1700, 1200).await?;
    sign_in(&console, &relay).await?;
    let mut failures = Vec::new();
    for page in PAGES {
        run(
            &customer,
            "try { sessionStorage.clear(); } catch (e) {} done(true);",
        )
        .await?;
        one_page(&console, &customer, &relay, page, &mut failures)
            .await
            .with_context(|| page.name)?;
        end_and_start_again(&console).await?;
    }
    assert!(failures.is_empty(), "{failures:?}");
    console.close().await?;
    customer.close().await?;
    tokio::time::timeout(Duration::from_secs(5), relay.kill()).await??;
    Ok(())
}
