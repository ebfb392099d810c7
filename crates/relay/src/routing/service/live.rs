//! Live views of routing for consoles: an agent's desk (presence, offers with their expiry,
//! open, parked and wrap-up work) and the real-time board (per queue: waiting, longest wait,
//! agents available and busy, offered and answered today, service level now, the first
//! waiting interactions; per agent: status and since when, presence, its work), as plain
//! data serialised as JSON; the switchboard builds them (`switchboard::views`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::routing::engine::model::{known_word, known_word_opt};
use crate::routing::engine::{AgentId, AgentStatus, Media, Millis, OfferReason, Presence, QueueId};

/// A word of the engine's vocabulary in a view (a media, a state, a status). An alias, so that
/// serde's derive reads it back through [`known_word`] rather than borrowing it from the input.
pub type Name = &'static str;

/// What the service remembers about an agent beside the engine.
#[derive(Debug, Clone)]
pub struct AgentInfo {
    pub store_id: String,
    pub name: String,
    /// Queues the agent is a member of (from its profile at sign-in).
    pub queues: Vec<QueueId>,
    /// The last status logged, and since when.
    pub status: AgentStatus,
    pub status_since: Millis,
}

impl AgentInfo {
    pub fn new(store_id: &str, name: &str, now: Millis) -> AgentInfo {
        AgentInfo {
            store_id: store_id.to_owned(),
            name: name.to_owned(),
            queues: Vec::new(),
            status: AgentStatus::Offline,
            status_since: now,
        }
    }
}

/// What the service remembers about a live interaction beside the engine.
#[derive(Debug, Clone)]
pub struct InteractionInfo {
    pub external: String,
    pub media: Media,
    /// The queue it is (or was last) in.
    pub queue: QueueId,
    /// Whether an agent has answered it (for "answered today").
    pub answered: bool,
    /// The agent it was last offered to or owned by, so that agent's desk is refreshed when it
    /// moves away.
    pub holder: Option<AgentId>,
    /// When it arrived (for service level now).
    pub arrived_at: Millis,
    /// The priority it arrived with (`None`: its queue's).
    pub priority: Option<i32>,
}

impl InteractionInfo {
    pub fn new(external: String, media: Media, queue: QueueId) -> InteractionInfo {
        InteractionInfo {
            external,
            media,
            queue,
            answered: false,
            holder: None,
            arrived_at: Millis(0),
            priority: None,
        }
    }
}

/// The name reporting uses for a status.
pub fn status_name(status: AgentStatus) -> &'static str {
    match status {
        AgentStatus::Offline => "offline",
        AgentStatus::Away => "away",
        AgentStatus::Busy => "busy",
        AgentStatus::WrapUp => "wrap_up",
        AgentStatus::Available => "available",
    }
}

/// The name consoles use for a presence (`offline` when not signed in).
pub fn presence_name(presence: Option<Presence>) -> &'static str {
    match presence {
        Some(Presence::Available) => "available",
        Some(Presence::Busy) => "busy",
        Some(Presence::Away) => "away",
        Some(Presence::Offline) | None => "offline",
    }
}

/// Every presence as consoles name it: what [`parse_presence`] reads.
pub const PRESENCE_NAMES: [&str; 4] = ["available", "busy", "away", "offline"];

/// A string schema admitting only `names`, for the API description of a name the routes
/// parse themselves (so a wrong one is their 400, not the JSON extractor's).
pub fn names_schema(names: &[&str]) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(names.iter().copied()))
        .build()
}

/// The schema of a presence's name.
pub fn presence_schema() -> utoipa::openapi::schema::Object {
    let mut schema = names_schema(&PRESENCE_NAMES);
    schema.description = Some("offline signs out of routing".into());
    schema
}

/// Parses a presence as consoles name it.
pub fn parse_presence(name: &str) -> Option<Presence> {
    match name {
        "available" => Some(Presence::Available),
        "busy" => Some(Presence::Busy),
        "away" => Some(Presence::Away),
        "offline" => Some(Presence::Offline),
        _ => None,
    }
}

/// One interaction on an agent's desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkItem {
    pub interaction: String,
    #[serde(deserialize_with = "known_word")]
    #[schema(value_type = String)]
    pub media: Name,
    pub queue: String,
    /// `offered`, `connected`, `parked` or `wrap_up`.
    #[serde(deserialize_with = "known_word")]
    #[schema(value_type = String)]
    pub state: Name,
    /// For offers: `queue`, `interrupt`, `last_agent` or `transfer`.
    #[serde(deserialize_with = "known_word_opt")]
    #[schema(value_type = Option<String>)]
    pub offer_reason: Option<Name>,
    pub expires_at_ms: Option<u64>,
    /// For parked work: `agent`, or the external id of the call that interrupted it.
    pub parked_by: Option<String>,
    /// For wrap-up: the queue's codes and when wrap-up ends by itself.
    pub wrap_up_codes: Vec<String>,
    pub wrap_up_deadline_ms: Option<u64>,
}

