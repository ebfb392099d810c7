//! The routing service's state beside the engine: the engine itself, the maps between the
//! relay's names (external interaction ids, agent store ids, queue names) and the engine's
//! numbers, and the bookkeeping each decision needs (event log, finished records, today's
//! counters, who holds what). Synchronous and owned by the service task.

use std::collections::{BTreeMap, HashMap};

use super::handle::{Action, Arrival, Held, ServiceError, Target};
use super::journal::Journal;
use super::live::{AgentInfo, InteractionInfo};
use super::persist::{ProfileSpec, QueueSpec};
use super::service_level::ServiceLevelWindow;
use crate::routing::engine::{
    AgentId, AgentStatus, Decision, Engine, EngineConfig, Event, InteractionId, InteractionState,
    LastAgent, Media, Millis, Presence, QueueId, RoutingError, TransferTarget,
};

mod accounting;
mod engaged;
mod held;
mod supervise;
mod views;

/// Engine plus names; see the module doc.
pub struct Switchboard {
    pub(crate) engine: Engine,
    pub(crate) queues: BTreeMap<QueueId, QueueSpec>,
    queue_ids: HashMap<String, QueueId>,
    agent_ids: HashMap<String, AgentId>,
    pub(crate) agents: BTreeMap<AgentId, AgentInfo>,
    pub(crate) interactions: HashMap<InteractionId, InteractionInfo>,
    by_external: HashMap<String, InteractionId>,
    next_interaction: u64,
    next_agent: u64,
    /// Decisions of the current command, including those of deadlines that fired before it.
    out: Vec<Decision>,
    /// Agents whose desk changed without a decision naming them (a presence change).
    touched: Vec<AgentId>,
    /// UTC day number of `today`.
    day: u64,
    /// Per queue: (offered, answered) since UTC midnight.
    pub(crate) today: HashMap<QueueId, (u64, u64)>,
    /// Per queue: service level now.
    pub(crate) service_levels: HashMap<QueueId, ServiceLevelWindow>,
    seq: i64,
    journal: std::sync::Arc<dyn Journal>,
    /// By external id: work held before a restart and the store id of the agent who held it,
    /// resumed at that agent's sign-in (see `held`).
    held: HashMap<String, (String, Held)>,
    /// Store ids of the supervisors who gave orders, indexed by their `SupervisorId`
    /// (bounded by the people who hold the role).
    supervisors: Vec<String>,
}

const DAY_MS: u64 = 86_400_000;

fn at(now: Millis) -> i64 {
    i64::try_from(now.0).unwrap_or(i64::MAX)
}

impl Switchboard {
    pub fn new(config: EngineConfig, journal: std::sync::Arc<dyn Journal>) -> Switchboard {
        Switchboard {
            engine: Engine::new(config),
            queues: BTreeMap::new(),
            queue_ids: HashMap::new(),
            agent_ids: HashMap::new(),
            agents: BTreeMap::new(),
            interactions: HashMap::new(),
            by_external: HashMap::new(),
            next_interaction: 1,
            next_agent: 1,
            out: Vec::new(),
            touched: Vec::new(),
            day: 0,
            today: HashMap::new(),
            service_levels: HashMap::new(),
            seq: 0,
            journal,
            held: HashMap::new(),
            supervisors: Vec::new(),
        }
    }

    fn handle(&mut self, now: Millis, event: Event) -> Result<(), ServiceError> {
        Ok(self.engine.handle(now, event, &mut self.out)?)
    }

    /// Lets time pass: offers time out, wrap-up limits and rings fire.
    pub fn tick(&mut self, now: Millis) {
        // A tick is never rejected.
        self.handle(now, Event::Tick).ok();
    }

    /// The decisions made since the last call.
    pub fn take_decisions(&mut self) -> Vec<Decision> {
        std::mem::take(&mut self.out)
    }

    pub fn queue_id(&self, name: &str) -> Option<QueueId> {
        self.queue_ids.get(name).copied()
    }

    pub fn queue_name(&self, id: QueueId) -> String {
        self.queues
            .get(&id)
            .map_or_else(|| id.to_string(), |q| q.name.clone())
    }

    pub fn external(&self, id: InteractionId) -> Option<String> {
        self.interactions.get(&id).map(|i| i.external.clone())
    }

