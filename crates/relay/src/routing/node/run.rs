//! The routing node's task: it holds (or claims) the lease, owns the engine while it holds
//! it, and otherwise forwards its [`Handle`]'s commands to the owner (see the module above).

use std::sync::{atomic::Ordering, Arc};

use tokio::{
    sync::{broadcast, mpsc, oneshot, watch, Semaphore},
    task::JoinHandle,
    time::{interval, Instant, MissedTickBehavior},
};

use super::ask::{answer, forward};
use super::carry::{carry, Teller, Told};
use super::fence::{Fence, Validity};
use super::lease::{self, Claim};
use super::model::{
    Deps, News, Outlets, Recovery, Stamped, COMMAND_SUBJECT, LEASE, NEWS_SUBJECT, RENEW_EVERY,
};
use super::restore;
use crate::cluster::Publisher;
use crate::ids::now_ms;
use crate::routing::service::handle::Command;
use crate::routing::service::live::Realtime;
use crate::routing::service::{Handle, Push, Riders, ServiceError};

/// Commands forwarded to the owner at once, at most; past it, callers wait.
const FORWARDS: usize = 1024;
/// A takeover this soon after the last owner's lease ended signs its agents in again.
const RECENT_MS: i64 = 60_000;
/// A lease renewed at `t` is relied on until `t + LEASE - MARGIN` only.
const MARGIN: std::time::Duration = std::time::Duration::from_millis(1000);

/// The engine this node runs while it owns routing, and the tasks that carry its output.
struct Owned {
    engine: Handle,
    /// The lease's epoch it was started under.
    epoch: i64,
    tasks: Vec<JoinHandle<()>>,
    /// Tells the task answering the other nodes to drain, and that task.
    answering: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

/// How long a stopping owner waits for the requests it took to be answered.
const DRAIN_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

impl Owned {
    /// Stops answering the other nodes once what was already delivered is answered.
    async fn drain(&mut self) {
        if let Some((stop, answering)) = self.answering.take() {
            let _ = stop.send(());
            if tokio::time::timeout(DRAIN_WITHIN, answering).await.is_err() {
                tracing::warn!("routing's requests not drained in time");
            }
        }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        if let Some((_, answering)) = &self.answering {
            answering.abort();
        }
    }
}

pub(super) struct Node {
    deps: Deps,
    outlets: Arc<Outlets>,
    news: Option<Arc<Publisher<Stamped>>>,
    owned: Option<Owned>,
    /// Where this cluster's commands go to the owner.
    command_subject: String,
    /// Until when the lease last renewed may be relied on (read by what carries the
    /// engine's output, too).
    validity: Arc<Validity>,
    /// The newest owner heard of: older owners' news is dropped.
    fence: Arc<Fence>,
    forwards: Arc<Semaphore>,
}

impl Node {
    pub(super) fn new(deps: Deps, outlets: Outlets) -> Node {
        let news = deps
            .cluster
            .publisher(deps.cluster.subject(NEWS_SUBJECT))
            .map(Arc::new);
        let command_subject = deps.cluster.subject(COMMAND_SUBJECT);
        Node {
            deps,
            outlets: Arc::new(outlets),
            news,
            owned: None,
            command_subject,
            validity: Arc::new(Validity::ended()),
            fence: Arc::new(Fence::default()),
            forwards: Arc::new(Semaphore::new(FORWARDS)),
        }
    }

    fn clustered(&self) -> bool {
        self.deps.cluster.is_clustered()
    }

    pub(super) async fn run(
        mut self,
        recovery: Arc<dyn Recovery>,
        commands: mpsc::Receiver<Command>,
        shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        if self.clustered() {
            self.hear_the_owner(shutdown.clone()).await;
            self.claim(&recovery).await;
        } else {
            self.validity = Arc::new(Validity::forever());
            self.take_over(&recovery, 0, false).await;
        }
        tokio::spawn(self.serve(recovery, commands, shutdown))
    }

