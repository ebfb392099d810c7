//! Contacts and their channel identities: who a message comes from, across channels.

use super::super::model::*;
use super::rows::{conversation, CONVERSATION};
use crate::ids::random_hex;
use crate::store::{Columns, Sql, StoreError};

/// The contact behind a channel identity, created on first contact.
pub fn contact_for(
    db: &mut dyn Sql,
    channel: &str,
    external_id: &str,
    display_name: &str,
    now: i64,
) -> Result<String, StoreError> {
    let found = db.query(
        "SELECT contact_id FROM msg_identities WHERE channel = $1 AND external_id = $2",
        &[channel.into(), external_id.into()],
    )?;
    if let Some(row) = found.first() {
        return row.text(0);
    }
    let id = random_hex(12);
    db.execute(
        "INSERT INTO msg_contacts (id, display_name, created_at) VALUES ($1, $2, $3)",
        &[(&id).into(), display_name.into(), now.into()],
    )?;
    db.execute(
        "INSERT INTO msg_identities (channel, external_id, contact_id, created_at)
         VALUES ($1, $2, $3, $4)",
        &[channel.into(), external_id.into(), (&id).into(), now.into()],
    )?;
    Ok(id)
}

/// Links another channel identity to an existing contact (same person, new channel).
pub fn identity_link(
    db: &mut dyn Sql,
    channel: &str,
    external_id: &str,
    contact_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO msg_identities (channel, external_id, contact_id, created_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (channel, external_id) DO NOTHING",
        &[
            channel.into(),
            external_id.into(),
            contact_id.into(),
            now.into(),
        ],
    )?;
    Ok(())
}

/// Every conversation of a contact, across channels and visits, oldest first.
pub fn conversations_of_contact(
    db: &mut dyn Sql,
    contact_id: &str,
) -> Result<Vec<Conversation>, StoreError> {
    let sql = format!(
        "SELECT {CONVERSATION} FROM msg_conversations WHERE contact_id = $1 ORDER BY created_at, id"
    );
    db.query(&sql, &[contact_id.into()])?
        .iter()
        .map(conversation)
        .collect()
}

pub fn contact(db: &mut dyn Sql, id: &str) -> Result<Option<Contact>, StoreError> {
    let rows = db.query(
        "SELECT id, display_name FROM msg_contacts WHERE id = $1",
        &[id.into()],
    )?;
    rows.first()
        .map(|r| {
            Ok(Contact {
                id: r.text(0)?,
                display_name: r.text(1)?,
            })
        })
        .transpose()
}
