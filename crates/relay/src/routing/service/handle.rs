//! The way into the routing service: [`Handle`] and the vocabulary other modules use with it
//! (arrivals, actions, assignments, errors). Every call is a command over a bounded channel to
//! the one task that owns the engine (`service`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::live::{DeskView, Realtime};
use super::persist::{ProfileSpec, QueueSpec, SpecError};
use crate::routing::engine::{Media, Presence, QueueId, RoutingError};

/// How the id of a call placed from a conversation ([`Handle::engage`]) begins, so reports
/// tell such calls from routed ones.
pub const PLACED_CALL_PREFIX: &str = "call:";

/// A call, chat or messaging conversation that needs an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrival {
    /// The caller's id for it (call id, conversation id); unique among live interactions.
    pub id: String,
    pub media: Media,
    /// The queue's name.
    pub queue: String,
    /// Higher first; `None` takes the queue's.
    pub priority: Option<i32>,
    /// The agent who last handled this conversation, for last-agent routing.
    pub last_agent: Option<PreviousAgent>,
}

/// Who last handled a conversation, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousAgent {
    /// The agent's store id.
    pub agent_id: String,
    /// When that agent last handled it (ms since the Unix epoch); routing back applies only
    /// within the threading window after this.
    pub handled_at_ms: i64,
}

/// Where a transfer sends an interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// An agent, by store id.
    Agent(String),
    /// A queue, by name.
    Queue(String),
}

/// Something done to a live interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Accept,
    Decline,
    Park,
    Unpark,
    Transfer(Target),
    End,
    WrapUp { code: String },
}

/// What a supervisor orders, naming agents by store id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Order {
    /// Put a live interaction on `agent`, connected at once; `force` may go above its room.
    Assign {
        interaction: String,
        agent: String,
        force: bool,
    },
    /// Set a signed-in agent's presence; `Offline` signs it out (its work waits again).
    SetPresence { agent: String, presence: Presence },
}

/// One piece of held work, as the relay names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    /// The external interaction id (a conversation id).
    pub id: String,
    pub media: Media,
    /// The queue's name.
    pub queue: String,
    pub parked: bool,
}

/// Why the service refused a command.
#[derive(Debug, thiserror::Error, Serialize, Deserialize)]
pub enum ServiceError {
    #[error(transparent)]
    Routing(#[from] RoutingError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("interaction {0:?} is not being routed")]
    UnknownInteraction(String),
    #[error("interaction {0:?} is already being routed")]
    DuplicateInteraction(String),
    #[error("sign in to routing first")]
    NotSignedIn,
    #[error("interaction {0:?} is not yours")]
    NotYours(String),
    #[error("the routing service has stopped")]
    Stopped,
}

/// Told when an interaction ends or moves away from its agent, so what rides on it (a
/// co-browse session started during the call or chat) can end too. The composition root
/// implements it; routing never imports what rides on its interactions. Called from the
/// routing task: it must not block.
pub trait Riders: Send + Sync {
    /// The interaction ended (or its agent started wrapping it up).
    fn interaction_ended(&self, interaction: String);
    /// The interaction left its agent: transferred, or requeued when the agent signed out.
    fn interaction_transferred(&self, interaction: String);
}

/// A message for one agent's console.
#[derive(Debug, Clone)]
pub struct Push {
    /// The agent's store id.
    pub agent: String,
    /// The JSON text to send.
    pub body: Arc<str>,
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, ServiceError>>;

/// What the service task is asked to do.
pub(crate) enum Command {
    DefineQueue(QueueId, QueueSpec, Reply<()>),
    SignIn {
        agent_id: String,
        name: String,
        profile: ProfileSpec,
        presence: Presence,
        reply: Reply<()>,
    },
    /// A profile an admin saved: checked, and applied if the agent is signed in.
    Profile(String, ProfileSpec, Reply<()>),
    Arrive(Arrival, Reply<()>),
    Hold(String, Held, Reply<()>),
    /// Work the agent starts herself, connected to her at once.
    Engage(String, Held, Reply<()>),
    Act {
        id: String,
        /// The agent acting, checked against the owner; `None` for connectors.
        by: Option<String>,
        action: Action,
        reply: Reply<()>,
    },
    /// A supervisor's order; `by` is the supervisor's store id.
    Supervise {
        by: String,
        order: Order,
        reply: Reply<bool>,
    },
    Desk(String, oneshot::Sender<DeskView>),
    Queues(oneshot::Sender<Vec<(QueueId, QueueSpec)>>),
}

/// What happened to a routed interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignmentEvent {
    /// An agent accepted it (or took it back after a transfer).
    Connected,
    /// It waits in a queue again (declined, timed out, agent signed out, transferred).
    Queued,
    /// The conversation ended and the agent is wrapping up.
    WrapUp,
    /// Routing is done with it (after wrap-up, or at once if the queue has none, or an
    /// abandon); sent exactly once.
    Finished,
}

/// A change to one routed interaction, broadcast to [`Handle::assignments`] subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The external id given at arrival.
    pub interaction: String,
    pub media: Media,
    /// The agent's store id, for `Connected`, `WrapUp` and a handled `Finished`.
    pub agent_id: Option<String>,
    pub event: AssignmentEvent,
}

/// The way into the routing service. Cheap to clone.
#[derive(Clone)]
pub struct Handle {
    tx: mpsc::Sender<Command>,
    pushes: broadcast::Sender<Push>,
    assignments: broadcast::Sender<Assignment>,
    realtime: watch::Receiver<Arc<Realtime>>,
}

