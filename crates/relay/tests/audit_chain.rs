//! The tamper-evident co-browse audit: a real session writes a hash-chained log into a real
//! SQLite file; the test then alters one row's detail (or deletes a row) with rusqlite, and
//! the real `relay audit verify` binary and the admin endpoint name that entry. A clean log is
//! intact. Agents and supervisors are refused the endpoint, and anonymous callers get 401.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: failing loudly is the point

mod common;

use std::process::Command;

use common::*;
use relay::{
    accounts,
    policy::{Role, Roles},
    store::{Options, Store, Target},
};

/// A relay with alice (agent), sue (supervisor) and ada (admin), and one ended session of
/// alice's with a few audit entries; returns the relay, alice's token and the session id.
async fn ended_session() -> (Relay, String, String) {
    let relay = Relay::start(|_| {}).await;
    let store = Store::open_async(Target::Sqlite(relay.db_path()), Options::command())
        .await
        .unwrap();
    let hash = accounts::hash_password("pw").unwrap();
    store
        .write(move |c| {
            accounts::person_upsert(c, "sue", &hash, Roles::of(&[Role::Supervisor]))?;
            accounts::person_upsert(c, "ada", &hash, Roles::of(&[Role::Admin]))
        })
        .await
        .unwrap();
    drop(store);
    let alice = relay.login("alice").await;
    let (id, mut customer, _agent) = relay.paired(&alice, "voice", "call-1").await;
    relay.processed(&alice, &id, &mut customer).await;
    let (status, body) = relay
        .api(
            &alice,
            "POST",
            &format!("/api/cobrowse/sessions/{id}/end"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    relay
        .audit_until(&alice, &id, |a| a.iter().any(|(e, _)| e == "ended"))
        .await;
    (relay, alice, id)
}

/// `relay audit verify ID` on the relay's database: (success, stdout + stderr).
fn verify_cli(relay: &Relay, id: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_relay"))
        .arg("--db")
        .arg(relay.db_path())
        .args(["audit", "verify", id])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn tamper(relay: &Relay, sql: &str, id: &str) {
    let db = rusqlite::Connection::open(relay.db_path()).unwrap();
    db.busy_timeout(WAIT).unwrap();
    assert_eq!(db.execute(sql, [id]).unwrap(), 1, "{sql}");
}

async fn verify_api(relay: &Relay, id: &str) -> serde_json::Value {
    let ada = relay.login("ada").await;
    let path = format!("/api/admin/cobrowse/sessions/{id}/audit/verify");
    let (status, body) = relay.api(&ada, "GET", &path, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_clean_log_is_intact_and_anchored() {
    let (relay, _, id) = ended_session().await;
    let (ok, text) = verify_cli(&relay, &id);
    assert!(ok, "{text}");
    assert!(text.contains("intact"), "{text}");
    assert!(
        text.contains("matching the session's recorded head"),
        "{text}"
    );
    let body = verify_api(&relay, &id).await;
    assert_eq!(body["result"], "intact", "{body}");
    assert_eq!(body["anchored"], true, "{body}");
    assert!(body["entries"].as_u64().unwrap() >= 3, "{body}");
    let (ok, text) = verify_cli(&relay, "no-such-session");
    assert!(!ok && text.contains("no such session"), "{text}");
    relay.stop().await;
}

#[tokio::test]
async fn an_altered_row_is_named() {
    let (relay, _, id) = ended_session().await;
    tamper(
        &relay,
        "UPDATE audit_log SET detail = 'nothing happened' WHERE session_id = ?1 AND seq = 2",
        &id,
    );
    let (ok, text) = verify_cli(&relay, &id);
    assert!(!ok, "{text}");
    assert!(text.contains("broken at entry 2: altered"), "{text}");
    let body = verify_api(&relay, &id).await;
    assert_eq!(body["result"], "broken", "{body}");
    assert_eq!(body["seq"], 2, "{body}");
    assert_eq!(body["why"], "altered", "{body}");
    relay.stop().await;
}

#[tokio::test]
async fn a_cut_tail_and_a_deleted_row_are_named() {
    let (relay, _, id) = ended_session().await;
    let entries = verify_api(&relay, &id).await["entries"].as_i64().unwrap();
    // The last entry deleted: the chain that is left is whole; the session row's head is not.
    tamper(
        &relay,
        "DELETE FROM audit_log WHERE session_id = ?1
         AND seq = (SELECT MAX(seq) FROM audit_log WHERE session_id = ?1)",
        &id,
    );
    let (ok, text) = verify_cli(&relay, &id);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("broken at entry {entries}: missing")),
        "{text}"
    );
    tamper(
        &relay,
        "DELETE FROM audit_log WHERE session_id = ?1 AND seq = 2",
        &id,
    );
    let (ok, text) = verify_cli(&relay, &id);
    assert!(!ok, "{text}");
    assert!(text.contains("broken at entry 2: missing"), "{text}");
    let body = verify_api(&relay, &id).await;
    assert_eq!(body["seq"], 2, "{body}");
    assert_eq!(body["why"], "missing", "{body}");
    relay.stop().await;
}

#[tokio::test]
async fn only_admins_may_verify() {
    let (relay, alice, id) = ended_session().await;
    let path = format!("/api/admin/cobrowse/sessions/{id}/audit/verify");
    // The session's own agent is refused, and so is a supervisor.
    let (status, body) = relay.api(&alice, "GET", &path, None).await;
    assert_eq!(status, 403, "{body}");
    let sue = relay.login("sue").await;
    let (status, body) = relay.api(&sue, "GET", &path, None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.get("result").is_none(), "{body}");
    let (status, _) = relay.http("GET", &path, &[], None).await;
    assert_eq!(status, 401);
    let ada = relay.login("ada").await;
    let (status, _) = relay.api(&ada, "GET", &path, None).await;
    assert_eq!(status, 200);
    let (status, _) = relay
        .api(
            &ada,
            "GET",
            "/api/admin/cobrowse/sessions/nope/audit/verify",
            None,
        )
        .await;
    assert_eq!(status, 404);
    relay.stop().await;
}
