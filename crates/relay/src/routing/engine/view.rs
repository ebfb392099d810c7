//! Read-only views of the engine's state for the shell and, later, real-time reporting: agent
//! status and work, interaction state, queue contents.

use super::model::{AgentId, AgentStatus, InteractionId, Media, Millis, Presence, QueueId};
use super::state::InteractionState;
use super::Engine;

impl Engine {
    /// The status reporting shows for `agent`.
    pub fn agent_status(&self, agent: AgentId) -> AgentStatus {
        self.agents
            .get(&agent)
            .map_or(AgentStatus::Offline, |a| a.status(&self.config.media))
    }

    /// Since when an agent has had its current presence, if signed in.
    pub fn presence_since(&self, agent: AgentId) -> Option<Millis> {
        self.agents.get(&agent).map(|a| a.presence_since)
    }

    /// An agent's presence, if signed in.
    pub fn presence(&self, agent: AgentId) -> Option<Presence> {
        self.agents.get(&agent).map(|a| a.presence)
    }

    /// The interactions offered to or owned by `agent`, in id order.
    pub fn work_of(&self, agent: AgentId) -> Vec<InteractionId> {
        self.agents
            .get(&agent)
            .map(|a| a.work.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Where an interaction is, if the engine is routing it.
    pub fn interaction_state(&self, id: InteractionId) -> Option<InteractionState> {
        self.state_of(id)
    }

    /// The interactions waiting in `queue`, in the order the queue serves them (per media).
    pub fn waiting_in(&self, queue: QueueId) -> Vec<InteractionId> {
        self.queues.get(&queue).map_or_else(Vec::new, |q| {
            Media::ALL
                .iter()
                .flat_map(|&m| q.waiting.get(m).values().copied())
                .collect()
        })
    }

    /// Since when a waiting interaction has waited in its queue.
    pub fn queued_since(&self, id: InteractionId) -> Option<Millis> {
        let inter = self.interactions.get(&id)?;
        (inter.state == InteractionState::Waiting).then_some(inter.queued_since)
    }

    /// How many interactions wait in `queue`, and since when the longest has waited.
    pub fn queue_waiting(&self, queue: QueueId) -> Option<(usize, Option<Millis>)> {
        self.queues
            .get(&queue)
            .map(|q| (q.waiting_len(), q.longest_waiting_since()))
    }
}