impl Handle {
    pub(crate) fn new(
        tx: mpsc::Sender<Command>,
        pushes: broadcast::Sender<Push>,
        assignments: broadcast::Sender<Assignment>,
        realtime: watch::Receiver<Arc<Realtime>>,
    ) -> Handle {
        Handle {
            tx,
            pushes,
            assignments,
            realtime,
        }
    }

    /// Where this handle's commands go (the routing node hands them on).
    pub(crate) fn commands(&self) -> mpsc::Sender<Command> {
        self.tx.clone()
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, ServiceError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| ServiceError::Stopped)?;
        answer.await.map_err(|_| ServiceError::Stopped)?
    }

    /// Routes a new interaction. **For messaging:** call this when a conversation needs an
    /// agent; the offer reaches the agent's desk, and [`Handle::act`] with [`Action::End`] ends
    /// it.
    pub async fn arrive(&self, arrival: Arrival) -> Result<(), ServiceError> {
        self.ask(|r| Command::Arrive(arrival, r)).await
    }

    /// Declares work `agent_id` held before a restart (a conversation still assigned to it):
    /// it comes back on the agent, holding capacity, when the agent signs in. **For
    /// messaging,** at start-up; [`Action::End`] before then forgets it.
    pub async fn hold(&self, agent_id: &str, held: Held) -> Result<(), ServiceError> {
        let agent_id = agent_id.to_owned();
        self.ask(|r| Command::Hold(agent_id, held, r)).await
    }

    /// Connects work `agent_id` starts herself (a call placed from a conversation: `work`'s
    /// id, media and queue) to her at once, occupying her as routed work of its media would;
    /// [`Action::End`] ends it and frees the capacity at once. Refused when she is not signed
    /// in to routing or already has exclusive work (another call).
    pub async fn engage(&self, agent_id: &str, work: Held) -> Result<(), ServiceError> {
        let agent_id = agent_id.to_owned();
        self.ask(|r| Command::Engage(agent_id, work, r)).await
    }

    /// Acts on a live interaction; `by` (an agent's store id) must own it, or be offered it
    /// for accept and decline. `None` is a trusted connector.
    pub async fn act(
        &self,
        id: &str,
        by: Option<&str>,
        action: Action,
    ) -> Result<(), ServiceError> {
        let (id, by) = (id.to_owned(), by.map(str::to_owned));
        self.ask(|reply| Command::Act {
            id,
            by,
            action,
            reply,
        })
        .await
    }

    /// Carries out a supervisor's order (`by`: the supervisor's store id); `true` when an
    /// assignment went above the agent's room (forced). The permission is the caller's to
    /// check.
    pub async fn supervise(&self, by: &str, order: Order) -> Result<bool, ServiceError> {
        let by = by.to_owned();
        self.ask(|reply| Command::Supervise { by, order, reply })
            .await
    }

    /// Creates or replaces a queue (already saved under `id`).
    pub async fn define_queue(&self, id: QueueId, spec: QueueSpec) -> Result<(), ServiceError> {
        self.ask(|r| Command::DefineQueue(id, spec, r)).await
    }

    /// Signs an agent in (or updates its profile) and sets its presence; `Offline` signs out.
    pub async fn set_presence(
        &self,
        agent_id: &str,
        name: &str,
        profile: ProfileSpec,
        presence: Presence,
    ) -> Result<(), ServiceError> {
        let (agent_id, name) = (agent_id.to_owned(), name.to_owned());
        self.ask(|reply| Command::SignIn {
            agent_id,
            name,
            profile,
            presence,
            reply,
        })
        .await
    }

    /// Checks a routing profile against the queues and applies it at once to a signed-in
    /// agent (without a sign-in of its own, it is used from the next one).
    pub async fn update_profile(
        &self,
        agent_id: &str,
        profile: ProfileSpec,
    ) -> Result<(), ServiceError> {
        let agent_id = agent_id.to_owned();
        self.ask(|reply| Command::Profile(agent_id, profile, reply))
            .await
    }

    /// Signs an agent out of routing: its work goes back to the queues.
    pub async fn sign_out(&self, agent_id: &str) -> Result<(), ServiceError> {
        self.set_presence(agent_id, "", ProfileSpec::default(), Presence::Offline)
            .await
    }

    /// The agent's desk: presence, offers and work.
    pub async fn desk(&self, agent_id: &str) -> Result<DeskView, ServiceError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::Desk(agent_id.to_owned(), reply))
            .await
            .map_err(|_| ServiceError::Stopped)?;
        answer.await.map_err(|_| ServiceError::Stopped)
    }

    /// The defined queues.
    pub async fn queues(&self) -> Result<Vec<(QueueId, QueueSpec)>, ServiceError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::Queues(reply))
            .await
            .map_err(|_| ServiceError::Stopped)?;
        answer.await.map_err(|_| ServiceError::Stopped)
    }

    /// Desk updates for every agent; a console keeps those for its own agent.
    pub fn subscribe(&self) -> broadcast::Receiver<Push> {
        self.pushes.subscribe()
    }

    /// What happens to routed interactions (connected to an agent, back in a queue,
    /// finished), for the module that brought them. **For messaging:** subscribe once and
    /// follow the conversations you passed to [`Handle::arrive`].
    pub fn assignments(&self) -> broadcast::Receiver<Assignment> {
        self.assignments.subscribe()
    }

    /// The real-time view, updated at most every `publish_every`.
    pub fn realtime(&self) -> watch::Receiver<Arc<Realtime>> {
        self.realtime.clone()
    }
}
