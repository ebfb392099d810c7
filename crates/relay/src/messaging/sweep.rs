//! The collector: what guests left behind that nobody uses goes, once its grace is over.
//!
//! - Uploads that no message carries ([`super::quota::Ledger::due`]), older than
//!   `orphan_upload_grace`: their files are deleted and their disk given back to the quotas.
//!   One a message does carry is marked kept and not looked at again.
//! - Conversations that never received a message, and contacts left without a conversation,
//!   older than `empty_conversation_grace` (a first message makes both in one transaction, so
//!   these are what an interrupted or older relay left).
//!
//! It runs every [`crate::config::MessagingConfig::sweep_every`] until shutdown.

use std::{collections::HashMap, sync::Arc, time::Duration};

use tokio::sync::watch;

use super::{attachments, queries, quota::Entry, Messaging};
use crate::ids::now_ms;

/// Conversations (and contacts) looked at per round at most; more wait for the next round.
const ROUND: i64 = 1_000;

/// What one round collected.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Collected {
    pub uploads: usize,
    pub conversations: u64,
    pub contacts: u64,
}

/// The collector's place in time: conversations and contacts created before it were looked at.
#[derive(Debug, Default, Clone, Copy)]
pub struct Mark(i64);

/// Runs a round every `sweep_every` until shutdown.
pub async fn run(svc: Arc<Messaging>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(svc.config.sweep_every());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut mark = Mark::default();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            // An error means the sender is gone: the relay is stopping either way.
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let (collected, next) = round(&svc, mark).await;
        mark = next;
        if collected != Collected::default() {
            tracing::info!(?collected, "collected unused uploads and conversations");
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One round at `now_ms()`: answers what went and where the next round starts.
pub async fn round(svc: &Messaging, mark: Mark) -> (Collected, Mark) {
    let now = now_ms();
    let uploads = orphan_uploads(svc, now.saturating_sub(ms(svc.config.orphan_upload_grace))).await;
    let before = now.saturating_sub(ms(svc.config.empty_conversation_grace));
    let (conversations, contacts, next) = empty_conversations(svc, mark, before).await;
    let collected = Collected {
        uploads,
        conversations,
        contacts,
    };
    (collected, next)
}

/// Deletes the uploads of before `before` that no message of their contact carries.
async fn orphan_uploads(svc: &Messaging, before: i64) -> usize {
    let mut by_contact: HashMap<String, Vec<Entry>> = HashMap::new();
    for entry in svc.uploads.due(before) {
        by_contact
            .entry(entry.contact.clone())
            .or_default()
            .push(entry);
    }
    let mut deleted = 0;
    for (contact, entries) in by_contact {
        let sent = svc
            .store
            .read(move |db| queries::attachments_sent(db, &contact))
            .await;
        let sent = match sent {
            Ok(sent) => sent,
            Err(e) => {
                tracing::warn!(error = %e, "collector: reading sent attachments");
                continue;
            }
        };
        for entry in entries {
            if sent.contains(&entry.id) {
                attachments::keep(svc, &entry.id).await;
            } else {
                attachments::remove(svc, &entry).await;
                deleted += 1;
            }
        }
    }
    deleted
}

/// Deletes the conversations without a message and contacts without a conversation created
/// between `mark` and `before`.
async fn empty_conversations(svc: &Messaging, mark: Mark, before: i64) -> (u64, u64, Mark) {
    let since = mark.0;
    if before <= since {
        return (0, 0, mark);
    }
    let found = svc
        .store
        .read(move |db| {
            let conversations = queries::empty_conversations(db, since, before, ROUND)?;
            let contacts = queries::lone_contacts(db, since, before, ROUND)?;
            Ok((conversations, contacts))
        })
        .await;
    let (conversations, contacts) = match found {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "collector: finding empty conversations");
            return (0, 0, mark);
        }
    };
    // A full round may have left more: the same range again next time.
    let full = conversations.len() >= ROUND as usize || contacts.len() >= ROUND as usize;
    if conversations.is_empty() && contacts.is_empty() {
        return (0, 0, Mark(before));
    }
    let gone = svc
        .store
        .write(move |db| queries::collect_empty(db, &conversations, &contacts))
        .await;
    match gone {
        Ok((c, k)) => (c, k, if full { mark } else { Mark(before) }),
        Err(e) => {
            tracing::warn!(error = %e, "collector: deleting empty conversations");
            (0, 0, mark)
        }
    }
}
