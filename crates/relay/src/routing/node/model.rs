//! What the routing node's parts share: its tunables and subjects, what it needs
//! ([`Deps`]), what it asks of the rest of the relay ([`Recovery`]) and the news the owner
//! tells the others.

use std::{sync::Arc, time::Duration};

use futures_util::future::BoxFuture;

use crate::cluster::Cluster;
use tokio::sync::{broadcast, watch};

use crate::routing::service::{
    journal::Journal, live::Realtime, Arrival, Assignment, Held, Push, Riders,
};
pub use crate::routing::service::{persist::QueueSpec, ServiceConfig};
use crate::store::Store;

/// How long a lease lasts unless renewed.
pub const LEASE: Duration = Duration::from_secs(3);
/// How often the owner renews it, and how often the others try to claim it.
pub const RENEW_EVERY: Duration = Duration::from_millis(500);
/// How long a command waits for an owner when none answers (a takeover under way).
pub const PATIENCE: Duration = Duration::from_secs(8);
/// Where commands go to the owner (scoped to the cluster: `Cluster::subject`).
pub const COMMAND_SUBJECT: &str = "relay.routing.command";
/// Where the owner tells the others what changed.
pub const NEWS_SUBJECT: &str = "relay.routing.news";

/// What the rest of the relay knows of routed work, for a node taking over routing. The
/// composition root implements it (messaging's conversations); routing never imports them.
pub trait Recovery: Send + Sync {
    /// Queues that must exist before work is restored (messaging's queue).
    fn queues(&self) -> Vec<QueueSpec>;
    /// Work agents hold, by agent store id: it comes back on each agent when it signs in.
    fn held(&self) -> BoxFuture<'static, Vec<(String, Held)>>;
    /// Work that waits for an agent, routed again.
    fn waiting(&self) -> BoxFuture<'static, Vec<Arrival>>;
}

/// What the routing node needs.
pub struct Deps {
    pub store: Store,
    pub cluster: Arc<Cluster>,
    pub journal: Arc<dyn Journal>,
    pub riders: Arc<dyn Riders>,
    pub config: ServiceConfig,
}

/// Where every node's [`Handle`] hears routing, whichever node decides.
pub(super) struct Outlets {
    pub pushes: broadcast::Sender<Push>,
    pub assignments: broadcast::Sender<Assignment>,
    pub live: watch::Sender<Arc<Realtime>>,
}

/// News as the owner sends it: stamped with its lease's epoch, so a node that heard a newer
/// owner drops an older one's (`fence`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Stamped {
    pub epoch: i64,
    pub news: News,
}

/// News from the owner to the other nodes.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "news", rename_all = "snake_case")]
pub(super) enum News {
    /// An agent's desk changed.
    Desk { agent: String, body: String },
    /// The real-time board.
    Board { board: Realtime },
    /// An interaction ended or left its agent.
    Rider {
        interaction: String,
        transferred: bool,
    },
}
