//! What the service tells its listeners: the push streams (agent console, widget) hear every
//! change to a conversation, and routing hears of each conversation that waits for an agent.

use serde::{Deserialize, Serialize};

use super::model::*;

/// What push streams (agent console, widget) are told; another node's arrive over the
/// cluster (`super::fanout`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Push {
    pub contact_id: String,
    pub conversation_id: String,
    /// The owning agent, if any, so an agent's stream sees only its own and waiting ones.
    pub agent_id: Option<String>,
    #[serde(flatten)]
    pub kind: PushKind,
    /// Heard from another node (`super::fanout`), not made here: what acts once per change
    /// (the routing bridge) acts on the node where it was made only.
    #[serde(skip)]
    pub from_afar: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PushKind {
    Message {
        message: Message,
    },
    Typing {
        author: Author,
        typing: bool,
    },
    Read {
        reader: Author,
        seq: i64,
    },
    Delivery {
        message_id: String,
        delivery: Delivery,
    },
    Event {
        event: Event,
    },
    /// News of a call, for one side only (`to`): only the conversation's agent and its
    /// guest hear of it, never another agent or a supervisor's stream. The call lives on the
    /// node that placed it; its news reach the side's stream on any node.
    Call {
        to: super::call::Side,
        news: super::call::CallNews,
    },
}

/// A conversation that waits for an agent: routing's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NeedsAgent {
    pub conversation_id: String,
    pub contact_id: String,
    pub channel: String,
    /// `new`, or `bot_handoff`.
    pub reason: String,
}
