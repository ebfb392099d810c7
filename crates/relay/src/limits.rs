//! Rate limits for what anyone on the internet may ask without signing in (and for sign-in
//! attempts): one budget per client key (an address or a network, see [`crate::clients`]) and
//! one for everyone together, on governor's GCRA. A refused request is a 429 with
//! `Retry-After`, and refusing costs no budget.
//!
//! Memory is bounded: the per-key table forgets keys whose budget has refilled, and when it
//! still holds [`RateLimit::max_keys`] keys a new key is refused as if the global budget were
//! spent, so a flood from millions of addresses costs a bounded table, not the relay's memory.

use std::{net::IpAddr, num::NonZeroU32, time::Duration};

use governor::{
    clock::{Clock, DefaultClock},
    DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota,
};

use crate::{config::RateBudget, error::ApiError};

/// One limited action: a budget per key and one for everyone.
pub struct RateLimit {
    /// What is limited, for the refusal's text ("guest sign-ups").
    what: &'static str,
    per_key: DefaultKeyedRateLimiter<IpAddr>,
    global: DefaultDirectRateLimiter,
    /// Keys tracked at most (see the module doc).
    max_keys: usize,
    clock: DefaultClock,
}

fn quota(budget: RateBudget) -> Quota {
    let burst = NonZeroU32::new(budget.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    let per_minute = budget.per_minute.max(1);
    let period = Duration::from_secs(60) / per_minute;
    Quota::with_period(period.max(Duration::from_micros(1)))
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl RateLimit {
    pub fn new(what: &'static str, per_key: RateBudget, global: RateBudget) -> RateLimit {
        RateLimit {
            what,
            per_key: DefaultKeyedRateLimiter::keyed(quota(per_key)),
            global: DefaultDirectRateLimiter::direct(quota(global)),
            max_keys: 100_000,
            clock: DefaultClock::default(),
        }
    }

    /// The same with another bound on tracked keys.
    pub fn with_max_keys(mut self, max_keys: usize) -> RateLimit {
        self.max_keys = max_keys.max(1);
        self
    }

    /// Takes one unit of `key`'s budget and one of everyone's, or refuses with a 429 saying
    /// when to try again.
    pub fn check(&self, key: IpAddr) -> Result<(), ApiError> {
        if self.per_key.len() >= self.max_keys {
            self.per_key.retain_recent();
            if self.per_key.len() >= self.max_keys {
                return Err(self.refused("too many clients", Duration::from_secs(1)));
            }
        }
        if let Err(not_until) = self.per_key.check_key(&key) {
            let wait = not_until.wait_time_from(self.clock.now());
            return Err(self.refused("too many from this address", wait));
        }
        if let Err(not_until) = self.global.check() {
            let wait = not_until.wait_time_from(self.clock.now());
            return Err(self.refused("too many right now", wait));
        }
        Ok(())
    }

    fn refused(&self, why: &str, wait: Duration) -> ApiError {
        ApiError::rate_limited(format!("{}: {why}; try again later", self.what), wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn budget(burst: u32, per_minute: u32) -> RateBudget {
        RateBudget { burst, per_minute }
    }

    #[test]
    fn one_address_spends_its_own_budget_and_others_keep_theirs() {
        let limit = RateLimit::new("tests", budget(3, 1), budget(100, 60));
        for _ in 0..3 {
            limit.check(ip("198.51.100.1")).unwrap();
        }
        let refused = limit.check(ip("198.51.100.1")).unwrap_err();
        assert!(matches!(
            refused,
            ApiError::RateLimited { retry_after_secs, .. } if (1..=60).contains(&retry_after_secs)
        ));
        limit.check(ip("198.51.100.2")).unwrap();
    }

    #[test]
    fn many_addresses_together_are_held_by_the_global_budget() {
        let limit = RateLimit::new("tests", budget(5, 1), budget(10, 1));
        let passed = (0..50)
            .filter(|i| limit.check(ip(&format!("203.0.113.{i}"))).is_ok())
            .count();
        assert_eq!(passed, 10);
    }

    #[test]
    fn the_key_table_is_bounded_and_a_new_key_past_it_is_refused() {
        let limit = RateLimit::new("tests", budget(1, 1), budget(1_000, 1_000)).with_max_keys(8);
        for i in 0..8 {
            limit.check(ip(&format!("192.0.2.{i}"))).unwrap();
        }
        // Their budgets are spent, so nothing can be forgotten: the ninth is refused.
        assert!(limit.check(ip("192.0.2.200")).is_err());
    }
}
