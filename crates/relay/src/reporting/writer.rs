//! The routing event writer: a thread with its own SQLite connection that persists finished
//! interactions, routing events and presence changes in batches (one transaction per batch), so
//! the routing task never waits on the disk.

use std::{
    path::Path,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use rusqlite::{params, Connection};
use tokio::sync::{mpsc, oneshot};

use crate::routing::{InteractionRecord, Media, Outcome};
use crate::store::StoreError;

/// How many entries one transaction holds at most.
const BATCH: usize = 512;

/// One thing to persist.
#[derive(Debug)]
pub enum Entry {
    /// A finished interaction, with the relay's ids in place of the engine's numbers.
    Finished {
        record: InteractionRecord,
        /// The interaction's external id (call id, conversation id).
        external: String,
        /// Store ids of `record.agents`, in order.
        agents: Vec<String>,
        /// Store id of `record.answered_by`.
        answered_by: Option<String>,
    },
    /// One routing decision or command, for the event log.
    Event {
        at_ms: i64,
        seq: i64,
        kind: &'static str,
        interaction: Option<String>,
        agent: Option<String>,
        queue: Option<u32>,
        detail: String,
    },
    /// An agent's reporting status changed.
    Presence {
        agent: String,
        at_ms: i64,
        seq: i64,
        status: &'static str,
    },
    /// Answered once everything queued before it is committed.
    Flush(oneshot::Sender<()>),
}

/// The sending side. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    /// Bounded: when the disk falls behind, entries are dropped (and counted), never the
    /// routing task blocked.
    tx: mpsc::Sender<Entry>,
    /// Entries dropped because the queue was full.
    pub dropped: Arc<AtomicU64>,
}

impl Writer {
    /// Opens a connection to `db` and starts the writer thread with room for `capacity`
    /// entries. The thread ends when every `Writer` is dropped.
    pub fn start(db: &Path, capacity: usize) -> Result<Writer, StoreError> {
        let conn = Connection::open(db)?;
        crate::store::wait_for_locks(&conn)?;
        // As the relay's other connections: a commit survives a crash of the relay, and
        // holds the write lock (which the messaging store's writer waits for) for no fsync.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let (tx, rx) = mpsc::channel(capacity.max(1));
        std::thread::Builder::new()
            .name("routing-writer".into())
            .spawn(move || write_loop(conn, rx))
            .map_err(|_| StoreError::WorkerGone)?;
        Ok(Writer {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Queues an entry without waiting; a full queue drops it and counts the drop.
    pub fn send(&self, entry: Entry) {
        if self.tx.try_send(entry).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "routing event writer is behind; entries dropped");
            }
        }
    }

    /// Waits until everything queued so far is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Entry::Flush(tx))
            .await
            .map_err(|_| StoreError::WorkerGone)?;
        rx.await.map_err(|_| StoreError::WorkerGone)
    }
}

fn write_loop(mut conn: Connection, mut rx: mpsc::Receiver<Entry>) {
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(entry) => batch.push(entry),
                Err(_) => break,
            }
        }
        if let Err(e) = write_batch(&mut conn, &batch) {
            tracing::error!(error = %e, "writing routing events");
        }
        for entry in batch.drain(..) {
            if let Entry::Flush(done) = entry {
                // The asker may have gone; nothing to tell it then.
                done.send(()).ok();
            }
        }
    }
}

/// The name stored for a media type.
pub fn media_name(media: Media) -> &'static str {
    match media {
        Media::Call => "call",
        Media::Chat => "chat",
        Media::Message => "message",
    }
}

fn ms(m: Option<crate::routing::Millis>) -> Option<i64> {
    m.map(|m| i64::try_from(m.0).unwrap_or(i64::MAX))
}

fn big(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn write_batch(conn: &mut Connection, batch: &[Entry]) -> Result<(), rusqlite::Error> {
    let tx = crate::store::write_tx(conn)?;
    for entry in batch {
        match entry {
            Entry::Finished {
                record: r,
                external,
                agents,
                answered_by,
            } => {
                tx.execute(
                    "INSERT INTO routing_interactions (interaction_id, media, queue_id,
                        last_queue_id, arrived_at, first_offered_at, answered_at, answered_by,
                        agents, abandoned_at, ended_at, finished_at, talk_ms, hold_ms,
                        wrap_up_ms, offers, transfers, disposition, outcome)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                        ?16, ?17, ?18, ?19)
                     ON CONFLICT (interaction_id, arrived_at) DO NOTHING",
                    params![
                        external,
                        media_name(r.media),
                        r.queue.0,
                        r.last_queue.0,
                        big(r.arrived_at.0),
                        ms(r.first_offered_at),
                        ms(r.answered_at),
                        answered_by,
                        agents.join(","),
                        ms(r.abandoned_at),
                        ms(r.ended_at),
                        big(r.finished_at.0),
                        big(r.talk_ms),
                        big(r.hold_ms),
                        big(r.wrap_up_ms),
                        r.offers,
                        r.transfers,
                        r.disposition,
                        match r.outcome {
                            Outcome::Handled => "handled",
                            Outcome::Abandoned => "abandoned",
                        },
                    ],
                )?;
            }
            Entry::Event {
                at_ms,
                seq,
                kind,
                interaction,
                agent,
                queue,
                detail,
            } => {
                tx.execute(
                    "INSERT INTO routing_events (at_ms, seq, kind, interaction_id, agent_id,
                        queue_id, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (at_ms, seq) DO NOTHING",
                    params![at_ms, seq, kind, interaction, agent, queue, detail],
                )?;
            }
            Entry::Presence {
                agent,
                at_ms,
                seq,
                status,
            } => {
                tx.execute(
                    "INSERT INTO agent_presence_log (agent_id, at_ms, seq, status)
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (agent_id, at_ms, seq) DO NOTHING",
                    params![agent, at_ms, seq, status],
                )?;
            }
            Entry::Flush(_) => {}
        }
    }
    tx.commit()
}
