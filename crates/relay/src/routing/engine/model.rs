//! The routing vocabulary: identifiers, time, media, presence, skills and the configuration of
//! queues, agents and media rules. Plain data with no behaviour beyond defaults and lookups.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A point in time, in milliseconds since an epoch the caller chooses.
///
/// The engine has no clock of its own: the shell passes `now` into every call, so tests and
/// benchmarks control time exactly. Durations are plain `u64` fields named `*_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// The time `ms` milliseconds after `self`, saturating instead of overflowing.
    pub fn after(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self`; zero if `earlier` is later.
    pub fn since(self, earlier: Millis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// An agent, as the relay's store numbers them.
    AgentId(u64)
);
id_type!(
    /// One call, chat or messaging conversation being routed.
    InteractionId(u64)
);
id_type!(
    /// A supervisor who steers work, as the shell numbers them; the engine only echoes it in
    /// [`Decision::Assigned`](super::Decision::Assigned), so the shell can say who did it.
    SupervisorId(u64)
);
id_type!(
    /// A queue: where interactions wait for an agent.
    QueueId(u32)
);
id_type!(
    /// A skill such as a language or a product line.
    SkillId(u32)
);

/// The kind of interaction; capacity and interrupt rules are per media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Media {
    /// A voice or video call: needs the agent's full attention.
    Call,
    /// A live web chat.
    Chat,
    /// An asynchronous messaging conversation (web messaging, open messaging).
    Message,
}

impl Media {
    /// All media, in a fixed order (the order of [`PerMedia`]'s fields).
    pub const ALL: [Media; 3] = [Media::Call, Media::Chat, Media::Message];

    /// Its name where the relay stores or shows it: `call`, `chat`, `message`.
    pub fn name(self) -> &'static str {
        match self {
            Media::Call => "call",
            Media::Chat => "chat",
            Media::Message => "message",
        }
    }
}

/// One value per media type, looked up without indexing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PerMedia<T> {
    /// The value for calls.
    pub call: T,
    /// The value for chats.
    pub chat: T,
    /// The value for messaging conversations.
    pub message: T,
}

impl<T> PerMedia<T> {
    /// The value for `media`.
    pub fn get(&self, media: Media) -> &T {
        match media {
            Media::Call => &self.call,
            Media::Chat => &self.chat,
            Media::Message => &self.message,
        }
    }

    /// The value for `media`, mutably.
    pub fn get_mut(&mut self, media: Media) -> &mut T {
        match media {
            Media::Call => &mut self.call,
            Media::Chat => &mut self.chat,
            Media::Message => &mut self.message,
        }
    }
}

/// How many open interactions of each media an agent may hold at once.
///
/// Only open work counts: offered and connected interactions. Parked work and wrap-up hold no
/// capacity.
pub type Capacity = PerMedia<u16>;

/// The capacity an agent gets unless its profile says otherwise: one call, four chats, eight
/// messaging conversations.
pub fn default_capacity() -> Capacity {
    PerMedia {
        call: 1,
        chat: 4,
        message: 8,
    }
}

/// What the agent chose in the console's presence selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Presence {
    /// Ready for offers.
    Available,
    /// Signed in and working, but taking no new offers (a meeting, a callback).
    Busy,
    /// Signed in, away from the desk.
    Away,
    /// Signed out. Setting this is the same as [`Event::SignOut`](super::Event::SignOut).
    Offline,
}

/// The state reporting shows for an agent: the chosen presence, refined by the work it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AgentStatus {
    /// Not signed in.
    Offline,
    /// Signed in, away.
    Away,
    /// Signed in, busy by choice.
    Busy,
    /// Available, with wrap-up to finish and no open conversation.
    WrapUp,
    /// Available for offers (possibly already handling some work).
    Available,
}

/// A skill with a proficiency from 1 (beginner) to 5 (expert).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Skill {
    /// Which skill.
    pub skill: SkillId,
    /// How good the agent is at it, 1 to 5.
    pub proficiency: u8,
}

/// A queue's demand for a skill at a minimum proficiency (1 to 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SkillRequirement {
    /// Which skill.
    pub skill: SkillId,
    /// The lowest proficiency accepted, 1 to 5.
    pub min_proficiency: u8,
}

/// One ring of a bullseye: after an interaction has waited `after_wait_ms` in the queue, agents
/// meeting these (usually weaker) requirements may take it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillRing {
    /// Wait in the queue after which this ring opens.
    pub after_wait_ms: u64,
    /// Requirements for agents in this ring; an empty list admits every member of the queue.
    pub skills: Vec<SkillRequirement>,
}

/// How a queue picks among the agents that may take an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The agent whose last offer is oldest (or who became available longest ago).
    #[default]
    LongestIdle,
    /// The agent with the least open, unparked work relative to capacity; ties by longest idle.
    LeastOccupied,
}

/// Wrap-up after an interaction: the agent records a disposition code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrapUpRule {
    /// The disposition codes an agent may choose.
    pub codes: Vec<String>,
    /// Wrap-up ends by itself after this long, without a code; `None` waits for the agent.
    pub limit_ms: Option<u64>,
}

/// A queue's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// Which queue.
    pub id: QueueId,
    /// Priority of interactions entering this queue, unless the arrival names one. Higher first.
    pub priority: i32,
    /// Skills every agent needs (ring 0 of the bullseye).
    pub skills: Vec<SkillRequirement>,
    /// Bullseye rings that relax `skills` as the wait grows, ordered by `after_wait_ms`.
    pub rings: Vec<SkillRing>,
    /// How an agent is chosen among the eligible ones of the innermost ring.
    pub strategy: Strategy,
    /// How long an agent has to accept an offer.
    pub offer_timeout_ms: u64,
    /// Wrap-up after the interaction ends; `None` ends interactions without wrap-up.
    pub wrap_up: Option<WrapUpRule>,
}

impl QueueConfig {
    /// A queue with no skill requirements, longest-idle selection, a 15 s offer timeout and no
    /// wrap-up.
    pub fn new(id: QueueId) -> QueueConfig {
        QueueConfig {
            id,
            priority: 0,
            skills: Vec::new(),
            rings: Vec::new(),
            strategy: Strategy::LongestIdle,
            offer_timeout_ms: 15_000,
            wrap_up: None,
        }
    }
}

/// What the engine needs to know about an agent when it signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentProfile {
    /// Skills with proficiency 1 to 5.
    pub skills: Vec<Skill>,
    /// Open interactions per media the agent may hold.
    pub capacity: Capacity,
    /// Queues the agent is a member of.
    pub queues: Vec<QueueId>,
}

impl AgentProfile {
    /// A member of `queues` with no skills and the default capacity.
    pub fn new(queues: Vec<QueueId>) -> AgentProfile {
        AgentProfile {
            skills: Vec::new(),
            capacity: default_capacity(),
            queues,
        }
    }
}

/// `by` may interrupt `victim`: when no agent is free for a `by` interaction, it may be offered
/// to an agent busy only with `victim` work, which is parked on accept and resumed afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupt {
    /// The media that interrupts (it must be exclusive).
    pub by: Media,
    /// The media that gets parked.
    pub victim: Media,
}

/// Rules between media types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRules {
    /// Media that need the agent's full attention: while an agent has one offered, connected or
    /// in wrap-up, it gets no other offers; and it is offered only to agents with no other open
    /// work (or by interruption).
    pub exclusive: Vec<Media>,
    /// Which media may interrupt which.
    pub interrupts: Vec<Interrupt>,
    /// When one agent could take waiting work of several media, the higher rank goes first.
    pub rank: PerMedia<u8>,
}

impl Default for MediaRules {
    /// Calls are exclusive, rank first and may interrupt chats and messages.
    fn default() -> MediaRules {
        MediaRules {
            exclusive: vec![Media::Call],
            interrupts: vec![
                Interrupt {
                    by: Media::Call,
                    victim: Media::Chat,
                },
                Interrupt {
                    by: Media::Call,
                    victim: Media::Message,
                },
            ],
            rank: PerMedia {
                call: 2,
                chat: 1,
                message: 0,
            },
        }
    }
}

impl MediaRules {
    /// Whether `media` needs the agent's full attention.
    pub fn is_exclusive(&self, media: Media) -> bool {
        self.exclusive.contains(&media)
    }

    /// Whether `by` may interrupt `victim`.
    pub fn may_interrupt(&self, by: Media, victim: Media) -> bool {
        self.interrupts
            .iter()
            .any(|rule| rule.by == by && rule.victim == victim)
    }
}

/// Engine-wide configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Rules between media types.
    pub media: MediaRules,
    /// An agent who lets an offer time out is set [`Presence::Away`], so the next interaction
    /// does not wait on an empty desk.
    pub away_on_missed_offer: bool,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            media: MediaRules::default(),
            away_on_missed_offer: true,
        }
    }
}

/// Every word the engine and its views name things by (actions, states, statuses, presence,
/// media, offer reasons), so a view or an error read back from another node
/// ([`known_word`]) gets the same `&'static str` the engine uses.
pub const VOCABULARY: &[&str] = &[
    "accept",
    "act on",
    "agent",
    "assign",
    "available",
    "away",
    "busy",
    "call",
    "chat",
    "connected",
    "decline",
    "desk",
    "end",
    "finished",
    "interrupt",
    "last_agent",
    "message",
    "offered",
    "offline",
    "park",
    "parked",
    "queue",
    "queued",
    "resume",
    "supervisor",
    "transfer",
    "unpark",
    "waiting",
    "wrap_up",
];

/// Reads one word of [`VOCABULARY`] as the engine's own `&'static str`; a word outside it
/// reads as `"unknown"` (nothing read from the wire is leaked to make it static).
pub fn known_word<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let word = String::deserialize(d)?;
    Ok(VOCABULARY
        .iter()
        .find(|w| **w == word)
        .copied()
        .unwrap_or("unknown"))
}

/// A word of [`VOCABULARY`] inside an error, read back from another node by [`known_word`]
/// (written by hand, since serde's derive would borrow a `&'static str` from the input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Word(pub &'static str);

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Word {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Word, D::Error> {
        known_word(d).map(Word)
    }
}

/// [`known_word`] for an optional word.
pub fn known_word_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<&'static str>, D::Error> {
    let word = Option::<String>::deserialize(d)?;
    Ok(word.map(|word| {
        VOCABULARY
            .iter()
            .find(|w| **w == word)
            .copied()
            .unwrap_or("unknown")
    }))
}
