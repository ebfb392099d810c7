//! The relay: the trusted middle between a customer's page and an agent's console.
//!
//! # Layout
//!
//! - [`http`]: the axum router: static files from `www/`, health, and (later) the REST API and
//!   WebSocket upgrades.
//! - [`routing`]: the routing engine, a pure core (no sockets, no clock of its own).
//!
//! The binary (`src/main.rs`) parses configuration and calls [`http::run`].

pub mod http;
pub mod routing;

pub use http::{run, Config};
