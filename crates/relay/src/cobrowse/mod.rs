//! Co-browse: pairing a customer's page with an agent's console, carrying the DOM stream
//! between them, and enforcing who may act on the page.
//!
//! Data flows through these in order:
//!
//! - [`api`]: the agents' REST endpoints that start sessions (security key, offer) and end
//!   them, and every co-browse route gathered with its API description; `public`: the
//!   endpoints the customer's page calls (site rules, the widget's offer lookup); `sockets`:
//!   the customer's and agent's WebSocket upgrades.
//! - [`connection`]: one WebSocket: `hello`, pairing, then the read loop.
//! - [`registry`]: live sessions, keys, offers, resume tokens; ends sessions on time;
//!   [`pairing`]: its refusals and the keys as people type and read them.
//! - [`limiter`]: the failed-guess budgets for security keys (pure).
//! - [`observe`]: a supervisor's list of live sessions and the silent observer's upgrade;
//!   [`live`]: what the list says, this node's part of it.
//! - [`session`]: one session's control state, peers, observers and late-join buffer; decides
//!   each frame.
//! - [`page`]: the late-join buffer (pure).
//! - [`peer`]: a peer's bounded queue, as the session sees it.
//! - [`audit`], [`audit_chain`]: the audit log, its hash chain and its verification;
//!   `audit_verify`: an admin's `GET /api/admin/cobrowse/sessions/{id}/audit/verify`.
//! - `encryption_rule`: the site rule `requireEncryption` at pairing and at the offer lookup.
//! - [`wire`]: a connection's socket, read and written by the connection's one task.
//! - [`remote`]: across nodes: which node holds a session, and a connection piped to it over
//!   NATS when the client reached another node.

pub mod api;
pub mod audit;
pub mod audit_chain;
mod audit_verify;
pub mod connection;
pub mod counters;
mod encryption_rule;
mod inbound;
pub mod limiter;
pub mod live;
pub mod observe;
pub mod page;
pub mod pairing;
pub mod peer;
mod public;
pub mod registry;
pub mod remote;
pub mod session;
mod sockets;
pub mod state;
pub mod wire;

pub use registry::{PairError, Registry, StartError};
pub use session::Session;
