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

    /// The next `n` interactions each media of `queue` would serve, longest waiting first,
    /// with since when they wait (without walking the whole queue).
    pub fn longest_waiting(&self, queue: QueueId, n: usize) -> Vec<(InteractionId, Millis)> {
        let Some(q) = self.queues.get(&queue) else {
            return Vec::new();
        };
        let mut first: Vec<(InteractionId, Millis)> = Media::ALL
            .iter()
            .flat_map(|&m| q.waiting.get(m).iter().take(n))
            .map(|(key, &id)| (id, key.queued_since))
            .collect();
        first.sort_by_key(|&(id, since)| (since, id));
        first.truncate(n);
        first
    }

    /// Whether a supervisor ever assigned this live interaction above an agent's room.
    pub fn forced(&self, id: InteractionId) -> bool {
        self.interactions.get(&id).is_some_and(|i| i.record.forced)
    }

    /// How many interactions wait in `queue`, and since when the longest has waited.
    pub fn queue_waiting(&self, queue: QueueId) -> Option<(usize, Option<Millis>)> {
        self.queues
            .get(&queue)
            .map(|q| (q.waiting_len(), q.longest_waiting_since()))
    }
}
