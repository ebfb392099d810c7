//! The conformance runner against a deliberately broken relay (feature
//! `conformance-broken-gate`: the control gate forwards agent input in every mode). The checks
//! of the gate fail and name what leaked; every other check still passes, so the failures are
//! the gate's and not the runner's. `make test` runs this file with the feature:
//! `cargo test -p relay --features conformance-broken-gate --test conformance_broken`.
#![cfg(feature = "conformance-broken-gate")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test harness: failing loudly is the point

mod common;

use common::*;
use relay::conformance::{self, AgentIdentity, Target};

#[tokio::test]
async fn a_relay_that_forwards_agent_input_without_a_grant_fails_the_gate_checks() {
    let relay = Relay::start(|_| {}).await;
    let agent = AgentIdentity::Password {
        name: "alice".into(),
        password: "pw".into(),
    };
    let target = Target::new(&format!("http://{}", relay.addr), SITE, ORIGIN, agent);
    let results = conformance::run(&target).await.unwrap();
    let table = conformance::table(&results);
    println!("{table}");
    let mut failed: Vec<_> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.name.as_str())
        .collect();
    failed.sort_unstable();
    assert_eq!(
        failed,
        [
            "read_only_input_dropped",
            "requested_input_dropped",
            "revoke_drops_input",
            "sealed_read_only_input_dropped"
        ],
        "{table}"
    );
    let read_only = results
        .iter()
        .find(|r| r.name == "read_only_input_dropped")
        .unwrap();
    assert!(read_only.detail.contains("Click"), "{}", read_only.detail);
    relay.stop().await;
}
