//! Historical reporting: per queue and per agent metrics over any interval, computed from the
//! persisted routing records, the presence log and co-browse sessions. The queries load one
//! page of rows at a time, after a key ([`PAGE_ROWS`]; the caller folds each page into a
//! [`super::tally`] before reading the next), so no report holds a range or a reader for
//! long; the arithmetic is pure (and tested on hand-computed cases).
//!
//! An interaction belongs to the interval it arrived in. AHT is talk + hold + wrap-up, where
//! hold includes time a chat spent interrupted by a call. Service level is answered within the
//! target over answered plus abandoned. Occupancy is an agent's handle time over its staffed
//! time (signed in and not away); with several chats at once it can pass 1.0.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::routing::{AgentId, InteractionId, InteractionRecord, Media, Millis, Outcome, QueueId};
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
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
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
    /// Voice and video calls agents placed from the queue's conversations (not routed, so
    /// outside offered, answered and the averages above).
    pub calls_from_chat: u64,
    /// Their mean handling time (talk), in seconds.
    pub calls_from_chat_avg_secs: Option<f64>,
}

/// One row of the agent report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
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

/// Rows one page holds: each page is one read of its own.
pub const PAGE_ROWS: i64 = 1_000;

/// Where the next page of records starts: after this (arrival, interaction id).
pub type RecordKey = (i64, String);

/// The key of a record, to read the page after it.
pub fn record_key(s: &Stored) -> RecordKey {
    (
        i64::try_from(s.record.arrived_at.0).unwrap_or(i64::MAX),
        s.interaction_id.clone(),
    )
}

/// Up to [`PAGE_ROWS`] finished interactions that arrived in `[from_ms, to_ms)`, after `after`,
/// in (arrival, interaction id) order.
pub fn records_page(
    db: &mut dyn Sql,
    from_ms: i64,
    to_ms: i64,
    after: Option<&RecordKey>,
) -> Result<Vec<Stored>, StoreError> {
    const COLUMNS: &str = "SELECT media, queue_id, last_queue_id, arrived_at, first_offered_at,
                answered_at, answered_by, agents, abandoned_at, ended_at, finished_at, talk_ms,
                hold_ms, wrap_up_ms, offers, transfers, disposition, outcome, interaction_id
         FROM routing_interactions WHERE arrived_at >= $1 AND arrived_at < $2";
    let rows = match after {
        None => db.query(
            &format!("{COLUMNS} ORDER BY arrived_at, interaction_id LIMIT $3"),
            &[from_ms.into(), to_ms.into(), PAGE_ROWS.into()],
        )?,
        Some((at, id)) => db.query(
            &format!(
                "{COLUMNS} AND (arrived_at, interaction_id) > ($3, $4)
                 ORDER BY arrived_at, interaction_id LIMIT $5"
            ),
            &[
                from_ms.into(),
                to_ms.into(),
                (*at).into(),
                id.into(),
                PAGE_ROWS.into(),
            ],
        )?,
    };
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
                // Not stored: the routing event log has each forced assignment.
                forced: false,
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

/// One status change of an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceChange {
    pub agent_id: String,
    pub at_ms: u64,
    pub seq: i64,
    pub status: String,
}

/// Where the next page of status changes starts: after this (agent, time, seq).
pub type PresenceKey = (String, i64, i64);

pub fn presence_key(p: &PresenceChange) -> PresenceKey {
    (
        p.agent_id.clone(),
        i64::try_from(p.at_ms).unwrap_or(i64::MAX),
        p.seq,
    )
}

/// Up to [`PAGE_ROWS`] status changes before `to_ms` after `after`, per agent in time order.
pub fn presence_page(
    db: &mut dyn Sql,
    to_ms: i64,
    after: Option<&PresenceKey>,
) -> Result<Vec<PresenceChange>, StoreError> {
    const COLUMNS: &str = "SELECT agent_id, at_ms, seq, status FROM agent_presence_log
         WHERE at_ms < $1";
    let rows = match after {
        None => db.query(
            &format!("{COLUMNS} ORDER BY agent_id, at_ms, seq LIMIT $2"),
            &[to_ms.into(), PAGE_ROWS.into()],
        )?,
        Some((agent, at, seq)) => db.query(
            &format!(
                "{COLUMNS} AND (agent_id, at_ms, seq) > ($2, $3, $4)
                 ORDER BY agent_id, at_ms, seq LIMIT $5"
            ),
            &[
                to_ms.into(),
                agent.into(),
                (*at).into(),
                (*seq).into(),
                PAGE_ROWS.into(),
            ],
        )?,
    };
    rows.iter()
        .map(|r| {
            Ok(PresenceChange {
                agent_id: r.text(0)?,
                at_ms: u(r.int(1)?),
                seq: r.int(2)?,
                status: r.text(3)?,
            })
        })
        .collect()
}

/// Where the next page of co-browse sessions starts: after this (paired at, session id).
pub type CobrowseKey = (i64, String);

/// Up to [`PAGE_ROWS`] co-browse sessions paired in `[from_ms, to_ms)` after `after`, each
/// with its key; a session still open counts up to `to_ms`.
pub fn cobrowse_page(
    db: &mut dyn Sql,
    from_ms: i64,
    to_ms: i64,
    after: Option<&CobrowseKey>,
) -> Result<Vec<(CobrowseKey, Cobrowse)>, StoreError> {
    const COLUMNS: &str = "SELECT interaction_id, agent_id, paired_at, ended_at, id
         FROM cobrowse_sessions
         WHERE paired_at IS NOT NULL AND paired_at >= $1 AND paired_at < $2";
    let rows = match after {
        None => db.query(
            &format!("{COLUMNS} ORDER BY paired_at, id LIMIT $3"),
            &[from_ms.into(), to_ms.into(), PAGE_ROWS.into()],
        )?,
        Some((at, id)) => db.query(
            &format!("{COLUMNS} AND (paired_at, id) > ($3, $4) ORDER BY paired_at, id LIMIT $5"),
            &[
                from_ms.into(),
                to_ms.into(),
                (*at).into(),
                id.into(),
                PAGE_ROWS.into(),
            ],
        )?,
    };
    rows.iter()
        .map(|r| {
            let paired = r.int(2)?;
            let ended = r.opt_int(3)?;
            Ok((
                (paired, r.text(4)?),
                Cobrowse {
                    interaction_id: r.text(0)?,
                    agent_id: r.text(1)?,
                    length_ms: u(ended.unwrap_or(to_ms).min(to_ms) - paired),
                },
            ))
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
