//! The reference selection: a linear scan over every waiting interaction (to find work for an
//! agent) or every signed-in agent (to find an agent for an interaction), applying the same
//! eligibility rules as the indexes. The benchmark measures it as the baseline and the property
//! tests check that the indexes choose exactly what it chooses.

use super::model::{AgentId, InteractionId, Media, PerMedia};
use super::state::{ring_at, AgentKey, InteractionState, Mode, Rank};
use super::Engine;

/// The best waiting interaction `agent` may take, by scanning them all.
pub(crate) fn best_waiting(engine: &Engine, agent: AgentId) -> Option<(InteractionId, Mode)> {
    let agent = engine.agents.get(&agent)?;
    let rules = &engine.config.media;
    let modes = PerMedia {
        call: agent.mode_for(Media::Call, rules),
        chat: agent.mode_for(Media::Chat, rules),
        message: agent.mode_for(Media::Message, rules),
    };
    if Media::ALL.iter().all(|&m| modes.get(m).is_none()) {
        return None;
    }
    let mut best: Option<(Rank, InteractionId, Mode)> = None;
    for inter in engine.interactions.values() {
        if inter.state != InteractionState::Waiting || !agent.is_member(inter.queue) {
            continue;
        }
        let Some(mode) = *modes.get(inter.media) else {
            continue;
        };
        let Some(queue) = engine.queues.get(&inter.queue) else {
            continue;
        };
        let Some(level) = agent.ring_level(&queue.config) else {
            continue;
        };
        if ring_at(&queue.config, engine.now.since(inter.queued_since)) < level
            || inter.declined_by.contains(&agent.id)
        {
            continue;
        }
        let rank = inter.rank(rules);
        if best.as_ref().is_none_or(|(r, _, _)| rank < *r) {
            best = Some((rank, inter.id, mode));
        }
    }
    best.map(|(_, id, mode)| (id, mode))
}

/// The agent a waiting interaction should be offered to, by scanning every agent.
pub(crate) fn best_agent(engine: &Engine, id: InteractionId) -> Option<(AgentId, Mode)> {
    let inter = engine.interactions.get(&id)?;
    let queue = engine.queues.get(&inter.queue)?;
    let ring = ring_at(&queue.config, engine.now.since(inter.queued_since));
    let mut best: Option<((Mode, AgentKey), AgentId)> = None;
    for agent in engine.agents.values() {
        if !agent.is_member(inter.queue) || inter.declined_by.contains(&agent.id) {
            continue;
        }
        let Some(mode) = agent.mode_for(inter.media, &engine.config.media) else {
            continue;
        };
        let Some(level) = agent.ring_level(&queue.config) else {
            continue;
        };
        if level > ring {
            continue;
        }
        let key = (mode, agent.key(level, queue.config.strategy));
        if best.as_ref().is_none_or(|(k, _)| key < *k) {
            best = Some((key, agent.id));
        }
    }
    best.map(|((mode, _), agent)| (agent, mode))
}
