//! The conformance runner against our own relay: every check passes, and the run covers what
//! issue 26 names (pairing, read-only refusal, grant, revoke, end rules, oversize and
//! malformed frames, wrong version). A runner whose checks all pass trivially would be caught
//! by `conformance_broken.rs`, which runs it against a relay with the control gate flipped.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: failing loudly is the point

mod common;

use common::*;
use relay::conformance::{self, AgentIdentity, Target};

pub fn target(relay: &Relay, agent: AgentIdentity) -> Target {
    Target::new(&format!("http://{}", relay.addr), SITE, ORIGIN, agent)
}

#[tokio::test]
async fn our_relay_passes_every_conformance_check() {
    let relay = Relay::start(|_| {}).await;
    let agent = AgentIdentity::Password {
        name: "alice".into(),
        password: "pw".into(),
    };
    let results = conformance::run(&target(&relay, agent)).await.unwrap();
    let table = conformance::table(&results);
    println!("{table}");
    let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
    assert!(failed.is_empty(), "{table}");
    for name in [
        "version_mismatch_refused",
        "malformed_hello_refused[hello_truncated]",
        "first_frame_not_hello_refused",
        "text_message_refused",
        "wrong_key_refused",
        "pairing_by_key",
        "page_frames_reach_agent",
        "sealed_hello_refused",
        "sealed_page_frames_reach_agent",
        "sealed_read_only_input_dropped",
        "sealed_granted_input_delivered",
        "read_only_input_dropped",
        "requested_input_dropped",
        "grant_delivers_input",
        "revoke_drops_input",
        "customer_end_tells_agent",
        "agent_end_tells_customer",
        "agent_end_over_http_tells_customer",
        "oversize_frame_refused",
        "malformed_frame_refused[empty]",
        "malformed_frame_refused[unknown_kind_0xff]",
        "malformed_frame_refused[sequence_over_u32]",
        "malformed_end_refused",
        "wrong_sender_refused[customer]",
        "wrong_sender_refused[agent]",
        "second_hello_refused",
    ] {
        assert!(
            results.iter().any(|r| r.name == name),
            "no check {name}:\n{table}"
        );
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_token_from_the_relay_s_sign_in_works_as_well_as_a_password() {
    let relay = Relay::start(|_| {}).await;
    let token = relay.login("bob").await;
    let results = conformance::run(&target(&relay, AgentIdentity::Token(token)))
        .await
        .unwrap();
    assert!(
        results.iter().all(|r| r.passed),
        "{}",
        conformance::table(&results)
    );
    relay.stop().await;
}

#[tokio::test]
async fn a_wrong_password_stops_the_run_before_any_check() {
    let relay = Relay::start(|_| {}).await;
    let agent = AgentIdentity::Password {
        name: "alice".into(),
        password: "not the password".into(),
    };
    let refused = conformance::run(&target(&relay, agent)).await.unwrap_err();
    assert!(
        matches!(refused, conformance::SetupError::SignIn { status: 401 }),
        "{refused}"
    );
    relay.stop().await;
}

/// `relay conformance` itself: the table on stdout, exit 0 when every check passes and
/// non-zero when one fails (here every customer check, from an origin the site refuses).
#[tokio::test]
async fn the_command_prints_the_table_and_fails_when_a_check_fails() {
    let relay = Relay::start(|_| {}).await;
    let url = format!("http://{}", relay.addr);
    let command = move |origin: &'static str| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_relay"))
                .args([
                    "conformance",
                    "--url",
                    &url,
                    "--site",
                    SITE,
                    "--origin",
                    origin,
                ])
                .args(["--agent-name", "alice", "--agent-password", "pw"])
                .output()
                .unwrap()
        })
    };
    let passing = command(ORIGIN).await.unwrap();
    let stdout = String::from_utf8_lossy(&passing.stdout);
    assert!(passing.status.success(), "{stdout}");
    assert!(stdout.contains("pairing_by_key"), "{stdout}");
    assert!(stdout.contains(" 0 failed"), "{stdout}");

    let failing = command("http://elsewhere.test").await.unwrap();
    let stdout = String::from_utf8_lossy(&failing.stdout);
    assert_eq!(failing.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL"), "{stdout}");
    assert!(stdout.contains("HTTP 403"), "{stdout}");
    relay.stop().await;
}
