//! Behaviour tests of routing decisions (who is offered what, when), driven through
//! [`Engine::handle`] as the relay will drive it; also the small world the tests share.

use super::*;

pub(super) const SALES: QueueId = QueueId(1);
pub(super) const SUPPORT: QueueId = QueueId(2);
pub(super) const ENGLISH: SkillId = SkillId(1);

/// An engine, a clock and the decisions of the last step.
pub(super) struct World {
    pub(super) engine: Engine,
    pub(super) now: Millis,
    pub(super) out: Vec<Decision>,
}

impl World {
    pub(super) fn new() -> World {
        World::with_config(EngineConfig::default())
    }

    pub(super) fn with_config(config: EngineConfig) -> World {
        let mut w = World {
            engine: Engine::new(config),
            now: Millis(0),
            out: Vec::new(),
        };
        w.queue(QueueConfig::new(SALES));
        w.queue(QueueConfig::new(SUPPORT));
        w
    }

    pub(super) fn step(&mut self, event: Event) -> Result<(), RoutingError> {
        self.out.clear();
        self.engine.handle(self.now, event, &mut self.out)
    }

    pub(super) fn ok(&mut self, event: Event) -> &[Decision] {
        let result = self.step(event.clone());
        assert_eq!(result, Ok(()), "{event:?} rejected");
        &self.out
    }

    pub(super) fn advance(&mut self, ms: u64) -> &[Decision] {
        self.now = self.now.after(ms);
        self.ok(Event::Tick)
    }

    pub(super) fn queue(&mut self, config: QueueConfig) {
        self.ok(Event::DefineQueue(config));
    }

    pub(super) fn agent(&mut self, id: u64, queues: &[QueueId]) -> AgentId {
        self.agent_with(id, AgentProfile::new(queues.to_vec()))
    }

    pub(super) fn agent_with(&mut self, id: u64, profile: AgentProfile) -> AgentId {
        let agent = AgentId(id);
        self.ok(Event::SignIn { agent, profile });
        agent
    }

    pub(super) fn arrive(&mut self, id: u64, media: Media, queue: QueueId) -> InteractionId {
        self.arrive_with(id, media, queue, None, None)
    }

    pub(super) fn arrive_with(
        &mut self,
        id: u64,
        media: Media,
        queue: QueueId,
        priority: Option<i32>,
        last_agent: Option<LastAgent>,
    ) -> InteractionId {
        let interaction = InteractionId(id);
        self.ok(Event::Arrive {
            interaction,
            media,
            queue,
            priority,
            last_agent,
        });
        interaction
    }

    pub(super) fn accept(&mut self, interaction: InteractionId, agent: AgentId) {
        self.ok(Event::Accept { interaction, agent });
    }

    pub(super) fn state(&self, interaction: InteractionId) -> Option<InteractionState> {
        self.engine.interaction_state(interaction)
    }

    pub(super) fn offered_to(&self, interaction: InteractionId) -> Option<AgentId> {
        match self.state(interaction) {
            Some(InteractionState::Offered { agent, .. }) => Some(agent),
            _ => None,
        }
    }

    pub(super) fn finished(&self) -> Vec<InteractionRecord> {
        self.out
            .iter()
            .filter_map(|d| match d {
                Decision::Finished(r) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }
}

pub(super) fn connected(agent: AgentId) -> Option<InteractionState> {
    Some(InteractionState::Connected { agent })
}

#[test]
fn arrival_is_offered_to_a_free_member_and_accept_connects() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let chat = w.arrive(10, Media::Chat, SALES);
    assert_eq!(w.offered_to(chat), Some(ann));
    w.accept(chat, ann);
    assert_eq!(w.state(chat), connected(ann));
}

#[test]
fn interaction_waits_until_a_member_signs_in() {
    let mut w = World::new();
    w.agent(1, &[SUPPORT]);
    let chat = w.arrive(10, Media::Chat, SALES);
    assert_eq!(w.state(chat), Some(InteractionState::Waiting));
    let bob = w.agent(2, &[SALES]);
    assert_eq!(w.offered_to(chat), Some(bob));
}

#[test]
fn longest_idle_agent_gets_the_next_interaction() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    w.advance(1_000);
    let bob = w.agent(2, &[SALES]);
    w.advance(500);
    let first = w.arrive(10, Media::Chat, SALES);
    assert_eq!(w.offered_to(first), Some(ann));
    w.advance(1_000);
    let second = w.arrive(11, Media::Chat, SALES);
    assert_eq!(w.offered_to(second), Some(bob));
}

#[test]
fn least_occupied_agent_gets_the_next_interaction() {
    let mut w = World::new();
    let mut queue = QueueConfig::new(SALES);
    queue.strategy = Strategy::LeastOccupied;
    w.queue(queue);
    let ann = w.agent(1, &[SALES]);
    let bob = w.agent(2, &[SALES]);
    let chats: Vec<_> = (10..13).map(|i| w.arrive(i, Media::Chat, SALES)).collect();
    for &c in &chats {
        let agent = w.offered_to(c);
        w.accept(c, agent.unwrap_or(ann));
    }
    // Three chats over two agents: one holds two, the other one; the next goes to the lighter.
    let lighter = if w.engine.work_of(ann).len() < w.engine.work_of(bob).len() {
        ann
    } else {
        bob
    };
    let next = w.arrive(20, Media::Chat, SALES);
    assert_eq!(w.offered_to(next), Some(lighter));
}

