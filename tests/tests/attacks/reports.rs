//! Report exports. Observed on the old relay: a queue named `=HYPERLINK(...)` came out of the
//! CSV export as a live formula, which a supervisor's spreadsheet runs on opening.

use std::time::Duration;

use anyhow::Result;
use e2e::Relay;
use serde_json::json;

use super::support::{client_from, sign_in_as};

const CONNECTOR: &str = "pbx=attack-connector-token-0123456789";
const CONNECTOR_TOKEN: &str = "attack-connector-token-0123456789";

#[tokio::test]
async fn a_queue_named_like_a_formula_comes_out_of_the_csv_as_text() -> Result<()> {
    let relay = Relay::start(&["--connector-token", CONNECTOR]).await?;
    let http = client_from(0, 32, 1);
    // The admin makes the queue; the supervisor reads the report.
    let admin = sign_in_as(&relay, &http, "admin").await?;
    let token = sign_in_as(&relay, &http, "supervisor").await?;
    let name = r#"=HYPERLINK("http://x","y")"#;
    http.post(relay.url("/api/routing/queues"))
        .bearer_auth(&admin)
        .json(&json!({ "name": name }))
        .send()
        .await?
        .error_for_status()?;
    // A call arrives in it and hangs up unanswered: the queue has a row in the report.
    http.post(relay.url("/api/telephony/calls"))
        .bearer_auth(CONNECTOR_TOKEN)
        .json(&json!({"id": "call-1", "queue": name}))
        .send()
        .await?
        .error_for_status()?;
    http.post(relay.url("/api/telephony/calls/call-1/ended"))
        .bearer_auth(CONNECTOR_TOKEN)
        .json(&json!({}))
        .send()
        .await?
        .error_for_status()?;

    let url = relay.url("/api/reports/queues.csv?from=0&to=99999999999999");
    let csv = e2e::wait_for("the queue's row", Duration::from_secs(10), || {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            let body = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            body.contains("HYPERLINK").then_some(body)
        }
    })
    .await?;
    // The cell, as RFC 4180 quotes it, is the name behind a ': text, not a formula.
    assert!(
        csv.contains(r#""'=HYPERLINK(""http://x"",""y"")""#),
        "the queue's name is a live formula: {csv}"
    );
    for line in csv.lines() {
        for cell in line.split(',') {
            let bare = cell.trim_start_matches('"');
            assert!(
                !bare.starts_with(['=', '+', '@']),
                "a cell a spreadsheet runs: {line}"
            );
        }
    }
    Ok(())
}
