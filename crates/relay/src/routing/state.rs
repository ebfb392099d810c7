//! What routing's handlers share ([`RoutingState`]): the service handle, the store, who is
//! signed in and the socket bounds. Its own module so the desk routes (`api`) and the
//! supervisors' (`supervise_api`) both use it without importing each other.

use axum::extract::FromRef;
use tokio::sync::watch;

use super::service::Handle;
use crate::{accounts::Accounts, config::Config, limits::Streams, store::Store};

/// What routing's handlers share.
#[derive(Clone)]
pub struct RoutingState {
    /// The routing service.
    pub routing: Handle,
    /// Queue specs, profiles and connector tokens.
    pub store: Store,
    /// Who is signed in.
    pub accounts: Accounts,
    /// Turns `true` once at shutdown; desk sockets close on it.
    pub shutdown: watch::Receiver<bool>,
    /// The relay's bound on open sockets, which desk sockets share.
    pub streams: Streams,
    /// The WebSocket bounds.
    pub config: std::sync::Arc<Config>,
}

impl FromRef<RoutingState> for Accounts {
    fn from_ref(state: &RoutingState) -> Accounts {
        state.accounts.clone()
    }
}