#[test]
fn parked_work_does_not_count_toward_least_occupied() {
    let mut w = World::new();
    let mut queue = QueueConfig::new(SALES);
    queue.strategy = Strategy::LeastOccupied;
    w.queue(queue);
    let ann = w.agent(1, &[SALES]);
    let a = w.arrive(10, Media::Chat, SALES);
    w.accept(a, ann);
    let b = w.arrive(11, Media::Chat, SALES);
    w.accept(b, ann);
    w.ok(Event::Park { interaction: a });
    w.ok(Event::Park { interaction: b });
    w.advance(1_000);
    let bob = w.agent(2, &[SALES]);
    let busy = Presence::Busy;
    w.ok(Event::SetPresence {
        agent: ann,
        presence: busy,
    });
    let c = w.arrive(12, Media::Chat, SALES);
    w.accept(c, bob);
    w.advance(1_000);
    let available = Presence::Available;
    w.ok(Event::SetPresence {
        agent: ann,
        presence: available,
    });
    // Ann became available last, but her two chats are parked: she is less occupied than Bob
    // with one open chat.
    let d = w.arrive(13, Media::Chat, SALES);
    assert_eq!(w.offered_to(d), Some(ann));
}

#[test]
fn queue_serves_higher_priority_first_then_longest_waiting() {
    let mut w = World::new();
    let low_old = w.arrive_with(10, Media::Chat, SALES, Some(1), None);
    w.advance(100);
    let high = w.arrive_with(11, Media::Chat, SALES, Some(5), None);
    w.advance(100);
    let low_new = w.arrive_with(12, Media::Chat, SALES, Some(1), None);
    let mut profile = AgentProfile::new(vec![SALES]);
    profile.capacity.chat = 1;
    let ann = w.agent_with(1, profile);
    assert_eq!(w.offered_to(high), Some(ann));
    w.accept(high, ann);
    w.ok(Event::End { interaction: high });
    assert_eq!(w.offered_to(low_old), Some(ann));
    w.accept(low_old, ann);
    w.ok(Event::End {
        interaction: low_old,
    });
    assert_eq!(w.offered_to(low_new), Some(ann));
}

#[test]
fn agent_is_never_offered_more_than_its_capacity() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let chats: Vec<_> = (10..16).map(|i| w.arrive(i, Media::Chat, SALES)).collect();
    let offered = chats
        .iter()
        .filter(|&&c| w.offered_to(c) == Some(ann))
        .count();
    assert_eq!(offered, 4, "default chat capacity");
    let waiting: Vec<_> = chats
        .iter()
        .filter(|&&c| w.offered_to(c).is_none())
        .collect();
    assert_eq!(waiting.len(), 2);
}

#[test]
fn accept_timeout_reoffers_to_next_agent() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    w.advance(10);
    let bob = w.agent(2, &[SALES]);
    let chat = w.arrive(10, Media::Chat, SALES);
    assert_eq!(w.offered_to(chat), Some(ann));
    assert_eq!(w.engine.next_deadline(), Some(Millis(15_010)));
    let out = w.advance(15_000).to_vec();
    assert!(out.contains(&Decision::OfferRevoked {
        interaction: chat,
        agent: ann,
        reason: RevokeReason::Timeout,
    }));
    assert_eq!(w.offered_to(chat), Some(bob));
    assert_eq!(w.engine.presence(ann), Some(Presence::Away));
}

#[test]
fn missed_offer_keeps_agent_available_when_configured() {
    let mut w = World::with_config(EngineConfig {
        away_on_missed_offer: false,
        ..EngineConfig::default()
    });
    let ann = w.agent(1, &[SALES]);
    let chat = w.arrive(10, Media::Chat, SALES);
    w.advance(15_000);
    assert_eq!(w.engine.presence(ann), Some(Presence::Available));
    // Ann missed this one; it waits for someone else rather than ringing her again.
    assert_eq!(w.state(chat), Some(InteractionState::Waiting));
}

#[test]
fn decline_reoffers_to_next_agent() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    w.advance(10);
    let bob = w.agent(2, &[SALES]);
    let chat = w.arrive(10, Media::Chat, SALES);
    w.ok(Event::Decline {
        interaction: chat,
        agent: ann,
    });
    assert_eq!(w.offered_to(chat), Some(bob));
    assert_eq!(w.engine.presence(ann), Some(Presence::Available));
}

#[test]
fn late_accept_after_timeout_is_rejected() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let chat = w.arrive(10, Media::Chat, SALES);
    w.now = Millis(20_000);
    let late = w.step(Event::Accept {
        interaction: chat,
        agent: ann,
    });
    assert_eq!(
        late,
        Err(RoutingError::NotOfferedTo {
            interaction: chat,
            agent: ann
        })
    );
    // The timeout still fired and was reported, although the accept was rejected.
    assert!(w.out.iter().any(|d| matches!(
        d,
        Decision::OfferRevoked {
            reason: RevokeReason::Timeout,
            ..
        }
    )));
}

