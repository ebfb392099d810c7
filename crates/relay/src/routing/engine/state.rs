//! The engine's live state of one interaction and one agent, and the eligibility rules that
//! decide whether an agent may be offered work of a media type (presence, capacity, exclusive
//! media, interrupts, skill rings). Both the indexed and the naive selection use these rules.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use super::event::{OfferReason, ParkReason};
use super::model::{
    AgentId, AgentProfile, AgentStatus, InteractionId, Media, MediaRules, Millis, PerMedia,
    Presence, QueueConfig, QueueId, SkillRequirement, Strategy,
};
use super::record::InteractionRecord;

/// Where an interaction is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractionState {
    /// In its queue, waiting for an agent.
    Waiting,
    /// Reserved for an agent until it accepts, declines or the offer expires.
    Offered {
        /// Who.
        agent: AgentId,
        /// When the offer times out.
        expires_at: Millis,
        /// Why this agent.
        reason: OfferReason,
    },
    /// The agent is handling it.
    Connected {
        /// Who.
        agent: AgentId,
    },
    /// The agent keeps it but is not working on it; it holds no capacity.
    Parked {
        /// Who.
        agent: AgentId,
        /// Why.
        reason: ParkReason,
    },
    /// The conversation ended; the agent records a disposition.
    WrapUp {
        /// Who.
        agent: AgentId,
        /// When wrap-up ends by itself.
        deadline: Option<Millis>,
    },
}

impl InteractionState {
    /// The agent it is offered to or owned by.
    pub fn agent(&self) -> Option<AgentId> {
        match *self {
            InteractionState::Waiting => None,
            InteractionState::Offered { agent, .. }
            | InteractionState::Connected { agent }
            | InteractionState::Parked { agent, .. }
            | InteractionState::WrapUp { agent, .. } => Some(agent),
        }
    }

    /// A short name for error messages.
    pub fn name(&self) -> &'static str {
        match self {
            InteractionState::Waiting => "waiting",
            InteractionState::Offered { .. } => "offered",
            InteractionState::Connected { .. } => "connected",
            InteractionState::Parked { .. } => "parked",
            InteractionState::WrapUp { .. } => "in wrap-up",
        }
    }
}

/// Order in a queue: higher priority first, then longer wait, then arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct WaitKey {
    pub priority: Reverse<i32>,
    pub queued_since: Millis,
    pub seq: u64,
}

/// Order between waiting interactions of different media or queues, seen from one agent.
pub(crate) type Rank = (Reverse<u8>, WaitKey);

/// One interaction being routed.
#[derive(Debug, Clone)]
pub(crate) struct Interaction {
    pub id: InteractionId,
    pub media: Media,
    pub queue: QueueId,
    /// The priority the arrival named, kept across transfers; otherwise the queue's.
    pub priority_override: Option<i32>,
    pub priority: i32,
    pub state: InteractionState,
    /// When `state` was entered, for talk, hold and wrap-up accounting.
    pub phase_since: Millis,
    /// When it entered its current queue; kept across re-offers so it keeps its place.
    pub queued_since: Millis,
    /// Tie-break for equal `queued_since`, unique per queue entry.
    pub seq: u64,
    /// Agents that declined or missed it in this queue; not offered to them again.
    pub declined_by: Vec<AgentId>,
    /// When its next bullseye ring opens, while waiting.
    pub ring_timer: Option<Millis>,
    /// Whether ending it enters its queue's wrap-up; work the agent engaged herself (a call
    /// placed from a conversation) finishes at once, since its conversation has the wrap-up.
    pub wraps_up: bool,
    pub record: InteractionRecord,
}

impl Interaction {
    pub fn wait_key(&self) -> WaitKey {
        WaitKey {
            priority: Reverse(self.priority),
            queued_since: self.queued_since,
            seq: self.seq,
        }
    }

    pub fn rank(&self, rules: &MediaRules) -> Rank {
        (Reverse(*rules.rank.get(self.media)), self.wait_key())
    }
}

/// Counts of an agent's work by state and media, recomputed from its work set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Load {
    /// Offered plus connected: what holds capacity.
    pub open: PerMedia<u16>,
    pub offered: u16,
    pub wrap_up: PerMedia<u16>,
    pub parked: u16,
}

/// How an agent may take work of one media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Mode {
    /// It has room and nothing in the way.
    Free,
    /// Only by interrupting (parking) its interruptible work.
    Interrupt,
}

/// A signed-in agent.
#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub id: AgentId,
    pub profile: AgentProfile,
    pub presence: Presence,
    pub presence_since: Millis,
    /// Last offer, or becoming available, whichever is later: the longest-idle key.
    pub idle_since: Millis,
    /// Interactions offered to or owned by this agent.
    pub work: BTreeSet<InteractionId>,
    pub load: Load,
    /// The index entries this agent currently has, to remove them exactly.
    pub indexed: Vec<(QueueId, Media, Mode, AgentKey)>,
}

/// An agent's place in a queue's index: inner rings first, then the strategy's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct AgentKey {
    pub ring: u8,
    pub first: u64,
    pub second: u64,
    pub agent: AgentId,
}

