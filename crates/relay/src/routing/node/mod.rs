//! Routing on several nodes: one node owns the routing decisions at a time, and every node's
//! [`Handle`] reaches it.
//!
//! - **The lease** ([`lease`]): the owner holds a row in the store, renewed every
//!   [`RENEW_EVERY`] for [`LEASE`]. A node that stops gives it up; a node that dies lets it
//!   lapse, and the first node to claim it after that takes over. A node that cannot renew
//!   in time, or finds the lease taken, stops deciding at once.
//! - **Taking over** (`run`): the new owner starts a fresh engine (the pure one of
//!   [`crate::routing::engine`], in the service task of [`crate::routing::service`]) from the
//!   persisted state: the stored queues; the work held and waiting as the rest of the relay
//!   knows it ([`Recovery`]: messaging's assigned and waiting conversations); and the agents
//!   signed in, with their presence, from the last real-time board the owner published. Then
//!   it answers the other nodes.
//! - **Commands** ([`wire`]): a node that does not own routing sends each command of its
//!   [`Handle`] to the owner as a NATS request; while no node owns routing (a takeover), a
//!   command waits up to [`PATIENCE`] for one, retried only when nobody answered, so no
//!   command is carried out twice.
//! - **What the owner tells**: desk pushes and the real-time board go to every node (news on
//!   [`NEWS_SUBJECT`]), so a console on any node sees its desk and the wallboard; what rides
//!   on an interaction (a co-browse session) hears of its end on every node. Assignments stay
//!   on the owner's node, where the bridge to messaging follows them once.
//!
//! A node alone owns routing from the start, without a lease.
//!
//! **Invariants:** a node decides only while it holds the lease; a command is carried out at
//! most once (never retried after it may have reached an owner); what arrives over NATS is
//! parsed whole or refused, never applied in part.

mod ask;
pub mod lease;
mod run;
pub mod wire;

use std::{sync::Arc, time::Duration};

use futures_util::future::BoxFuture;
use tokio::sync::{broadcast, mpsc, watch};

use super::service::{journal::Journal, live::Realtime, Arrival, Handle, Held, Riders};
use super::service::{persist::QueueSpec, ServiceConfig};
use crate::cluster::Cluster;
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

/// News from the owner to the other nodes.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "news", rename_all = "snake_case")]
enum News {
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

/// The routing node, before it runs: [`Starter::run`] starts deciding (alone) or claiming the
/// lease (in a cluster). Until then, commands wait.
pub struct Starter {
    node: run::Node,
    commands: mpsc::Receiver<super::service::handle::Command>,
}

/// Creates this node's routing [`Handle`]; nothing is decided before [`Starter::run`].
pub fn start(deps: Deps) -> (Handle, Starter) {
    let (tx, commands) = mpsc::channel(deps.config.command_queue.max(1));
    let (pushes, _) = broadcast::channel(1024);
    let (assignments, _) = broadcast::channel(1024);
    let (live, realtime) = watch::channel(Arc::new(Realtime::default()));
    let handle = Handle::new(tx, pushes.clone(), assignments.clone(), realtime);
    let node = run::Node::new(
        deps,
        run::Outlets {
            pushes,
            assignments,
            live,
        },
    );
    (handle, Starter { node, commands })
}

impl Starter {
    /// Starts routing with `recovery`, until `shutdown`. A node alone takes over before this
    /// returns, so its held and waiting work is restored before it serves; in a cluster, the
    /// first claim of the lease is made before this returns.
    pub async fn run(self, recovery: Arc<dyn Recovery>, shutdown: watch::Receiver<bool>) {
        let Starter { node, commands } = self;
        node.run(recovery, commands, shutdown).await;
    }
}
