//! Service level "now", for the wallboard: the share of interactions answered within
//! [`THRESHOLD_MS`] of arriving, over those whose wait ended (answered or abandoned) in the
//! last [`WINDOW_MS`], counted per queue in one-minute buckets so the memory is fixed however
//! busy the queue is (the window is therefore the last 14 to 15 whole minutes). The same rule
//! as historical reporting (`engine::metrics`: in target over answered plus abandoned), over a
//! rolling window instead of a chosen interval. Queues have no threshold of their own yet, so
//! every queue uses the 20 s of the common 80/20 target.

use crate::routing::engine::Millis;

/// Answered within this long of arriving counts as in target.
pub const THRESHOLD_MS: u64 = 20_000;
/// How far back service level now looks.
pub const WINDOW_MS: u64 = 15 * MINUTE_MS;
const MINUTE_MS: u64 = 60_000;
const BUCKETS: usize = 15;

/// One queue's counts over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceLevelWindow {
    /// Per bucket: the minute it counts (ms / 60,000), in target, waits ended.
    buckets: [(u64, u32, u32); BUCKETS],
}

impl ServiceLevelWindow {
    /// Counts one wait that ended at `now`: answered within the threshold or not (an abandon
    /// is not).
    pub fn add(&mut self, now: Millis, in_target: bool) {
        let minute = now.0 / MINUTE_MS;
        let slot = usize::try_from(minute % BUCKETS as u64).unwrap_or(0);
        if let Some(bucket) = self.buckets.get_mut(slot) {
            if bucket.0 != minute {
                *bucket = (minute, 0, 0);
            }
            bucket.1 = bucket.1.saturating_add(u32::from(in_target));
            bucket.2 = bucket.2.saturating_add(1);
        }
    }

    /// (in target, waits ended) over the window ending at `now`.
    pub fn counts(&self, now: Millis) -> (u64, u64) {
        let minute = now.0 / MINUTE_MS;
        let oldest = minute.saturating_sub(BUCKETS as u64 - 1);
        self.buckets
            .iter()
            .filter(|(m, _, ended)| *ended > 0 && (oldest..=minute).contains(m))
            .fold((0, 0), |(t, n), (_, in_target, ended)| {
                (t + u64::from(*in_target), n + u64::from(*ended))
            })
    }

    /// In target over waits ended (0.0 to 1.0), `None` with nothing to count.
    pub fn ratio(&self, now: Millis) -> Option<f64> {
        let (in_target, ended) = self.counts(now);
        (ended > 0).then(|| in_target as f64 / ended as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_ended_in_the_last_fifteen_minutes_and_forgets_older_waits() {
        let mut w = ServiceLevelWindow::default();
        let start = Millis(1_000 * MINUTE_MS);
        assert_eq!(w.ratio(start), None);
        w.add(start, true);
        w.add(start, true);
        w.add(start, false);
        w.add(start.after(5 * MINUTE_MS), false);
        assert_eq!(w.counts(start.after(5 * MINUTE_MS)), (2, 4));
        assert_eq!(w.ratio(start.after(14 * MINUTE_MS)), Some(0.5));
        // Fifteen minutes on, the first minute's waits have left the window.
        assert_eq!(w.counts(start.after(15 * MINUTE_MS)), (0, 1));
        // A bucket reused a lap later starts from zero.
        w.add(start.after(15 * MINUTE_MS), true);
        assert_eq!(w.counts(start.after(15 * MINUTE_MS)), (1, 2));
        assert_eq!(w.counts(start.after(40 * MINUTE_MS)), (0, 0));
    }
}
