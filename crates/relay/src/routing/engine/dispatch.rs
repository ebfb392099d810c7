//! Who gets what: after each step the engine settles, letting agents whose situation changed
//! pull the best work they may take and newly waiting interactions find the best agent, through
//! the indexes or, for the reference engine, the naive scan. Also the making of an offer.

use std::cmp::Reverse;
use std::mem;

use super::event::{Decision, OfferReason};
use super::machine::Selector;
use super::model::{AgentId, InteractionId, Media};
use super::naive;
use super::state::{ring_at, Interaction, InteractionState, Mode};
use super::Engine;

impl Engine {
    /// Settles after a step: touched agents pull work, then new waiting interactions, best
    /// first, look for agents; repeated until nothing changes.
    pub(crate) fn settle(&mut self, out: &mut Vec<Decision>) {
        loop {
            while let Some(agent) = self.touched.pop() {
                self.pull(agent, out);
            }
            if self.pending.is_empty() {
                return;
            }
            let mut pending = mem::take(&mut self.pending);
            let rules = &self.config.media;
            pending.sort_by_key(|id| self.interactions.get(id).map(|i| i.rank(rules)));
            pending.dedup();
            for id in pending {
                if self.state_of(id) == Some(InteractionState::Waiting) {
                    self.push(id, out);
                }
            }
        }
    }

    /// Offers `agent` the best waiting work it may take, until it may take no more.
    fn pull(&mut self, agent: AgentId, out: &mut Vec<Decision>) {
        loop {
            let choice = match self.selector {
                Selector::Indexed => self.best_waiting_indexed(agent),
                Selector::Naive => naive::best_waiting(self, agent),
            };
            let Some((id, mode)) = choice else {
                return;
            };
            let reason = match mode {
                Mode::Free => OfferReason::Queue,
                Mode::Interrupt => OfferReason::Interrupt,
            };
            self.offer(id, agent, reason, out);
        }
    }

    fn best_waiting_indexed(&self, id: AgentId) -> Option<(InteractionId, Mode)> {
        let agent = self.agents.get(&id)?;
        let rules = &self.config.media;
        let mut best = None;
        for queue_id in &agent.profile.queues {
            let Some(queue) = self.queues.get(queue_id) else {
                continue;
            };
            let Some(ring) = agent.ring_level(&queue.config) else {
                continue;
            };
            for media in Media::ALL {
                let Some(mode) = agent.mode_for(media, rules) else {
                    continue;
                };
                let declined = |w: InteractionId| {
                    self.interactions
                        .get(&w)
                        .is_some_and(|i| i.declined_by.contains(&id))
                };
                if let Some((key, w)) = queue.best_waiting_for(media, ring, self.now, declined) {
                    let rank = (Reverse(*rules.rank.get(media)), key);
                    if best.as_ref().is_none_or(|(r, _, _)| rank < *r) {
                        best = Some((rank, w, mode));
                    }
                }
            }
        }
        best.map(|(_, w, mode)| (w, mode))
    }

    /// Offers a waiting interaction to the best agent that may take it, if any.
    fn push(&mut self, id: InteractionId, out: &mut Vec<Decision>) {
        let choice = match self.selector {
            Selector::Indexed => self.interactions.get(&id).and_then(|inter| {
                let queue = self.queues.get(&inter.queue)?;
                let ring = ring_at(&queue.config, self.now.since(inter.queued_since));
                queue.best_agent(inter.media, ring, &inter.declined_by)
            }),
            Selector::Naive => naive::best_agent(self, id),
        };
        if let Some((agent, mode)) = choice {
            let reason = match mode {
                Mode::Free => OfferReason::Queue,
                Mode::Interrupt => OfferReason::Interrupt,
            };
            self.offer(id, agent, reason, out);
        }
    }

    /// Reserves `id` for `agent` and tells the agent.
    pub(crate) fn offer(
        &mut self,
        id: InteractionId,
        agent: AgentId,
        reason: OfferReason,
        out: &mut Vec<Decision>,
    ) {
        self.offer_with(id, agent, reason, out, |_| {});
    }

    /// [`Engine::offer`], with `edit` applied as the interaction leaves its old state.
    pub(crate) fn offer_with(
        &mut self,
        id: InteractionId,
        agent: AgentId,
        reason: OfferReason,
        out: &mut Vec<Decision>,
        edit: impl FnOnce(&mut Interaction),
    ) {
        let now = self.now;
        let Some(inter) = self.interactions.get_mut(&id) else {
            return;
        };
        let timeout = self
            .queues
            .get(&inter.queue)
            .map_or(0, |q| q.config.offer_timeout_ms);
        inter.record.note_offer(now);
        let expires_at = now.after(timeout);
        if let Some(a) = self.agents.get_mut(&agent) {
            a.idle_since = now;
        }
        let state = InteractionState::Offered {
            agent,
            expires_at,
            reason,
        };
        self.transition_with(id, Some(state), out, edit);
        out.push(Decision::Offer {
            interaction: id,
            agent,
            expires_at,
            reason,
        });
    }
}
