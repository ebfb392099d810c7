//! Routing: queues, skills, presence and capacity per media, offers, parking, wrap-up and
//! transfers, as a pure engine inside an async shell.
//!
//! # Layout
//!
//! - [`engine`]: the pure core (sans-IO; no sockets, tasks or clock): `Engine::handle(now,
//!   Event, &mut decisions)`, its model, indexes, and the naive reference it is checked
//!   against.
//! - [`service`]: the async shell. One task owns the engine, a clock and the next-deadline
//!   timer; a [`service::Handle`] sends it commands and hears assignments; the switchboard
//!   maps the relay's names to engine ids and accounts for decisions; desks and the real-time
//!   board are built from it; queue specs, profiles and connector tokens are persisted.
//! - [`api`]: REST for desks and supervisors, and `/ws/desk`; its `routes` gathers every
//!   routing route, each handler documented for the OpenAPI description.
//! - [`telephony_api`]: the telephony connector API (calls; chats and messages from
//!   integrations), authenticated by a connector token.
//! - [`connectors_api`]: telephony connectors for admins (list, issue a token, remove).
//! - [`node`]: routing on several nodes: the lease that makes one node the owner of the
//!   decisions, the takeover from the persisted state, and the other nodes' commands carried
//!   to the owner over NATS.
//! - [`state`]: what the routes share.
//! - [`supervise_api`]: supervisors' orders (assign, force-assign, an agent's state, sign-out)
//!   and the wallboard's event stream.
//!
//! Routing tells the rest of the relay what happened through what the composition root hands
//! the service: a [`service::journal::Journal`] (reporting writes it) and
//! [`service::Riders`] (co-browse sessions riding on an interaction end with it). It imports
//! no other domain.

pub mod api;
pub mod connectors_api;
pub mod engine;
pub mod node;
pub mod service;
pub mod state;
pub mod supervise_api;
pub mod telephony_api;

pub use engine::{
    default_capacity, metrics, AgentId, AgentProfile, AgentStatus, Capacity, Decision, Engine,
    EngineConfig, Event, InteractionId, InteractionRecord, InteractionState, Interrupt, LastAgent,
    Media, MediaRules, Metrics, Millis, OfferReason, Outcome, ParkReason, PerMedia, Presence,
    QueueConfig, QueueId, QueuedReason, RevokeReason, RoutingError, Selector, ServiceLevelTarget,
    Skill, SkillId, SkillRequirement, SkillRing, Strategy, Tally, TransferTarget, WrapUpRule,
};
