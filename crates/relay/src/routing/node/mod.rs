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
//!   knows it ([`Recovery`]: messaging's assigned and waiting conversations); and, when the
//!   last owner's lease ended within the minute, the agents whose last logged status
//!   (`agent_presence_log`) says they were signed in, with that presence. Then it answers the
//!   other nodes. A stopping owner first drains the requests NATS delivered to it.
//! - **Commands** ([`wire`]): a node that does not own routing sends each command of its
//!   [`Handle`] to the owner as a NATS request; while no node owns routing (a takeover), a
//!   command waits up to [`PATIENCE`] for one, retried only when nobody answered, so no
//!   command is carried out twice.
//! - **What the owner tells**: desk pushes and the real-time board go to every node (news on
//!   [`NEWS_SUBJECT`]), so a console on any node sees its desk and the wallboard; what rides
//!   on an interaction (a co-browse session) hears of its end on every node. Assignments stay
//!   on the owner's node, where the bridge to messaging follows them once.
//! - **Fencing** ([`fence`]): an owner that lost its lease without knowing it (a process
//!   paused past it) carries nothing of its engine's output once its last renewal can no
//!   longer be relied on by its own clock, and renews (or steps down) before it hands its
//!   engine another command; every node drops news stamped with an older lease epoch than
//!   the newest it heard.
//!
//! A node alone owns routing from the start, without a lease.
//!
//! **Invariants:** a node decides only while it holds the lease, and nothing its engine
//! decides leaves it past the lease's validity; news of an older owner than one heard is never
//! applied; a command is carried out at most once (never retried after it may have reached an
//! owner); what arrives over NATS is parsed whole or refused, never applied in part.

mod ask;
mod carry;
mod fence;
pub mod lease;
mod model;
mod restore;
mod run;
pub mod wire;

pub use model::{Deps, Recovery, COMMAND_SUBJECT, LEASE, NEWS_SUBJECT, PATIENCE, RENEW_EVERY};
pub use run::{start, Starter};
