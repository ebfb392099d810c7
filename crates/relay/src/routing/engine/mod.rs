//! The routing engine: the automatic call distributor that matches interactions to agents, as
//! a pure core in the sans-IO shape: no sockets, no tasks, no clock. The shell
//! (`super::service`) feeds each [`Event`] to [`Engine::handle`] with the current time and
//! carries out the [`Decision`]s it gets back (show an offer, park a chat, persist a finished
//! [`InteractionRecord`]); it calls `handle(now, Event::Tick, ..)` again at
//! [`Engine::next_deadline`] so offers time out, wrap-up limits pass and bullseye rings open
//! on time. Same events at the same times give the same decisions.
//!
//! # Layout
//!
//! - [`model`]: identifiers, time, media, presence, skills, queue and agent configuration.
//! - [`event`]: [`Event`] in, [`Decision`] out, [`RoutingError`] for rejected events.
//! - `state`: live interaction and agent state and the eligibility rules (presence, capacity,
//!   exclusive media and interrupts, skill rings).
//! - `index`: per-queue ordered sets of waiting interactions and of eligible agents.
//! - [`Engine`] (`machine`): state transitions and timers; `dispatch`: settling, who gets
//!   what; `agents` and `ops`: what each agent and interaction event does; `view`: read-only
//!   queries.
//! - `supervise`: what a supervisor's [`Event::Assign`] does.
//! - `naive`: the linear-scan reference selection (benchmark baseline, test oracle).
//! - [`record`] and [`metrics`]: per-interaction accounting and ASA, AHT, service level.
//!
//! **Architecture invariant:** every change of an interaction's state goes through
//! `Engine::transition`, which alone keeps work sets, capacity, indexes, timers and the
//! talk/hold/wrap-up clocks consistent.
//!
//! **Architecture invariant:** after every `handle`, no waiting interaction has an agent that
//! may take it (other than agents that declined it): routing happens eagerly, in queue order.
//!
//! **Architecture invariant:** nothing here does I/O or reads a clock; this module imports
//! nothing of the relay outside itself.

mod agents;
mod dispatch;
pub mod event;
mod index;
mod machine;
pub mod metrics;
pub mod model;
mod naive;
mod ops;
pub mod record;
mod state;
mod supervise;
mod view;

#[cfg(test)]
mod engage_tests;
#[cfg(test)]
mod handling_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod supervise_tests;
#[cfg(test)]
mod tests;

pub use event::{
    Decision, Event, LastAgent, OfferReason, ParkReason, QueuedReason, RevokeReason, RoutingError,
    TransferTarget,
};
pub use machine::{Engine, Selector};
pub use metrics::{metrics, Metrics, ServiceLevelTarget, Tally};
pub use model::{
    default_capacity, AgentId, AgentProfile, AgentStatus, Capacity, EngineConfig, InteractionId,
    Interrupt, Media, MediaRules, Millis, PerMedia, Presence, QueueConfig, QueueId, Skill, SkillId,
    SkillRequirement, SkillRing, Strategy, SupervisorId, Word, WrapUpRule,
};
pub use record::{InteractionRecord, Outcome};
pub use state::InteractionState;
