//! The conformance runner behind `relay conformance --url`: drives a live relay, ours or anyone
//! else's, over real WebSockets as a customer's page and an agent's console would, and checks
//! what it does against PROTOCOL.md (handshake and version, pairing by key, the page's frames
//! reaching the agent, sealed (end-to-end encrypted) frames carried and gated as clear ones,
//! the control gate in every mode, end rules, oversize and malformed frames). One [`CheckResult`] per check; [`table`] renders them for people.
//!
//! It imports nothing of the relay: it is a client of the wire (the `protocol` crate) and of
//! the documented REST calls (sign-in, starting a session by key, ending one), so it can judge
//! another implementation as well as ours. The invalid frames it sends are the conformance
//! vectors of `crates/protocol/conformance/vectors.json`, where a relay is required to refuse
//! them (see [`vectors`]). It deliberately does not judge what a relay may decide for itself:
//! ids, key format, timeouts, rate-limit budgets.

//! # Layout
//!
//! `target` and `report` are the leaves (what to check, what was found); `vectors`, `peer` and
//! `api` are the runner's hands (the frames to send, one WebSocket side, the REST calls);
//! `ctx` pairs a customer with an agent; `handshake_checks`, `session_checks` (with
//! `grant_checks` and `sealed_checks`) and `refusal_checks` are the checks; `run` orders them.

mod api;
mod ctx;
mod grant_checks;
mod handshake_checks;
mod peer;
mod refusal_checks;
mod report;
mod run;
mod sealed_checks;
mod session_checks;
mod target;
mod vectors;

pub use report::{table, CheckResult, Fail};
pub use run::run;
pub use target::{AgentIdentity, SetupError, Target};
