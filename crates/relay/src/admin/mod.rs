//! The admin's settings over HTTP: people (create, roles, disable and enable, reset a password)
//! and sites (allowed origins and co-browse rules). Every change is in the store and applies at
//! the next read, without a restart: a disabled person's sockets and streams close at once
//! (`Accounts::disable`), a site's rules reach its pages at their next load. Each handler asks
//! the policy (`Action::Configure`) before it reads the body's target or changes anything.
//!
//! # Layout
//!
//! - `people`: `/api/admin/people...`.
//! - `sites`: `/api/admin/sites...`.
//! - `state`: what they share.

mod people;
mod sites;
mod state;

use utoipa_axum::router::OpenApiRouter;

pub use state::Admin;

/// Every admin route, with its state applied.
pub fn routes(state: Admin) -> OpenApiRouter {
    OpenApiRouter::new()
        .merge(people::routes())
        .merge(sites::routes())
        .with_state(state)
}
