//! Open-messaging integrations, the inbound delivery ids that make webhooks idempotent, and the
//! outbox of deliveries to integrations' webhooks.

use super::super::model::*;
use crate::store::{Columns, Sql, StoreError, Val};

pub fn integration_put(db: &mut dyn Sql, i: &Integration, now: i64) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO msg_integrations (name, secret, webhook_url, bot_url, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO UPDATE SET secret = excluded.secret,
            webhook_url = excluded.webhook_url, bot_url = excluded.bot_url",
        &[
            (&i.name).into(),
            (&i.secret).into(),
            (&i.webhook_url).into(),
            i.bot_url.clone().into(),
            now.into(),
        ],
    )?;
    Ok(())
}

pub fn integration(db: &mut dyn Sql, name: &str) -> Result<Option<Integration>, StoreError> {
    let rows = db.query(
        "SELECT name, secret, webhook_url, bot_url FROM msg_integrations WHERE name = $1",
        &[name.into()],
    )?;
    rows.first()
        .map(|r| {
            Ok(Integration {
                name: r.text(0)?,
                secret: r.text(1)?,
                webhook_url: r.text(2)?,
                bot_url: r.opt_text(3)?,
            })
        })
        .transpose()
}

/// Records an inbound delivery id; `false` when it was seen before (a replay).
pub fn delivery_first_seen(
    db: &mut dyn Sql,
    integration: &str,
    delivery_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    Ok(db.execute(
        "INSERT INTO msg_inbound_deliveries (integration, delivery_id, received_at)
         VALUES ($1, $2, $3) ON CONFLICT (integration, delivery_id) DO NOTHING",
        &[integration.into(), delivery_id.into(), now.into()],
    )? == 1)
}

/// Forgets inbound delivery ids received before `before`; returns how many. Safe once a replay
/// of them would fail the timestamp check anyway (see [`super::signature::REPLAY_MEMORY_MS`]).
pub fn prune_deliveries(db: &mut dyn Sql, before: i64) -> Result<u64, StoreError> {
    db.execute(
        "DELETE FROM msg_inbound_deliveries WHERE received_at < $1",
        &[before.into()],
    )
}

pub fn outbox_due(db: &mut dyn Sql, now: i64, limit: i64) -> Result<Vec<OutboxItem>, StoreError> {
    let rows = db.query(
        "SELECT delivery_id, integration, message_id, body, attempts, next_at FROM msg_outbox
         WHERE next_at <= $1 ORDER BY next_at LIMIT $2",
        &[now.into(), limit.into()],
    )?;
    rows.iter()
        .map(|r| {
            Ok(OutboxItem {
                delivery_id: r.text(0)?,
                integration: r.text(1)?,
                message_id: r.text(2)?,
                body: r.text(3)?,
                attempts: r.int(4)?,
                next_at: r.int(5)?,
            })
        })
        .collect()
}

/// The next time anything in the outbox is due.
pub fn outbox_next(db: &mut dyn Sql) -> Result<Option<i64>, StoreError> {
    let rows = db.query("SELECT MIN(next_at) FROM msg_outbox", &[])?;
    match rows.first().map(|r| r.col(0)).transpose()? {
        Some(Val::Int(v)) => Ok(*v),
        _ => Ok(None),
    }
}

pub fn outbox_done(db: &mut dyn Sql, delivery_id: &str) -> Result<(), StoreError> {
    db.execute(
        "DELETE FROM msg_outbox WHERE delivery_id = $1",
        &[delivery_id.into()],
    )?;
    Ok(())
}

pub fn outbox_retry(
    db: &mut dyn Sql,
    delivery_id: &str,
    attempts: i64,
    next_at: i64,
) -> Result<(), StoreError> {
    db.execute(
        "UPDATE msg_outbox SET attempts = $2, next_at = $3 WHERE delivery_id = $1",
        &[delivery_id.into(), attempts.into(), next_at.into()],
    )?;
    Ok(())
}
