//! The deliberately broken control gate of feature `conformance-broken-gate`: agent input the
//! control state refuses is forwarded anyway. It exists only so that
//! `tests/conformance_broken.rs` can show the conformance runner catches a relay that lets an
//! agent act without the customer's grant; no relay that is run is built with it.

use protocol::{DropReason, Verdict};

/// Turns the gate's refusal of agent input into forwarding; every other verdict stands.
pub fn forward_refused_input(verdict: Verdict) -> Verdict {
    match verdict {
        Verdict::Drop(DropReason::NotGranted) => Verdict::Forward,
        other => other,
    }
}
