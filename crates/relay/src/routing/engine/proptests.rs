//! Property tests: random event sequences against a small contact center, checking after every
//! step that no agent is above capacity, offers go only to available agents, every interaction
//! has at most one owner (also through supervisors' assignments, forced or not), queues are served in priority and FIFO order with no agent left idle
//! next to work it may take, the indexes choose exactly what the naive scan chooses, and every
//! interaction finishes exactly once.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::{any, prop_oneof, proptest, Just, ProptestConfig};
use proptest::strategy::Strategy as Generate;
use proptest::test_runner::FileFailurePersistence;

use super::state::{ring_at, InteractionState};
use super::*;

const QUEUES: [QueueId; 3] = [QueueId(1), QueueId(2), QueueId(3)];
const AGENTS: u64 = 5;
const CODE: &str = "done";

fn queues() -> Vec<QueueConfig> {
    let english = SkillId(1);
    let plain = QueueConfig::new(QueueId(1));
    let mut rings = QueueConfig::new(QueueId(2));
    rings.strategy = Strategy::LeastOccupied;
    rings.priority = 2;
    rings.skills = vec![SkillRequirement {
        skill: english,
        min_proficiency: 4,
    }];
    rings.rings = vec![
        SkillRing {
            after_wait_ms: 5_000,
            skills: vec![SkillRequirement {
                skill: english,
                min_proficiency: 2,
            }],
        },
        SkillRing {
            after_wait_ms: 20_000,
            skills: Vec::new(),
        },
    ];
    rings.wrap_up = Some(WrapUpRule {
        codes: vec![CODE.into()],
        limit_ms: Some(3_000),
    });
    rings.offer_timeout_ms = 4_000;
    let mut wrap = QueueConfig::new(QueueId(3));
    wrap.wrap_up = Some(WrapUpRule {
        codes: vec![CODE.into()],
        limit_ms: None,
    });
    vec![plain, rings, wrap]
}

fn profile(agent: u64) -> AgentProfile {
    let proficiency = u8::try_from(agent % 5 + 1).unwrap_or(1);
    let mut capacity = default_capacity();
    capacity.chat = u16::try_from(agent % 3 + 1).unwrap_or(1);
    capacity.message = 2;
    let queues = match agent % 3 {
        0 => vec![QueueId(1), QueueId(2)],
        1 => vec![QueueId(2), QueueId(3)],
        _ => QUEUES.to_vec(),
    };
    AgentProfile {
        skills: vec![Skill {
            skill: SkillId(1),
            proficiency,
        }],
        capacity,
        queues,
    }
}

/// One random thing that happens; indexes pick among what exists at that moment.
#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    Arrive {
        media: Media,
        queue: usize,
        priority: Option<i32>,
        last_agent: Option<(u64, bool)>,
    },
    AcceptOffer(usize),
    DeclineOffer(usize),
    AcceptAsAnyone(u64, usize),
    Park(usize),
    Unpark(usize),
    TransferToQueue(usize, usize),
    TransferToAgent(usize, u64),
    Assign(usize, u64, bool),
    End(usize),
    CompleteWrapUp(usize),
    SetPresence(u64, Presence),
    SignIn(u64),
    SignOut(u64),
}

fn op() -> impl Generate<Value = Op> {
    let media = prop_oneof![Just(Media::Call), Just(Media::Chat), Just(Media::Message)];
    let presence = prop_oneof![
        Just(Presence::Available),
        Just(Presence::Busy),
        Just(Presence::Away),
        Just(Presence::Offline),
    ];
    prop_oneof![
        4 => (0u64..8_000).prop_map(Op::Advance),
        5 => (media, 0usize..3, proptest::option::of(0i32..3),
              proptest::option::of((0..AGENTS, any::<bool>())))
            .prop_map(|(media, queue, priority, last_agent)| Op::Arrive {
                media, queue, priority, last_agent,
            }),
        5 => any::<usize>().prop_map(Op::AcceptOffer),
        1 => any::<usize>().prop_map(Op::DeclineOffer),
        1 => (0..AGENTS, any::<usize>()).prop_map(|(a, i)| Op::AcceptAsAnyone(a, i)),
        1 => any::<usize>().prop_map(Op::Park),
        1 => any::<usize>().prop_map(Op::Unpark),
        1 => (any::<usize>(), 0usize..3).prop_map(|(i, q)| Op::TransferToQueue(i, q)),
        1 => (any::<usize>(), 0..AGENTS).prop_map(|(i, a)| Op::TransferToAgent(i, a)),
        2 => (any::<usize>(), 0..AGENTS, any::<bool>()).prop_map(|(i, a, f)| Op::Assign(i, a, f)),
        3 => any::<usize>().prop_map(Op::End),
        2 => any::<usize>().prop_map(Op::CompleteWrapUp),
        1 => (0..AGENTS, presence).prop_map(|(a, p)| Op::SetPresence(a, p)),
        2 => (0..AGENTS).prop_map(Op::SignIn),
        1 => (0..AGENTS).prop_map(Op::SignOut),
    ]
}

