//! Messaging's bounds and timings, part of the relay's [`super::Config`]: among them what an
//! anonymous guest may cost the relay (sign-ups, conversations, attachments on disk) and how
//! long what nobody used is kept before it is collected.

use std::{path::PathBuf, time::Duration};

use super::{budget::RateBudget, calls::CallConfig};

/// How long after a contact's last message a new one still continues the same conversation.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(72 * 3600);

#[derive(Debug, Clone)]
pub struct MessagingConfig {
    /// Where conversations live: `None` is the relay's own store; a `postgres://` URL selects
    /// PostgreSQL for messaging's tables (the rest stays in the relay's store).
    pub database_url: Option<String>,
    /// Inactivity after which a customer message starts a new conversation (72 h at most).
    pub threading_window: Duration,
    /// Where uploaded attachments are kept; `None` is `attachments/` beside the database.
    pub attachments_dir: Option<PathBuf>,
    /// The largest attachment accepted.
    pub max_attachment_bytes: usize,
    /// Attachment types accepted.
    pub attachment_types: Vec<String>,
    /// Longest message text, in bytes.
    pub max_text_bytes: usize,
    /// Messages per second a guest may send, and the burst above it.
    pub guest_rate_per_sec: f64,
    pub guest_burst: u32,
    /// First outbox retry delay; doubles on each failure up to `outbox_max_delay`.
    pub outbox_base_delay: Duration,
    pub outbox_max_delay: Duration,
    /// Attempts before a delivery is given up and its message marked failed.
    pub outbox_max_attempts: i64,
    /// How long a bot webhook may take to answer before the conversation goes to an agent.
    pub bot_timeout: Duration,
    /// The routing queue conversations needing an agent arrive in (created if missing).
    pub routing_queue: String,
    /// Guest tokens one client address may mint (IPv6: one /64), and everyone together.
    pub guest_tokens_per_address: RateBudget,
    pub guest_tokens_global: RateBudget,
    /// Conversations guests of one client address may start, and everyone together: each is
    /// a contact, a conversation and a routing arrival that agents see.
    pub conversation_starts_per_address: RateBudget,
    pub conversation_starts_global: RateBudget,
    /// Guest upload bytes one client address may send, and everyone together, in MiB (a
    /// budget per minute with a burst): counted from `Content-Length` before the body is read.
    pub upload_mib_per_address: RateBudget,
    pub upload_mib_global: RateBudget,
    /// Disk one conversation's guest uploads may take, in bytes (each file counts whole
    /// 4 KiB blocks, its description one more).
    pub attachment_bytes_per_conversation: u64,
    /// Disk one guest's uploads may take, over all its conversations.
    pub attachment_bytes_per_guest: u64,
    /// Disk every attachment together may take; past it uploads are refused with 507.
    pub attachment_store_bytes: u64,
    /// How long an upload no message carries is kept before it is deleted.
    pub orphan_upload_grace: Duration,
    /// How long a conversation without a message (or a contact without a conversation) is
    /// kept before it is deleted.
    pub empty_conversation_grace: Duration,
    /// Voice and video calls placed from a conversation.
    pub calls: CallConfig,
}

impl Default for MessagingConfig {
    fn default() -> Self {
        Self {
            database_url: None,
            threading_window: DEFAULT_WINDOW,
            attachments_dir: None,
            max_attachment_bytes: 5 << 20,
            attachment_types: [
                "image/png",
                "image/jpeg",
                "image/gif",
                "image/webp",
                "application/pdf",
                "text/plain",
            ]
            .map(str::to_owned)
            .to_vec(),
            max_text_bytes: 8 << 10,
            guest_rate_per_sec: 2.0,
            guest_burst: 4,
            outbox_base_delay: Duration::from_millis(500),
            outbox_max_delay: Duration::from_secs(300),
            outbox_max_attempts: 12,
            bot_timeout: Duration::from_secs(5),
            routing_queue: "messaging".to_owned(),
            // A widget mints one token per browser and keeps it; an office behind one
            // address mints a few a minute.
            guest_tokens_per_address: RateBudget {
                burst: 20,
                per_minute: 20,
            },
            guest_tokens_global: RateBudget {
                burst: 600,
                per_minute: 3_000,
            },
            conversation_starts_per_address: RateBudget {
                burst: 10,
                per_minute: 10,
            },
            conversation_starts_global: RateBudget {
                burst: 200,
                per_minute: 1_200,
            },
            // A customer attaches a few photos; a botnet of guests cannot fill the disk fast.
            upload_mib_per_address: RateBudget {
                burst: 20,
                per_minute: 10,
            },
            upload_mib_global: RateBudget {
                burst: 200,
                per_minute: 100,
            },
            attachment_bytes_per_conversation: 25 << 20,
            attachment_bytes_per_guest: 50 << 20,
            attachment_store_bytes: 10 << 30,
            orphan_upload_grace: Duration::from_secs(3600),
            empty_conversation_grace: Duration::from_secs(600),
            calls: CallConfig::default(),
        }
    }
}

impl MessagingConfig {
    /// How often the collector looks for unused uploads and empty conversations: a quarter of
    /// the shorter grace, between one second and five minutes.
    pub fn sweep_every(&self) -> Duration {
        (self.orphan_upload_grace.min(self.empty_conversation_grace) / 4)
            .clamp(Duration::from_secs(1), Duration::from_secs(300))
    }

    /// The delay before retry number `attempts` (1 after the first failure).
    pub fn backoff(&self, attempts: i64) -> Duration {
        let shift = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        self.outbox_base_delay
            .saturating_mul(1u32 << shift)
            .min(self.outbox_max_delay)
    }
}
