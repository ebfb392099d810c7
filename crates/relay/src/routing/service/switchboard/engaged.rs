//! Work an agent starts herself: a voice or video call placed from a conversation she holds.
//! It is connected to her at once ([`Event::Engage`]) and occupies her as a routed call would,
//! until it is ended like any interaction ([`super::Switchboard::act`] with `End`), which
//! frees the capacity at once (no wrap-up: the conversation carries that).

use super::super::handle::{Held, ServiceError};
use super::super::live::InteractionInfo;
use super::super::persist::SpecError;
use super::Switchboard;
use crate::routing::engine::{Event, InteractionId, Millis};

impl Switchboard {
    /// Connects `work` (its id, media and queue; `parked` is ignored) to the agent `store_id`.
    pub fn engage(&mut self, now: Millis, store_id: &str, work: Held) -> Result<(), ServiceError> {
        let agent = self.agent_id(store_id).ok_or(ServiceError::NotSignedIn)?;
        let queue = (self.queue_id(&work.queue)).ok_or(SpecError::UnknownQueue(work.queue))?;
        if self.by_external.contains_key(&work.id) || self.held.contains_key(&work.id) {
            return Err(ServiceError::DuplicateInteraction(work.id));
        }
        let id = InteractionId(self.next_interaction);
        let mut info = InteractionInfo::new(work.id.clone(), work.media, queue);
        info.arrived_at = now;
        info.answered = true;
        info.holder = Some(agent);
        self.interactions.insert(id, info);
        let event = Event::Engage {
            interaction: id,
            media: work.media,
            queue,
            agent,
        };
        if let Err(e) = self.handle(now, event) {
            self.interactions.remove(&id);
            return Err(e);
        }
        self.next_interaction += 1;
        self.by_external.insert(work.id, id);
        Ok(())
    }
}
