//! What goes into the engine ([`Event`]), what comes out ([`Decision`]) and why a rejected event
//! was rejected ([`RoutingError`]).

use super::model::{AgentId, AgentProfile, InteractionId, Media, Millis, Presence, QueueConfig};
use super::model::{AgentStatus, QueueId, SupervisorId, Word};
use super::record::InteractionRecord;

/// The agent who last handled a conversation, as the messaging layer knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastAgent {
    /// The agent who last handled the conversation.
    pub agent: AgentId,
    /// Whether the conversation is still inside its threading window (72 h by default).
    pub window_open: bool,
}

/// Where a transfer sends an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferTarget {
    /// Offered to this agent; if it declines or lets the offer time out, the interaction waits
    /// in its queue.
    Agent(AgentId),
    /// Waits in this queue, behind the interactions already there.
    Queue(QueueId),
}

/// Something that happened outside the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Nothing happened but time passed: fire due offer timeouts, wrap-up limits and ring
    /// relaxations.
    Tick,
    /// Create or replace a queue's configuration.
    DefineQueue(QueueConfig),
    /// An agent signs in (available) or, if already signed in, updates its profile.
    SignIn {
        /// Who.
        agent: AgentId,
        /// Skills, capacity and queues.
        profile: AgentProfile,
    },
    /// The agent signs out: pending offers and its open and parked work go back to their queues;
    /// wrap-up ends without a code.
    SignOut {
        /// Who.
        agent: AgentId,
    },
    /// The agent picks a presence. Leaving `Available` withdraws pending offers.
    SetPresence {
        /// Who.
        agent: AgentId,
        /// What it picked; `Offline` signs out.
        presence: Presence,
    },
    /// A call, chat or messaging conversation needs an agent.
    Arrive {
        /// The new interaction.
        interaction: InteractionId,
        /// Its media.
        media: Media,
        /// The queue it enters.
        queue: QueueId,
        /// Priority, higher first; `None` takes the queue's.
        priority: Option<i32>,
        /// The last agent, for routing back within the threading window.
        last_agent: Option<LastAgent>,
    },
    /// Work the agent held before the relay restarted comes back on it, connected (or
    /// parked), holding capacity as before, without an offer. The agent must be signed in;
    /// an interaction the engine already knows is refused.
    Resume {
        /// The interaction (new to the engine).
        interaction: InteractionId,
        /// Its media.
        media: Media,
        /// The queue it came through (for wrap-up and reports).
        queue: QueueId,
        /// Who held it.
        agent: AgentId,
        /// Whether it was parked.
        parked: bool,
    },
    /// Work the agent starts herself (a voice or video call placed from a conversation she
    /// holds) is connected to her at once, without an offer, and occupies her as routed work
    /// of its media would: its capacity, and for an exclusive media the interrupts and "no new
    /// offers" of a routed call. Refused if she is not signed in or already has exclusive work
    /// (a second call); capacity is not checked otherwise (she chose to take it on). When it
    /// ends it finishes at once, without wrap-up: the conversation it came from carries that.
    Engage {
        /// The interaction (new to the engine).
        interaction: InteractionId,
        /// Its media.
        media: Media,
        /// The queue it is reported under.
        queue: QueueId,
        /// Who placed it.
        agent: AgentId,
    },
    /// The agent accepts an offer.
    Accept {
        /// What was offered.
        interaction: InteractionId,
        /// Who accepts; must be the agent it is offered to.
        agent: AgentId,
    },
    /// The agent declines an offer; it goes to the next agent.
    Decline {
        /// What was offered.
        interaction: InteractionId,
        /// Who declines; must be the agent it is offered to.
        agent: AgentId,
    },
    /// Put a connected interaction aside; it stops holding capacity and its handle clock stops.
    Park {
        /// Which.
        interaction: InteractionId,
    },
    /// Take a parked interaction back up (needs free capacity).
    Unpark {
        /// Which.
        interaction: InteractionId,
    },
    /// Send a connected or parked interaction (or a waiting one) elsewhere.
    Transfer {
        /// Which.
        interaction: InteractionId,
        /// Where.
        to: TransferTarget,
    },
    /// A supervisor puts a waiting, offered, connected or parked interaction on a chosen agent,
    /// connected at once without an offer (another agent's work: a transfer; a pending offer
    /// is withdrawn). The agent must be signed in, in any presence. Without `force` it needs
    /// room (capacity for the media, no exclusive work in the way); with `force` it may go
    /// above capacity, e.g. a chat for an agent who is on a call.
    Assign {
        /// Which.
        interaction: InteractionId,
        /// To whom.
        agent: AgentId,
        /// Who asked (echoed in the decision).
        by: SupervisorId,
        /// Go above the agent's capacity if need be.
        force: bool,
    },
    /// The customer or the agent ends the interaction. Before an answer this is an abandon;
    /// after one it enters wrap-up if the queue asks for it.
    End {
        /// Which.
        interaction: InteractionId,
    },
    /// The agent records a disposition code and finishes wrap-up.
    CompleteWrapUp {
        /// Which.
        interaction: InteractionId,
        /// One of the queue's codes.
        code: String,
    },
}

/// Why an interaction was offered to an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferReason {
    /// The queue picked the agent.
    Queue,
    /// The queue picked an agent busy only with interruptible work; accepting parks that work.
    Interrupt,
    /// Routed back to the last agent within the threading window.
    LastAgent,
    /// Transferred to this agent.
    Transfer,
}

/// Why a pending offer was withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    /// The accept timeout passed.
    Timeout,
    /// The agent declined.
    Declined,
    /// The agent left `Available` or signed out.
    AgentUnavailable,
    /// The customer left.
    Ended,
    /// Moved to another queue or agent.
    Transferred,
}

