//! What each interaction [`Event`] does (agent events are in `agents`): validation first (a rejected event changes nothing), then state
//! changes through [`Engine::transition`]. Routing itself happens when the engine settles.

use super::event::{
    Decision, Event, LastAgent, OfferReason, ParkReason, QueuedReason, RevokeReason, RoutingError,
    TransferTarget,
};
use super::model::{AgentId, InteractionId, Media, QueueId};
use super::record::{InteractionRecord, Outcome};
use super::state::{Agent, Interaction, InteractionState, Mode};
use super::Engine;

impl Engine {
    pub(crate) fn apply(
        &mut self,
        event: Event,
        out: &mut Vec<Decision>,
    ) -> Result<(), RoutingError> {
        match event {
            Event::Tick => Ok(()),
            Event::DefineQueue(config) => self.define_queue(config),
            Event::SignIn { agent, profile } => self.sign_in(agent, profile),
            Event::SignOut { agent } => self.sign_out(agent, out),
            Event::SetPresence { agent, presence } => self.set_presence(agent, presence, out),
            Event::Arrive {
                interaction,
                media,
                queue,
                priority,
                last_agent,
            } => self.arrive(interaction, media, queue, priority, last_agent, out),
            Event::Resume {
                interaction,
                media,
                queue,
                agent,
                parked,
            } => self.resume(interaction, media, queue, agent, parked, out),
            Event::Engage {
                interaction,
                media,
                queue,
                agent,
            } => self.engage(interaction, media, queue, agent, out),
            Event::Accept { interaction, agent } => self.accept(interaction, agent, out),
            Event::Decline { interaction, agent } => {
                self.offered_to(interaction, agent)?;
                self.requeue(interaction, Some(RevokeReason::Declined), out);
                Ok(())
            }
            Event::Park { interaction } => self.park(interaction, out),
            Event::Unpark { interaction } => self.unpark(interaction, out),
            Event::Transfer { interaction, to } => self.transfer(interaction, to, out),
            Event::Assign {
                interaction,
                agent,
                by,
                force,
            } => self.assign(interaction, agent, by, force, out),
            Event::End { interaction } => self.end(interaction, out),
            Event::CompleteWrapUp { interaction, code } => {
                let inter = self.live(interaction)?;
                if !matches!(inter.state, InteractionState::WrapUp { .. }) {
                    return Err(invalid(inter, "complete wrap-up of"));
                }
                let known = self.queues.get(&inter.queue).is_some_and(|q| {
                    q.config
                        .wrap_up
                        .as_ref()
                        .is_some_and(|w| w.codes.contains(&code))
                });
                if !known {
                    return Err(RoutingError::UnknownDisposition {
                        queue: inter.queue,
                        code,
                    });
                }
                self.finish(interaction, Some(code), out);
                Ok(())
            }
        }
    }

    pub(crate) fn live(&self, id: InteractionId) -> Result<&Interaction, RoutingError> {
        self.interactions
            .get(&id)
            .ok_or(RoutingError::UnknownInteraction { interaction: id })
    }

    pub(crate) fn signed_in(&self, agent: AgentId) -> Result<&Agent, RoutingError> {
        self.agents
            .get(&agent)
            .ok_or(RoutingError::UnknownAgent { agent })
    }

    fn arrive(
        &mut self,
        id: InteractionId,
        media: Media,
        queue: QueueId,
        priority: Option<i32>,
        last_agent: Option<LastAgent>,
        out: &mut Vec<Decision>,
    ) -> Result<(), RoutingError> {
        self.admit(id, media, queue, priority)?;
        let back_to = last_agent
            .filter(|l| l.window_open)
            .map(|l| l.agent)
            .filter(|a| self.free_for(*a, media));
        match back_to {
            Some(agent) => self.offer(id, agent, OfferReason::LastAgent, out),
            None => {
                // Created as waiting but not yet in the waiting set: this enters it.
                self.transition(id, Some(InteractionState::Waiting), out);
                self.announce_queued(id, QueuedReason::Arrived, out);
            }
        }
        Ok(())
    }

    /// Creates interaction `id`, waiting but outside every set (not yet in its queue's waiting
    /// set, no agent): the caller moves it in with [`Engine::transition`]. Refused for a known
    /// id or an unknown queue, changing nothing.
    pub(crate) fn admit(
        &mut self,
        id: InteractionId,
        media: Media,
        queue: QueueId,
        priority: Option<i32>,
    ) -> Result<(), RoutingError> {
        if self.interactions.contains_key(&id) {
            return Err(RoutingError::DuplicateInteraction { interaction: id });
        }
        let queue_priority = self
            .queues
            .get(&queue)
            .ok_or(RoutingError::UnknownQueue { queue })?
            .config
            .priority;
        let now = self.now;
        let seq = self.next_seq();
        let inter = Interaction {
            id,
            media,
            queue,
            priority_override: priority,
            priority: priority.unwrap_or(queue_priority),
            state: InteractionState::Waiting,
            phase_since: now,
            queued_since: now,
            seq,
            declined_by: Vec::new(),
            ring_timer: None,
            wraps_up: true,
            record: InteractionRecord::arriving(id, media, queue, now),
        };
        self.interactions.insert(id, inter);
        Ok(())
    }