/// The indexed engine and the naive one, fed the same events.
struct Harness {
    indexed: Engine,
    naive: Engine,
    now: Millis,
    next_interaction: u64,
    arrived: BTreeSet<InteractionId>,
    finished: BTreeMap<InteractionId, u32>,
}

impl Harness {
    fn new() -> Harness {
        let mut h = Harness {
            indexed: Engine::with_selector(EngineConfig::default(), Selector::Indexed),
            naive: Engine::with_selector(EngineConfig::default(), Selector::Naive),
            now: Millis(0),
            next_interaction: 0,
            arrived: BTreeSet::new(),
            finished: BTreeMap::new(),
        };
        for q in queues() {
            h.step(Event::DefineQueue(q));
        }
        h
    }

    /// Live interactions in a given state, in id order, for ops to pick from.
    fn pick(
        &self,
        index: usize,
        filter: impl Fn(&InteractionState) -> bool,
    ) -> Option<InteractionId> {
        let mut ids: Vec<_> = self
            .indexed
            .interactions
            .values()
            .filter(|i| filter(&i.state))
            .map(|i| i.id)
            .collect();
        ids.sort_unstable();
        let len = ids.len();
        (len > 0).then(|| ids.get(index % len).copied()).flatten()
    }

    fn event_for(&mut self, op: Op) -> Option<Event> {
        let any = |_: &InteractionState| true;
        Some(match op {
            Op::Advance(ms) => {
                self.now = self.now.after(ms);
                Event::Tick
            }
            Op::Arrive {
                media,
                queue,
                priority,
                last_agent,
            } => {
                self.next_interaction += 1;
                Event::Arrive {
                    interaction: InteractionId(self.next_interaction),
                    media,
                    queue: *QUEUES.get(queue)?,
                    priority,
                    last_agent: last_agent.map(|(agent, window_open)| LastAgent {
                        agent: AgentId(agent),
                        window_open,
                    }),
                }
            }
            Op::AcceptOffer(i) | Op::DeclineOffer(i) => {
                let offered = |s: &InteractionState| matches!(s, InteractionState::Offered { .. });
                let interaction = self.pick(i, offered)?;
                let agent = self.indexed.state_of(interaction)?.agent()?;
                if matches!(op, Op::AcceptOffer(_)) {
                    Event::Accept { interaction, agent }
                } else {
                    Event::Decline { interaction, agent }
                }
            }
            Op::AcceptAsAnyone(agent, i) => Event::Accept {
                interaction: self.pick(i, any)?,
                agent: AgentId(agent),
            },
            Op::Park(i) => Event::Park {
                interaction: self.pick(i, any)?,
            },
            Op::Unpark(i) => Event::Unpark {
                interaction: self.pick(i, any)?,
            },
            Op::TransferToQueue(i, q) => Event::Transfer {
                interaction: self.pick(i, any)?,
                to: TransferTarget::Queue(*QUEUES.get(q)?),
            },
            Op::TransferToAgent(i, a) => Event::Transfer {
                interaction: self.pick(i, any)?,
                to: TransferTarget::Agent(AgentId(a)),
            },
            Op::Assign(i, a, force) => Event::Assign {
                interaction: self.pick(i, any)?,
                agent: AgentId(a),
                by: SupervisorId(1),
                force,
            },
            Op::End(i) => Event::End {
                interaction: self.pick(i, any)?,
            },
            Op::CompleteWrapUp(i) => Event::CompleteWrapUp {
                interaction: self.pick(i, any)?,
                code: CODE.into(),
            },
            Op::SetPresence(agent, presence) => Event::SetPresence {
                agent: AgentId(agent),
                presence,
            },
            Op::SignIn(agent) => Event::SignIn {
                agent: AgentId(agent),
                profile: profile(agent),
            },
            Op::SignOut(agent) => Event::SignOut {
                agent: AgentId(agent),
            },
        })
    }

    fn step(&mut self, event: Event) -> Vec<Decision> {
        let arriving = match event {
            Event::Arrive { interaction, .. } => Some(interaction),
            _ => None,
        };
        let (mut out, mut naive_out) = (Vec::new(), Vec::new());
        let result = self.indexed.handle(self.now, event.clone(), &mut out);
        let naive_result = self.naive.handle(self.now, event.clone(), &mut naive_out);
        assert_eq!(
            result, naive_result,
            "indexed and naive disagree on {event:?}"
        );
        assert_eq!(
            out, naive_out,
            "indexed and naive decide differently on {event:?}"
        );
        if let (Ok(()), Some(id)) = (&result, arriving) {
            self.arrived.insert(id);
        }
        for d in &out {
            if let Decision::Finished(record) = d {
                *self.finished.entry(record.interaction).or_default() += 1;
            }
        }
        out
    }

