//! Reports folded as their rows are read: a [`QueueReport`] and an [`AgentReport`] take one
//! stored interaction, status change or co-browse session at a time and give the report's rows
//! at the end. A report over any range so holds one page of rows, one tally per queue and per
//! agent, and the co-browse sessions of the range (few beside the interactions), never the
//! range's interactions or the whole presence log. Pure; `api` feeds them `history`'s pages.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::history::{AgentRow, Cobrowse, QueueRow, Stored};
use crate::routing::{
    service::PLACED_CALL_PREFIX, InteractionRecord, QueueId, ServiceLevelTarget, Tally,
};

fn secs(ms: f64) -> f64 {
    ms / 1000.0
}

/// The count and mean length (in seconds) of some co-browse sessions.
fn cobrowse_stats<'a>(sessions: impl Iterator<Item = &'a Cobrowse>) -> (u64, Option<f64>) {
    let (mut n, mut total) = (0u64, 0u64);
    for s in sessions {
        n += 1;
        total = total.saturating_add(s.length_ms);
    }
    (n, (n > 0).then(|| secs(total as f64 / n as f64)))
}

/// One queue's sums so far.
#[derive(Debug, Default)]
struct QueueTally {
    tally: Tally,
    transfers: u64,
    /// The co-browse sessions (indices) that rode on one of the queue's interactions, each
    /// counted once however many of its records share the interaction id.
    cobrowse: BTreeSet<usize>,
    /// Calls placed from the queue's conversations: how many, and their talk time.
    placed_calls: (u64, u64),
}

/// The queue report, folded record by record: one row per queue that had arrivals (by the
/// queue they arrived in), in queue order.
pub struct QueueReport {
    target: ServiceLevelTarget,
    cobrowse: Vec<Cobrowse>,
    /// Co-browse sessions by the interaction they rode on.
    by_interaction: HashMap<String, Vec<usize>>,
    queues: BTreeMap<QueueId, QueueTally>,
}

impl QueueReport {
    /// A report over the co-browse sessions of its range.
    pub fn new(cobrowse: Vec<Cobrowse>, target: ServiceLevelTarget) -> Self {
        let mut by_interaction: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in cobrowse.iter().enumerate() {
            by_interaction
                .entry(c.interaction_id.clone())
                .or_default()
                .push(i);
        }
        QueueReport {
            target,
            cobrowse,
            by_interaction,
            queues: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, s: &Stored) {
        let queue = self.queues.entry(s.record.queue).or_default();
        if s.interaction_id.starts_with(PLACED_CALL_PREFIX) {
            queue.placed_calls.0 += 1;
            queue.placed_calls.1 = queue.placed_calls.1.saturating_add(s.record.talk_ms);
            return;
        }
        queue.tally.add(&s.record, self.target);
        queue.transfers += u64::from(s.record.transfers);
        if let Some(sessions) = self.by_interaction.get(&s.interaction_id) {
            queue.cobrowse.extend(sessions);
        }
    }

    pub fn rows(self, names: &BTreeMap<String, String>) -> Vec<QueueRow> {
        let cobrowse = &self.cobrowse;
        self.queues
            .into_iter()
            .map(|(queue, q)| {
                let m = q.tally.metrics();
                let (sessions, avg) =
                    cobrowse_stats(q.cobrowse.iter().filter_map(|&i| cobrowse.get(i)));
                QueueRow {
                    queue_id: queue.0,
                    queue: names.get(&queue.0.to_string()).cloned().unwrap_or_default(),
                    offered: m.offered,
                    answered: m.answered,
                    abandoned: m.abandoned,
                    asa_secs: m.asa_ms.map(secs),
                    aht_secs: m.aht_ms.map(secs),
                    service_level: m.service_level,
                    abandon_rate: m.abandon_rate,
                    transfers: q.transfers,
                    cobrowse_sessions: sessions,
                    cobrowse_avg_secs: avg,
                    calls_from_chat: q.placed_calls.0,
                    calls_from_chat_avg_secs: (q.placed_calls.0 > 0)
                        .then(|| secs(q.placed_calls.1 as f64 / q.placed_calls.0 as f64)),
                }
            })
            .collect()
    }
}

/// One agent's sums so far, over the interactions it answered first.
#[derive(Debug, Default)]
struct AgentTally {
    answered: u64,
    handle_ms: u64,
    talk_ms: u64,
    hold_ms: u64,
    wrap_up_ms: u64,
    transfers: u64,
    staffed_ms: u64,
}

/// The status an agent has been in since `at`, until its next change.
struct OpenStatus {
    agent: String,
    at: u64,
    staffed: bool,
}

/// The agent report, folded from status changes (per agent in time order) and records: one
/// row per agent that answered something or was staffed, in agent id order.
pub struct AgentReport {
    /// The interval, `[from, to)` in ms.
    span: (u64, u64),
    cobrowse: Vec<Cobrowse>,
    agents: BTreeMap<String, AgentTally>,
    /// The last status change read, whose end is the next change of the same agent.
    open: Option<OpenStatus>,
}

impl AgentReport {
    pub fn new(cobrowse: Vec<Cobrowse>, span: (u64, u64)) -> Self {
        AgentReport {
            span,
            cobrowse,
            agents: BTreeMap::new(),
            open: None,
        }
    }