#[test]
fn call_goes_to_an_idle_agent_before_interrupting_a_chat() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let chat = w.arrive(10, Media::Chat, SALES);
    w.accept(chat, ann);
    let bob = w.agent(2, &[SALES]);
    let call = w.arrive(11, Media::Call, SALES);
    assert_eq!(w.offered_to(call), Some(bob));
}

#[test]
fn call_does_not_interrupt_an_agent_with_a_pending_offer() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let chat = w.arrive(10, Media::Chat, SALES);
    let call = w.arrive(11, Media::Call, SALES);
    assert_eq!(w.state(call), Some(InteractionState::Waiting));
    w.accept(chat, ann);
    assert_eq!(w.offered_to(call), Some(ann));
}

#[test]
fn last_agent_routing_prefers_previous_agent_with_capacity() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    w.advance(10);
    let bob = w.agent(2, &[SALES]);
    let last = Some(LastAgent {
        agent: bob,
        window_open: true,
    });
    let msg = w.arrive_with(10, Media::Message, SALES, None, last);
    assert_eq!(w.offered_to(msg), Some(bob));
    let reason = w.out.iter().find_map(|d| match d {
        Decision::Offer { reason, .. } => Some(*reason),
        _ => None,
    });
    assert_eq!(reason, Some(OfferReason::LastAgent));
    let _ = ann;
}

#[test]
fn last_agent_outside_window_or_signed_out_goes_to_queue() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    w.advance(10);
    let bob = w.agent(2, &[SALES]);
    w.advance(10);
    let closed = Some(LastAgent {
        agent: bob,
        window_open: false,
    });
    let first = w.arrive_with(10, Media::Message, SALES, None, closed);
    assert_eq!(w.offered_to(first), Some(ann), "longest idle, not Bob");
    let gone = Some(LastAgent {
        agent: AgentId(99),
        window_open: true,
    });
    let second = w.arrive_with(11, Media::Message, SALES, None, gone);
    assert_eq!(w.offered_to(second), Some(bob));
}

#[test]
fn last_agent_at_capacity_goes_to_queue() {
    let mut w = World::new();
    let mut profile = AgentProfile::new(vec![SALES]);
    profile.capacity.message = 1;
    let ann = w.agent_with(1, profile);
    let bob = w.agent(2, &[SALES]);
    let a = w.arrive(10, Media::Message, SALES);
    assert_eq!(w.offered_to(a), Some(ann));
    let last = Some(LastAgent {
        agent: ann,
        window_open: true,
    });
    let b = w.arrive_with(11, Media::Message, SALES, None, last);
    assert_eq!(w.offered_to(b), Some(bob));
}

#[test]
fn bullseye_ring_opens_to_weaker_agents_after_the_wait() {
    let mut w = World::new();
    let mut queue = QueueConfig::new(SALES);
    queue.skills = vec![SkillRequirement {
        skill: ENGLISH,
        min_proficiency: 5,
    }];
    queue.rings = vec![SkillRing {
        after_wait_ms: 30_000,
        skills: vec![SkillRequirement {
            skill: ENGLISH,
            min_proficiency: 2,
        }],
    }];
    w.queue(queue);
    let mut profile = AgentProfile::new(vec![SALES]);
    profile.skills = vec![Skill {
        skill: ENGLISH,
        proficiency: 3,
    }];
    let ann = w.agent_with(1, profile);
    let chat = w.arrive(10, Media::Chat, SALES);
    assert_eq!(w.state(chat), Some(InteractionState::Waiting));
    assert_eq!(w.engine.next_deadline(), Some(Millis(30_000)));
    w.advance(29_999);
    assert_eq!(w.state(chat), Some(InteractionState::Waiting));
    w.advance(1);
    assert_eq!(w.offered_to(chat), Some(ann));
}

#[test]
fn rings_opening_at_the_same_instant_serve_the_higher_priority_first() {
    // Found by the property tests: two rings opening at once used to be served in timer order.
    let mut w = World::new();
    let mut queue = QueueConfig::new(SALES);
    queue.priority = 2;
    queue.skills = vec![SkillRequirement {
        skill: ENGLISH,
        min_proficiency: 5,
    }];
    queue.rings = vec![SkillRing {
        after_wait_ms: 5_000,
        skills: Vec::new(),
    }];
    w.queue(queue);
    let mut profile = AgentProfile::new(vec![SALES]);
    profile.capacity.message = 1;
    let ann = w.agent_with(1, profile);
    let low = w.arrive_with(10, Media::Message, SALES, Some(0), None);
    let high = w.arrive(11, Media::Message, SALES);
    w.advance(5_000);
    assert_eq!(w.offered_to(high), Some(ann));
    assert_eq!(w.state(low), Some(InteractionState::Waiting));
}
