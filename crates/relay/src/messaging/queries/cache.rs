//! The writer's memo of where customer messages go (see [`WriterCache`]).

use std::collections::HashMap;

use super::super::model::Conversation;
use crate::store::{Forget, Sql};

/// What the store's writer remembers of the conversations customer messages went to, so the
/// next message of the same identity needs neither the latest-conversation query nor the
/// next-seq query. Sound because that writer is the only one writing conversations and
/// messages: every query here that changes a conversation or adds a message to it forgets it
/// ([`WriterCache::forget`]), and the store's shell clears it all when a write or a batch
/// rolls back.
#[derive(Default)]
pub struct WriterCache {
    /// channel → external id → the identity's latest conversation.
    latest: HashMap<String, HashMap<String, String>>,
    /// Conversation id → the conversation as committed, and its next message seq.
    conversations: HashMap<String, (Conversation, i64)>,
}

/// Conversations a [`WriterCache`] holds at most; past that it starts over.
const WRITER_CACHE_MAX: usize = 65_536;

impl Forget for WriterCache {
    /// Forgets everything (after a rollback).
    fn forget_all(&mut self) {
        self.latest.clear();
        self.conversations.clear();
    }
}

impl WriterCache {
    /// Forgets one conversation (it changed in a way not remembered here).
    pub fn forget(&mut self, conversation_id: &str) {
        self.conversations.remove(conversation_id);
    }

    pub(super) fn get(&self, channel: &str, external_id: &str) -> Option<(Conversation, i64)> {
        let id = self.latest.get(channel)?.get(external_id)?;
        self.conversations.get(id).cloned()
    }

    pub(super) fn put(&mut self, conversation: &Conversation, next_seq: i64) {
        if self.conversations.len() >= WRITER_CACHE_MAX {
            self.forget_all();
        }
        self.latest
            .entry(conversation.channel.clone())
            .or_default()
            .insert(conversation.external_id.clone(), conversation.id.clone());
        self.conversations
            .insert(conversation.id.clone(), (conversation.clone(), next_seq));
    }
}

/// The writer's [`WriterCache`]; `None` on every other connection.
pub(super) fn cache(db: &mut dyn Sql) -> Option<&mut WriterCache> {
    db.memos().and_then(|m| m.get::<WriterCache>())
}

pub(super) fn forget(db: &mut dyn Sql, conversation_id: &str) {
    if let Some(cache) = cache(db) {
        cache.forget(conversation_id);
    }
}
