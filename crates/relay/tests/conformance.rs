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