/// Why an interaction is parked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParkReason {
    /// The agent parked it; it waits for the agent to unpark it.
    Agent,
    /// A call interrupted it; it resumes when that call leaves the agent.
    Interrupted {
        /// The interrupting interaction.
        by: InteractionId,
    },
}

/// Why an interaction is waiting in a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueuedReason {
    /// It just arrived.
    Arrived,
    /// An offer was declined, timed out or withdrawn.
    Reoffer,
    /// Its agent signed out.
    AgentSignedOut,
    /// It was transferred to this queue.
    Transferred,
}

/// What the engine decided; the shell carries it out (notify consoles, persist records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The interaction waits in `queue` (and the customer may be told so).
    Queued {
        /// Which.
        interaction: InteractionId,
        /// Where.
        queue: QueueId,
        /// Why.
        reason: QueuedReason,
    },
    /// Show an offer to the agent until `expires_at`.
    Offer {
        /// What.
        interaction: InteractionId,
        /// To whom.
        agent: AgentId,
        /// When the offer times out.
        expires_at: Millis,
        /// Why this agent.
        reason: OfferReason,
    },
    /// Remove a pending offer from the agent's console.
    OfferRevoked {
        /// What.
        interaction: InteractionId,
        /// From whom.
        agent: AgentId,
        /// Why.
        reason: RevokeReason,
    },
    /// The agent owns the interaction and is talking to the customer.
    Connected {
        /// What.
        interaction: InteractionId,
        /// Who.
        agent: AgentId,
    },
    /// A supervisor assigned the interaction; a [`Decision::Connected`] to the same agent
    /// follows at once.
    Assigned {
        /// What.
        interaction: InteractionId,
        /// To whom.
        agent: AgentId,
        /// The agent who held it before (a transfer), if any.
        from: Option<AgentId>,
        /// The supervisor who asked.
        by: SupervisorId,
        /// Whether it went above the agent's room (force was asked and needed).
        forced: bool,
    },
    /// The interaction is parked.
    Parked {
        /// What.
        interaction: InteractionId,
        /// Its owner, who keeps it.
        agent: AgentId,
        /// Why.
        reason: ParkReason,
    },
    /// A parked interaction is open again.
    Resumed {
        /// What.
        interaction: InteractionId,
        /// Its owner.
        agent: AgentId,
    },
    /// The conversation is over; the agent picks a disposition code.
    WrapUpStarted {
        /// What.
        interaction: InteractionId,
        /// Who wraps up.
        agent: AgentId,
        /// When wrap-up ends by itself, if the queue limits it.
        deadline: Option<Millis>,
    },
    /// The engine changed an agent's presence (after a missed offer).
    PresenceChanged {
        /// Who.
        agent: AgentId,
        /// The new presence.
        presence: Presence,
    },
    /// The interaction is finished; this is its accounting record. Emitted exactly once per
    /// interaction, after which the engine forgets it.
    Finished(InteractionRecord),
}

/// Why the engine rejected an event. A rejected event changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum RoutingError {
    /// The agent is not signed in.
    #[error("agent {agent} is not signed in")]
    UnknownAgent {
        /// Who.
        agent: AgentId,
    },
    /// No queue with this id is defined.
    #[error("queue {queue} is not defined")]
    UnknownQueue {
        /// Which.
        queue: QueueId,
    },
    /// No such live interaction (never arrived, or already finished).
    #[error("interaction {interaction} is not being routed")]
    UnknownInteraction {
        /// Which.
        interaction: InteractionId,
    },
    /// An interaction with this id is already being routed.
    #[error("interaction {interaction} has already arrived")]
    DuplicateInteraction {
        /// Which.
        interaction: InteractionId,
    },
    /// The interaction is not offered to this agent (it may have timed out and moved on).
    #[error("interaction {interaction} is not offered to agent {agent}")]
    NotOfferedTo {
        /// What.
        interaction: InteractionId,
        /// Who tried to answer.
        agent: AgentId,
    },
    /// A supervisor assigned an interaction to the agent that already holds it.
    #[error("interaction {interaction} is already agent {agent}'s")]
    AlreadyAssigned {
        /// What.
        interaction: InteractionId,
        /// Who holds it.
        agent: AgentId,
    },
    /// The event does not apply in the interaction's current state.
    #[error("cannot {action} interaction {interaction} while it is {state}")]
    InvalidState {
        /// Which.
        interaction: InteractionId,
        /// What was attempted.
        action: Word,
        /// The state it is in.
        state: Word,
    },
    /// The agent cannot take this work now (presence, capacity or an exclusive interaction).
    #[error("agent {agent} cannot take a {media:?} now")]
    AgentUnavailable {
        /// Who.
        agent: AgentId,
        /// Of what media.
        media: Media,
        /// Its status.
        status: AgentStatus,
    },
    /// The disposition code is not one of the queue's codes.
    #[error("queue {queue} has no disposition code {code:?}")]
    UnknownDisposition {
        /// The queue.
        queue: QueueId,
        /// The code given.
        code: String,
    },
    /// A proficiency outside 1 to 5.
    #[error("proficiency {got} is outside 1..=5")]
    ProficiencyOutOfRange {
        /// The value given.
        got: u8,
    },
    /// A queue's bullseye rings are not in increasing order of wait.
    #[error("queue {queue} has rings out of order of wait")]
    RingsOutOfOrder {
        /// Which.
        queue: QueueId,
    },
    /// The agent's profile names a queue that is not defined.
    #[error("agent {agent} is a member of undefined queue {queue}")]
    MemberOfUnknownQueue {
        /// Who.
        agent: AgentId,
        /// Which queue.
        queue: QueueId,
    },
}
