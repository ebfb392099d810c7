//! The threading window, a pure rule: whether a customer message continues the contact's latest
//! conversation or starts a new one. No clock and no database here; the store asks.

use std::time::Duration;

/// The default window: 72 hours of inactivity end a conversation's thread.
pub use crate::config::messaging::DEFAULT_WINDOW;

/// What a customer message does to the contact's conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threading {
    /// Append to the latest conversation.
    Continue,
    /// Open a new conversation; the old ones stay in the contact's history.
    StartNew,
}

/// The latest conversation of a contact on one channel identity, as the rule needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latest {
    /// When the customer last wrote in it (ms since the epoch).
    pub last_customer_at_ms: i64,
    /// Whether it was wrapped up (closed by the agent side).
    pub closed: bool,
}

/// Decides threading for a customer message arriving at `now_ms`.
///
/// A message continues the latest conversation when that conversation is open and the customer
/// wrote in it less than `window` ago; at exactly `window` a new one starts. A clock that went
/// backwards counts as no time passed.
pub fn thread(latest: Option<Latest>, now_ms: i64, window: Duration) -> Threading {
    let Some(latest) = latest else {
        return Threading::StartNew;
    };
    if latest.closed {
        return Threading::StartNew;
    }
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let idle_ms = now_ms.saturating_sub(latest.last_customer_at_ms).max(0);
    if idle_ms < window_ms {
        Threading::Continue
    } else {
        Threading::StartNew
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: i64 = 3_600_000;

    fn open_at(ms: i64) -> Option<Latest> {
        Some(Latest {
            last_customer_at_ms: ms,
            closed: false,
        })
    }

    #[test]
    fn first_message_of_a_contact_starts_a_conversation() {
        assert_eq!(thread(None, 0, DEFAULT_WINDOW), Threading::StartNew);
    }

    #[test]
    fn message_within_72_hours_continues_the_conversation() {
        let now = 100 * HOUR_MS;
        assert_eq!(
            thread(open_at(now - 71 * HOUR_MS), now, DEFAULT_WINDOW),
            Threading::Continue
        );
    }

    #[test]
    fn message_after_72_hours_of_silence_starts_a_new_conversation() {
        let now = 100 * HOUR_MS;
        assert_eq!(
            thread(open_at(now - 72 * HOUR_MS), now, DEFAULT_WINDOW),
            Threading::StartNew
        );
    }

    #[test]
    fn a_lower_configured_window_applies() {
        let now = 100 * HOUR_MS;
        let window = Duration::from_secs(3600);
        assert_eq!(
            thread(open_at(now - HOUR_MS / 2), now, window),
            Threading::Continue
        );
        assert_eq!(
            thread(open_at(now - 2 * HOUR_MS), now, window),
            Threading::StartNew
        );
    }

    #[test]
    fn a_wrapped_up_conversation_is_never_continued() {
        let latest = Some(Latest {
            last_customer_at_ms: 0,
            closed: true,
        });
        assert_eq!(thread(latest, 1, DEFAULT_WINDOW), Threading::StartNew);
    }

    #[test]
    fn a_clock_that_went_backwards_continues() {
        assert_eq!(
            thread(open_at(10 * HOUR_MS), 0, DEFAULT_WINDOW),
            Threading::Continue
        );
    }
}
