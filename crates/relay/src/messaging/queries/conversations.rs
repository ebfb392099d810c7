//! Conversations, their messages and their timeline: the customer's ingest (threading window,
//! new conversations), agent and bot messages with their outbox entries, states, read marks,
//! receipts, and the inbox views.

use std::time::Duration;

use super::super::{
    model::*,
    threading::{self, Latest, Threading},
};
use super::cache::{cache, forget};
use super::contacts::contact_for;
use super::rows::{conversation, message, CONVERSATION, MESSAGE};
use crate::ids::random_hex;
use crate::store::{from_json as json, to_json, Columns, Sql, StoreError};

pub fn conversation_by_id(db: &mut dyn Sql, id: &str) -> Result<Option<Conversation>, StoreError> {
    let sql = format!("SELECT {CONVERSATION} FROM msg_conversations WHERE id = $1");
    db.query(&sql, &[id.into()])?
        .first()
        .map(conversation)
        .transpose()
}

fn next_seq(db: &mut dyn Sql, table: &str, conversation_id: &str) -> Result<i64, StoreError> {
    let sql = format!("SELECT COALESCE(MAX(seq), 0) FROM {table} WHERE conversation_id = $1");
    let rows = db.query(&sql, &[conversation_id.into()])?;
    Ok(rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0) + 1)
}

/// The latest conversation of a channel identity.
pub fn latest_for_identity(
    db: &mut dyn Sql,
    channel: &str,
    external_id: &str,
) -> Result<Option<Conversation>, StoreError> {
    let sql = format!(
        "SELECT {CONVERSATION} FROM msg_conversations WHERE channel = $1 AND external_id = $2
         ORDER BY created_at DESC, id DESC LIMIT 1"
    );
    db.query(&sql, &[channel.into(), external_id.into()])?
        .first()
        .map(conversation)
        .transpose()
}

/// Stores a customer message: resolves the contact, applies the threading window, opens a
/// conversation when needed.
pub fn ingest(
    db: &mut dyn Sql,
    inbound: &Inbound,
    now: i64,
    window: Duration,
) -> Result<Ingested, StoreError> {
    ingest_if(db, inbound, now, window, true)?
        .ok_or_else(|| StoreError::Type("a conversation start was refused".into()))
}

/// [`ingest`], unless the message would start a conversation (a new contact's first, or one
/// after the threading window or a wrap-up) and `may_start` is false: then nothing is written
/// and the answer is `None`, so a caller can ask its limits before starting one.
pub fn ingest_if(
    db: &mut dyn Sql,
    inbound: &Inbound,
    now: i64,
    window: Duration,
    may_start: bool,
) -> Result<Option<Ingested>, StoreError> {
    let cached = cache(db).and_then(|cache| cache.get(&inbound.channel, &inbound.external_id));
    let (latest, cached_seq) = match cached {
        Some((c, seq)) => (Some(c), Some(seq)),
        None => (
            latest_for_identity(db, &inbound.channel, &inbound.external_id)?,
            None,
        ),
    };
    let facts = latest.as_ref().map(|c| Latest {
        last_customer_at_ms: c.last_customer_at,
        closed: c.state == ConversationState::Closed,
    });
    let threading = threading::thread(facts, now, window);
    if threading != Threading::Continue && !may_start {
        return Ok(None);
    }
    // An identity's contact never changes (identities are only ever inserted) and its
    // conversations carry it, so only an identity without a conversation needs the lookup.
    let contact_id = match &latest {
        Some(c) => c.contact_id.clone(),
        None => contact_for(
            db,
            &inbound.channel,
            &inbound.external_id,
            &inbound.display_name,
            now,
        )?,
    };
    let (mut conversation, started, seq) = match (threading, latest) {
        (Threading::Continue, Some(c)) => {
            let seq = match cached_seq {
                Some(seq) => seq,
                None => next_seq(db, "msg_messages", &c.id)?,
            };
            (c, false, seq)
        }
        _ => {
            let state = if inbound.has_bot {
                ConversationState::Bot
            } else {
                ConversationState::Waiting
            };
            let c = Conversation {
                id: random_hex(12),
                contact_id,
                channel: inbound.channel.clone(),
                external_id: inbound.external_id.clone(),
                state,
                agent_id: None,
                created_at: now,
                last_customer_at: now,
                last_message_at: now,
                agent_read_seq: 0,
                customer_read_seq: 0,
            };
            db.execute(
                "INSERT INTO msg_conversations (id, contact_id, channel, external_id, state,
                    created_at, last_customer_at, last_message_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $6)",
                &[
                    (&c.id).into(),
                    (&c.contact_id).into(),
                    (&c.channel).into(),
                    (&c.external_id).into(),
                    state.as_str().into(),
                    now.into(),
                ],
            )?;
            event(db, &c.id, "created", &serde_json::json!({}), now)?;
            (c, true, 1)
        }
    };
    let message = insert_message(
        db,
        &conversation.id,
        seq,
        Author::Customer,
        None,
        &inbound.text,
        &inbound.attachments,
        Structured {
            quick_replies: &[],
            rich: None,
            postback: inbound.postback.as_ref(),
        },
        now,
    )?;
    db.execute(
        "UPDATE msg_conversations SET last_customer_at = $2, last_message_at = $2 WHERE id = $1",
        &[(&conversation.id).into(), now.into()],
    )?;
    conversation.last_customer_at = now;
    conversation.last_message_at = now;
    if let Some(cache) = cache(db) {
        cache.put(&conversation, message.seq + 1);
    }
    Ok(Some(Ingested {
        message,
        conversation,
        started,
    }))
}