    fn check(&self, out: &[Decision]) {
        let engine = &self.indexed;
        let rules = &engine.config.media;
        // Every owner or reservation is mirrored in exactly that agent's work set.
        let mut seen = BTreeSet::new();
        for agent in engine.agents.values() {
            for id in &agent.work {
                assert!(seen.insert(*id), "{id} has two owners");
                let state = engine.state_of(*id);
                assert_eq!(state.and_then(|s| s.agent()), Some(agent.id), "{id} owner");
            }
            for media in Media::ALL {
                // Work a supervisor forced on the agent may go above its capacity.
                let forced = agent
                    .work
                    .iter()
                    .filter_map(|id| engine.interactions.get(id))
                    .filter(|i| i.media == media && i.record.forced)
                    .filter(|i| matches!(i.state, InteractionState::Connected { .. }))
                    .count();
                let forced = u16::try_from(forced).unwrap_or(u16::MAX);
                let open = agent.load.open.get(media).saturating_sub(forced);
                assert!(
                    open <= *agent.profile.capacity.get(media),
                    "agent {} above {media:?} capacity",
                    agent.id
                );
            }
        }
        for inter in engine.interactions.values() {
            match inter.state {
                InteractionState::Waiting => {
                    // No agent is left idle next to work it may take.
                    assert_eq!(
                        super::naive::best_agent(engine, inter.id),
                        None,
                        "{} waits while an agent may take it",
                        inter.id
                    );
                }
                InteractionState::Offered { agent, .. } => {
                    let a = engine.agents.get(&agent);
                    assert_eq!(a.map(|a| a.presence), Some(Presence::Available));
                    assert!(seen.contains(&inter.id));
                }
                _ => assert!(seen.contains(&inter.id), "{} has no owner", inter.id),
            }
        }
        assert!(self.finished.values().all(|&n| n == 1), "finished twice");
        // Queue offers go to the best waiting interaction the agent could take.
        for (pos, d) in out.iter().enumerate() {
            let Decision::Offer {
                interaction,
                agent,
                expires_at,
                reason: OfferReason::Queue | OfferReason::Interrupt,
            } = d
            else {
                continue;
            };
            let requeued_later: BTreeSet<_> = out
                .iter()
                .skip(pos)
                .filter_map(|d| match d {
                    Decision::Queued { interaction, .. } => Some(*interaction),
                    _ => None,
                })
                .collect();
            let (Some(offered), Some(a)) = (
                engine.interactions.get(interaction),
                engine.agents.get(agent),
            ) else {
                continue;
            };
            let Some(queue) = engine.queues.get(&offered.queue) else {
                continue;
            };
            let offered_at = Millis(expires_at.0.saturating_sub(queue.config.offer_timeout_ms));
            for other in engine.interactions.values() {
                if other.state != InteractionState::Waiting
                    || other.media != offered.media
                    || requeued_later.contains(&other.id)
                    || !a.is_member(other.queue)
                    || other.declined_by.contains(agent)
                {
                    continue;
                }
                let Some(q) = engine.queues.get(&other.queue) else {
                    continue;
                };
                let open = ring_at(&q.config, offered_at.since(other.queued_since));
                let eligible = a.ring_level(&q.config).is_some_and(|level| level <= open);
                assert!(
                    !(eligible && other.rank(rules) < offered.rank(rules)),
                    "{} offered to {agent} ahead of {} which ranks before it",
                    offered.id,
                    other.id
                );
            }
        }
    }

    /// Ends everything still live, so every arrival must have finished exactly once.
    fn drain(&mut self) {
        for _ in 0..4 {
            let mut live: Vec<_> = self.indexed.interactions.keys().copied().collect();
            live.sort_unstable();
            for id in live {
                let event = match self.indexed.state_of(id) {
                    Some(InteractionState::WrapUp { .. }) => Event::CompleteWrapUp {
                        interaction: id,
                        code: CODE.into(),
                    },
                    Some(_) => Event::End { interaction: id },
                    None => continue,
                };
                let out = self.step(event);
                self.check(&out);
            }
        }
        assert!(self.indexed.interactions.is_empty(), "drain left work");
        let finished: BTreeSet<_> = self.finished.keys().copied().collect();
        assert_eq!(finished, self.arrived, "every arrival finishes");
        assert!(self.finished.values().all(|&n| n == 1), "finished twice");
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // Relative to the crate root, where cargo runs tests: failures stay next to this file.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "src/routing/proptests.regressions",
        ))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_event_sequences_keep_routing_invariants(ops in proptest::collection::vec(op(), 1..120)) {
        let mut h = Harness::new();
        for agent in 0..AGENTS {
            let out = h.step(Event::SignIn { agent: AgentId(agent), profile: profile(agent) });
            h.check(&out);
        }
        for op in ops {
            if let Some(event) = h.event_for(op) {
                let out = h.step(event);
                h.check(&out);
            }
        }
        h.drain();
    }
}
