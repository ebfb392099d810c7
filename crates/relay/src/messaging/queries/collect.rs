//! What the collector (`messaging::sweep`) asks and removes: conversations that never received
//! a message and contacts without a conversation, once their grace is over; and which uploads
//! a contact's messages carry, so the uploads nobody sent can go.

use std::collections::HashSet;

use super::super::model::Attachment;
use super::cache::forget;
use crate::store::{from_json, Columns, Sql, StoreError};

/// Conversations created in `[since, before)` (ms) that hold no message, with their contacts;
/// at most `limit`.
pub fn empty_conversations(
    db: &mut dyn Sql,
    since: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    // Through the (state, created_at) index: every state, one time range.
    let rows = db.query(
        "SELECT c.id, c.contact_id FROM msg_conversations c
         WHERE c.state IN ('bot', 'waiting', 'assigned', 'parked', 'closed')
           AND c.created_at >= $1 AND c.created_at < $2
           AND NOT EXISTS (SELECT 1 FROM msg_messages m WHERE m.conversation_id = c.id)
         LIMIT $3",
        &[since.into(), before.into(), limit.into()],
    )?;
    rows.iter().map(|r| Ok((r.text(0)?, r.text(1)?))).collect()
}

/// Contacts created in `[since, before)` that have no conversation; at most `limit`.
pub fn lone_contacts(
    db: &mut dyn Sql,
    since: i64,
    before: i64,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let rows = db.query(
        "SELECT k.id FROM msg_contacts k
         WHERE k.created_at >= $1 AND k.created_at < $2
           AND NOT EXISTS (SELECT 1 FROM msg_conversations c WHERE c.contact_id = k.id)
         LIMIT $3",
        &[since.into(), before.into(), limit.into()],
    )?;
    rows.iter().map(|r| r.text(0)).collect()
}

/// Deletes each conversation that still holds no message (with its timeline), then each
/// contact, of those and of `contacts`, that is left without a conversation (with its channel
/// identities). Answers how many conversations and contacts went.
pub fn collect_empty(
    db: &mut dyn Sql,
    conversations: &[(String, String)],
    contacts: &[String],
) -> Result<(u64, u64), StoreError> {
    let mut gone = 0;
    for (id, _) in conversations {
        forget(db, id);
        let empty = "NOT EXISTS (SELECT 1 FROM msg_messages m WHERE m.conversation_id = $1)";
        db.execute(
            &format!("DELETE FROM msg_events WHERE conversation_id = $1 AND {empty}"),
            &[id.into()],
        )?;
        gone += db.execute(
            &format!("DELETE FROM msg_conversations WHERE id = $1 AND {empty}"),
            &[id.into()],
        )?;
    }
    let mut lone = 0;
    let candidates = conversations.iter().map(|(_, k)| k).chain(contacts);
    let unique: HashSet<&String> = candidates.collect();
    for contact in unique {
        let alone = "NOT EXISTS (SELECT 1 FROM msg_conversations c WHERE c.contact_id = $1)";
        db.execute(
            &format!("DELETE FROM msg_identities WHERE contact_id = $1 AND {alone}"),
            &[contact.into()],
        )?;
        lone += db.execute(
            &format!("DELETE FROM msg_contacts WHERE id = $1 AND {alone}"),
            &[contact.into()],
        )?;
    }
    Ok((gone, lone))
}

/// The ids of every attachment the contact's messages carry.
pub fn attachments_sent(db: &mut dyn Sql, contact: &str) -> Result<HashSet<String>, StoreError> {
    let rows = db.query(
        "SELECT m.attachments FROM msg_messages m
         JOIN msg_conversations c ON c.id = m.conversation_id
         WHERE c.contact_id = $1 AND m.attachments <> '[]'",
        &[contact.into()],
    )?;
    let mut ids = HashSet::new();
    for row in &rows {
        let carried: Vec<Attachment> = from_json(&row.text(0)?)?;
        ids.extend(carried.into_iter().map(|a| a.id));
    }
    Ok(ids)
}
