//! Historical reporting: per queue and per agent metrics over any interval, computed from the
//! persisted routing records, the presence log and co-browse sessions. The queries only load
//! rows; the arithmetic is pure (and tested on hand-computed cases).
//!
//! An interaction belongs to the interval it arrived in. AHT is talk + hold + wrap-up, where
//! hold includes time a chat spent interrupted by a call. Service level is answered within the
//! target over answered plus abandoned. Occupancy is an agent's handle time over its staffed
//! time (signed in and not away); with several chats at once it can pass 1.0.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::routing::{
    metrics, AgentId, InteractionId, InteractionRecord, Media, Millis, Outcome, QueueId,
    ServiceLevelTarget,
};
use crate::store::{Columns, Sql, StoreError, Val};

/// A finished interaction as stored, with the relay's agent ids.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The external id (call id, conversation id).
    pub interaction_id: String,
    pub record: InteractionRecord,
    pub answered_by: Option<String>,
    pub agents: Vec<String>,
}

/// One co-browse session that paired: the interaction it rode on, its agent, its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cobrowse {
    pub interaction_id: String,
    pub agent_id: String,
    pub length_ms: u64,
}

/// One row of the queue report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueRow {
    pub queue_id: u32,
    pub queue: String,
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub asa_secs: Option<f64>,
    pub aht_secs: Option<f64>,
    pub service_level: Option<f64>,
    pub abandon_rate: Option<f64>,
    pub transfers: u64,
    pub cobrowse_sessions: u64,
    pub cobrowse_avg_secs: Option<f64>,
}

/// One row of the agent report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentRow {
    pub agent_id: String,
    pub agent: String,
    /// Interactions this agent answered first.
    pub answered: u64,
    pub aht_secs: Option<f64>,
    pub talk_secs: f64,
    pub hold_secs: f64,
    pub wrap_up_secs: f64,
    /// Transfers of interactions this agent answered.
    pub transfers: u64,
    pub staffed_secs: f64,
    pub occupancy: Option<f64>,
    pub cobrowse_sessions: u64,
    pub cobrowse_avg_secs: Option<f64>,
}

fn secs(ms: f64) -> f64 {
    ms / 1000.0
}

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn media_from(name: &str) -> Media {
    match name {
        "call" => Media::Call,
        "message" => Media::Message,
        _ => Media::Chat,
    }
}

