//! Routing decision time with 1,000 agents and 10,000 waiting interactions, and for a large
//! contact center, 10,000 agents and 100,000 waiting.
//!
//! Builds the scenario (10 queues, agents in 3 queues each with skills, bullseye rings and both
//! strategies, calls, chats and messages), then runs a steady state: an agent finishes an
//! interaction and pulls the next one, the agent accepts, a new interaction arrives. Every
//! `Engine::handle` call in that phase is one timed decision. The same events go through an
//! engine using the naive selection (a linear scan over all agents or all waiting interactions)
//! in the same run, and both must decide identically.
//!
//! The large case has no naive twin (a scan over 100,000 waiting per decision would take the
//! run hours); its baseline is the indexed engine at 1,000 × 10,000 in the same run, so its
//! ratio says how decision time grows with ten times the agents and the queue, against the
//! target of a 1 ms p99.
//!
//! Prints one JSON line per case; `ratio_p99` is `p99_ms / baseline_p99_ms` (lower is better).

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{bail, Result};
use relay::routing::{
    AgentId, AgentProfile, Decision, Engine, EngineConfig, Event, InteractionId, InteractionState,
    Media, Millis, QueueConfig, QueueId, Selector, Skill, SkillId, SkillRequirement, SkillRing,
    Strategy,
};

const QUEUES: u32 = 10;
const STEADY_ITERATIONS: usize = 10_000;

/// xorshift64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Both engines, fed the same events.
struct Pair {
    indexed: Engine,
    /// The naive twin, when the case is small enough to run one.
    naive: Option<Engine>,
    now: Millis,
    fast_ns: Vec<u64>,
    slow_ns: Vec<u64>,
    /// Interactions connected or parked, for picking one to end.
    owned: Vec<InteractionId>,
    owned_at: HashMap<InteractionId, usize>,
}

impl Pair {
    fn step(&mut self, event: Event, timed: bool) -> Result<Vec<Decision>> {
        let (mut out, mut naive_out) = (Vec::new(), Vec::new());
        let start = Instant::now();
        let result = self.indexed.handle(self.now, event.clone(), &mut out);
        let fast = start.elapsed();
        let mut slow = None;
        if let Some(naive) = &mut self.naive {
            let start = Instant::now();
            let naive_result = naive.handle(self.now, event, &mut naive_out);
            slow = Some(start.elapsed());
            if result != naive_result || out != naive_out {
                bail!("indexed and naive engines decided differently");
            }
        }
        result?;
        if timed {
            self.fast_ns
                .push(u64::try_from(fast.as_nanos()).unwrap_or(u64::MAX));
            if let Some(slow) = slow {
                self.slow_ns
                    .push(u64::try_from(slow.as_nanos()).unwrap_or(u64::MAX));
            }
        }
        for d in &out {
            match d {
                Decision::Connected { interaction, .. } => self.own(*interaction),
                Decision::Finished(record) => self.disown(record.interaction),
                Decision::Queued { interaction, .. } => self.disown(*interaction),
                _ => {}
            }
        }
        Ok(out)
    }

    fn own(&mut self, id: InteractionId) {
        if !self.owned_at.contains_key(&id) {
            self.owned_at.insert(id, self.owned.len());
            self.owned.push(id);
        }
    }

    fn disown(&mut self, id: InteractionId) {
        if let Some(at) = self.owned_at.remove(&id) {
            self.owned.swap_remove(at);
            if let Some(&moved) = self.owned.get(at) {
                self.owned_at.insert(moved, at);
            }
        }
    }

    /// Accepts every offer in `out` (and in what accepting decides), as agents would.
    fn accept_all(&mut self, out: Vec<Decision>, timed: bool) -> Result<()> {
        let mut todo = out;
        while !todo.is_empty() {
            let mut next = Vec::new();
            for d in todo {
                let Decision::Offer {
                    interaction, agent, ..
                } = d
                else {
                    continue;
                };
                let still = self.indexed.interaction_state(interaction);
                if matches!(still, Some(InteractionState::Offered { agent: a, .. }) if a == agent) {
                    next.extend(self.step(Event::Accept { interaction, agent }, timed)?);
                }
            }
            todo = next;
        }
        Ok(())
    }

    fn waiting(&self) -> usize {
        (1..=QUEUES)
            .filter_map(|q| self.indexed.queue_waiting(QueueId(q)))
            .map(|(n, _)| n)
            .sum()
    }
}

fn queue(q: u32) -> QueueConfig {
    let mut config = QueueConfig::new(QueueId(q));
    config.priority = i32::try_from(q % 3).unwrap_or(0);
    config.strategy = if q % 2 == 0 {
        Strategy::LongestIdle
    } else {
        Strategy::LeastOccupied
    };
    config.skills = vec![SkillRequirement {
        skill: SkillId(q),
        min_proficiency: 3,
    }];
    if q % 3 == 0 {
        config.rings = vec![SkillRing {
            after_wait_ms: 20_000,
            skills: vec![SkillRequirement {
                skill: SkillId(q),
                min_proficiency: 1,
            }],
        }];
    }
    config
}