    /// Closes the open status at `end` (capped to the interval): staffed time is any status
    /// but offline and away.
    fn close(&mut self, end: u64) {
        let (from, to) = self.span;
        if let Some(open) = self.open.take() {
            let (start, end) = (open.at.max(from), end.min(to));
            let tally = self.agents.entry(open.agent).or_default();
            if open.staffed && end > start {
                tally.staffed_ms += end - start;
            }
        }
    }

    /// The next status change; changes come per agent in time order.
    pub fn add_presence(&mut self, agent: &str, at: u64, status: &str) {
        let end = match &self.open {
            Some(open) if open.agent == agent => at,
            _ => self.span.1,
        };
        self.close(end);
        self.open = Some(OpenStatus {
            agent: agent.to_owned(),
            at,
            staffed: status != "offline" && status != "away",
        });
    }

    pub fn add_record(&mut self, s: &Stored) {
        let Some(agent) = &s.answered_by else {
            return;
        };
        let r: &InteractionRecord = &s.record;
        let tally = self.agents.entry(agent.clone()).or_default();
        tally.answered += 1;
        tally.handle_ms = tally.handle_ms.saturating_add(r.handle_ms());
        tally.talk_ms = tally.talk_ms.saturating_add(r.talk_ms);
        tally.hold_ms = tally.hold_ms.saturating_add(r.hold_ms);
        tally.wrap_up_ms = tally.wrap_up_ms.saturating_add(r.wrap_up_ms);
        tally.transfers += u64::from(r.transfers);
    }

    /// The staffed time of `agent` so far, its open status counted to the interval's end.
    pub fn staffed_of(mut self, agent: &str) -> u64 {
        self.close(self.span.1);
        self.agents.get(agent).map_or(0, |t| t.staffed_ms)
    }

    pub fn rows(mut self, names: &BTreeMap<String, String>) -> Vec<AgentRow> {
        self.close(self.span.1);
        let cobrowse = &self.cobrowse;
        self.agents
            .into_iter()
            .filter(|(_, t)| t.answered > 0 || t.staffed_ms > 0)
            .map(|(agent, t)| {
                let (sessions, avg) =
                    cobrowse_stats(cobrowse.iter().filter(|c| c.agent_id == agent));
                let answered = t.answered;
                AgentRow {
                    agent: names.get(&agent).cloned().unwrap_or_default(),
                    agent_id: agent,
                    answered,
                    aht_secs: (answered > 0).then(|| secs(t.handle_ms as f64 / answered as f64)),
                    talk_secs: secs(t.talk_ms as f64),
                    hold_secs: secs(t.hold_ms as f64),
                    wrap_up_secs: secs(t.wrap_up_ms as f64),
                    transfers: t.transfers,
                    staffed_secs: secs(t.staffed_ms as f64),
                    occupancy: (t.staffed_ms > 0).then(|| t.handle_ms as f64 / t.staffed_ms as f64),
                    cobrowse_sessions: sessions,
                    cobrowse_avg_secs: avg,
                }
            })
            .collect()
    }
}

/// The queue report over records already loaded (as tests build them).
pub fn queue_rows(
    records: &[Stored],
    cobrowse: &[Cobrowse],
    names: &BTreeMap<String, String>,
    target: ServiceLevelTarget,
) -> Vec<QueueRow> {
    let mut report = QueueReport::new(cobrowse.to_vec(), target);
    records.iter().for_each(|s| report.add(s));
    report.rows(names)
}

/// Time in `[from, to)` an agent was staffed (any status but offline and away), from its
/// status log in time order.
pub fn staffed_ms(log: &[(u64, String)], from: u64, to: u64) -> u64 {
    let mut report = AgentReport::new(Vec::new(), (from, to));
    for (at, status) in log {
        report.add_presence("", *at, status);
    }
    report.staffed_of("")
}

/// The agent report over rows already loaded (as tests build them).
pub fn agent_rows(
    records: &[Stored],
    presence: &BTreeMap<String, Vec<(u64, String)>>,
    cobrowse: &[Cobrowse],
    names: &BTreeMap<String, String>,
    span: (u64, u64),
) -> Vec<AgentRow> {
    let mut report = AgentReport::new(cobrowse.to_vec(), span);
    for (agent, log) in presence {
        for (at, status) in log {
            report.add_presence(agent, *at, status);
        }
    }
    records.iter().for_each(|s| report.add_record(s));
    report.rows(names)
}

#[cfg(test)]
#[path = "tally_tests.rs"]
mod tests;