    /// The external id and media of a live interaction.
    pub fn identity(&self, id: InteractionId) -> Option<(String, Media)> {
        self.interactions
            .get(&id)
            .map(|i| (i.external.clone(), i.media))
    }

    /// The engine's number for a live interaction named by its external id.
    pub fn interaction_id(&self, external: &str) -> Option<InteractionId> {
        self.by_external.get(external).copied()
    }

    pub fn store_id(&self, agent: AgentId) -> Option<String> {
        self.agents.get(&agent).map(|a| a.store_id.clone())
    }

    pub fn agent_id(&self, store_id: &str) -> Option<AgentId> {
        self.agent_ids.get(store_id).copied()
    }

    pub fn queue_specs(&self) -> Vec<(QueueId, QueueSpec)> {
        self.queues.iter().map(|(&id, s)| (id, s.clone())).collect()
    }

    pub fn define_queue(
        &mut self,
        now: Millis,
        id: QueueId,
        spec: QueueSpec,
    ) -> Result<(), ServiceError> {
        let config = spec.to_config(id)?;
        self.handle(now, Event::DefineQueue(config))?;
        self.queue_ids.insert(spec.name.clone(), id);
        self.queues.insert(id, spec);
        Ok(())
    }

    pub fn set_presence(
        &mut self,
        now: Millis,
        store_id: &str,
        name: &str,
        profile: &ProfileSpec,
        presence: Presence,
    ) -> Result<(), ServiceError> {
        let agent = match self.agent_ids.get(store_id) {
            Some(&agent) => agent,
            None if presence == Presence::Offline => return Ok(()),
            None => {
                let agent = AgentId(self.next_agent);
                self.next_agent += 1;
                self.agent_ids.insert(store_id.to_owned(), agent);
                self.agents
                    .insert(agent, AgentInfo::new(store_id, name, now));
                agent
            }
        };
        self.touched.push(agent);
        let signed_in = self.engine.presence(agent).is_some();
        if presence == Presence::Offline {
            if signed_in {
                self.handle(now, Event::SignOut { agent })?;
            }
            return Ok(());
        }
        if !signed_in {
            let all = self.queues.keys().copied().collect();
            let profile = profile.to_profile(|n| self.queue_id(n), all)?;
            if let Some(info) = self.agents.get_mut(&agent) {
                info.queues.clone_from(&profile.queues);
                if !name.is_empty() {
                    name.clone_into(&mut info.name);
                }
            }
            self.sign_in_resuming(now, store_id, agent, Event::SignIn { agent, profile })?;
        }
        if self.engine.presence(agent) != Some(presence) {
            self.handle(now, Event::SetPresence { agent, presence })?;
        }
        Ok(())
    }

    /// Checks a routing profile against the queues and, when the agent is signed in, applies
    /// it at once (its queues, skills and capacity; its work stays with it).
    pub fn update_profile(
        &mut self,
        now: Millis,
        store_id: &str,
        spec: &ProfileSpec,
    ) -> Result<(), ServiceError> {
        let all = self.queues.keys().copied().collect();
        let profile = spec.to_profile(|n| self.queue_id(n), all)?;
        let Some(&agent) = self.agent_ids.get(store_id) else {
            return Ok(());
        };
        if self.engine.presence(agent).is_none() {
            return Ok(());
        }
        let queues = profile.queues.clone();
        self.handle(now, Event::SignIn { agent, profile })?;
        if let Some(info) = self.agents.get_mut(&agent) {
            info.queues = queues;
        }
        self.touched.push(agent);
        Ok(())
    }

    pub fn arrive(
        &mut self,
        now: Millis,
        arrival: Arrival,
        window_ms: u64,
    ) -> Result<(), ServiceError> {
        let queue = self
            .queue_id(&arrival.queue)
            .ok_or_else(|| super::persist::SpecError::UnknownQueue(arrival.queue.clone()))?;
        if self.by_external.contains_key(&arrival.id) {
            return Err(ServiceError::DuplicateInteraction(arrival.id));
        }
        // Held work routed anew (handed back to a queue) is no longer its old agent's.
        self.forget_held(&arrival.id);
        let id = InteractionId(self.next_interaction);
        let last = arrival
            .last_agent
            .as_ref()
            .and_then(|p| last_agent(self.agent_id(&p.agent_id), p.handled_at_ms, now, window_ms));
        let mut info = InteractionInfo::new(arrival.id.clone(), arrival.media, queue);
        info.arrived_at = now;
        info.priority = arrival.priority;
        self.interactions.insert(id, info);
        let event = Event::Arrive {
            interaction: id,
            media: arrival.media,
            queue,
            priority: arrival.priority,
            last_agent: last,
        };
        if let Err(e) = self.handle(now, event) {
            self.interactions.remove(&id);
            return Err(e);
        }
        self.next_interaction += 1;
        self.by_external.insert(arrival.id, id);
        Ok(())
    }

