//! Voice and video calls placed from a conversation (WebRTC, signalled by the relay).
//!
//! The conversation's assigned agent rings its contact from the inbox; the customer accepts
//! in the widget with audio or with video, or declines; either ends it. The relay keeps each
//! call's state ([`book`], pure), carries the signalling ([`signal`]: typed, bounded) between
//! exactly those two over the push streams they already hold (the console's and the widget's
//! server-sent events), tells both sides the ICE servers ([`ice`], with coturn's time-limited
//! TURN credentials) and writes the call on the conversation's timeline (offered, accepted,
//! declined, ended: who ended it and how long it lasted). The media never pass through the
//! relay. While a call rings or is live, routing counts the agent as on a call
//! ([`CallSeat`], given by the composition root), so no new work is offered to her.
//!
//! - [`service`]: what the handlers call (on [`super::Messaging`]), and the ring timer;
//! - [`remote`]: a call's requests carried to the node that holds it (`wire`: what crosses);
//! - [`refusal`]: why a request was refused;
//! - [`api`]: the agent's and the guest's routes.
//!
//! Calls live in the memory of the node that placed them; a request for a call that reaches
//! another node is carried to it ([`remote`]). A restart of that node ends them (both sides'
//! pages see their streams close and tear the call down).

pub mod api;
pub mod book;
pub mod ice;
pub mod refusal;
pub mod remote;
pub mod service;
pub mod signal;
mod wire;

use std::sync::{Arc, Mutex, OnceLock};

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use utoipa::ToSchema;

use crate::cluster::Cluster;

pub use book::{Answer, Call, CallError, EndReason, Offered, Side};
pub use signal::{Signal, SignalError};

const FIND_BASE: &str = "relay.messaging.call.find";
const ASK_BASE: &str = "relay.messaging.call.ask";

/// This node's way to the others, once it joined them.
pub struct Link {
    pub(crate) client: async_nats::Client,
    pub(crate) cluster: Arc<Cluster>,
}

impl Link {
    pub(crate) fn new(client: async_nats::Client, cluster: Arc<Cluster>) -> Self {
        Link { client, cluster }
    }

    pub(crate) fn find_subject(&self) -> String {
        self.cluster.subject(FIND_BASE)
    }

    pub(crate) fn ask_subject(&self, node: &str) -> String {
        self.cluster.subject(&format!("{ASK_BASE}.{node}"))
    }
}

/// How routing is told that an agent is on a call placed from a conversation. The
/// composition root implements it over routing's handle; messaging never imports routing.
pub trait CallSeat: Send + Sync {
    /// Occupies `agent` with call `call_id` as a routed call would. `Err` (with the reason a
    /// person can read) refuses the call: the agent is already on one.
    fn seat(&self, agent: &str, call_id: &str) -> BoxFuture<'static, Result<(), String>>;
    /// The call ended: the agent's capacity is free at once.
    fn release(&self, agent: &str, call_id: &str) -> BoxFuture<'static, ()>;
    /// Which calls `agent` may place from `conversation`, as the queue it was routed in
    /// allows (every kind when routing does not say).
    fn allowed(&self, agent: &str, conversation: &str) -> BoxFuture<'static, Vec<Offered>>;
}

/// The calls of every conversation on this node.
#[derive(Default)]
pub struct Calls {
    book: Mutex<book::Book>,
    seat: OnceLock<Arc<dyn CallSeat>>,
    /// Woken when a call starts ringing, so the ring timer looks at the new deadline.
    wake: Notify,
    /// The way to the other nodes' calls, once this node joined them ([`remote`]).
    link: OnceLock<Link>,
}

impl Calls {
    /// Gives the calls their seat in routing (once, by the composition root).
    pub fn seat_with(&self, seat: Arc<dyn CallSeat>) {
        self.seat.set(seat).ok();
    }

    /// The call an agent is on or ringing, if any.
    pub fn of_agent(&self, agent: &str) -> Option<Call> {
        self.with(|b| b.of_agent(agent).cloned())
    }

    /// The call of a conversation, if one rings or is live.
    pub fn of_conversation(&self, conversation: &str) -> Option<Call> {
        self.with(|b| b.of_conversation(conversation).cloned())
    }

    /// Which calls `agent` may place from `conversation` (every kind without a seat).
    pub async fn allowed(&self, agent: &str, conversation: &str) -> Vec<Offered> {
        match self.seat.get() {
            Some(seat) => seat.allowed(agent, conversation).await,
            None => vec![Offered::Voice, Offered::Video],
        }
    }

    /// How many calls ring or are live on this node.
    pub fn live(&self) -> usize {
        self.with(|b| b.len())
    }

    fn with<T>(&self, f: impl FnOnce(&mut book::Book) -> T) -> T {
        // A panic under the lock cannot leave the book half-changed: every operation checks
        // before it changes anything. So a poisoned lock is still a consistent book.
        let mut book = self.book.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut book)
    }
}

/// What a side's push stream is told about a call (on whichever node that stream is).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum CallNews {
    /// The agent rings the customer (to the customer).
    Ringing { call: Call },
    /// The customer answered (to the agent).
    Accepted { call_id: String, answer: Answer },
    /// The call is over, for either side.
    Ended {
        call_id: String,
        reason: EndReason,
        #[serde(skip_serializing_if = "Option::is_none")]
        by: Option<Side>,
        #[serde(skip_serializing_if = "Option::is_none")]
        duration_ms: Option<i64>,
    },
    /// A signalling message from the other side.
    Signal { call_id: String, signal: Signal },
}
