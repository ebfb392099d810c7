//! Work agents held before the relay restarted. Routing keeps no live state across restarts,
//! but messaging does: a conversation assigned to an agent is still hers. The bridge declares
//! such work here at start-up ([`Switchboard::hold`]); when the agent signs back in, it comes
//! back on her in the same step as the sign-in ([`Engine::handle_all`]), holding capacity
//! before routing offers her anything new. Work ended before she returns is forgotten.

use super::super::handle::{Held, ServiceError};
use super::super::live::InteractionInfo;
use super::super::persist::SpecError;
use super::Switchboard;
use crate::routing::engine::{AgentId, Event, InteractionId, Millis};

impl Switchboard {
    /// Declares `held` as `store_id`'s work, resumed when that agent signs in. Refused for an
    /// interaction routing already has.
    pub fn hold(&mut self, store_id: &str, held: Held) -> Result<(), ServiceError> {
        if self.by_external.contains_key(&held.id) {
            return Err(ServiceError::DuplicateInteraction(held.id));
        }
        if self.queue_id(&held.queue).is_none() {
            return Err(SpecError::UnknownQueue(held.queue).into());
        }
        self.held
            .insert(held.id.clone(), (store_id.to_owned(), held));
        Ok(())
    }

    /// Forgets held work that ended before its agent came back; `true` if it was held.
    pub(super) fn forget_held(&mut self, external: &str) -> bool {
        self.held.remove(external).is_some()
    }

    /// Signs `agent` in with `sign_in` and resumes the work it held, in one engine step.
    /// Held work that cannot resume (its queue is gone) is logged and dropped; the sign-in's
    /// own result is returned.
    pub(super) fn sign_in_resuming(
        &mut self,
        now: Millis,
        store_id: &str,
        agent: AgentId,
        sign_in: Event,
    ) -> Result<(), ServiceError> {
        let mut mine: Vec<String> = (self.held.iter())
            .filter(|(_, (owner, _))| owner == store_id)
            .map(|(id, _)| id.clone())
            .collect();
        mine.sort_unstable();
        let held: Vec<Held> = (mine.iter())
            .filter_map(|id| self.held.remove(id).map(|(_, h)| h))
            .collect();
        let mut resumed = Vec::with_capacity(held.len());
        let mut events = vec![sign_in];
        for h in held {
            let Some(queue) = self.queue_id(&h.queue) else {
                tracing::warn!(interaction = %h.id, queue = %h.queue, "held work's queue is gone");
                continue;
            };
            let id = InteractionId(self.next_interaction);
            self.next_interaction += 1;
            events.push(Event::Resume {
                interaction: id,
                media: h.media,
                queue,
                agent,
                parked: h.parked,
            });
            resumed.push((id, h, queue));
        }
        let mut results = self
            .engine
            .handle_all(now, events, &mut self.out)
            .into_iter();
        let signed_in = results.next().unwrap_or(Ok(()));
        if let Err(e) = signed_in {
            // Nothing resumed without the agent: keep the work for the next sign-in.
            for (_, h, _) in resumed {
                self.held.insert(h.id.clone(), (store_id.to_owned(), h));
            }
            return Err(e.into());
        }
        for ((id, h, queue), result) in resumed.into_iter().zip(results) {
            if let Err(e) = result {
                tracing::warn!(interaction = %h.id, error = %e, "held work not resumed");
                continue;
            }
            let mut info = InteractionInfo::new(h.id.clone(), h.media, queue);
            info.answered = true;
            info.holder = Some(agent);
            self.interactions.insert(id, info);
            self.by_external.insert(h.id, id);
        }
        Ok(())
    }
}