    async fn serve(
        mut self,
        recovery: Arc<dyn Recovery>,
        mut commands: mpsc::Receiver<Command>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut ticks = interval(RENEW_EVERY);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let clustered = self.clustered();
        let stop = async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        tokio::pin!(stop);
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => {
                        if self.owned.is_some() && !self.validity.holds() {
                            // Not renewed in time (this process stalled, or the store did):
                            // the lease may be another's by now. Renew it, or step down and
                            // carry the command to whoever owns it.
                            self.claim(&recovery).await;
                        }
                        self.dispatch(command).await;
                    }
                    None => break,
                },
                _ = ticks.tick(), if clustered => self.claim(&recovery).await,
                () = &mut stop => break,
            }
        }
        if let Some(mut owned) = self.owned.take() {
            owned.drain().await;
        }
        if clustered {
            let me = self.deps.cluster.node().to_owned();
            match self
                .deps
                .store
                .write(move |db| lease::release(db, &me, now_ms()))
                .await
            {
                Ok(()) => tracing::info!("gave the routing lease up"),
                Err(e) => tracing::warn!(error = %e, "giving the routing lease up"),
            }
        }
        self.deps
            .cluster
            .leads_routing
            .store(false, Ordering::Relaxed);
    }

    /// Carries a command out here (owner) or asks the owner (in a cluster).
    async fn dispatch(&mut self, command: Command) {
        if let Some(owned) = &self.owned {
            // An engine that stopped drops the command: its caller reads Stopped.
            let _ = owned.engine.commands().send(command).await;
            return;
        }
        let Some(client) = self.deps.cluster.client().cloned() else {
            return;
        };
        let subject = self.command_subject.clone();
        let Ok(permit) = self.forwards.clone().acquire_owned().await else {
            return;
        };
        tokio::spawn(async move {
            forward(client, subject, command).await;
            drop(permit);
        });
    }

    /// Claims or renews the lease, taking over or stepping down as it says.
    async fn claim(&mut self, recovery: &Arc<dyn Recovery>) {
        let asked = Instant::now();
        let me = self.deps.cluster.node().to_owned();
        let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(3000);
        let claim = (self.deps.store)
            .write(move |db| lease::claim(db, &me, now_ms(), lease_ms))
            .await;
        match claim {
            Ok(Claim::Held { epoch, took_over }) => {
                self.fence.admit(epoch);
                if self.owned.as_ref().is_some_and(|o| o.epoch != epoch) {
                    // Another node held it in between: this engine's state is stale.
                    self.step_down("the routing lease was another node's in between");
                }
                self.validity.set(asked + LEASE - MARGIN);
                if self.owned.is_none() {
                    // Agents were signed in on the node whose lease just ended; after a
                    // cold start of the whole cluster, they sign in again themselves.
                    let recent = took_over.is_some_and(|until| now_ms() - until <= RECENT_MS);
                    self.take_over(recovery, epoch, recent).await;
                }
            }
            Ok(Claim::Taken) => self.step_down("another node holds the routing lease"),
            Err(e) => {
                tracing::warn!(error = %e, "claiming the routing lease");
                if !self.validity.holds() {
                    self.step_down("the routing lease could not be renewed in time");
                }
            }
        }
    }

    fn step_down(&mut self, why: &str) {
        self.validity.end();
        if self.owned.take().is_some() {
            tracing::warn!(why, "no longer deciding routing");
            self.deps
                .cluster
                .leads_routing
                .store(false, Ordering::Relaxed);
        }
    }

    /// Starts an engine from the persisted state and serves the other nodes from it.
    async fn take_over(&mut self, recovery: &Arc<dyn Recovery>, epoch: i64, agents_back: bool) {
        let started = Instant::now();
        let queues = match restore::stored_queues(&self.deps.store, recovery.queues()).await {
            Ok(queues) => queues,
            Err(e) => {
                // Still the lease's holder: the next claim tries again.
                tracing::error!(error = %e, "taking over routing: the stored queues");
                return;
            }
        };
        let teller = Teller {
            news: self.news.clone(),
            epoch,
        };
        let riders: Arc<dyn Riders> = Arc::new(Told {
            here: self.deps.riders.clone(),
            teller: teller.clone(),
        });
        let engine = crate::routing::service::spawn(
            self.deps.config.clone(),
            queues,
            self.deps.journal.clone(),
            riders,
        );
        // Carried from the first step, so the desks the recovery changes are pushed.
        let tasks = vec![carry(
            &engine,
            teller,
            self.outlets.clone(),
            self.validity.clone(),
        )];
        let (mut held, mut waiting) = restore::live_work(&self.deps.store, agents_back).await;
        held.extend(recovery.held().await);
        let restored = held.len();
        for (agent, work) in held {
            if let Err(e) = engine.hold(&agent, work).await {
                tracing::warn!(error = %e, "taking over routing: held work not restored");
            }
        }
        let agents = if agents_back {
            restore::sign_in_again(&self.deps.store, &engine).await
        } else {
            0
        };
        waiting.extend(recovery.waiting().await);
        let routed = waiting.len();
        for arrival in waiting {
            match engine.arrive(arrival).await {
                Ok(()) | Err(ServiceError::DuplicateInteraction(_)) => {}
                Err(e) => tracing::warn!(error = %e, "taking over routing: waiting work"),
            }
        }
        let mut answering = None;
        if let Some(client) = self.deps.cluster.client().cloned() {
            match client.subscribe(self.command_subject.clone()).await {
                Ok(requests) => {
                    let (stop, stopped) = oneshot::channel();
                    let task = tokio::spawn(answer(
                        client,
                        requests,
                        engine.commands(),
                        self.deps.cluster.clone(),
                        stopped,
                    ));
                    answering = Some((stop, task));
                }
                Err(e) => tracing::error!(error = %e, "routing owner cannot hear the others"),
            }
        }
        self.owned = Some(Owned {
            engine,
            epoch,
            tasks,
            answering,
        });
        self.deps
            .cluster
            .leads_routing
            .store(true, Ordering::Relaxed);
        tracing::info!(
            epoch,
            restored,
            agents,
            routed,
            took_ms = started.elapsed().as_millis() as u64,
            "deciding routing"
        );
    }

    /// Hears the owner's news: desks, the board, the end of interactions.
    async fn hear_the_owner(&self, shutdown: watch::Receiver<bool>) {
        let outlets = self.outlets.clone();
        let riders = self.deps.riders.clone();
        let fence = self.fence.clone();
        let heard = self
            .deps
            .cluster
            .listen(
                self.deps.cluster.subject(NEWS_SUBJECT),
                shutdown,
                move |stamped: Stamped| match stamped.news {
                    _ if !fence.admit(stamped.epoch) => {
                        tracing::warn!(
                            epoch = stamped.epoch,
                            current = fence.highest(),
                            "news from a routing owner older than the current one dropped"
                        );
                    }
                    News::Desk { agent, body } => {
                        outlets
                            .pushes
                            .send(Push {
                                agent,
                                body: body.into(),
                            })
                            .ok();
                    }
                    News::Board { board } => {
                        outlets.live.send_replace(Arc::new(board));
                    }
                    News::Rider {
                        interaction,
                        transferred: true,
                    } => riders.interaction_transferred(interaction),
                    News::Rider { interaction, .. } => riders.interaction_ended(interaction),
                },
            )
            .await;
        if let Err(e) = heard {
            tracing::error!(error = %e, "routing cannot hear its owner");
        }
    }
}

/// The routing node, before it runs: [`Starter::run`] starts deciding (alone) or claiming the
/// lease (in a cluster). Until then, commands wait.
pub struct Starter {
    node: Node,
    commands: mpsc::Receiver<Command>,
}

/// Creates this node's routing [`Handle`]; nothing is decided before [`Starter::run`].
pub fn start(deps: Deps) -> (Handle, Starter) {
    let (tx, commands) = mpsc::channel(deps.config.command_queue.max(1));
    let (pushes, _) = broadcast::channel(1024);
    let (assignments, _) = broadcast::channel(1024);
    let (live, realtime) = watch::channel(Arc::new(Realtime::default()));
    let handle = Handle::new(tx, pushes.clone(), assignments.clone(), realtime);
    let node = Node::new(
        deps,
        Outlets {
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
    /// first claim of the lease is made before this returns. The task it returns ends once a
    /// stopping owner has answered what it took and given the lease up.
    pub async fn run(
        self,
        recovery: Arc<dyn Recovery>,
        shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let Starter { node, commands } = self;
        node.run(recovery, commands, shutdown).await
    }
}