fn profile(agent: u64) -> AgentProfile {
    let queues: Vec<QueueId> = [0u64, 3, 7]
        .iter()
        .map(|k| QueueId(u32::try_from((agent + k) % u64::from(QUEUES) + 1).unwrap_or(1)))
        .collect();
    let skills = queues
        .iter()
        .enumerate()
        .map(|(i, q)| Skill {
            skill: SkillId(q.0),
            proficiency: u8::try_from((agent + i as u64) % 5 + 1).unwrap_or(1),
        })
        .collect();
    let mut profile = AgentProfile::new(queues);
    profile.skills = skills;
    profile
}

fn media(rng: &mut Rng) -> Media {
    match rng.below(10) {
        0..=1 => Media::Call,
        2..=5 => Media::Chat,
        _ => Media::Message,
    }
}

fn percentile_ms(sorted_ns: &[u64], p: f64) -> f64 {
    let last = sorted_ns.len().saturating_sub(1);
    let at = ((last as f64) * p).round() as usize;
    sorted_ns.get(at.min(last)).copied().unwrap_or(0) as f64 / 1e6
}

/// One case's timed decisions, sorted: the indexed engine's and, if it ran, the naive one's.
struct Case {
    agents: u64,
    waiting: usize,
    fast: Vec<u64>,
    slow: Vec<u64>,
}

fn run(agents: u64, waiting: usize, naive: bool) -> Result<Case> {
    let mut pair = Pair {
        indexed: Engine::with_selector(EngineConfig::default(), Selector::Indexed),
        naive: naive.then(|| Engine::with_selector(EngineConfig::default(), Selector::Naive)),
        now: Millis(0),
        fast_ns: Vec::new(),
        slow_ns: Vec::new(),
        owned: Vec::new(),
        owned_at: HashMap::new(),
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for q in 1..=QUEUES {
        pair.step(Event::DefineQueue(queue(q)), false)?;
    }
    for a in 0..agents {
        let event = Event::SignIn {
            agent: AgentId(a),
            profile: profile(a),
        };
        pair.step(event, false)?;
    }
    let mut next_id = 0u64;
    let mut arrive = |pair: &mut Pair, rng: &mut Rng, timed: bool| -> Result<()> {
        next_id += 1;
        let event = Event::Arrive {
            interaction: InteractionId(next_id),
            media: media(rng),
            queue: QueueId(u32::try_from(rng.below(u64::from(QUEUES))).unwrap_or(0) + 1),
            priority: None,
            last_agent: None,
        };
        let out = pair.step(event, timed)?;
        pair.accept_all(out, timed)
    };
    // Arrivals spread over time, as in life, so bullseye rings open one by one.
    while pair.waiting() < waiting {
        pair.now = pair.now.after(2);
        arrive(&mut pair, &mut rng, false)?;
    }
    let waiting_at_start = pair.waiting();
    for _ in 0..STEADY_ITERATIONS {
        pair.now = pair.now.after(5);
        let Some(&id) = pair
            .owned
            .get(usize::try_from(rng.below(pair.owned.len() as u64)).unwrap_or(0))
        else {
            bail!("no agent is handling anything");
        };
        let out = pair.step(Event::End { interaction: id }, true)?;
        pair.accept_all(out, true)?;
        arrive(&mut pair, &mut rng, true)?;
    }
    let (mut fast, mut slow) = (pair.fast_ns, pair.slow_ns);
    fast.sort_unstable();
    slow.sort_unstable();
    Ok(Case {
        agents,
        waiting: waiting_at_start,
        fast,
        slow,
    })
}

fn print(name: &str, case: &Case, baseline: &[u64], baseline_is: &str, extra: &str) {
    let p99 = percentile_ms(&case.fast, 0.99);
    let baseline_p99 = percentile_ms(baseline, 0.99);
    println!(
        "{{\"bench\":\"{name}\",\"agents\":{},\"waiting\":{},\"decisions\":{},\"p50_ms\":{:.4},\"p99_ms\":{:.4},\"max_ms\":{:.4},\"baseline\":\"{baseline_is}\",\"baseline_p99_ms\":{:.4},\"ratio_p99\":{:.4}{extra}}}",
        case.agents,
        case.waiting,
        case.fast.len(),
        percentile_ms(&case.fast, 0.5),
        p99,
        percentile_ms(&case.fast, 1.0),
        baseline_p99,
        if baseline_p99 > 0.0 { p99 / baseline_p99 } else { 0.0 },
    );
}

fn main() -> Result<()> {
    let small = run(1_000, 10_000, true)?;
    print("routing", &small, &small.slow, "a naive scan", "");
    let large = run(10_000, 100_000, false)?;
    print(
        "routing_large",
        &large,
        &small.fast,
        "the indexed engine at 1,000 x 10,000 in this run",
        ",\"target_p99_ms\":1.0",
    );
    Ok(())
}
