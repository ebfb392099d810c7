//! The engine: owns all routing state and the one place where an interaction changes state
//! ([`Engine::transition`]), which keeps agents' work sets, the indexes, the timers and the
//! talk/hold/wrap-up accounting consistent. After every event it settles (see `dispatch`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::mem;

use super::event::{Decision, Event, ParkReason, RoutingError};
use super::index::QueueState;
use super::model::{AgentId, EngineConfig, InteractionId, Media, Millis, QueueId};
use super::state::{count, Agent, Interaction, InteractionState, Load};

/// How routing decisions find candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    /// Ordered indexes per queue and media (the production path).
    Indexed,
    /// A linear scan over every agent and every waiting interaction: the reference the
    /// benchmark and the property tests compare the indexes with.
    Naive,
}

/// A deadline the engine asked to be woken for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    OfferExpiry(InteractionId),
    WrapUpLimit(InteractionId),
    RingOpens(InteractionId),
}

/// The routing engine: events in, decisions out, time passed in by the caller.
///
/// The shell feeds every [`Event`] to [`Engine::handle`] with the current time, carries out the
/// returned [`Decision`]s, and calls `handle(now, Event::Tick, ..)` at
/// [`Engine::next_deadline`] so offers time out and bullseye rings open on time.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) selector: Selector,
    /// The latest time seen; time never runs backwards inside the engine.
    pub(crate) now: Millis,
    next_seq: u64,
    pub(crate) queues: BTreeMap<QueueId, QueueState>,
    pub(crate) agents: HashMap<AgentId, Agent>,
    pub(crate) interactions: HashMap<InteractionId, Interaction>,
    timers: BTreeSet<(Millis, Timer)>,
    /// Agents whose situation changed during this step; they pull work when it settles.
    pub(crate) touched: Vec<AgentId>,
    /// Interactions that started waiting during this step; they look for an agent.
    pub(crate) pending: Vec<InteractionId>,
}

impl Engine {
    /// An engine with no queues and no agents, using the indexes.
    pub fn new(config: EngineConfig) -> Engine {
        Engine::with_selector(config, Selector::Indexed)
    }

