//! What routing reports as it decides: finished interactions, the event log and agents'
//! presence changes, the inputs of historical reporting. Routing only describes them
//! ([`Entry`]) and hands them to a [`Journal`]; reporting implements it
//! (`reporting::writer`), so routing never imports reporting.

use crate::routing::engine::InteractionRecord;

/// One thing to persist.
#[derive(Debug)]
pub enum Entry {
    /// A finished interaction, with the relay's ids in place of the engine's numbers.
    Finished {
        record: InteractionRecord,
        /// The interaction's external id (call id, conversation id).
        external: String,
        /// Store ids of `record.agents`, in order.
        agents: Vec<String>,
        /// Store id of `record.answered_by`.
        answered_by: Option<String>,
    },
    /// One routing decision or command, for the event log.
    Event {
        at_ms: i64,
        seq: i64,
        kind: &'static str,
        interaction: Option<String>,
        agent: Option<String>,
        queue: Option<u32>,
        detail: String,
    },
    /// Routed work only routing knows of (not a messaging conversation) as it stands now,
    /// for a node taking routing over (`routing_live`).
    Live {
        interaction: String,
        media: &'static str,
        queue: String,
        priority: Option<i32>,
        /// The agent holding it (connected, parked or in wrap-up); `None` while it waits or
        /// is only offered.
        agent: Option<String>,
        parked: bool,
        at_ms: i64,
    },
    /// That work is finished.
    Gone { interaction: String },
    /// An agent's reporting status changed.
    Presence {
        agent: String,
        at_ms: i64,
        seq: i64,
        status: &'static str,
    },
}

/// Where routing's entries go. Called from the routing task: it must never block (a journal
/// that cannot keep up drops, and counts what it drops).
pub trait Journal: Send + Sync {
    fn record(&self, entry: Entry);
}