    /// Whether `agent` is signed in and may take `media` without interrupting anything.
    fn free_for(&self, agent: AgentId, media: Media) -> bool {
        self.agents
            .get(&agent)
            .and_then(|a| a.mode_for(media, &self.config.media))
            == Some(Mode::Free)
    }

    fn offered_to(&self, id: InteractionId, agent: AgentId) -> Result<(), RoutingError> {
        match self.live(id)?.state {
            InteractionState::Offered { agent: a, .. } if a == agent => Ok(()),
            _ => Err(RoutingError::NotOfferedTo {
                interaction: id,
                agent,
            }),
        }
    }

    fn accept(
        &mut self,
        id: InteractionId,
        agent: AgentId,
        out: &mut Vec<Decision>,
    ) -> Result<(), RoutingError> {
        self.offered_to(id, agent)?;
        let Some(media) = self.interactions.get(&id).map(|i| i.media) else {
            return Err(RoutingError::UnknownInteraction { interaction: id });
        };
        self.connect(id, agent, media, out);
        Ok(())
    }

    /// `id` (of `media`) is now `agent`'s: connected, recorded, announced, and what it
    /// interrupts parked.
    pub(crate) fn connect(
        &mut self,
        id: InteractionId,
        agent: AgentId,
        media: Media,
        out: &mut Vec<Decision>,
    ) {
        let now = self.now;
        let state = Some(InteractionState::Connected { agent });
        self.transition_with(id, state, out, |i| i.record.note_connect(agent, now));
        out.push(Decision::Connected {
            interaction: id,
            agent,
        });
        self.interrupt_for(agent, id, media, out);
    }

    /// When `id` (of `media`) has just connected to `agent` and `media` is exclusive, parks
    /// the agent's other connected work that `media` may interrupt.
    pub(crate) fn interrupt_for(
        &mut self,
        agent: AgentId,
        id: InteractionId,
        media: Media,
        out: &mut Vec<Decision>,
    ) {
        if self.config.media.is_exclusive(media) {
            for other in self.work_of(agent) {
                let Some(inter) = self.interactions.get(&other) else {
                    continue;
                };
                let interruptible = other != id
                    && matches!(inter.state, InteractionState::Connected { .. })
                    && self.config.media.may_interrupt(media, inter.media);
                if interruptible {
                    let reason = ParkReason::Interrupted { by: id };
                    self.transition(other, Some(InteractionState::Parked { agent, reason }), out);
                    out.push(Decision::Parked {
                        interaction: other,
                        agent,
                        reason,
                    });
                }
            }
        }
    }

    /// Withdraws an offer (if `revoked`) and puts the interaction back in its place in the queue.
    pub(crate) fn requeue(
        &mut self,
        id: InteractionId,
        revoked: Option<RevokeReason>,
        out: &mut Vec<Decision>,
    ) {
        if let (Some(reason), Some(InteractionState::Offered { agent, .. })) =
            (revoked, self.state_of(id))
        {
            out.push(Decision::OfferRevoked {
                interaction: id,
                agent,
                reason,
            });
            if matches!(reason, RevokeReason::Declined | RevokeReason::Timeout) {
                if let Some(inter) = self.interactions.get_mut(&id) {
                    inter.declined_by.push(agent);
                }
            }
        }
        self.transition(id, Some(InteractionState::Waiting), out);
        self.announce_queued(id, QueuedReason::Reoffer, out);
    }

    pub(crate) fn announce_queued(
        &self,
        id: InteractionId,
        reason: QueuedReason,
        out: &mut Vec<Decision>,
    ) {
        if let Some(inter) = self.interactions.get(&id) {
            out.push(Decision::Queued {
                interaction: id,
                queue: inter.queue,
                reason,
            });
        }
    }

    fn park(&mut self, id: InteractionId, out: &mut Vec<Decision>) -> Result<(), RoutingError> {
        let inter = self.live(id)?;
        let InteractionState::Connected { agent } = inter.state else {
            return Err(invalid(inter, "park"));
        };
        let reason = ParkReason::Agent;
        self.transition(id, Some(InteractionState::Parked { agent, reason }), out);
        out.push(Decision::Parked {
            interaction: id,
            agent,
            reason,
        });
        Ok(())
    }

