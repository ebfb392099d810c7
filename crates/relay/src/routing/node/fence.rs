//! Fencing the routing lease: what keeps an owner that lost its lease without knowing it (a
//! process paused past its lease, a network that held its renewals back) from being heard
//! beside the new owner.
//!
//! - [`Validity`]: until when this node's last renewal may be relied on, by its own monotonic
//!   clock. What carries the engine's output (desks, assignments, the board, riders) and what
//!   hands it commands asks it first: past it, nothing more leaves the old engine, and the node
//!   steps down. A paused process sees the time it was stopped when it wakes, so it never
//!   speaks after its lease on a stale clock.
//! - [`Fence`]: the epoch every owner stamps on its news (the lease's count of owners so far),
//!   and the highest one a node has heard. News of an older epoch than that is dropped: once
//!   any node heard the new owner, the old one's desks and board no longer reach it.
//!
//! Both are pure (no I/O), shared between the node's task and the tasks carrying its output.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use tokio::time::Instant;

/// Until when the lease renewed last may be relied on.
#[derive(Debug)]
pub(super) struct Validity {
    /// When `until_us` counts from.
    base: Instant,
    /// Microseconds after `base`; `u64::MAX`: for ever (a node alone).
    until_us: AtomicU64,
}

impl Validity {
    /// A validity that has already ended: nothing is relied on before the first renewal.
    pub(super) fn ended() -> Validity {
        Validity {
            base: Instant::now(),
            until_us: AtomicU64::new(0),
        }
    }

    /// A node alone: it owns routing without a lease.
    pub(super) fn forever() -> Validity {
        Validity {
            base: Instant::now(),
            until_us: AtomicU64::new(u64::MAX),
        }
    }

    /// The lease may be relied on until `until`.
    pub(super) fn set(&self, until: Instant) {
        let us = until.saturating_duration_since(self.base).as_micros();
        self.until_us
            .store(u64::try_from(us).unwrap_or(u64::MAX - 1), Ordering::Release);
    }

    /// It ends now (the node steps down).
    pub(super) fn end(&self) {
        self.until_us.store(0, Ordering::Release);
    }

    /// Whether the lease may still be relied on at `now`.
    pub(super) fn holds_at(&self, now: Instant) -> bool {
        let until = self.until_us.load(Ordering::Acquire);
        if until == u64::MAX {
            return true;
        }
        let at = now.saturating_duration_since(self.base).as_micros();
        u64::try_from(at).unwrap_or(u64::MAX) < until
    }

    /// Whether the lease may still be relied on now.
    pub(super) fn holds(&self) -> bool {
        self.holds_at(Instant::now())
    }
}

/// The highest owner's epoch this node has heard or held.
#[derive(Debug, Default)]
pub(super) struct Fence {
    highest: AtomicI64,
}

impl Fence {
    /// Whether news stamped `epoch` comes from the current owner as far as this node knows
    /// (no older than any epoch heard so far); a newer epoch becomes the mark.
    pub(super) fn admit(&self, epoch: i64) -> bool {
        let before = self.highest.fetch_max(epoch, Ordering::AcqRel);
        epoch >= before
    }

    /// The highest epoch heard or held.
    pub(super) fn highest(&self) -> i64 {
        self.highest.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn news_of_an_older_owner_than_one_heard_is_refused() {
        let fence = Fence::default();
        assert!(fence.admit(1), "the first owner");
        assert!(fence.admit(1), "it goes on");
        assert!(fence.admit(3), "a newer owner");
        assert!(!fence.admit(2), "one that lost the lease before it");
        assert!(!fence.admit(1), "and the first");
        assert!(fence.admit(3), "the current one still");
        assert_eq!(fence.highest(), 3);
    }

    #[test]
    fn a_renewal_is_relied_on_until_its_end_only() {
        let validity = Validity::ended();
        let start = Instant::now();
        assert!(!validity.holds_at(start), "nothing before a renewal");
        validity.set(start + Duration::from_secs(2));
        assert!(validity.holds_at(start + Duration::from_millis(1999)));
        assert!(
            !validity.holds_at(start + Duration::from_secs(2)),
            "a process woken after its lease no longer relies on it"
        );
        assert!(!validity.holds_at(start + Duration::from_secs(3600)));
        validity.set(start + Duration::from_secs(5));
        assert!(validity.holds_at(start + Duration::from_secs(3)), "renewed");
        validity.end();
        assert!(!validity.holds_at(start), "stepped down");
        assert!(Validity::forever().holds_at(start + Duration::from_secs(86_400 * 365)));
    }
}