/// An agent's desk, pushed on `/ws/desk` after every change and served at
/// `GET /api/routing/desk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeskView {
    /// Always `desk`, so consoles can tell it from other pushes.
    #[serde(rename = "type")]
    #[serde(deserialize_with = "known_word")]
    #[schema(value_type = String)]
    pub kind: Name,
    pub agent_id: String,
    /// `available`, `busy`, `away` or `offline`.
    #[serde(deserialize_with = "known_word")]
    #[schema(value_type = String)]
    pub presence: Name,
    /// The reporting status: `presence` refined by the work held (`wrap_up`).
    #[serde(deserialize_with = "known_word")]
    #[schema(value_type = String)]
    pub status: Name,
    pub status_since_ms: u64,
    /// The relay's clock, so consoles count offers down without trusting their own.
    pub now_ms: u64,
    pub work: Vec<WorkItem>,
}

/// One queue on the real-time board.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QueueLive {
    pub id: u32,
    pub name: String,
    pub waiting: usize,
    pub longest_wait_ms: u64,
    /// Members with status available and no work.
    pub agents_available: usize,
    /// Members signed in with work, or busy or in wrap-up.
    pub agents_busy: usize,
    pub offered_today: u64,
    pub answered_today: u64,
    /// Since when the longest-waiting interaction has waited (ms since the Unix epoch).
    pub longest_waiting_since_ms: Option<u64>,
    /// Service level now: answered within the threshold over waits ended (answered or
    /// abandoned) in the window (`service_level`); `None` with nothing to count.
    pub service_level: Option<f64>,
    /// The counts behind it: in target, and waits ended.
    pub service_level_in_target: u64,
    pub service_level_counted: u64,
    /// The next waiting interactions each media would serve, longest waiting first (at most
    /// [`WAITING_SHOWN`]), for a supervisor to assign.
    pub waiting_list: Vec<WaitingLive>,
}

/// How many waiting interactions a queue lists on the board.
pub const WAITING_SHOWN: usize = 25;

/// One waiting interaction on the board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WaitingLive {
    pub interaction: String,
    #[serde(deserialize_with = "known_word")]
    #[schema(value_type = String)]
    pub media: Name,
    /// When it entered its queue (ms since the Unix epoch).
    pub since_ms: u64,
}

/// One piece of an agent's work on the board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentWork {
    pub interaction: String,
    #[serde(deserialize_with = "known_word")]
    #[schema(value_type = String)]
    pub media: Name,
    /// `offered`, `connected`, `parked` or `wrap_up`.
    #[serde(deserialize_with = "known_word")]
    #[schema(value_type = String)]
    pub state: Name,
    /// A supervisor assigned it above an agent's room.
    pub forced: bool,
}

/// One agent on the real-time board.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentLive {
    pub agent_id: String,
    pub name: String,
    #[serde(deserialize_with = "known_word")]
    #[schema(value_type = String)]
    pub status: Name,
    pub time_in_status_ms: u64,
    /// Offered, connected, parked and wrap-up interactions.
    pub active: usize,
    /// `available`, `busy` or `away` (what a supervisor may set).
    #[serde(deserialize_with = "known_word")]
    #[schema(value_type = String)]
    pub presence: Name,
    /// Since when `status` holds (ms since the Unix epoch): consoles count time in state on
    /// from it without a new board.
    pub status_since_ms: u64,
    /// What it holds now.
    pub work: Vec<AgentWork>,
}

/// The real-time board, published by the service at most every `publish_every`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Realtime {
    pub at_ms: u64,
    /// What service level now counts: answered within this many ms, over this window.
    pub service_level_threshold_ms: u64,
    pub service_level_window_ms: u64,
    pub queues: Vec<QueueLive>,
    pub agents: Vec<AgentLive>,
}

pub fn offer_reason(reason: OfferReason) -> &'static str {
    match reason {
        OfferReason::Queue => "queue",
        OfferReason::Interrupt => "interrupt",
        OfferReason::LastAgent => "last_agent",
        OfferReason::Transfer => "transfer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_presence_the_description_names_parses() {
        for name in PRESENCE_NAMES {
            let presence = parse_presence(name);
            assert!(presence.is_some(), "{name}");
            assert_eq!(presence_name(presence), name);
        }
    }
}
