//! Reporting: routing events persisted off the decision path ([`writer`]), historical metrics
//! for any interval per queue and per agent, read page by page ([`history`]) and folded as
//! they are read ([`tally`]), and their REST front ([`api`]) with CSV that spreadsheets show
//! rather than run ([`export`]). The real-time board lives with the routing service
//! (`routing::live`).

pub mod api;
pub mod export;
pub mod history;
pub mod tally;
pub mod writer;
