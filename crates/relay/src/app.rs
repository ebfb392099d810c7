//! The shared state of a running relay: configuration, database, session registry, the
//! connection limit and the shutdown signal. Handlers reach it through axum's `State`.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use axum::extract::FromRef;
use futures_util::future::BoxFuture;
use tokio::sync::{watch, Semaphore};

use crate::{
    accounts::{Accounts, Agent, SignedOut},
    cobrowse::Registry,
    config::Config,
    routing::service::Handle,
    store::Store,
};

/// Everything a request or a connection needs.
pub struct App {
    /// Bounds, timeouts and budgets.
    pub config: Arc<Config>,
    /// Request-path database access (off the async threads).
    pub store: Store,
    /// Live co-browse sessions, keys and offers.
    pub registry: Arc<Registry>,
    /// One permit per open WebSocket, so a flood of connections cannot exhaust memory.
    pub connections: Arc<Semaphore>,
    /// The routing service: desks, queues, offers.
    pub routing: Handle,
    /// Turns `true` once at shutdown; every connection's writer closes on it.
    pub shutdown: watch::Receiver<bool>,
    /// Sign-in, for every handler's [`crate::accounts::AuthAgent`].
    pub accounts: Accounts,
    /// Source of connection ids, which tell a reconnect from the connection it replaces.
    next_peer: AtomicU64,
}

impl FromRef<Arc<App>> for Accounts {
    fn from_ref(app: &Arc<App>) -> Accounts {
        app.accounts.clone()
    }
}

/// Signing out of the relay signs out of routing too: the agent's work returns to the queues.
struct RoutingSignOut(Handle);

impl SignedOut for RoutingSignOut {
    fn signed_out(&self, agent: &Agent) -> BoxFuture<'static, ()> {
        let (routing, agent_id) = (self.0.clone(), agent.id.clone());
        Box::pin(async move {
            if let Err(e) = routing.sign_out(&agent_id).await {
                tracing::error!(error = %e, "signing out of routing");
            }
        })
    }
}

impl App {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        registry: Arc<Registry>,
        routing: Handle,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let accounts = Accounts::new(
            store.clone(),
            config.agent_token_ttl,
            Arc::new(RoutingSignOut(routing.clone())),
        );
        Self {
            accounts,
            routing,
            connections: Arc::new(Semaphore::new(config.max_connections)),
            config,
            store,
            registry,
            shutdown,
            next_peer: AtomicU64::new(1),
        }
    }

    pub fn next_peer_id(&self) -> u64 {
        self.next_peer.fetch_add(1, Ordering::Relaxed)
    }
}
