//! The routing service's task: it owns the engine (inside the switchboard), a clock and a
//! timer at the engine's next deadline, takes the [`Handle`]'s commands one at a time, and
//! carries out the engine's decisions: pushes each affected agent's desk to its console,
//! reports routing events and finished interactions to its [`Journal`], tells its [`Riders`]
//! about interactions that end or move, and publishes the real-time view.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::{
    sync::{broadcast, mpsc, watch},
    time::{sleep_until, Instant},
};

use super::handle::{Assignment, AssignmentEvent, Command, Handle, Push, Riders};
use super::journal::Journal;
use super::live::Realtime;
use super::persist::QueueSpec;
use super::switchboard::Switchboard;
use crate::routing::engine::{Decision, EngineConfig, Millis, QueueId, QueuedReason};

/// Tunables of the service.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub engine: EngineConfig,
    /// Commands queued at most; callers wait for room.
    pub command_queue: usize,
    /// Last-agent routing applies this long after the agent last handled the conversation.
    pub threading_window: Duration,
    /// The real-time view is recomputed at most this often.
    pub publish_every: Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            engine: EngineConfig::default(),
            command_queue: 1024,
            threading_window: Duration::from_secs(72 * 3600),
            publish_every: Duration::from_millis(200),
        }
    }
}

/// Starts the routing service of a relay: the queues stored in `store`, default tunables,
/// what it reports going to `journal` and the end of its interactions to `riders`.
pub async fn start(
    store: &crate::store::Store,
    journal: Arc<dyn Journal>,
    riders: Arc<dyn Riders>,
) -> Result<Handle, crate::store::StoreError> {
    let queues = store.read(|db| super::persist::queues_load(db)).await?;
    Ok(spawn(ServiceConfig::default(), queues, journal, riders))
}

/// Starts the service task with the stored queues.
pub fn spawn(
    config: ServiceConfig,
    queues: Vec<(QueueId, QueueSpec)>,
    journal: Arc<dyn Journal>,
    riders: Arc<dyn Riders>,
) -> Handle {
    let (tx, rx) = mpsc::channel(config.command_queue.max(1));
    let (pushes, _) = broadcast::channel(1024);
    let (assignments, _) = broadcast::channel(1024);
    let (live_tx, realtime) = watch::channel(Arc::new(Realtime::default()));
    let clock = Clock::new();
    let mut board = Switchboard::new(config.engine.clone(), journal);
    for (id, spec) in queues {
        if let Err(e) = board.define_queue(clock.now(), id, spec) {
            tracing::error!(queue = id.0, error = %e, "stored queue refused");
        }
    }
    board.take_decisions();
    let service = Service {
        board,
        clock,
        riders,
        pushes: pushes.clone(),
        assignments: assignments.clone(),
        live: live_tx,
        config,
    };
    tokio::spawn(service.run(rx));
    Handle::new(tx, pushes, assignments, realtime)
}

/// Wall-clock milliseconds, advanced by tokio's clock so paused-time tests control it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    base_ms: u64,
    start: Instant,
}

impl Clock {
    fn new() -> Clock {
        let base_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Clock {
            base_ms,
            start: Instant::now(),
        }
    }

    pub(crate) fn now(&self) -> Millis {
        let elapsed = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        Millis(self.base_ms.saturating_add(elapsed))
    }

    fn instant_at(&self, at: Millis) -> Instant {
        self.start + Duration::from_millis(at.0.saturating_sub(self.base_ms))
    }
}

struct Service {
    board: Switchboard,
    clock: Clock,
    riders: Arc<dyn Riders>,
    pushes: broadcast::Sender<Push>,
    assignments: broadcast::Sender<Assignment>,
    live: watch::Sender<Arc<Realtime>>,
    config: ServiceConfig,
}

/// How often the real-time board is republished while interactions wait.
const WAITING_REPUBLISH: Duration = Duration::from_secs(1);