    pub fn act(
        &mut self,
        now: Millis,
        external: &str,
        by: Option<&str>,
        action: Action,
    ) -> Result<(), ServiceError> {
        let unknown = || ServiceError::UnknownInteraction(external.to_owned());
        if !self.by_external.contains_key(external)
            && matches!(action, Action::End)
            && self.forget_held(external)
        {
            // Held work ended before its agent came back: nothing left to route.
            return Ok(());
        }
        let id = *self.by_external.get(external).ok_or_else(unknown)?;
        let state = self.engine.interaction_state(id).ok_or_else(unknown)?;
        let agent = match by {
            Some(store_id) => Some(self.agent_id(store_id).ok_or(ServiceError::NotSignedIn)?),
            None => None,
        };
        let owner = state.agent();
        let offer_action = matches!(action, Action::Accept | Action::Decline);
        if let (Some(agent), false) = (agent, offer_action) {
            if owner != Some(agent) {
                return Err(ServiceError::NotYours(external.to_owned()));
            }
        }
        // A connector reporting an answer accepts for the agent the call is offered to, and
        // an answer already accepted at the desk is no news.
        let agent = match (agent, &action, state) {
            (None, Action::Accept, InteractionState::Connected { .. }) => return Ok(()),
            (None, _, _) => owner,
            (some, _, _) => some,
        };
        let target = match &action {
            Action::Transfer(Target::Agent(store_id)) => Some(TransferTarget::Agent(
                self.agent_id(store_id).ok_or(ServiceError::NotSignedIn)?,
            )),
            Action::Transfer(Target::Queue(name)) => Some(TransferTarget::Queue(
                self.queue_id(name)
                    .ok_or_else(|| super::persist::SpecError::UnknownQueue(name.clone()))?,
            )),
            _ => None,
        };
        let event = event_for(id, agent, action, target).ok_or_else(|| {
            ServiceError::Routing(RoutingError::InvalidState {
                interaction: id,
                action: crate::routing::engine::Word("act on"),
                state: crate::routing::engine::Word(state.name()),
            })
        })?;
        self.handle(now, event)
    }

    /// The media name of an interaction, for views.
    pub fn media_of(&self, id: InteractionId) -> &'static str {
        self.interactions
            .get(&id)
            .map_or("unknown", |i| i.media.name())
    }

    /// Whether the agent is signed in with this status.
    pub fn status(&self, agent: AgentId) -> AgentStatus {
        self.engine.agent_status(agent)
    }
}

/// Converts an [`Action`] on `id` into its engine event.
fn event_for(
    id: InteractionId,
    agent: Option<AgentId>,
    action: Action,
    target: Option<TransferTarget>,
) -> Option<Event> {
    Some(match action {
        Action::Accept => Event::Accept {
            interaction: id,
            agent: agent?,
        },
        Action::Decline => Event::Decline {
            interaction: id,
            agent: agent?,
        },
        Action::Park => Event::Park { interaction: id },
        Action::Unpark => Event::Unpark { interaction: id },
        Action::Transfer(_) => Event::Transfer {
            interaction: id,
            to: target?,
        },
        Action::End => Event::End { interaction: id },
        Action::WrapUp { code } => Event::CompleteWrapUp {
            interaction: id,
            code,
        },
    })
}

/// Whether a previous agent is still inside the threading window at `now`.
fn last_agent(
    agent: Option<AgentId>,
    handled_at_ms: i64,
    now: Millis,
    window_ms: u64,
) -> Option<LastAgent> {
    let handled = u64::try_from(handled_at_ms).unwrap_or(0);
    agent.map(|agent| LastAgent {
        agent,
        window_open: now.0.saturating_sub(handled) <= window_ms,
    })
}
