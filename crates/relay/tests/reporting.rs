//! Reporting over real sockets: a handled call with wrap-up and an abandoned call show up in
//! the real-time board, in the historical queue and agent reports (JSON and CSV) and in
//! `/metrics`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: failing loudly is the point

mod common;
mod routing_support;

use common::WAIT;
use routing_support::*;
use serde_json::{json, Value};

async fn board_until(center: &Center, token: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, board) = center
            .relay
            .api(token, "GET", "/api/routing/realtime", None)
            .await;
        if check(&board) {
            return board;
        }
        assert!(tokio::time::Instant::now() < deadline, "board: {board}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_handled_and_an_abandoned_call_appear_in_every_report() {
    let center = Center::start().await;
    let alice = center.relay.login("alice").await;
    center
        .queue(&alice, json!({"name": "sales", "wrap_up_codes": ["sold"]}))
        .await;
    let mut desk = center.desk(&alice).await;
    center.presence(&alice, "available").await;

    center.call("call-1", "sales").await;
    desk.work("call-1", Some("offered")).await;
    center
        .connector("/api/telephony/calls/call-1/answered", None)
        .await;
    desk.work("call-1", Some("connected")).await;
    center
        .connector("/api/telephony/calls/call-1/ended", None)
        .await;
    desk.work("call-1", Some("wrap_up")).await;
    let (status, _) = center
        .act(&alice, "call-1", "wrap-up", Some(json!({"code": "sold"})))
        .await;
    assert_eq!(status, 200);

    center.presence(&alice, "away").await;
    center.call("call-2", "sales").await;
    // By name: the relay also has the messaging queue the bridge creates.
    let sales = |b: &Value| {
        let queues = b["queues"].as_array().cloned().unwrap_or_default();
        queues
            .into_iter()
            .find(|q| q["name"] == "sales")
            .unwrap_or(Value::Null)
    };
    let board = board_until(&center, &alice, |b| sales(b)["waiting"] == 1).await;
    assert_eq!(sales(&board)["offered_today"], 2);
    assert_eq!(sales(&board)["answered_today"], 1);
    assert_eq!(board["agents"][0]["status"], "away");
    let (_, metrics) = get_text(&center.relay, "/metrics", Some(METRICS_TOKEN)).await;
    assert!(
        metrics.contains("relay_routing_queue_waiting{queue=\"sales\"} 1"),
        "{metrics}"
    );
    center
        .connector("/api/telephony/calls/call-2/ended", None)
        .await;

    let window = "from=0&to=99999999999999&sl_secs=60";
    let (status, report) = center
        .relay
        .api(
            &alice,
            "GET",
            &format!("/api/reports/queues?{window}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let sales = &report["rows"][0];
    assert_eq!(sales["queue"], "sales");
    assert_eq!(
        (&sales["offered"], &sales["answered"], &sales["abandoned"]),
        (&json!(2), &json!(1), &json!(1))
    );
    assert_eq!(sales["service_level"], 0.5);
    assert_eq!(sales["abandon_rate"], 0.5);
    assert!(sales["aht_secs"].as_f64().unwrap() >= 0.0);

    let (_, agents) = center
        .relay
        .api(
            &alice,
            "GET",
            &format!("/api/reports/agents?{window}"),
            None,
        )
        .await;
    let row = &agents["rows"][0];
    assert_eq!(
        (&row["agent"], &row["answered"]),
        (&json!("alice"), &json!(1))
    );
    assert!(row["staffed_secs"].as_f64().unwrap() > 0.0, "{agents}");

    let (status, csv) = get_text(
        &center.relay,
        &format!("/api/reports/queues.csv?{window}"),
        Some(&alice),
    )
    .await;
    assert_eq!(status, 200);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert!(header.contains(&"abandon_rate") && header.contains(&"service_level"));
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!((column("queue"), column("offered")), ("sales", "2"));

    let (status, _) = get_text(&center.relay, "/api/reports/queues", None).await;
    assert_eq!(status, 401, "reports need a signed-in agent");
    center.relay.stop().await;
}
