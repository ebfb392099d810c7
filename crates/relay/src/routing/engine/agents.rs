//! What agent and configuration events do: queue definitions, sign-in and sign-out (which
//! requeues the agent's work), presence changes (which withdraw pending offers) and missed offers
//! (which may set the agent away).

use super::event::ParkReason;
use super::event::{Decision, QueuedReason, RevokeReason, RoutingError};
use super::index::QueueState;
use super::model::{
    AgentId, AgentProfile, InteractionId, Media, Millis, Presence, QueueConfig, QueueId,
};
use super::state::{Agent, InteractionState};
use super::Engine;

impl Engine {
    pub(crate) fn define_queue(&mut self, config: QueueConfig) -> Result<(), RoutingError> {
        let ordered = config
            .rings
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.after_wait_ms < b.after_wait_ms));
        if !ordered {
            return Err(RoutingError::RingsOutOfOrder { queue: config.id });
        }
        let requirements = config
            .skills
            .iter()
            .chain(config.rings.iter().flat_map(|r| r.skills.iter()));
        for req in requirements {
            if !(1..=5).contains(&req.min_proficiency) {
                return Err(RoutingError::ProficiencyOutOfRange {
                    got: req.min_proficiency,
                });
            }
        }
        let id = config.id;
        match self.queues.get_mut(&id) {
            Some(queue) => queue.config = config,
            None => {
                self.queues.insert(id, QueueState::new(config));
            }
        }
        let mut members: Vec<AgentId> = self
            .agents
            .values()
            .filter(|a| a.is_member(id))
            .map(|a| a.id)
            .collect();
        // Sorted, so the order in which members pull work does not depend on hashing.
        members.sort_unstable();
        for agent in members {
            self.refresh(agent);
            self.touched.push(agent);
        }
        let waiting = self.waiting_in(id);
        for w in waiting {
            self.schedule_ring(w);
        }
        Ok(())
    }

    pub(crate) fn sign_in(
        &mut self,
        agent: AgentId,
        mut profile: AgentProfile,
    ) -> Result<(), RoutingError> {
        if let Some(skill) = profile
            .skills
            .iter()
            .find(|s| !(1..=5).contains(&s.proficiency))
        {
            return Err(RoutingError::ProficiencyOutOfRange {
                got: skill.proficiency,
            });
        }
        profile.queues.sort_unstable();
        profile.queues.dedup();
        if let Some(&queue) = profile.queues.iter().find(|q| !self.queues.contains_key(q)) {
            return Err(RoutingError::MemberOfUnknownQueue { agent, queue });
        }
        let now = self.now;
        match self.agents.get_mut(&agent) {
            Some(existing) => existing.profile = profile,
            None => {
                self.agents.insert(agent, Agent::new(agent, profile, now));
            }
        }
        self.refresh(agent);
        self.touched.push(agent);
        Ok(())
    }

    /// See [`super::Event::Resume`]. Capacity is not checked: this is work the agent already
    /// has, and a sign-in applies its resumptions before routing offers anything new.
    pub(crate) fn resume(
        &mut self,
        id: InteractionId,
        media: Media,
        queue: QueueId,
        agent: AgentId,
        parked: bool,
        out: &mut Vec<Decision>,
    ) -> Result<(), RoutingError> {
        // The agent first, so a refusal changes nothing.
        self.signed_in(agent)?;
        self.admit(id, media, queue, None)?;
        let now = self.now;
        if let Some(inter) = self.interactions.get_mut(&id) {
            inter.record.note_connect(agent, now);
        }
        let state = if parked {
            InteractionState::Parked {
                agent,
                reason: ParkReason::Agent,
            }
        } else {
            InteractionState::Connected { agent }
        };
        self.transition(id, Some(state), out);
        Ok(())
    }

    /// See [`super::Event::Engage`].
    pub(crate) fn engage(
        &mut self,
        id: InteractionId,
        media: Media,
        queue: QueueId,
        agent: AgentId,
        out: &mut Vec<Decision>,
    ) -> Result<(), RoutingError> {
        let a = self.signed_in(agent)?;
        let rules = &self.config.media;
        let exclusive_busy = Media::ALL.iter().any(|&m| {
            rules.is_exclusive(m) && (*a.load.open.get(m) > 0 || *a.load.wrap_up.get(m) > 0)
        });
        if exclusive_busy {
            return Err(RoutingError::AgentUnavailable {
                agent,
                media,
                status: a.status(rules),
            });
        }
        self.admit(id, media, queue, None)?;
        if let Some(inter) = self.interactions.get_mut(&id) {
            inter.wraps_up = false;
        }
        self.connect(id, agent, media, out);
        Ok(())
    }

    pub(crate) fn sign_out(
        &mut self,
        agent: AgentId,
        out: &mut Vec<Decision>,
    ) -> Result<(), RoutingError> {
        let work = self.signed_in(agent)?.work.clone();
        // Offline first, so nothing is offered back to this agent while its work is requeued.
        if let Some(a) = self.agents.get_mut(&agent) {
            a.presence = Presence::Offline;
        }
        for id in work {
            match self.state_of(id) {
                Some(InteractionState::WrapUp { .. }) => self.finish(id, None, out),
                Some(InteractionState::Offered { .. }) => {
                    self.requeue(id, Some(RevokeReason::AgentUnavailable), out);
                }
                Some(_) => {
                    self.transition(id, Some(InteractionState::Waiting), out);
                    self.announce_queued(id, QueuedReason::AgentSignedOut, out);
                }
                None => {}
            }
        }
        self.refresh(agent);
        if let Some(a) = self.agents.remove(&agent) {
            for (queue, media, mode, key) in a.indexed {
                if let Some(q) = self.queues.get_mut(&queue) {
                    q.remove_agent(media, mode, &key);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn set_presence(
        &mut self,
        agent: AgentId,
        presence: Presence,
        out: &mut Vec<Decision>,
    ) -> Result<(), RoutingError> {
        if presence == Presence::Offline {
            return self.sign_out(agent, out);
        }
        let a = self.signed_in(agent)?;
        if a.presence == presence {
            return Ok(());
        }
        let offered: Vec<InteractionId> = a
            .work
            .iter()
            .copied()
            .filter(|&id| matches!(self.state_of(id), Some(InteractionState::Offered { .. })))
            .collect();
        let now = self.now;
        if let Some(a) = self.agents.get_mut(&agent) {
            a.presence = presence;
            a.presence_since = now;
            if presence == Presence::Available {
                a.idle_since = now;
            }
        }
        if presence != Presence::Available {
            for id in offered {
                self.requeue(id, Some(RevokeReason::AgentUnavailable), out);
            }
        }
        self.refresh(agent);
        self.touched.push(agent);
        Ok(())
    }

    pub(crate) fn offer_expired(&mut self, id: InteractionId, at: Millis, out: &mut Vec<Decision>) {
        let Some(InteractionState::Offered {
            agent, expires_at, ..
        }) = self.state_of(id)
        else {
            return;
        };
        if expires_at != at {
            return;
        }
        self.requeue(id, Some(RevokeReason::Timeout), out);
        if self.config.away_on_missed_offer && self.set_presence(agent, Presence::Away, out).is_ok()
        {
            out.push(Decision::PresenceChanged {
                agent,
                presence: Presence::Away,
            });
        }
    }
}