/// Finished interactions that arrived in `[from_ms, to_ms)`.
pub fn load_records(db: &mut dyn Sql, from_ms: i64, to_ms: i64) -> Result<Vec<Stored>, StoreError> {
    let rows = db.query(
        "SELECT media, queue_id, last_queue_id, arrived_at, first_offered_at, answered_at,
                answered_by, agents, abandoned_at, ended_at, finished_at, talk_ms, hold_ms,
                wrap_up_ms, offers, transfers, disposition, outcome, interaction_id
         FROM routing_interactions WHERE arrived_at >= $1 AND arrived_at < $2
         ORDER BY arrived_at",
        &[from_ms.into(), to_ms.into()],
    )?;
    let ms = |v: Option<i64>| v.map(|v| Millis(u(v)));
    let count = |v: i64| u32::try_from(v).unwrap_or(0);
    rows.iter()
        .map(|r| {
            let agents = r.text(7)?;
            let answered_by = r.opt_text(6)?;
            let record = InteractionRecord {
                interaction: InteractionId(0),
                media: media_from(&r.text(0)?),
                queue: QueueId(count(r.int(1)?)),
                last_queue: QueueId(count(r.int(2)?)),
                arrived_at: Millis(u(r.int(3)?)),
                first_offered_at: ms(r.opt_int(4)?),
                answered_at: ms(r.opt_int(5)?),
                // The engine's agent numbers are not persisted; `answered_by` names the agent.
                answered_by: answered_by.as_ref().map(|_| AgentId(0)),
                agents: Vec::new(),
                abandoned_at: ms(r.opt_int(8)?),
                ended_at: ms(r.opt_int(9)?),
                finished_at: Millis(u(r.int(10)?)),
                talk_ms: u(r.int(11)?),
                hold_ms: u(r.int(12)?),
                wrap_up_ms: u(r.int(13)?),
                offers: count(r.int(14)?),
                transfers: count(r.int(15)?),
                disposition: r.opt_text(16)?,
                outcome: if r.text(17)? == "handled" {
                    Outcome::Handled
                } else {
                    Outcome::Abandoned
                },
            };
            Ok(Stored {
                interaction_id: r.text(18)?,
                record,
                answered_by,
                agents: agents
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

/// Every status change before `to_ms`, per agent in time order.
pub fn load_presence(
    db: &mut dyn Sql,
    to_ms: i64,
) -> Result<BTreeMap<String, Vec<(u64, String)>>, StoreError> {
    let rows = db.query(
        "SELECT agent_id, at_ms, status FROM agent_presence_log WHERE at_ms < $1
         ORDER BY agent_id, at_ms, seq",
        &[to_ms.into()],
    )?;
    let mut out: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for r in rows {
        out.entry(r.text(0)?)
            .or_default()
            .push((u(r.int(1)?), r.text(2)?));
    }
    Ok(out)
}

/// Co-browse sessions paired in `[from_ms, to_ms)`; a session still open counts up to `to_ms`.
pub fn load_cobrowse(
    db: &mut dyn Sql,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Cobrowse>, StoreError> {
    let rows = db.query(
        "SELECT interaction_id, agent_id, paired_at, ended_at FROM cobrowse_sessions
         WHERE paired_at IS NOT NULL AND paired_at >= $1 AND paired_at < $2",
        &[from_ms.into(), to_ms.into()],
    )?;
    rows.iter()
        .map(|r| {
            let paired = r.int(2)?;
            let ended = r.opt_int(3)?;
            Ok(Cobrowse {
                interaction_id: r.text(0)?,
                agent_id: r.text(1)?,
                length_ms: u(ended.unwrap_or(to_ms).min(to_ms) - paired),
            })
        })
        .collect()
}

/// Names by id from a two-column query (ids may be numbers or text).
pub fn load_names(db: &mut dyn Sql, sql: &str) -> Result<BTreeMap<String, String>, StoreError> {
    let mut out = BTreeMap::new();
    for r in db.query(sql, &[])? {
        let id = match r.col(0)? {
            Val::Int(Some(i)) => i.to_string(),
            Val::Text(Some(t)) => t.clone(),
            _ => continue,
        };
        out.insert(id, r.text(1)?);
    }
    Ok(out)
}

fn cobrowse_stats<'a>(sessions: impl Iterator<Item = &'a Cobrowse>) -> (u64, Option<f64>) {
    let (mut n, mut total) = (0u64, 0u64);
    for s in sessions {
        n += 1;
        total = total.saturating_add(s.length_ms);
    }
    (n, (n > 0).then(|| secs(total as f64 / n as f64)))
}

/// The queue report: one row per queue that had arrivals (by the queue they arrived in).
pub fn queue_rows(
    records: &[Stored],
    cobrowse: &[Cobrowse],
    names: &BTreeMap<String, String>,
    target: ServiceLevelTarget,
) -> Vec<QueueRow> {
    let mut by_queue: BTreeMap<QueueId, Vec<usize>> = BTreeMap::new();
    for (i, s) in records.iter().enumerate() {
        by_queue.entry(s.record.queue).or_default().push(i);
    }
    by_queue
        .into_iter()
        .map(|(queue, idx)| {
            let set: Vec<InteractionRecord> =
                idx.iter().map(|&i| records[i].record.clone()).collect();
            let m = metrics(&set, target);
            let ids: Vec<&String> = idx.iter().map(|&i| &records[i].interaction_id).collect();
            let (sessions, avg) =
                cobrowse_stats(cobrowse.iter().filter(|c| ids.contains(&&c.interaction_id)));
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
                transfers: set.iter().map(|r| u64::from(r.transfers)).sum(),
                cobrowse_sessions: sessions,
                cobrowse_avg_secs: avg,
            }
        })
        .collect()
}

/// Time in `[from, to)` an agent was staffed (any status but offline and away), from its
/// status log in time order.
pub fn staffed_ms(log: &[(u64, String)], from: u64, to: u64) -> u64 {
    let mut total = 0u64;
    for (i, (at, status)) in log.iter().enumerate() {
        let end = log.get(i + 1).map_or(to, |(next, _)| *next).min(to);
        let start = (*at).max(from);
        if status != "offline" && status != "away" && end > start {
            total += end - start;
        }
    }
    total
}

/// The agent report: one row per agent that answered something or was staffed.
pub fn agent_rows(
    records: &[Stored],
    presence: &BTreeMap<String, Vec<(u64, String)>>,
    cobrowse: &[Cobrowse],
    names: &BTreeMap<String, String>,
    (from, to): (u64, u64),
) -> Vec<AgentRow> {
    let mut ids: Vec<&String> = presence.keys().collect();
    ids.extend(records.iter().filter_map(|s| s.answered_by.as_ref()));
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .filter_map(|agent| {
            let mine: Vec<&InteractionRecord> = records
                .iter()
                .filter(|s| s.answered_by.as_ref() == Some(agent))
                .map(|s| &s.record)
                .collect();
            let staffed = presence
                .get(agent)
                .map_or(0, |log| staffed_ms(log, from, to));
            if mine.is_empty() && staffed == 0 {
                return None;
            }
            let sum = |f: fn(&InteractionRecord) -> u64| mine.iter().map(|r| f(r)).sum::<u64>();
            let handle = sum(InteractionRecord::handle_ms);
            let answered = u64::try_from(mine.len()).unwrap_or(u64::MAX);
            let (sessions, avg) = cobrowse_stats(cobrowse.iter().filter(|c| &c.agent_id == agent));
            Some(AgentRow {
                agent_id: agent.clone(),
                agent: names.get(agent).cloned().unwrap_or_default(),
                answered,
                aht_secs: (answered > 0).then(|| secs(handle as f64 / answered as f64)),
                talk_secs: secs(sum(|r| r.talk_ms) as f64),
                hold_secs: secs(sum(|r| r.hold_ms) as f64),
                wrap_up_secs: secs(sum(|r| r.wrap_up_ms) as f64),
                transfers: sum(|r| u64::from(r.transfers)),
                staffed_secs: secs(staffed as f64),
                occupancy: (staffed > 0).then(|| handle as f64 / staffed as f64),
                cobrowse_sessions: sessions,
                cobrowse_avg_secs: avg,
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
