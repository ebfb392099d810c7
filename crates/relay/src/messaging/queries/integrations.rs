//! Open-messaging integrations, what makes their inbound webhooks idempotent (delivery ids,
//! the channel's message ids, and whether the integration signs with the timestamped form), and
//! the outbox of deliveries to integrations' webhooks.

use super::super::model::*;
use crate::store::{Columns, Sql, StoreError, Val};

pub fn integration_put(db: &mut dyn Sql, i: &Integration, now: i64) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO msg_integrations (name, secret, webhook_url, bot_url, created_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO UPDATE SET secret = excluded.secret,
            webhook_url = excluded.webhook_url, bot_url = excluded.bot_url,
            timestamped_at = CASE WHEN msg_integrations.secret = excluded.secret
                THEN msg_integrations.timestamped_at END",
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

/// Every integration, by name (the secret is never serialized).
pub fn integration_list(db: &mut dyn Sql) -> Result<Vec<Integration>, StoreError> {
    db.query(
        "SELECT name, secret, webhook_url, bot_url FROM msg_integrations ORDER BY name",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(Integration {
            name: r.text(0)?,
            secret: r.text(1)?,
            webhook_url: r.text(2)?,
            bot_url: r.opt_text(3)?,
        })
    })
    .collect()
}

/// Why a signed inbound delivery is not stored, judged before anything it carries is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this delivery id was already received")]
    Replayed,
    /// Signed with the hub form alone by an integration that signs with the timestamped form.
    #[error("this integration signs with X-Signature-256 and X-Timestamp; the hub signature alone is refused")]
    Downgraded,
    /// Not a failure: the message was stored before (a redelivery), as this message in this
    /// conversation, and the caller answers as it did the first time.
    #[error("this message was already received")]
    Repeated {
        message_id: String,
        conversation_id: String,
    },
}

/// Judges a signed inbound delivery (none: nothing to judge) inside the transaction that will
/// store what it carries, and records what must be remembered of it: the integration's first
/// timestamped signature (after which its hub form alone is refused) and the delivery id. A
/// message that passes is then remembered by [`inbound_message_put`].
pub fn admit_signed(
    db: &mut dyn Sql,
    signed: Option<&Signed>,
    now: i64,
) -> Result<Result<(), Refusal>, StoreError> {
    let Some(s) = signed else {
        return Ok(Ok(()));
    };
    let name = s.integration.as_str();
    if s.delivery_id.is_some() {
        db.execute(
            "UPDATE msg_integrations SET timestamped_at = $2
             WHERE name = $1 AND timestamped_at IS NULL",
            &[name.into(), now.into()],
        )?;
    } else {
        let rows = db.query(
            "SELECT timestamped_at FROM msg_integrations WHERE name = $1",
            &[name.into()],
        )?;
        if rows
            .first()
            .map(|r| r.opt_int(0))
            .transpose()?
            .flatten()
            .is_some()
        {
            return Ok(Err(Refusal::Downgraded));
        }
    }
    if let Some(external) = &s.message_id {
        let rows = db.query(
            "SELECT message_id, conversation_id FROM msg_inbound_messages
             WHERE integration = $1 AND external_id = $2",
            &[name.into(), external.into()],
        )?;
        if let Some(r) = rows.first() {
            return Ok(Err(Refusal::Repeated {
                message_id: r.text(0)?,
                conversation_id: r.text(1)?,
            }));
        }
    }
    match &s.delivery_id {
        Some(id) if !delivery_first_seen(db, name, id, now)? => Ok(Err(Refusal::Replayed)),
        _ => Ok(Ok(())),
    }
}

/// Remembers which stored message a channel's message became, in the transaction that
/// stored it (see [`admit_signed`]).
pub fn inbound_message_put(
    db: &mut dyn Sql,
    s: &Signed,
    message_id: &str,
    conversation_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    if let Some(external) = &s.message_id {
        db.execute(
            "INSERT INTO msg_inbound_messages
                (integration, external_id, message_id, conversation_id, received_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                s.integration.as_str().into(),
                external.into(),
                message_id.into(),
                conversation_id.into(),
                now.into(),
            ],
        )?;
    }
    Ok(())
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

/// Claims `item` for this node until `until`, unless another node did since it was read:
/// the row's `next_at` moves on only if it still holds what was read. Each node's outbox
/// worker claims what it is about to send, so a delivery goes out from one node only (and
/// again from any node once the claim lapses, if that one died mid-call). `true`: claimed.
pub fn outbox_claim(db: &mut dyn Sql, item: &OutboxItem, until: i64) -> Result<bool, StoreError> {
    Ok(db.execute(
        "UPDATE msg_outbox SET next_at = $3 WHERE delivery_id = $1 AND next_at = $2",
        &[
            item.delivery_id.as_str().into(),
            item.next_at.into(),
            until.into(),
        ],
    )? == 1)
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
