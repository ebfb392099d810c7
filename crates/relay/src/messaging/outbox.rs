//! The outbox worker: sends queued webhook deliveries to their integration, signed, retrying
//! failures with exponential backoff. A delivery keeps its id across retries and stays in the
//! database until the integration answers 2xx, so a restart resumes it. The same worker
//! forgets inbound delivery ids once a replay of them would fail the timestamp check anyway,
//! so that table holds minutes of traffic, not all of it.
//!
//! Several relay nodes on one database each run this worker; a pass claims the deliveries it
//! read before sending them ([`queries::outbox_claim`]), so each goes out from one node.

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;

use super::{model::Delivery, queries, signature::REPLAY_MEMORY_MS, wire, Messaging};
use crate::{ids::now_ms, store::StoreError};

/// Deliveries read per pass.
const PASS: i64 = 64;
/// How long one webhook call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a node holds the delivery it is sending: its call, with room to spare. A node that
/// dies mid-call leaves its claim to lapse; another node sends it then.
const CLAIM_MS: i64 = 30_000;
/// Longest sleep between passes when nothing is due (a safety net; new work wakes it).
const IDLE: Duration = Duration::from_secs(30);
/// How often remembered inbound delivery ids are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Runs until `shutdown` turns true.
pub async fn run(svc: Arc<Messaging>, mut shutdown: watch::Receiver<bool>) {
    let mut pruned_at: Option<std::time::Instant> = None;
    loop {
        if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            pruned_at = Some(std::time::Instant::now());
            let before = now_ms() - REPLAY_MEMORY_MS;
            match svc
                .store
                .write(move |db| queries::prune_deliveries(db, before))
                .await
            {
                Ok(n) if n > 0 => tracing::debug!(pruned = n, "inbound delivery ids forgotten"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning inbound delivery ids"),
            }
        }
        let wait = match pass(&svc).await {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(error = %e, "outbox pass");
                Some(now_ms() + 1000)
            }
        };
        let sleep = wait
            .map(|at| Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0)))
            .unwrap_or(IDLE)
            .min(IDLE);
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = svc.outbox_wake.notified() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

/// Sends everything due; returns when the next delivery is due.
async fn pass(svc: &Arc<Messaging>) -> Result<Option<i64>, StoreError> {
    let due = svc
        .store
        .read(|db| queries::outbox_due(db, now_ms(), PASS))
        .await?;
    for item in due {
        let until = now_ms() + CLAIM_MS;
        let claim = item.clone();
        let mine = svc
            .store
            .write(move |db| queries::outbox_claim(db, &claim, until))
            .await?;
        if !mine {
            // Another node's worker sends it.
            continue;
        }
        let name = item.integration.clone();
        let integration = svc
            .store
            .read(move |db| queries::integration(db, &name))
            .await?;
        let result = match &integration {
            Some(i) => wire::post_signed(
                &svc.http,
                &i.webhook_url,
                &i.secret,
                &item.delivery_id,
                item.body.clone(),
                CALL_TIMEOUT,
            )
            .await
            .map(drop),
            None => Err("integration removed".to_owned()),
        };
        let id = item.delivery_id.clone();
        match result {
            Ok(()) => {
                svc.store
                    .write(move |db| queries::outbox_done(db, &id))
                    .await?;
            }
            Err(why) => {
                let attempts = item.attempts + 1;
                if attempts >= svc.config.outbox_max_attempts || integration.is_none() {
                    tracing::warn!(delivery = %item.delivery_id, attempts, %why, "webhook delivery given up");
                    svc.store
                        .write(move |db| queries::outbox_done(db, &id))
                        .await?;
                    svc.receipt(&item.message_id, Delivery::Failed, None)
                        .await
                        .map_err(|e| match e {
                            super::MessagingError::Store(s) => s,
                            _ => StoreError::WorkerGone,
                        })?;
                } else {
                    let delay = svc.config.backoff(attempts);
                    let next = now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
                    tracing::debug!(delivery = %item.delivery_id, attempts, %why, "webhook delivery failed; retrying");
                    svc.store
                        .write(move |db| queries::outbox_retry(db, &id, attempts, next))
                        .await?;
                }
            }
        }
    }
    svc.store.read(queries::outbox_next).await
}
