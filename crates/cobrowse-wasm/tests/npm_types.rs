//! The npm package's declarations (`npm/index.d.ts`) and its `END_REASONS` (`npm/index.js`)
//! name exactly the end reasons the library emits, so a site's `switch (reason)` type-checks
//! against what really arrives. A new `EndReason` variant fails this test until both files
//! list its name.
#![cfg(not(target_arch = "wasm32"))]

use cobrowse_wasm::control::end_reason_name;
use protocol::EndReason;

/// Every end reason; the match makes a new variant a compile error here.
fn all_reasons() -> Vec<EndReason> {
    use EndReason::*;
    let all = vec![
        CustomerEnded,
        AgentEnded,
        InteractionEnded,
        InteractionTransferred,
        Inactivity,
        Error,
        KeyExchangeFailed,
    ];
    for reason in &all {
        match reason {
            CustomerEnded
            | AgentEnded
            | InteractionEnded
            | InteractionTransferred
            | Inactivity
            | Error
            | KeyExchangeFailed => {}
        }
    }
    all
}

fn package_file(name: &str) -> String {
    let path = format!("{}/../../npm/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The quoted names between `start` and the first `end` marker that follows it.
fn quoted_between(text: &str, start: &str, end: &str) -> Vec<String> {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not found"))
        + start.len();
    let block = &text[from..];
    let block = &block[..block
        .find(end)
        .unwrap_or_else(|| panic!("{end:?} not found"))];
    block
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_declared_end_reasons_are_the_emitted_ones() {
    let emitted: Vec<String> = all_reasons()
        .into_iter()
        .map(|r| end_reason_name(r).to_owned())
        .collect();
    let declared = quoted_between(&package_file("index.d.ts"), "export type EndReason =", ";");
    assert_eq!(declared, emitted, "npm/index.d.ts EndReason");
    let listed = quoted_between(
        &package_file("index.js"),
        "END_REASONS = Object.freeze([",
        "]",
    );
    assert_eq!(listed, emitted, "npm/index.js END_REASONS");
}

#[test]
fn the_package_version_is_the_workspace_version() {
    let manifest = package_file("package.json");
    let want = format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(manifest.contains(&want), "npm/package.json lacks {want}");
}
