//! The console's API page in real headless Chromium against the real relay: it renders the
//! relay's own `/api/openapi.json` for people, every documented operation once, grouped by
//! area; the filter narrows it; an opened operation shows its body and response schemas with
//! `$ref`s expanded. A screenshot goes to `tests/output/api-page.png`.

use std::collections::BTreeSet;

use anyhow::{ensure, Context, Result};
use e2e::{Browser, Relay};
use serde_json::Value;

#[tokio::test]
async fn the_api_page_shows_every_documented_operation_and_filters_them() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let doc: Value = reqwest::get(relay.url("/api/openapi.json"))
        .await?
        .json()
        .await?;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().context("paths")? {
        for method in item.as_object().context("path item")?.keys() {
            documented.insert(format!("{method} {path}"));
        }
    }
    ensure!(documented.len() > 40, "too few operations: {documented:?}");

    let browser = Browser::start().await?;
    browser.client.set_window_size(1300, 1000).await?;
    browser.client.goto(&relay.url("/console/api.html")).await?;
    browser
        .until(
            "the operations",
            "document.querySelectorAll('details.op').length > 0",
        )
        .await?;
    let shown: Vec<String> = serde_json::from_value(
        browser
            .js("return [...document.querySelectorAll('details.op')]
                   .map((d) => d.dataset.method + ' ' + d.dataset.path)")
            .await?,
    )?;
    let unique: BTreeSet<String> = shown.iter().cloned().collect();
    assert_eq!(shown.len(), unique.len(), "an operation is shown twice");
    assert_eq!(
        unique, documented,
        "the page shows exactly the documented operations"
    );
    let count = browser
        .js("return document.getElementById('count').textContent")
        .await?;
    assert_eq!(count, format!("{} operations", documented.len()));

    // Opening sign-in shows its body and the Agent schema its answer refers to, expanded.
    browser
        .js("const d = document.querySelector('details.op[data-method=post][data-path=\"/api/login\"]');
             d.open = true; d.scrollIntoView(); return 1")
        .await?;
    let text: String = serde_json::from_value(
        browser
            .js("return document.querySelector('details.op[data-path=\"/api/login\"] .op-body').textContent")
            .await?,
    )?;
    for part in [
        "Request body",
        "name: string",
        "password: string",
        "Open: no sign-in",
        "token: string",
        "agent: Agent {",
        // OpenAPI 3.1's optional value (`type: [string, null]`), as a person reads it.
        "permission?: string | null",
    ] {
        assert!(
            text.contains(part),
            "the sign-in operation lacks {part:?}:\n{text}"
        );
    }
    browser.screenshot("api-page").await?;

    // The filter keeps what matches every word, and says how many.
    browser.type_into("find", "wrap-up post").await?;
    browser
        .until(
            "the filter",
            "document.getElementById('count').textContent.includes(' of ')",
        )
        .await?;
    let visible: Vec<String> = serde_json::from_value(
        browser
            .js(
                "return [...document.querySelectorAll('details.op')].filter((d) => !d.hidden)
                   .map((d) => d.dataset.method + ' ' + d.dataset.path)",
            )
            .await?,
    )?;
    let expected: Vec<&String> = documented
        .iter()
        .filter(|op| op.starts_with("post ") && op.contains("wrap-up"))
        .collect();
    ensure!(!expected.is_empty(), "the API documents no wrap-up");
    for op in &expected {
        assert!(
            visible.contains(op),
            "{op} hidden by the filter: {visible:?}"
        );
    }
    assert!(
        visible.len() < documented.len() / 4,
        "the filter hid little: {visible:?}"
    );
    browser.close().await
}
