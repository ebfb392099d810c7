//! The relay: the trusted middle between a customer's page and an agent's console.
//!
//! # Layout
//!
//! - [`http`]: the axum router (static files from `www/`, health, REST API, WebSocket
//!   upgrades), the listener loop and graceful shutdown.
//! - [`accounts`]: people, roles, sign-in tokens, the extractor that guards agent endpoints.
//! - [`policy`]: who may do what (pure): roles, permissions, the one `decide`.
//! - [`cobrowse`]: pairing, sessions, enforced control, lifecycle, the frame path.
//! - [`store`]: the embedded SQLite database, migrations and the batched audit writer.
//! - [`config`]: every bound, timeout and budget.
//! - [`cluster`]: what one node tells the others over NATS (`--nats`); nothing on a node alone.
//! - [`app`]: the shared state handlers see.
//! - [`messaging`]: conversations, open-messaging webhooks, bots, the widget and inbox APIs.
//! - [`routing`]: the routing engine, a pure core (no sockets, no clock of its own), and the
//!   service, desk and telephony connector API around it.
//! - [`reporting`]: routing events persisted in batches, historical reports and CSV export.
//! - [`metrics`]: Prometheus text at `/metrics` (`prometheus-client`, one registry per relay).
//! - [`bridge`]: conversations needing an agent routed as messages, routing's answers back.
//! - [`conformance`]: the runner of `relay conformance`, a client that checks any relay against
//!   PROTOCOL.md over real WebSockets; it imports nothing of the relay.
//!
//! The binary (`src/bin/relay/`: `main.rs` for the commands, `serve.rs` for its flags) parses
//! the command line and calls [`http::run`].

pub mod accounts;
pub mod admin;
pub mod app;
pub mod bridge;
pub mod clients;
pub mod cluster;
pub mod cobrowse;
pub mod config;
pub mod conformance;
pub mod error;
pub mod headers;
pub mod http;
pub mod ids;
pub mod limits;
pub mod messaging;
pub mod metrics;
pub mod policy;
pub mod reporting;
pub mod routing;
pub mod sites;
pub mod store;

pub use config::Config;
pub use http::{run, RunError};
