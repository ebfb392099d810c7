//! Attacks on a real relay process, each a test of its own that fails on a relay without the
//! defence it names: what an anonymous client on the internet, or a signed-in person acting
//! against the others, tries, and what the relay must answer instead.

// The co-browse tests' raw agent and page helpers, shared with tests/tests/control.rs.
#[path = "../cobrowse/mod.rs"]
mod cobrowse;
mod connections;
mod cross_site;
mod guests;
mod headers;
mod offers;
mod operations;
mod pairing;
mod proxy;
mod read_only;
mod reports;
mod revoke;
mod roles_admin;
mod roles_cobrowse;
mod roles_inbox;
mod roles_matrix;
mod roles_observe;
mod roles_routing;
mod roles_supervisor;
mod signin;
mod streams;
mod support;
mod uploads;
mod webhooks;
