//! The routing service: the async shell around the pure [`crate::routing::engine`]. One tokio
//! task owns the engine, a clock and a timer at the engine's next deadline; everything else
//! talks to it through a [`Handle`] over a bounded command channel.
//!
//! # Layout
//!
//! - [`handle`]: the way in ([`Handle`]) and the vocabulary other modules use with it
//!   (arrivals, actions, assignments, held work, errors, the [`Riders`] hook).
//! - `task`: the task that owns the engine and carries out its decisions (desk pushes, the
//!   journal, riders, the real-time board).
//! - `switchboard`: the state beside the engine, owned by the task: names to engine ids, the
//!   bookkeeping of decisions, held work, and the views ([`live`]) built from it.
//! - [`journal`]: what routing reports for history, and the trait reporting implements.
//! - [`service_level`]: service level now per queue (a rolling 15-minute window), for the
//!   wallboard.
//! - [`persist`]: queue specs, agent profiles and connector tokens, as JSON and in the store.
//!
//! Imports point one way: task → switchboard → handle, live, journal, persist → engine.
//! Interactions are named by their external ids (a call id from the telephony connector, a
//! conversation id from messaging) and agents by their store ids; the engine's numbers never
//! leave the switchboard.

pub mod handle;
pub mod journal;
pub mod live;
pub mod persist;
pub mod service_level;
mod switchboard;
mod task;

#[cfg(test)]
mod tests;

pub use handle::{
    Action, Arrival, Assignment, AssignmentEvent, Handle, Held, Order, PreviousAgent, Push, Riders,
    ServiceError, Target, PLACED_CALL_PREFIX,
};
pub use task::{spawn, start, ServiceConfig};
