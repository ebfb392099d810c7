//! The audit of the policy's refusals: each request a signed-in person was refused is written
//! to `access_refusals` (who, which request, the missing permission, the resource named),
//! through the store's writer queue, never waiting on it.
//!
//! A hostile person could ask for what it may not a thousand times a second, so each person's
//! refusals are recorded up to [`PER_MINUTE`] a minute; the rest are counted (`dropped`) and
//! logged once a minute per person. The refusal itself (403) is answered either way.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use crate::{
    ids::{now_ms, random_hex},
    policy::Denied,
    store::Store,
    store::{Sql, StoreError},
};

/// Refusals recorded per person per minute.
pub const PER_MINUTE: u32 = 60;

/// People tracked at once: past this many, the table is emptied (its keys are signed-in
/// people, a bounded set, but the bound should not depend on that).
const MAX_PEOPLE: usize = 10_000;

/// Where refusals are recorded.
#[derive(Clone)]
pub struct Refusals {
    store: Store,
    /// Per person: the minute (ms / 60,000) and how many were recorded in it.
    recent: Arc<Mutex<HashMap<String, (i64, u32)>>>,
    dropped: Arc<AtomicU64>,
}

impl Refusals {
    pub fn new(store: Store) -> Refusals {
        Refusals {
            store,
            recent: Arc::default(),
            dropped: Arc::default(),
        }
    }

    /// Refusals not recorded (over a person's budget, or the writer's queue was full).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Records that `agent_id` was refused `request` on `resource`.
    pub fn record(&self, agent_id: &str, request: &str, resource: &str, denied: Denied) {
        let now = now_ms();
        let minute = now / 60_000;
        let admitted = {
            let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            if recent.len() >= MAX_PEOPLE && !recent.contains_key(agent_id) {
                recent.clear();
            }
            let entry = recent.entry(agent_id.to_owned()).or_insert((minute, 0));
            if entry.0 != minute {
                *entry = (minute, 0);
            }
            entry.1 += 1;
            entry.1 <= PER_MINUTE
        };
        tracing::info!(
            agent = %agent_id, request, resource, permission = %denied.permission,
            "refused by the policy"
        );
        if !admitted {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let row = (
            random_hex(16),
            agent_id.to_owned(),
            denied.permission.as_str(),
            request.chars().take(300).collect::<String>(),
            resource.chars().take(300).collect::<String>(),
        );
        let queued = self.store.try_queue_write("access refusal", move |db| {
            insert(db, now, &row.0, &row.1, row.2, &row.3, &row.4)
        });
        if queued.is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn insert(
    db: &mut dyn Sql,
    at_ms: i64,
    id: &str,
    agent_id: &str,
    permission: &str,
    request: &str,
    resource: &str,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO access_refusals (id, at_ms, agent_id, permission, request, resource)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            id.into(),
            at_ms.into(),
            agent_id.into(),
            permission.into(),
            request.into(),
            resource.into(),
        ],
    )?;
    Ok(())
}
