//! Reporting: routing events persisted off the decision path ([`writer`]), historical metrics
//! for any interval per queue and per agent ([`history`]), and their REST and CSV front
//! ([`api`]). The real-time board lives with the routing service (`routing::live`).

pub mod api;
pub mod history;
pub mod writer;
