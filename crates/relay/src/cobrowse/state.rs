//! What co-browse's handlers and connections share: the configuration, the store, the live
//! session registry, sign-in, the connection limit and the shutdown signal. Built by the
//! composition root (`app`), which owns the limit and the signal because the relay's other
//! sockets and its shutdown use them too.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use axum::extract::FromRef;
use tokio::sync::watch;

use super::Registry;
use crate::{accounts::Accounts, config::Config, limits::Streams, store::Store};

/// Co-browse's state; handlers see it as `State<Arc<Cobrowse>>`.
pub struct Cobrowse {
    /// Bounds, timeouts and budgets.
    pub config: Arc<Config>,
    /// Sessions' rows and audit reads (writes go through the registry's recorder).
    pub store: Store,
    /// Live sessions, keys and offers.
    pub registry: Arc<Registry>,
    /// Who is signed in, for agent endpoints and `/ws/agent`.
    pub accounts: Accounts,
    /// One permit per open WebSocket (the relay's every stream shares the bound), so a flood
    /// of connections cannot exhaust memory or sockets.
    pub streams: Streams,
    /// Turns `true` once at shutdown; every connection's writer closes on it.
    pub shutdown: watch::Receiver<bool>,
    /// Source of connection ids, which tell a reconnect from the connection it replaces.
    next_peer: AtomicU64,
}

impl Cobrowse {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        registry: Arc<Registry>,
        accounts: Accounts,
        streams: Streams,
        shutdown: watch::Receiver<bool>,
    ) -> Cobrowse {
        Cobrowse {
            config,
            store,
            registry,
            accounts,
            streams,
            shutdown,
            next_peer: AtomicU64::new(1),
        }
    }

    pub fn next_peer_id(&self) -> u64 {
        self.next_peer.fetch_add(1, Ordering::Relaxed)
    }
}

impl FromRef<Arc<Cobrowse>> for Accounts {
    fn from_ref(state: &Arc<Cobrowse>) -> Accounts {
        state.accounts.clone()
    }
}
