//! What the co-browse frame path counts for operators: frames relayed, peers dropped and observers' refused frames. One
//! set per relay, made by the composition root and shared by every session; `/metrics` reads
//! it. Plain atomics, so counting costs the hot path one relaxed add.

use std::sync::atomic::AtomicU64;

/// Counters bumped by sessions as frames pass.
#[derive(Debug, Default)]
pub struct FrameCounters {
    /// Frames the relay forwarded between peers.
    pub frames_total: AtomicU64,
    /// Peers dropped (slow consumers, protocol violations).
    pub drops_total: AtomicU64,
    /// Frames observers sent that were refused (an observer never controls).
    pub observer_refusals_total: AtomicU64,
}
