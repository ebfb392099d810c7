//! Messaging's bounds and timings, part of the relay's [`super::Config`].

use std::{path::PathBuf, time::Duration};

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
        }
    }
}

impl MessagingConfig {
    /// The delay before retry number `attempts` (1 after the first failure).
    pub fn backoff(&self, attempts: i64) -> Duration {
        let shift = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        self.outbox_base_delay
            .saturating_mul(1u32 << shift)
            .min(self.outbox_max_delay)
    }
}
