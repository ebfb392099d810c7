//! Voice and video calls placed from a conversation: how long one rings, the bounds of its
//! signalling, and the ICE servers browsers are told to use (STUN, and TURN with time-limited
//! credentials in the scheme coturn's `use-auth-secret` checks).

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct CallConfig {
    /// How long an offered call rings before it ends unanswered.
    pub ring: Duration,
    /// `stun:` URLs given to both sides.
    pub stun: Vec<String>,
    /// `turn:` / `turns:` URLs given to both sides, with credentials made from `turn_secret`.
    pub turn: Vec<String>,
    /// The secret shared with coturn (`static-auth-secret`); without it no TURN is offered.
    pub turn_secret: Option<String>,
    /// How long a TURN credential is valid.
    pub turn_ttl: Duration,
    /// One session description at most (a browser's offer with audio, video and a screen is
    /// 6 to 15 KB).
    pub max_sdp_bytes: usize,
    /// One ICE candidate line at most.
    pub max_candidate_bytes: usize,
    /// Signalling messages one side may send during one call (descriptions, candidates,
    /// media states): a browser sends a few dozen.
    pub max_signals_per_side: u32,
    /// After a call in a conversation ends, the next may start only this much later, so a
    /// hostile or stuck console cannot ring a customer (and write the timeline) in a loop.
    pub redial_after: Duration,
}

impl Default for CallConfig {
    fn default() -> Self {
        Self {
            ring: Duration::from_secs(30),
            stun: Vec::new(),
            turn: Vec::new(),
            turn_secret: None,
            turn_ttl: Duration::from_secs(3600),
            max_sdp_bytes: 32 << 10,
            max_candidate_bytes: 1024,
            max_signals_per_side: 256,
            redial_after: Duration::from_secs(2),
        }
    }
}