impl Service {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let mut dirty = true;
        let mut next_publish = Instant::now();
        loop {
            let wake = self
                .board
                .engine
                .next_deadline()
                .map(|d| self.clock.instant_at(d));
            tokio::select! {
                command = rx.recv() => match command {
                    Some(command) => self.command(command),
                    None => break,
                },
                () = sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                    let now = self.clock.now();
                    self.board.tick(now);
                    self.carry_out();
                }
                () = sleep_until(next_publish), if dirty => {
                    let now = self.clock.now();
                    let board = self.board.realtime(now);
                    // While anything waits, longest waits grow: keep the board moving (1 s).
                    let waiting = board.queues.iter().any(|q| q.waiting > 0);
                    self.live.send_replace(Arc::new(board));
                    dirty = waiting;
                    next_publish = Instant::now()
                        + if waiting { WAITING_REPUBLISH } else { self.config.publish_every };
                    continue;
                }
            }
            // Something changed: publish within `publish_every`, never more often.
            next_publish = next_publish.min(Instant::now() + self.config.publish_every);
            dirty = true;
        }
    }

    fn command(&mut self, command: Command) {
        let now = self.clock.now();
        let (result, reply) = match command {
            Command::DefineQueue(id, spec, reply) => {
                (self.board.define_queue(now, id, spec), reply)
            }
            Command::SignIn {
                agent_id,
                name,
                profile,
                presence,
                reply,
            } => (
                self.board
                    .set_presence(now, &agent_id, &name, &profile, presence),
                reply,
            ),
            Command::Profile(agent_id, profile, reply) => {
                (self.board.update_profile(now, &agent_id, &profile), reply)
            }
            Command::Arrive(arrival, reply) => {
                let window =
                    u64::try_from(self.config.threading_window.as_millis()).unwrap_or(u64::MAX);
                (self.board.arrive(now, arrival, window), reply)
            }
            Command::Hold(agent_id, held, reply) => (self.board.hold(&agent_id, held), reply),
            Command::Engage(agent_id, work, reply) => {
                (self.board.engage(now, &agent_id, work), reply)
            }
            Command::Act {
                id,
                by,
                action,
                reply,
            } => (self.board.act(now, &id, by.as_deref(), action), reply),
            Command::Supervise { by, order, reply } => {
                let result = self.board.supervise(now, &by, order);
                self.carry_out();
                reply.send(result).ok();
                return;
            }
            Command::Desk(agent, reply) => {
                reply.send(self.board.desk(now, &agent)).ok();
                return;
            }
            Command::Queues(reply) => {
                reply.send(self.board.queue_specs()).ok();
                return;
            }
        };
        // A rejected command changes nothing, but deadlines that fired before it did.
        self.carry_out();
        // The caller may have gone away (a dropped request); the work is done either way.
        reply.send(result).ok();
    }

    /// Carries out the decisions made so far: ends co-browse sessions riding on interactions
    /// that ended or moved, logs and accounts for them, pushes the desks that changed.
    fn carry_out(&mut self) {
        let now = self.clock.now();
        let decisions = self.board.take_decisions();
        for decision in &decisions {
            let (id, transferred) = match decision {
                Decision::WrapUpStarted { interaction, .. } => (*interaction, false),
                Decision::Finished(record) => (record.interaction, false),
                Decision::Queued {
                    interaction,
                    reason: QueuedReason::AgentSignedOut | QueuedReason::Transferred,
                    ..
                } => (*interaction, true),
                // A supervisor took it from its agent: what rode on it was that agent's.
                Decision::Assigned {
                    interaction,
                    from: Some(_),
                    ..
                } => (*interaction, true),
                _ => continue,
            };
            if let Some(external) = self.board.external(id) {
                if transferred {
                    self.riders.interaction_transferred(external);
                } else {
                    self.riders.interaction_ended(external);
                }
            }
        }
        for decision in &decisions {
            self.announce(decision);
        }
        for agent in self.board.record(now, &decisions) {
            self.board.log_status(now, agent);
            let Some(store_id) = self.board.store_id(agent) else {
                continue;
            };
            let view = self.board.desk(now, &store_id);
            match serde_json::to_string(&view) {
                // No console listening is normal.
                Ok(body) => {
                    self.pushes
                        .send(Push {
                            agent: store_id,
                            body: body.into(),
                        })
                        .ok();
                }
                Err(e) => tracing::error!(error = %e, "serialising a desk"),
            }
        }
    }
}

impl Service {
    /// Tells [`Handle::assignments`] subscribers what a decision did to an interaction.
    fn announce(&self, decision: &Decision) {
        let (id, agent, event) = match decision {
            Decision::Connected { interaction, agent } => {
                (*interaction, Some(*agent), AssignmentEvent::Connected)
            }
            Decision::Queued {
                interaction,
                reason,
                ..
            } if *reason != QueuedReason::Arrived => (*interaction, None, AssignmentEvent::Queued),
            Decision::WrapUpStarted {
                interaction, agent, ..
            } => (*interaction, Some(*agent), AssignmentEvent::WrapUp),
            Decision::Finished(record) => (
                record.interaction,
                record.agents.last().copied(),
                AssignmentEvent::Finished,
            ),
            _ => return,
        };
        let Some((interaction, media)) = self.board.identity(id) else {
            return;
        };
        // Nobody listening is normal.
        self.assignments
            .send(Assignment {
                interaction,
                media,
                agent_id: agent.and_then(|a| self.board.store_id(a)),
                event,
            })
            .ok();
    }
}
