//! The messaging model: contacts, conversations, messages and the interaction timeline, as
//! stored and as the APIs serialize them. Plain data; the rules live in `threading` and the
//! service.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use super::rich::{Postback, Rich};

/// The channel of the web messaging widget.
pub const WEB: &str = "web";

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Customer,
    Agent,
    Bot,
    System,
}

/// How far an outgoing message got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Stored by the relay (and, for a customer message, acknowledged to the sender).
    Sent,
    /// The other side's channel confirmed receipt.
    Delivered,
    /// The other side read it.
    Read,
    /// Delivery was given up after the retries.
    Failed,
}

/// Where a conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    /// A bot holds it until it answers or hands off.
    Bot,
    /// Waiting for an agent (routing's queue).
    Waiting,
    /// An agent owns it.
    Assigned,
    /// Parked by the agent; the customer can still write.
    Parked,
    /// Wrapped up; the next customer message starts a new conversation.
    Closed,
}

macro_rules! text_enum {
    ($ty:ty { $($variant:ident = $text:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

text_enum!(Author { Customer = "customer", Agent = "agent", Bot = "bot", System = "system" });
text_enum!(Delivery { Sent = "sent", Delivered = "delivered", Read = "read", Failed = "failed" });
text_enum!(ConversationState {
    Bot = "bot",
    Waiting = "waiting",
    Assigned = "assigned",
    Parked = "parked",
    Closed = "closed",
});

/// A file stored by the relay and referenced by a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    /// The relay's id (web uploads) or the channel's URL (open messaging).
    pub id: String,
    pub name: String,
    pub mime: String,
    pub bytes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: String,
    pub conversation_id: String,
    /// Order within the conversation, from 1.
    pub seq: i64,
    pub author: Author,
    /// The agent's id, the bot's integration, or nothing for the customer.
    pub author_id: Option<String>,
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// Choices offered to the customer; answering sends one as text.
    pub quick_replies: Vec<String>,
    /// A card or a carousel of cards (agent and bot messages); absent on a plain message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rich: Option<Rich>,
    /// The button of a card the customer pressed (customer messages; `text` is its label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postback: Option<Postback>,
    pub delivery: Delivery,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Conversation {
    pub id: String,
    pub contact_id: String,
    /// `web`, or `open:<integration>`.
    pub channel: String,
    /// The contact's identity on that channel (guest id hash, or the integration's `from.id`).
    pub external_id: String,
    pub state: ConversationState,
    pub agent_id: Option<String>,
    pub created_at: i64,
    pub last_customer_at: i64,
    pub last_message_at: i64,
    pub agent_read_seq: i64,
    pub customer_read_seq: i64,
}

/// A line of the interaction timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub conversation_id: String,
    pub seq: i64,
    /// `created`, `assigned`, `transferred`, `parked`, `cobrowse_started`, `cobrowse_ended`,
    /// `wrapped_up`, `bot_handoff`.
    pub kind: String,
    /// Facts as a JSON object (handoff reason and collected data, agent ids).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub id: String,
    pub display_name: String,
}

/// An open-messaging integration: where its outbound webhook goes and how it signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Integration {
    pub name: String,
    #[serde(skip_serializing)]
    pub secret: String,
    pub webhook_url: String,
    pub bot_url: Option<String>,
}

/// A customer message as a channel hands it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub channel: String,
    pub external_id: String,
    /// Used when the contact is new.
    pub display_name: String,
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// The answer to a card's postback button, checked against the buttons the conversation
    /// offered before it is stored (`rich::offered`).
    pub postback: Option<Postback>,
    /// When the integration names a bot, new conversations start in [`ConversationState::Bot`].
    pub has_bot: bool,
}

/// How an integration's inbound delivery was signed, and what recognises it again: checked
/// and recorded in the same transaction as what the delivery stores (see
/// `queries::admit_signed`), so a delivery that failed to store can be retried, and one that
/// was stored is never stored twice.
#[derive(Debug, Clone)]
pub struct Signed {
    pub integration: String,
    /// The timestamped form's delivery id; `None` when the hub form alone signed it.
    pub delivery_id: Option<String>,
    /// The channel's id of the message carried (a message's, not a receipt's): a redelivery
    /// of it is answered as the first was, whatever its delivery id.
    pub message_id: Option<String>,
}

/// What storing a customer message did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ingested {
    pub message: Message,
    pub conversation: Conversation,
    /// The message opened a new conversation (so it needs a bot or an agent).
    pub started: bool,
}

/// A message written by the relay's side (agent, bot, system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub conversation_id: String,
    pub author: Author,
    pub author_id: Option<String>,
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub quick_replies: Vec<String>,
    /// A card or carousel, already validated ([`Rich::validate`]).
    pub rich: Option<Rich>,
}

/// A row of an agent's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Summary {
    pub conversation: Conversation,
    pub contact_name: String,
    /// Customer messages the agent side has not read.
    pub unread: i64,
    pub last_text: String,
}

/// A signed webhook delivery waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Stable across retries, so the receiver can drop duplicates.
    pub delivery_id: String,
    pub integration: String,
    pub message_id: String,
    pub body: String,
    pub attempts: i64,
    pub next_at: i64,
}
