//! The accounting record of one interaction: its timestamps and where its time went (talk, hold,
//! wrap-up), kept up to date by the engine and handed out once in [`Decision::Finished`].
//!
//! [`Decision::Finished`]: super::Decision::Finished

use super::model::{AgentId, InteractionId, Media, Millis, QueueId};

/// How an interaction finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An agent answered it and it ended.
    Handled,
    /// It ended before any agent answered it.
    Abandoned,
}

/// Everything reporting needs about one finished interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InteractionRecord {
    /// Which.
    pub interaction: InteractionId,
    /// Its media.
    pub media: Media,
    /// The queue it arrived in.
    pub queue: QueueId,
    /// The queue it was last in (differs from `queue` after a transfer).
    pub last_queue: QueueId,
    /// When it arrived.
    pub arrived_at: Millis,
    /// When it was first offered to an agent.
    pub first_offered_at: Option<Millis>,
    /// When an agent first accepted it.
    pub answered_at: Option<Millis>,
    /// Who first accepted it.
    pub answered_by: Option<AgentId>,
    /// Every agent who was connected to it, in order, without repeats.
    pub agents: Vec<AgentId>,
    /// When it ended before an answer.
    pub abandoned_at: Option<Millis>,
    /// When the conversation ended (before wrap-up).
    pub ended_at: Option<Millis>,
    /// When the engine finished it (after wrap-up).
    pub finished_at: Millis,
    /// Time connected to an agent.
    pub talk_ms: u64,
    /// Time parked, including time interrupted by a call.
    pub hold_ms: u64,
    /// Time in wrap-up.
    pub wrap_up_ms: u64,
    /// How many offers were made.
    pub offers: u32,
    /// How many transfers it went through.
    pub transfers: u32,
    /// The disposition code, if the agent chose one.
    pub disposition: Option<String>,
    /// How it finished.
    pub outcome: Outcome,
    /// Whether a supervisor ever assigned it above an agent's room.
    pub forced: bool,
}

impl InteractionRecord {
    /// A record for an interaction arriving now.
    pub(crate) fn arriving(
        interaction: InteractionId,
        media: Media,
        queue: QueueId,
        now: Millis,
    ) -> InteractionRecord {
        InteractionRecord {
            interaction,
            media,
            queue,
            last_queue: queue,
            arrived_at: now,
            first_offered_at: None,
            answered_at: None,
            answered_by: None,
            agents: Vec::new(),
            abandoned_at: None,
            ended_at: None,
            finished_at: now,
            talk_ms: 0,
            hold_ms: 0,
            wrap_up_ms: 0,
            offers: 0,
            transfers: 0,
            disposition: None,
            outcome: Outcome::Abandoned,
            forced: false,
        }
    }

    /// Handle time: talk plus hold plus wrap-up.
    pub fn handle_ms(&self) -> u64 {
        self.talk_ms
            .saturating_add(self.hold_ms)
            .saturating_add(self.wrap_up_ms)
    }

    /// Time from arrival to the first answer.
    pub fn answer_delay_ms(&self) -> Option<u64> {
        self.answered_at.map(|at| at.since(self.arrived_at))
    }

    pub(crate) fn note_offer(&mut self, now: Millis) {
        self.offers = self.offers.saturating_add(1);
        if self.first_offered_at.is_none() {
            self.first_offered_at = Some(now);
        }
    }

    pub(crate) fn note_connect(&mut self, agent: AgentId, now: Millis) {
        if self.answered_at.is_none() {
            self.answered_at = Some(now);
            self.answered_by = Some(agent);
        }
        if !self.agents.contains(&agent) {
            self.agents.push(agent);
        }
    }
}