/// A new message's id: 24 hex digits, the first 12 the time in ms and the rest random. Ids
/// that grow with time land at the end of the messages' primary-key index, so a batch of
/// messages from many conversations dirties one or two index pages instead of one random page
/// each (fewer WAL frames to write, fsync and checkpoint per message).
fn message_id(now_ms: i64) -> String {
    let time = u64::try_from(now_ms).unwrap_or(0) & 0xffff_ffff_ffff;
    format!("{time:012x}{}", random_hex(6))
}

/// What a message carries beyond its text and attachments.
struct Structured<'a> {
    quick_replies: &'a [String],
    rich: Option<&'a Rich>,
    postback: Option<&'a Postback>,
}

/// A nullable JSON column's value.
fn opt_json<T: serde::Serialize>(v: Option<&T>) -> Result<Option<String>, StoreError> {
    v.map(to_json).transpose()
}

#[allow(clippy::too_many_arguments)]
fn insert_message(
    db: &mut dyn Sql,
    conversation_id: &str,
    seq: i64,
    author: Author,
    author_id: Option<String>,
    text: &str,
    attachments: &[Attachment],
    structured: Structured<'_>,
    now: i64,
) -> Result<Message, StoreError> {
    let m = Message {
        id: message_id(now),
        conversation_id: conversation_id.to_owned(),
        seq,
        author,
        author_id,
        text: text.to_owned(),
        attachments: attachments.to_vec(),
        quick_replies: structured.quick_replies.to_vec(),
        rich: structured.rich.cloned(),
        postback: structured.postback.cloned(),
        delivery: Delivery::Sent,
        created_at: now,
    };
    db.execute(
        "INSERT INTO msg_messages (id, conversation_id, seq, author, author_id, text,
            attachments, quick_replies, delivery, created_at, rich, postback)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            (&m.id).into(),
            (&m.conversation_id).into(),
            m.seq.into(),
            author.as_str().into(),
            m.author_id.clone().into(),
            (&m.text).into(),
            to_json(&m.attachments)?.into(),
            to_json(&m.quick_replies)?.into(),
            m.delivery.as_str().into(),
            now.into(),
            opt_json(m.rich.as_ref())?.into(),
            opt_json(m.postback.as_ref())?.into(),
        ],
    )?;
    Ok(m)
}

