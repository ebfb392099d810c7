//! What co-browse keeps in the database: one row per session (who started it, on which
//! interaction, when it paired and ended, why) and the session's audit log, and the
//! [`Recorder`] the frame path hands its records to. Entries are hash-chained (see
//! [`super::audit_chain`]).
//!
//! **Invariant:** the frame path never waits on the disk: sessions produce [`Record`]s, and
//! the recorder queues them for the store's writer, which commits them in batches. A full
//! queue makes the producing connection wait for room; no record is dropped.

use serde::Serialize;

use crate::ids::now_ms;
use crate::store::{Columns, Sql, Store, StoreError};

/// One line of a session's audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub session_id: String,
    /// Order within the session, assigned by the session.
    pub seq: i64,
    pub at_ms: i64,
    /// A short machine-readable name: `paired`, `dropped`, `mode`, `ended`, ...
    pub event: String,
    /// Facts about the event; never page content.
    pub detail: String,
    /// This entry's link in the session's hash chain (hex SHA-256, see `audit_chain`);
    /// `None` for entries written before the chain existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// A new co-browse session row.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub agent_id: String,
    pub interaction: String,
    pub interaction_id: String,
    pub pairing: &'static str,
}

/// What a session asks to persist as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Audit(AuditEntry),
    /// A customer attached to the session.
    Paired {
        session_id: String,
        site_key: String,
        at_ms: i64,
    },
    Ended {
        session_id: String,
        reason: String,
        at_ms: i64,
        /// The audit chain's last hash and the number of entries: the anchored head.
        audit_head: String,
        audit_count: i64,
    },
    /// What a node taking the session over restores (`cobrowse_live`, migration 0012): its
    /// control state as carried (JSON), written as the customer attaches (with the resume
    /// token, which makes the row) and at every change of mode.
    Live {
        session_id: String,
        resume_token: Option<String>,
        control: String,
        at_ms: i64,
    },
}

pub fn session_insert(db: &mut dyn Sql, s: &NewSession) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO cobrowse_sessions (id, agent_id, interaction, interaction_id, pairing,
            created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            (&s.id).into(),
            (&s.agent_id).into(),
            (&s.interaction).into(),
            (&s.interaction_id).into(),
            s.pairing.into(),
            now_ms().into(),
        ],
    )?;
    Ok(())
}

/// Whether `agent_id` started session `session_id`.
/// The agent whose session `session_id` is (live or ended), if there is such a session.
pub fn session_owner(db: &mut dyn Sql, session_id: &str) -> Result<Option<String>, StoreError> {
    db.query_row(
        "SELECT agent_id FROM cobrowse_sessions WHERE id = $1",
        &[session_id.into()],
    )?
    .map(|r| r.text(0))
    .transpose()
}

pub fn audit_for(db: &mut dyn Sql, session_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
    db.query(
        "SELECT session_id, seq, at_ms, event, detail, hash FROM audit_log
         WHERE session_id = $1 ORDER BY seq",
        &[session_id.into()],
    )?
    .iter()
    .map(|r| {
        Ok(AuditEntry {
            session_id: r.text(0)?,
            seq: r.int(1)?,
            at_ms: r.int(2)?,
            event: r.text(3)?,
            detail: r.text(4)?,
            hash: r.opt_text(5)?,
        })
    })
    .collect()
}

/// Appends one audit entry (an entry already there, by its number, is kept).
pub fn insert_entry(db: &mut dyn Sql, e: &AuditEntry) -> Result<u64, StoreError> {
    db.execute(
        "INSERT INTO audit_log (session_id, seq, at_ms, event, detail, hash)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id, seq) DO NOTHING",
        &[
            (&e.session_id).into(),
            e.seq.into(),
            e.at_ms.into(),
            (&e.event).into(),
            (&e.detail).into(),
            e.hash.clone().into(),
        ],
    )
}

/// The number and hash of a session's last stored audit entry, if it has one.
pub fn last_entry(
    db: &mut dyn Sql,
    session_id: &str,
) -> Result<Option<(i64, Option<String>)>, StoreError> {
    db.query_row(
        "SELECT seq, hash FROM audit_log WHERE session_id = $1 ORDER BY seq DESC LIMIT 1",
        &[session_id.into()],
    )?
    .map(|r| Ok((r.int(0)?, r.opt_text(1)?)))
    .transpose()
}

/// Writes one record (in the writer's current batch), as node `home`. A node writes only the
/// live rows it is home of: one that lost a session to another node never overwrites it.
fn write(db: &mut dyn Sql, record: &Record, home: &str) -> Result<(), StoreError> {
    match record {
        Record::Live {
            session_id,
            resume_token: Some(token),
            control,
            at_ms,
        } => db.execute(
            "INSERT INTO cobrowse_live (session_id, resume_token, home, control, updated_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id) DO UPDATE
             SET control = excluded.control, updated_at = excluded.updated_at
             WHERE cobrowse_live.home = excluded.home",
            &[
                session_id.into(),
                token.into(),
                home.into(),
                control.into(),
                (*at_ms).into(),
            ],
        ),
        Record::Live {
            session_id,
            resume_token: None,
            control,
            at_ms,
        } => db.execute(
            "UPDATE cobrowse_live SET control = $3, updated_at = $4
             WHERE session_id = $1 AND home = $2",
            &[
                session_id.into(),
                home.into(),
                control.into(),
                (*at_ms).into(),
            ],
        ),
        Record::Audit(e) => insert_entry(db, e),
        Record::Paired {
            session_id,
            site_key,
            at_ms,
        } => db.execute(
            "UPDATE cobrowse_sessions SET site_key = $2, paired_at = $3
             WHERE id = $1 AND paired_at IS NULL",
            &[session_id.into(), site_key.into(), (*at_ms).into()],
        ),
        Record::Ended {
            session_id,
            reason,
            at_ms,
            audit_head,
            audit_count,
        } => {
            db.execute(
                "DELETE FROM cobrowse_live WHERE session_id = $1 AND home = $2",
                &[session_id.into(), home.into()],
            )?;
            db.execute(
                "UPDATE cobrowse_sessions SET ended_at = $2, end_reason = $3, audit_head = $4,
                audit_count = $5 WHERE id = $1",
                &[
                    session_id.into(),
                    (*at_ms).into(),
                    reason.into(),
                    audit_head.into(),
                    (*audit_count).into(),
                ],
            )
        }
    }
    .map(drop)
}

/// The sending side of the audit log. Cloned into every session's path.
#[derive(Clone)]
pub struct Recorder {
    store: Store,
    /// This node, the home of the sessions it records.
    home: std::sync::Arc<str>,
}

impl Recorder {
    pub fn new(store: Store, home: &str) -> Recorder {
        Recorder {
            store,
            home: home.into(),
        }
    }

    /// Queues a record, waiting for room: audit entries are never lost to a full queue.
    pub async fn record(&self, record: Record) -> Result<(), StoreError> {
        let home = self.home.clone();
        self.store
            .queue_write("co-browse audit", move |db| write(db, &record, &home))
            .await
    }

    /// Queues `records` in order, as [`Recorder::record`] does; stops at the first refusal,
    /// which means the store's writer is gone and would refuse every later one too.
    pub async fn record_all(&self, records: Vec<Record>) -> Result<(), StoreError> {
        for record in records {
            self.record(record).await?;
        }
        Ok(())
    }

    /// This node's id.
    pub fn home(&self) -> &str {
        &self.home
    }

    /// The store it writes to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Waits until everything queued so far is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.store.flush().await
    }
}