/// The bullseye ring open to an interaction that has waited `waited_ms` in `queue`.
pub(crate) fn ring_at(queue: &QueueConfig, waited_ms: u64) -> u8 {
    let open = queue
        .rings
        .iter()
        .take_while(|ring| ring.after_wait_ms <= waited_ms)
        .count();
    u8::try_from(open).unwrap_or(u8::MAX)
}

impl Agent {
    pub fn new(id: AgentId, profile: AgentProfile, now: Millis) -> Agent {
        Agent {
            id,
            profile,
            presence: Presence::Available,
            presence_since: now,
            idle_since: now,
            work: BTreeSet::new(),
            load: Load::default(),
            indexed: Vec::new(),
        }
    }

    pub fn is_member(&self, queue: QueueId) -> bool {
        self.profile.queues.binary_search(&queue).is_ok()
    }

    fn meets(&self, requirements: &[SkillRequirement]) -> bool {
        requirements.iter().all(|req| {
            self.profile
                .skills
                .iter()
                .any(|s| s.skill == req.skill && s.proficiency >= req.min_proficiency)
        })
    }

    /// The innermost ring of `queue` whose requirements this agent meets (0 = the queue's own
    /// skills), or `None` if it meets none.
    pub fn ring_level(&self, queue: &QueueConfig) -> Option<u8> {
        if self.meets(&queue.skills) {
            return Some(0);
        }
        let ring = queue.rings.iter().position(|r| self.meets(&r.skills))?;
        Some(u8::try_from(ring.saturating_add(1)).unwrap_or(u8::MAX))
    }

    /// Whether this agent may be offered `media` now, and how.
    pub fn mode_for(&self, media: Media, rules: &MediaRules) -> Option<Mode> {
        if self.presence != Presence::Available {
            return None;
        }
        self.room_for(media, rules)
    }

    /// Whether this agent has room for `media` whatever its presence (capacity, exclusive
    /// work), and how: what a supervisor's assignment without force needs.
    pub fn room_for(&self, media: Media, rules: &MediaRules) -> Option<Mode> {
        if self.load.open.get(media) >= self.profile.capacity.get(media) {
            return None;
        }
        let exclusive_busy = Media::ALL.iter().any(|&m| {
            rules.is_exclusive(m) && (*self.load.open.get(m) > 0 || *self.load.wrap_up.get(m) > 0)
        });
        if exclusive_busy {
            return None;
        }
        if !rules.is_exclusive(media) {
            return Some(Mode::Free);
        }
        let open_total: u16 = Media::ALL.iter().map(|&m| *self.load.open.get(m)).sum();
        if open_total == 0 {
            return Some(Mode::Free);
        }
        let all_interruptible = Media::ALL
            .iter()
            .all(|&m| *self.load.open.get(m) == 0 || rules.may_interrupt(media, m));
        (self.load.offered == 0 && all_interruptible).then_some(Mode::Interrupt)
    }

    /// Open work relative to capacity, in thousandths summed over media.
    pub fn occupancy_permille(&self) -> u64 {
        Media::ALL
            .iter()
            .filter(|&&m| *self.profile.capacity.get(m) > 0)
            .map(|&m| {
                u64::from(*self.load.open.get(m)) * 1000 / u64::from(*self.profile.capacity.get(m))
            })
            .sum()
    }

    /// This agent's key in a queue's index, given its ring there.
    pub fn key(&self, ring: u8, strategy: Strategy) -> AgentKey {
        let (first, second) = match strategy {
            Strategy::LongestIdle => (self.idle_since.0, 0),
            Strategy::LeastOccupied => (self.occupancy_permille(), self.idle_since.0),
        };
        AgentKey {
            ring,
            first,
            second,
            agent: self.id,
        }
    }

    pub fn status(&self, rules: &MediaRules) -> AgentStatus {
        match self.presence {
            Presence::Offline => AgentStatus::Offline,
            Presence::Away => AgentStatus::Away,
            Presence::Busy => AgentStatus::Busy,
            Presence::Available => {
                let open: u16 = Media::ALL.iter().map(|&m| *self.load.open.get(m)).sum();
                let wrapping: u16 = Media::ALL.iter().map(|&m| *self.load.wrap_up.get(m)).sum();
                let exclusive_wrap = Media::ALL
                    .iter()
                    .any(|&m| rules.is_exclusive(m) && *self.load.wrap_up.get(m) > 0);
                if exclusive_wrap || (open == 0 && wrapping > 0) {
                    AgentStatus::WrapUp
                } else {
                    AgentStatus::Available
                }
            }
        }
    }
}

/// Adds one interaction in `state` to `load`.
pub(crate) fn count(load: &mut Load, media: Media, state: &InteractionState) {
    match state {
        InteractionState::Waiting => {}
        InteractionState::Offered { .. } => {
            bump(load.open.get_mut(media));
            bump(&mut load.offered);
        }
        InteractionState::Connected { .. } => bump(load.open.get_mut(media)),
        InteractionState::Parked { .. } => bump(&mut load.parked),
        InteractionState::WrapUp { .. } => bump(load.wrap_up.get_mut(media)),
    }
}

fn bump(n: &mut u16) {
    *n = n.saturating_add(1);
}