/// Stores an agent, bot or system message, and in the same transaction the outbox entry
/// `outbox` builds for it (if any), so a stored reply is never lost on its way out.
pub fn send(
    db: &mut dyn Sql,
    out: &Outgoing,
    now: i64,
    outbox: &(dyn Fn(&Message, &Conversation) -> Option<OutboxItem> + Sync),
) -> Result<(Message, Conversation), StoreError> {
    let conv = conversation_by_id(db, &out.conversation_id)?
        .ok_or_else(|| StoreError::Type("no such conversation".into()))?;
    forget(db, &conv.id);
    let seq = next_seq(db, "msg_messages", &conv.id)?;
    let m = insert_message(
        db,
        &conv.id,
        seq,
        out.author,
        out.author_id.clone(),
        &out.text,
        &out.attachments,
        Structured {
            quick_replies: &out.quick_replies,
            rich: out.rich.as_ref(),
            postback: None,
        },
        now,
    )?;
    db.execute(
        "UPDATE msg_conversations SET last_message_at = $2 WHERE id = $1",
        &[(&conv.id).into(), now.into()],
    )?;
    if let Some(item) = outbox(&m, &conv) {
        db.execute(
            "INSERT INTO msg_outbox (delivery_id, integration, message_id, body, attempts,
                next_at, created_at) VALUES ($1, $2, $3, $4, 0, $5, $5)",
            &[
                item.delivery_id.into(),
                item.integration.into(),
                item.message_id.into(),
                item.body.into(),
                now.into(),
            ],
        )?;
    }
    Ok((m, conv))
}

/// Appends a line to the conversation's timeline.
pub fn event(
    db: &mut dyn Sql,
    conversation_id: &str,
    kind: &str,
    detail: &serde_json::Value,
    now: i64,
) -> Result<Event, StoreError> {
    let seq = next_seq(db, "msg_events", conversation_id)?;
    db.execute(
        "INSERT INTO msg_events (conversation_id, seq, kind, detail, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            conversation_id.into(),
            seq.into(),
            kind.into(),
            to_json(detail)?.into(),
            now.into(),
        ],
    )?;
    Ok(Event {
        conversation_id: conversation_id.to_owned(),
        seq,
        kind: kind.to_owned(),
        detail: detail.clone(),
        created_at: now,
    })
}

/// Moves a conversation to `state`, owned by `agent_id` (or nobody).
pub fn set_state(
    db: &mut dyn Sql,
    conversation_id: &str,
    state: ConversationState,
    agent_id: Option<&str>,
) -> Result<bool, StoreError> {
    forget(db, conversation_id);
    Ok(db.execute(
        "UPDATE msg_conversations SET state = $2, agent_id = $3 WHERE id = $1",
        &[
            conversation_id.into(),
            state.as_str().into(),
            agent_id.map(str::to_owned).into(),
        ],
    )? == 1)
}

/// Raises the side's read mark to `seq` (never lowers it), and marks the other side's
/// messages up to it as read.
pub fn mark_read(
    db: &mut dyn Sql,
    conversation_id: &str,
    reader: Author,
    seq: i64,
) -> Result<(), StoreError> {
    let (column, writers) = match reader {
        Author::Customer => ("customer_read_seq", "author <> 'customer'"),
        _ => ("agent_read_seq", "author = 'customer'"),
    };
    forget(db, conversation_id);
    db.execute(
        &format!("UPDATE msg_conversations SET {column} = $2 WHERE id = $1 AND {column} < $2"),
        &[conversation_id.into(), seq.into()],
    )?;
    db.execute(
        &format!(
            "UPDATE msg_messages SET delivery = 'read'
             WHERE conversation_id = $1 AND seq <= $2 AND {writers} AND delivery <> 'read'"
        ),
        &[conversation_id.into(), seq.into()],
    )?;
    Ok(())
}

/// Records a receipt; a message never goes back from `read` to `delivered`.
pub fn set_delivery(db: &mut dyn Sql, message_id: &str, to: Delivery) -> Result<bool, StoreError> {
    let guard = match to {
        Delivery::Read => "delivery <> 'read'",
        _ => "delivery NOT IN ('read', 'delivered')",
    };
    Ok(db.execute(
        &format!("UPDATE msg_messages SET delivery = $2 WHERE id = $1 AND {guard}"),
        &[message_id.into(), to.as_str().into()],
    )? == 1)
}

