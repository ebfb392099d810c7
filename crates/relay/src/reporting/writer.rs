//! The routing journal's writer: persists what routing reports (finished interactions,
//! routing events, presence changes) through the store's writer, which commits them in
//! batches, so the routing task never waits on the disk. Routing knows only its
//! [`Journal`] trait; this is the implementation the composition root hands it.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use crate::routing::{
    service::journal::{Entry, Journal},
    Outcome,
};
use crate::store::{Sql, Store, StoreError};

/// The sending side. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    /// Where entries go; when its queue is full, entries are dropped (and counted), never the
    /// routing task blocked.
    store: Store,
    /// Entries dropped because the queue was full.
    pub dropped: Arc<AtomicU64>,
}

impl Writer {
    pub fn new(store: Store) -> Writer {
        Writer {
            store,
            dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Waits until everything queued so far is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.store.flush().await
    }
}

impl Journal for Writer {
    /// Queues an entry without waiting; a full queue drops it and counts the drop.
    fn record(&self, entry: Entry) {
        let queued = self
            .store
            .try_queue_write("routing event", move |db| write_entry(db, &entry));
        if queued.is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "routing event writer is behind; entries dropped");
            }
        }
    }
}

fn ms(m: Option<crate::routing::Millis>) -> Option<i64> {
    m.map(|m| i64::try_from(m.0).unwrap_or(i64::MAX))
}

fn big(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn write_entry(db: &mut dyn Sql, entry: &Entry) -> Result<(), StoreError> {
    match entry {
        Entry::Finished {
            record: r,
            external,
            agents,
            answered_by,
        } => db.execute(
            "INSERT INTO routing_interactions (interaction_id, media, queue_id,
                last_queue_id, arrived_at, first_offered_at, answered_at, answered_by,
                agents, abandoned_at, ended_at, finished_at, talk_ms, hold_ms,
                wrap_up_ms, offers, transfers, disposition, outcome)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                $16, $17, $18, $19)
             ON CONFLICT (interaction_id, arrived_at) DO NOTHING",
            &[
                external.into(),
                r.media.name().into(),
                r.queue.0.into(),
                r.last_queue.0.into(),
                big(r.arrived_at.0).into(),
                ms(r.first_offered_at).into(),
                ms(r.answered_at).into(),
                answered_by.clone().into(),
                agents.join(",").into(),
                ms(r.abandoned_at).into(),
                ms(r.ended_at).into(),
                big(r.finished_at.0).into(),
                big(r.talk_ms).into(),
                big(r.hold_ms).into(),
                big(r.wrap_up_ms).into(),
                r.offers.into(),
                r.transfers.into(),
                r.disposition.clone().into(),
                match r.outcome {
                    Outcome::Handled => "handled",
                    Outcome::Abandoned => "abandoned",
                }
                .into(),
            ],
        ),
        Entry::Event {
            at_ms,
            seq,
            kind,
            interaction,
            agent,
            queue,
            detail,
        } => db.execute(
            "INSERT INTO routing_events (at_ms, seq, kind, interaction_id, agent_id,
                queue_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (at_ms, seq) DO NOTHING",
            &[
                (*at_ms).into(),
                (*seq).into(),
                (*kind).into(),
                interaction.clone().into(),
                agent.clone().into(),
                (*queue).into(),
                detail.into(),
            ],
        ),
        Entry::Live {
            interaction,
            media,
            queue,
            priority,
            agent,
            parked,
            at_ms,
        } => db.execute(
            "INSERT INTO routing_live (interaction_id, media, queue, priority, agent_id, parked,
                updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (interaction_id) DO UPDATE SET media = excluded.media,
                queue = excluded.queue, priority = excluded.priority,
                agent_id = excluded.agent_id, parked = excluded.parked,
                updated_at = excluded.updated_at",
            &[
                interaction.into(),
                (*media).into(),
                queue.into(),
                priority.map(i64::from).into(),
                agent.clone().into(),
                i64::from(*parked).into(),
                (*at_ms).into(),
            ],
        ),
        Entry::Gone { interaction } => db.execute(
            "DELETE FROM routing_live WHERE interaction_id = $1",
            &[interaction.into()],
        ),
        Entry::Presence {
            agent,
            at_ms,
            seq,
            status,
        } => db.execute(
            "INSERT INTO agent_presence_log (agent_id, at_ms, seq, status)
             VALUES ($1, $2, $3, $4) ON CONFLICT (agent_id, at_ms, seq) DO NOTHING",
            &[
                agent.into(),
                (*at_ms).into(),
                (*seq).into(),
                (*status).into(),
            ],
        ),
    }
    .map(drop)
}
