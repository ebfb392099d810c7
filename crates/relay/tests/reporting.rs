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
        metrics.contains("routing_queue_depth{queue=\"sales\"} 1"),
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

/// Interactions and status changes written into the relay's database before it starts, as
/// routing's journal writes them: more of each than one page of a report holds.
fn seed_history(db: relay::store::Target, interactions: i64, changes: i64) {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async move {
            use relay::store::{Options, Store};
            let store = Store::open_async(db, Options::command()).await.unwrap();
            store
                .write(move |db| {
                    // Alice reads the reports: she supervises too.
                    let roles = relay::policy::Roles::of(&[
                        relay::policy::Role::Agent,
                        relay::policy::Role::Supervisor,
                    ]);
                    relay::accounts::roles_set(db, "alice", roles)?;
                    for i in 0..interactions {
                        // Half of them arrive in the same millisecond, across page boundaries.
                        let arrived = if i % 2 == 0 { 1_000 } else { 1_000 + i };
                        let answered = (i % 3 == 0).then_some(arrived + 500);
                        db.execute(
                            "INSERT INTO routing_interactions (interaction_id, media, queue_id,
                                last_queue_id, arrived_at, first_offered_at, answered_at,
                                answered_by, agents, abandoned_at, ended_at, finished_at, talk_ms,
                                hold_ms, wrap_up_ms, offers, transfers, disposition, outcome)
                             VALUES ($1, 'call', $2, $2, $3, $3, $4, $5, '', $6, NULL, $7, 1000,
                                0, 0, 1, 0, NULL, $8)",
                            &[
                                format!("i-{i:05}").into(),
                                (i % 3 + 1).into(),
                                arrived.into(),
                                answered.into(),
                                answered.map(|_| "agent-x".to_owned()).into(),
                                answered.is_none().then_some(arrived + 700).into(),
                                (arrived + 2_000).into(),
                                if answered.is_some() {
                                    "handled"
                                } else {
                                    "abandoned"
                                }
                                .into(),
                            ],
                        )?;
                    }
                    for i in 0..changes {
                        let status = if i % 2 == 0 { "available" } else { "away" };
                        db.execute(
                            "INSERT INTO agent_presence_log (agent_id, at_ms, seq, status)
                             VALUES ('agent-x', $1, $2, $3)",
                            &[(i * 10).into(), i.into(), status.into()],
                        )?;
                    }
                    Ok(())
                })
                .await
                .unwrap();
        });
    })
    .join()
    .unwrap();
}

#[tokio::test]
async fn a_report_over_more_rows_than_a_page_counts_each_row_once() {
    const INTERACTIONS: i64 = 2_345;
    const CHANGES: i64 = 1_501;
    let relay = common::Relay::start(|config| {
        seed_history(common::config_target(config), INTERACTIONS, CHANGES)
    })
    .await;
    let token = relay.login("alice").await;
    let window = "from=0&to=10000000";
    let (status, queues) = relay
        .api(
            &token,
            "GET",
            &format!("/api/reports/queues?{window}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{queues}");
    let rows = queues["rows"].as_array().unwrap();
    let offered: Vec<i64> = rows
        .iter()
        .map(|r| r["offered"].as_i64().unwrap())
        .collect();
    assert_eq!(offered, vec![782, 782, 781], "{queues}");
    let answered: i64 = rows.iter().map(|r| r["answered"].as_i64().unwrap()).sum();
    assert_eq!(answered, 782, "every third was answered");

    let (status, agents) = relay
        .api(
            &token,
            "GET",
            &format!("/api/reports/agents?{window}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{agents}");
    let agent = agents["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["agent_id"] == "agent-x")
        .unwrap();
    assert_eq!(agent["answered"], 782);
    // Available for 10 ms after each even change, the last one (1,500) until the end.
    let staffed_ms = 750 * 10 + (10_000_000 - 15_000);
    assert_eq!(
        agent["staffed_secs"],
        json!(staffed_ms as f64 / 1000.0),
        "{agent}"
    );
    relay.stop().await;
}