    fn unpark(&mut self, id: InteractionId, out: &mut Vec<Decision>) -> Result<(), RoutingError> {
        let inter = self.live(id)?;
        let InteractionState::Parked { agent, .. } = inter.state else {
            return Err(invalid(inter, "unpark"));
        };
        let media = inter.media;
        let a = self.signed_in(agent)?;
        if a.load.open.get(media) >= a.profile.capacity.get(media) {
            return Err(RoutingError::AgentUnavailable {
                agent,
                media,
                status: a.status(&self.config.media),
            });
        }
        self.transition(id, Some(InteractionState::Connected { agent }), out);
        out.push(Decision::Resumed {
            interaction: id,
            agent,
        });
        Ok(())
    }

    fn transfer(
        &mut self,
        id: InteractionId,
        to: TransferTarget,
        out: &mut Vec<Decision>,
    ) -> Result<(), RoutingError> {
        let inter = self.live(id)?;
        let movable = matches!(
            inter.state,
            InteractionState::Waiting
                | InteractionState::Connected { .. }
                | InteractionState::Parked { .. }
        );
        if !movable {
            return Err(invalid(inter, "transfer"));
        }
        let media = inter.media;
        let priority_override = inter.priority_override;
        match to {
            TransferTarget::Queue(target) => {
                let q = self
                    .queues
                    .get(&target)
                    .ok_or(RoutingError::UnknownQueue { queue: target })?;
                let priority = priority_override.unwrap_or(q.config.priority);
                let (now, seq) = (self.now, self.next_seq());
                self.transition_with(id, Some(InteractionState::Waiting), out, |i| {
                    i.queue = target;
                    i.priority = priority;
                    i.queued_since = now;
                    i.seq = seq;
                    i.declined_by.clear();
                    i.record.last_queue = target;
                    i.record.transfers = i.record.transfers.saturating_add(1);
                });
                self.announce_queued(id, QueuedReason::Transferred, out);
            }
            TransferTarget::Agent(agent) => {
                let a = self.signed_in(agent)?;
                if inter.state.agent() == Some(agent) || !self.free_for(agent, media) {
                    return Err(RoutingError::AgentUnavailable {
                        agent,
                        media,
                        status: a.status(&self.config.media),
                    });
                }
                let (now, seq) = (self.now, self.next_seq());
                // If the offer fails, the interaction waits in its queue as a fresh entry.
                self.offer_with(id, agent, OfferReason::Transfer, out, |i| {
                    i.queued_since = now;
                    i.seq = seq;
                    i.declined_by.clear();
                    i.record.transfers = i.record.transfers.saturating_add(1);
                });
            }
        }
        Ok(())
    }

    fn end(&mut self, id: InteractionId, out: &mut Vec<Decision>) -> Result<(), RoutingError> {
        let inter = self.live(id)?;
        let wrap_limit = (self.queues.get(&inter.queue))
            .and_then(|q| q.config.wrap_up.as_ref())
            .filter(|_| inter.wraps_up)
            .map(|w| w.limit_ms);
        match inter.state {
            InteractionState::Waiting => self.finish(id, None, out),
            InteractionState::Offered { agent, .. } => {
                out.push(Decision::OfferRevoked {
                    interaction: id,
                    agent,
                    reason: RevokeReason::Ended,
                });
                self.finish(id, None, out);
            }
            InteractionState::Connected { agent } | InteractionState::Parked { agent, .. } => {
                let now = self.now;
                if let Some(i) = self.interactions.get_mut(&id) {
                    i.record.ended_at = Some(now);
                }
                match wrap_limit {
                    Some(limit_ms) => {
                        let deadline = limit_ms.map(|ms| now.after(ms));
                        let state = InteractionState::WrapUp { agent, deadline };
                        self.transition(id, Some(state), out);
                        out.push(Decision::WrapUpStarted {
                            interaction: id,
                            agent,
                            deadline,
                        });
                    }
                    None => self.finish(id, None, out),
                }
            }
            InteractionState::WrapUp { .. } => return Err(invalid(inter, "end")),
        }
        Ok(())
    }

    /// Takes the interaction out of the engine and emits its record, exactly once.
    pub(crate) fn finish(
        &mut self,
        id: InteractionId,
        code: Option<String>,
        out: &mut Vec<Decision>,
    ) {
        // Leaving for no state releases the agent and its capacity, and resumes interrupted work.
        self.transition(id, None, out);
        let now = self.now;
        if let Some(mut inter) = self.interactions.remove(&id) {
            let record = &mut inter.record;
            record.finished_at = now;
            record.ended_at = record.ended_at.or(Some(now));
            record.disposition = code;
            if record.answered_at.is_some() {
                record.outcome = Outcome::Handled;
            } else {
                record.outcome = Outcome::Abandoned;
                record.abandoned_at = Some(now);
            }
            out.push(Decision::Finished(inter.record));
        }
    }
}

pub(crate) fn invalid(inter: &Interaction, action: &'static str) -> RoutingError {
    RoutingError::InvalidState {
        interaction: inter.id,
        action: super::model::Word(action),
        state: super::model::Word(inter.state.name()),
    }
}
