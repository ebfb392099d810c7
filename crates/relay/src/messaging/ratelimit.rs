//! The per-guest token bucket, a pure core: `rate` tokens a second, at most `burst` saved up.

use std::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn full(burst: u32, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(burst),
            at: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, rate_per_sec: f64, burst: u32, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate_per_sec).min(f64::from(burst));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_passes_then_two_per_second() {
        let t0 = Instant::now();
        let mut b = Bucket::full(4, t0);
        let passed = (0..10).filter(|_| b.take(2.0, 4, t0)).count();
        assert_eq!(passed, 4);
        assert!(!b.take(2.0, 4, t0 + Duration::from_millis(450)));
        assert!(b.take(2.0, 4, t0 + Duration::from_millis(550)));
        assert!(!b.take(2.0, 4, t0 + Duration::from_millis(600)));
        assert!(b.take(2.0, 4, t0 + Duration::from_millis(1100)));
    }

    #[test]
    fn idle_time_refills_only_up_to_the_burst() {
        let t0 = Instant::now();
        let mut b = Bucket::full(4, t0);
        let later = t0 + Duration::from_secs(3600);
        let passed = (0..10).filter(|_| b.take(2.0, 4, later)).count();
        assert_eq!(passed, 4);
    }
}