    /// An engine that selects candidates with `selector`.
    pub fn with_selector(config: EngineConfig, selector: Selector) -> Engine {
        Engine {
            config,
            selector,
            now: Millis(0),
            next_seq: 0,
            queues: BTreeMap::new(),
            agents: HashMap::new(),
            interactions: HashMap::new(),
            timers: BTreeSet::new(),
            touched: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// Handles one event at `now`, appending decisions to `out`.
    ///
    /// Deadlines due by `now` fire first, each at its own time, and their decisions are appended
    /// even if the event is then rejected; a rejected event changes nothing. A `now` earlier
    /// than one already seen counts as that earlier-seen time.
    pub fn handle(
        &mut self,
        now: Millis,
        event: Event,
        out: &mut Vec<Decision>,
    ) -> Result<(), RoutingError> {
        let result = self.handle_unsettled(now, event, out);
        self.settle(out);
        result
    }

    /// Fires the deadlines due by `now` and moves the clock there.
    fn handle_due(&mut self, now: Millis, out: &mut Vec<Decision>) {
        let now = now.max(self.now);
        // Deadlines due at the same instant fire together before routing settles, so two rings
        // opening at once are served in queue order rather than in timer order.
        while let Some(&(at, _)) = self.timers.first() {
            if at > now {
                break;
            }
            self.now = self.now.max(at);
            while let Some(&(due, timer)) = self.timers.first() {
                if due != at {
                    break;
                }
                self.timers.remove(&(due, timer));
                self.fire(at, timer, out);
            }
            self.settle(out);
        }
        self.now = now;
    }

    /// [`Engine::handle`] for events that belong together, applied in order before routing
    /// settles once (a sign-in and the work the agent resumes, so nothing is offered to it in
    /// between). One result per event; a rejected event changes nothing and the rest still
    /// apply.
    pub fn handle_all(
        &mut self,
        now: Millis,
        events: impl IntoIterator<Item = Event>,
        out: &mut Vec<Decision>,
    ) -> Vec<Result<(), RoutingError>> {
        let mut events = events.into_iter();
        let Some(first) = events.next() else {
            return Vec::new();
        };
        // Deadlines fire (and routing settles after them) as for a single event.
        let mut results = vec![self.handle_unsettled(now, first, out)];
        results.extend(events.map(|e| self.apply(e, out)));
        self.settle(out);
        results
    }

    fn handle_unsettled(
        &mut self,
        now: Millis,
        event: Event,
        out: &mut Vec<Decision>,
    ) -> Result<(), RoutingError> {
        self.handle_due(now, out);
        self.apply(event, out)
    }

    /// When the engine next needs a [`Event::Tick`], if ever.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.timers.first().map(|&(at, _)| at)
    }

    /// The latest time the engine has seen.
    pub fn now(&self) -> Millis {
        self.now
    }

    /// A fresh tie-break number for queue order.
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn fire(&mut self, at: Millis, timer: Timer, out: &mut Vec<Decision>) {
        match timer {
            Timer::OfferExpiry(id) => self.offer_expired(id, at, out),
            Timer::WrapUpLimit(id) => {
                let due = matches!(self.state_of(id),
                    Some(InteractionState::WrapUp { deadline: Some(d), .. }) if d == at);
                if due {
                    self.finish(id, None, out);
                }
            }
            Timer::RingOpens(id) => {
                if let Some(inter) = self.interactions.get_mut(&id) {
                    if inter.ring_timer == Some(at) {
                        inter.ring_timer = None;
                        self.schedule_ring(id);
                        self.pending.push(id);
                    }
                }
            }
        }
    }

    pub(crate) fn state_of(&self, id: InteractionId) -> Option<InteractionState> {
        self.interactions.get(&id).map(|i| i.state)
    }

    /// Moves `id` to `next` (or out of the engine's care, for `None`), keeping everything that
    /// depends on its state consistent: the waiting set, timers, accounting, the agents' work
    /// sets, loads and index entries. Resumes work that `id` interrupted once it leaves its
    /// agent's hands.
    pub(crate) fn transition(
        &mut self,
        id: InteractionId,
        next: Option<InteractionState>,
        out: &mut Vec<Decision>,
    ) {
        self.transition_with(id, next, out, |_| {});
    }

    /// [`Engine::transition`], with `edit` applied between leaving the old state and entering
    /// the new one (to move a waiting interaction to another queue or place).
    pub(crate) fn transition_with(
        &mut self,
        id: InteractionId,
        next: Option<InteractionState>,
        out: &mut Vec<Decision>,
        edit: impl FnOnce(&mut Interaction),
    ) {
        let now = self.now;
        let Some(inter) = self.interactions.get_mut(&id) else {
            return;
        };
        let elapsed = now.since(inter.phase_since);
        match inter.state {
            InteractionState::Waiting => {
                if let Some(queue) = self.queues.get_mut(&inter.queue) {
                    queue.waiting.get_mut(inter.media).remove(&inter.wait_key());
                }
                if let Some(at) = inter.ring_timer.take() {
                    self.timers.remove(&(at, Timer::RingOpens(id)));
                }
            }
            InteractionState::Offered { expires_at, .. } => {
                self.timers.remove(&(expires_at, Timer::OfferExpiry(id)));
            }
            InteractionState::Connected { .. } => {
                inter.record.talk_ms = inter.record.talk_ms.saturating_add(elapsed);
            }
            InteractionState::Parked { .. } => {
                inter.record.hold_ms = inter.record.hold_ms.saturating_add(elapsed);
            }
            InteractionState::WrapUp { deadline, .. } => {
                inter.record.wrap_up_ms = inter.record.wrap_up_ms.saturating_add(elapsed);
                if let Some(at) = deadline {
                    self.timers.remove(&(at, Timer::WrapUpLimit(id)));
                }
            }
        }
        edit(inter);
        let old_state = inter.state;
        let old_agent = old_state.agent();
        let new_agent = next.and_then(|s| s.agent());
        let media = inter.media;
        if let Some(state) = next {
            inter.state = state;
            inter.phase_since = now;
            match state {
                InteractionState::Waiting => {
                    if let Some(queue) = self.queues.get_mut(&inter.queue) {
                        queue.waiting.get_mut(media).insert(inter.wait_key(), id);
                    }
                }
                InteractionState::Offered { expires_at, .. } => {
                    self.timers.insert((expires_at, Timer::OfferExpiry(id)));
                }
                InteractionState::WrapUp {
                    deadline: Some(at), ..
                } => {
                    self.timers.insert((at, Timer::WrapUpLimit(id)));
                }
                _ => {}
            }
        }
        if next == Some(InteractionState::Waiting) {
            self.schedule_ring(id);
            self.pending.push(id);
        }
        if old_agent != new_agent {
            if let Some(agent) = old_agent.and_then(|a| self.agents.get_mut(&a)) {
                agent.work.remove(&id);
            }
            if let Some(agent) = new_agent.and_then(|a| self.agents.get_mut(&a)) {
                agent.work.insert(id);
            }
        }
        for agent in [old_agent, new_agent].into_iter().flatten() {
            self.refresh(agent);
            self.touched.push(agent);
        }
        let was_working = matches!(
            old_state,
            InteractionState::Connected { .. } | InteractionState::Parked { .. }
        );
        let still_working = matches!(
            next,
            Some(InteractionState::Connected { .. } | InteractionState::Parked { .. })
        ) && new_agent == old_agent;
        if was_working && !still_working && self.config.media.is_exclusive(media) {
            if let Some(agent) = old_agent {
                self.resume_interrupted(agent, id, out);
            }
        }
    }

    /// Resumes the work `by` interrupted, as far as capacity allows; the rest stays parked for
    /// the agent to resume by hand.
    fn resume_interrupted(&mut self, agent: AgentId, by: InteractionId, out: &mut Vec<Decision>) {
        let Some(work) = self.agents.get(&agent).map(|a| a.work.clone()) else {
            return;
        };
        for id in work {
            let interrupted = matches!(self.state_of(id),
                Some(InteractionState::Parked { reason: ParkReason::Interrupted { by: b }, .. })
                    if b == by);
            if !interrupted {
                continue;
            }
            let Some(media) = self.interactions.get(&id).map(|i| i.media) else {
                continue;
            };
            let room = self
                .agents
                .get(&agent)
                .is_some_and(|a| a.load.open.get(media) < a.profile.capacity.get(media));
            if room {
                self.transition(id, Some(InteractionState::Connected { agent }), out);
                out.push(Decision::Resumed {
                    interaction: id,
                    agent,
                });
            } else {
                let reason = ParkReason::Agent;
                self.transition(id, Some(InteractionState::Parked { agent, reason }), out);
                out.push(Decision::Parked {
                    interaction: id,
                    agent,
                    reason,
                });
            }
        }
    }

    /// Schedules the timer for the next bullseye ring of a waiting interaction, if any.
    pub(crate) fn schedule_ring(&mut self, id: InteractionId) {
        let Some(inter) = self.interactions.get_mut(&id) else {
            return;
        };
        let Some(queue) = self.queues.get(&inter.queue) else {
            return;
        };
        let waited = self.now.since(inter.queued_since);
        let next = queue
            .config
            .rings
            .iter()
            .map(|r| r.after_wait_ms)
            .find(|&after| after > waited);
        if let Some(at) = inter.ring_timer.take() {
            self.timers.remove(&(at, Timer::RingOpens(id)));
        }
        if let Some(after) = next {
            let at = inter.queued_since.after(after);
            inter.ring_timer = Some(at);
            self.timers.insert((at, Timer::RingOpens(id)));
        }
    }

    /// Recomputes an agent's load from its work set and rebuilds its index entries.
    pub(crate) fn refresh(&mut self, id: AgentId) {
        let Some(agent) = self.agents.get_mut(&id) else {
            return;
        };
        let mut load = Load::default();
        for w in &agent.work {
            if let Some(inter) = self.interactions.get(w) {
                count(&mut load, inter.media, &inter.state);
            }
        }
        agent.load = load;
        for (queue, media, mode, key) in mem::take(&mut agent.indexed) {
            if let Some(q) = self.queues.get_mut(&queue) {
                q.remove_agent(media, mode, &key);
            }
        }
        if self.selector == Selector::Naive {
            return;
        }
        for &queue in &agent.profile.queues {
            let Some(q) = self.queues.get_mut(&queue) else {
                continue;
            };
            let Some(ring) = agent.ring_level(&q.config) else {
                continue;
            };
            let key = agent.key(ring, q.config.strategy);
            for media in Media::ALL {
                if let Some(mode) = agent.mode_for(media, &self.config.media) {
                    q.insert_agent(media, mode, key);
                    agent.indexed.push((queue, media, mode, key));
                }
            }
        }
    }
}