pub fn message_by_id(db: &mut dyn Sql, id: &str) -> Result<Option<Message>, StoreError> {
    let sql = format!("SELECT {MESSAGE} FROM msg_messages WHERE id = $1");
    db.query(&sql, &[id.into()])?
        .first()
        .map(message)
        .transpose()
}

pub fn messages(db: &mut dyn Sql, conversation_id: &str) -> Result<Vec<Message>, StoreError> {
    let sql = format!("SELECT {MESSAGE} FROM msg_messages WHERE conversation_id = $1 ORDER BY seq");
    db.query(&sql, &[conversation_id.into()])?
        .iter()
        .map(message)
        .collect()
}

pub fn events(db: &mut dyn Sql, conversation_id: &str) -> Result<Vec<Event>, StoreError> {
    let rows = db.query(
        "SELECT conversation_id, seq, kind, detail, created_at FROM msg_events
         WHERE conversation_id = $1 ORDER BY seq",
        &[conversation_id.into()],
    )?;
    rows.iter()
        .map(|r| {
            Ok(Event {
                conversation_id: r.text(0)?,
                seq: r.int(1)?,
                kind: r.text(2)?,
                detail: json(&r.text(3)?)?,
                created_at: r.int(4)?,
            })
        })
        .collect()
}

/// Every conversation an agent holds (assigned or parked), for routing to take back up after
/// a restart.
pub fn held(db: &mut dyn Sql) -> Result<Vec<Conversation>, StoreError> {
    let sql = format!(
        "SELECT {CONVERSATION} FROM msg_conversations
         WHERE state IN ('assigned', 'parked') AND agent_id IS NOT NULL"
    );
    db.query(&sql, &[])?.iter().map(conversation).collect()
}

/// An inbox: the agent's open conversations, or (with `None`) the ones waiting for an agent.
/// Which conversations an inbox lists.
#[derive(Debug, Clone, Copy)]
pub enum InboxScope<'a> {
    /// The agent's own open (assigned or parked) conversations.
    Mine(&'a str),
    /// The ones no agent has yet.
    Waiting,
    /// Every open conversation, whoever holds it (a supervisor's view).
    Open,
}

/// An inbox: at most 500 conversations, the latest message first, with unread counts.
pub fn inbox(db: &mut dyn Sql, scope: InboxScope<'_>) -> Result<Vec<Summary>, StoreError> {
    let cols = CONVERSATION
        .split(", ")
        .map(|c| format!("c.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let (filter, agent_id) = match scope {
        InboxScope::Mine(agent) => (
            "c.agent_id = $1 AND c.state IN ('assigned', 'parked')",
            agent,
        ),
        InboxScope::Waiting => ("c.state = 'waiting' AND $1 = ''", ""),
        InboxScope::Open => (
            "c.state IN ('waiting', 'assigned', 'parked') AND $1 = ''",
            "",
        ),
    };
    let sql = format!(
        "SELECT {cols}, k.display_name,
            (SELECT COUNT(*) FROM msg_messages m WHERE m.conversation_id = c.id
                AND m.author = 'customer' AND m.seq > c.agent_read_seq),
            COALESCE((SELECT m.text FROM msg_messages m WHERE m.conversation_id = c.id
                ORDER BY m.seq DESC LIMIT 1), '')
         FROM msg_conversations c JOIN msg_contacts k ON k.id = c.contact_id
         WHERE {filter} ORDER BY c.last_message_at DESC LIMIT 500"
    );
    let rows = db.query(&sql, &[agent_id.into()])?;
    rows.iter()
        .map(|r| {
            Ok(Summary {
                conversation: conversation(r)?,
                contact_name: r.text(11)?,
                unread: r.int(12)?,
                last_text: r.text(13)?,
            })
        })
        .collect()
}
