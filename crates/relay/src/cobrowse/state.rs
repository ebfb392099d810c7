//! What co-browse's handlers and connections share: the configuration, the store, the live
//! session registry, sign-in, the connection limit, the shutdown signal, and who a
//! conversation's customer is ([`Guests`]). Built by the composition root (`app`), which owns
//! the limit and the signal because the relay's other sockets and its shutdown use them too,
//! and which answers [`Guests`] from messaging, a domain co-browse does not import. Also who
//! is at a connection's other end ([`Side`]), as the upgrade (or the node that piped it)
//! established it.

use std::{
    net::IpAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use axum::extract::FromRef;
use futures_util::future::BoxFuture;
use tokio::sync::watch;

use super::Registry;
use crate::{
    accounts::{Accounts, Agent},
    cluster::Cluster,
    config::Config,
    limits::Streams,
    store::{Store, StoreError},
};

/// Who a conversation's customer is, for the offer lookup: an offer's token goes only to the
/// customer of the conversation it was made in, never to whoever names the conversation.
pub trait Guests: Send + Sync {
    /// Whether `guest_token` is the token of the customer of conversation `conversation_id`
    /// (`false` for a conversation without such a customer, or none at all).
    fn is_guest_of(
        &self,
        conversation_id: &str,
        guest_token: &str,
    ) -> BoxFuture<'static, Result<bool, StoreError>>;

    /// Whom conversation `conversation_id` is assigned to: `None` when there is no such
    /// conversation, `Some(None)` while it waits for an agent (an offer on it is someone
    /// else's work to make).
    fn agent_of(
        &self,
        conversation_id: &str,
    ) -> BoxFuture<'static, Result<Option<Option<String>>, StoreError>>;
}

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
    /// Who may look up a conversation's offers.
    pub guests: Arc<dyn Guests>,
    /// The other nodes, where a session another node holds is found (`super::remote`).
    pub cluster: Arc<Cluster>,
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
        guests: Arc<dyn Guests>,
    ) -> Cobrowse {
        let cluster = Cluster::single(config.node_id.as_deref().unwrap_or("relay"));
        Cobrowse {
            config,
            store,
            registry,
            accounts,
            streams,
            shutdown,
            guests,
            cluster,
            next_peer: AtomicU64::new(1),
        }
    }

    /// The same, on a node among others.
    pub fn in_cluster(mut self, cluster: Arc<Cluster>) -> Cobrowse {
        self.cluster = cluster;
        self
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

/// Who is at the other end, as established by the HTTP upgrade.
#[derive(Debug, Clone)]
pub enum Side {
    /// A customer's page whose Origin is allowed for `site`.
    Customer { site: String, addr: IpAddr },
    /// A signed-in agent.
    Agent(Agent),
    /// A supervisor the upgrade allowed to observe session `session` (and only that one).
    Observer { agent: Agent, session: String },
}

impl Side {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Side::Customer { .. } => "customer",
            Side::Agent(_) => "agent",
            Side::Observer { .. } => "observer",
        }
    }
}
