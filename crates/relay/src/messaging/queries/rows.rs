//! Rows back into messaging's types: the column lists the queries select and the functions that
//! read them, shared by every query module.

use super::super::model::*;
use crate::store::{from_json as json, Columns, Row, StoreError};

pub(super) const CONVERSATION: &str =
    "id, contact_id, channel, external_id, state, agent_id, created_at, \
     last_customer_at, last_message_at, agent_read_seq, customer_read_seq";
pub(super) const MESSAGE: &str = "id, conversation_id, seq, author, author_id, text, attachments, \
     quick_replies, delivery, created_at, rich, postback";

pub(super) fn parse<T>(
    text: &str,
    what: &str,
    f: impl Fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    f(text).ok_or_else(|| StoreError::Type(format!("unknown {what} {text:?}")))
}

/// A nullable JSON column: `None` stays `None`.
fn opt_json<T: serde::de::DeserializeOwned>(text: Option<String>) -> Result<Option<T>, StoreError> {
    text.map(|t| json(&t)).transpose()
}

pub(super) fn conversation(row: &Row) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: row.text(0)?,
        contact_id: row.text(1)?,
        channel: row.text(2)?,
        external_id: row.text(3)?,
        state: parse(&row.text(4)?, "state", ConversationState::parse)?,
        agent_id: row.opt_text(5)?,
        created_at: row.int(6)?,
        last_customer_at: row.int(7)?,
        last_message_at: row.int(8)?,
        agent_read_seq: row.int(9)?,
        customer_read_seq: row.int(10)?,
    })
}

pub(super) fn message(row: &Row) -> Result<Message, StoreError> {
    Ok(Message {
        id: row.text(0)?,
        conversation_id: row.text(1)?,
        seq: row.int(2)?,
        author: parse(&row.text(3)?, "author", Author::parse)?,
        author_id: row.opt_text(4)?,
        text: row.text(5)?,
        attachments: json(&row.text(6)?)?,
        quick_replies: json(&row.text(7)?)?,
        delivery: parse(&row.text(8)?, "delivery", Delivery::parse)?,
        created_at: row.int(9)?,
        rich: opt_json(row.opt_text(10)?)?,
        postback: opt_json(row.opt_text(11)?)?,
    })
}
