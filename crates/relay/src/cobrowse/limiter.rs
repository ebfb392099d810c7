//! The security-key guessing limiter: token buckets of failed guesses, one per client address
//! and one for everyone. Pure: the caller passes the time.
//!
//! Only failed guesses are charged, so customers who type their key right never use the
//! budget; but every attempt needs a token in both buckets, so once the budget is spent even a
//! right key is refused until the buckets refill. The global bucket is what gives the bound in
//! ARCHITECTURE.md; the per-address one keeps a single client from spending it all.

use std::{
    collections::HashMap,
    net::IpAddr,
    time::{Duration, Instant},
};

pub use crate::config::GuessBudget;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(budget: GuessBudget, now: Instant) -> Self {
        Self {
            tokens: f64::from(budget.burst),
            updated: now,
        }
    }

    fn refill(&mut self, budget: GuessBudget, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens =
            (self.tokens + elapsed * budget.per_minute / 60.0).min(f64::from(budget.burst));
        self.updated = now;
    }
}

/// Who ran out of budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("too many wrong keys from this address; wait a minute")]
    Address,
    #[error("too many wrong keys overall; wait a minute")]
    Global,
}

/// Addresses tracked at most; past this, full buckets are forgotten first.
const MAX_TRACKED_ADDRESSES: usize = 100_000;

/// The limiter state.
#[derive(Debug)]
pub struct GuessLimiter {
    /// Budget of each client address.
    per_address: GuessBudget,
    /// Budget of everyone together.
    global_budget: GuessBudget,
    /// The global bucket.
    global: Bucket,
    /// One bucket per recently seen address (IPv6 by /64, since one host owns a whole /64).
    addresses: HashMap<IpAddr, Bucket>,
}

fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
    }
}

impl GuessLimiter {
    pub fn new(per_address: GuessBudget, global: GuessBudget, now: Instant) -> Self {
        Self {
            per_address,
            global_budget: global,
            global: Bucket::full(global, now),
            addresses: HashMap::new(),
        }
    }

    /// May `ip` try a key now? Charges nothing.
    pub fn check(&mut self, ip: IpAddr, now: Instant) -> Result<(), Refused> {
        self.global.refill(self.global_budget, now);
        if let Some(bucket) = self.addresses.get_mut(&bucket_key(ip)) {
            bucket.refill(self.per_address, now);
            if bucket.tokens < 1.0 {
                return Err(Refused::Address);
            }
        }
        if self.global.tokens < 1.0 {
            return Err(Refused::Global);
        }
        Ok(())
    }

    /// Charges one failed guess to `ip` and to everyone.
    pub fn charge_failure(&mut self, ip: IpAddr, now: Instant) {
        self.global.refill(self.global_budget, now);
        self.global.tokens = (self.global.tokens - 1.0).max(0.0);
        if self.addresses.len() >= MAX_TRACKED_ADDRESSES {
            self.forget_full_buckets(now);
        }
        let budget = self.per_address;
        let bucket = self
            .addresses
            .entry(bucket_key(ip))
            .or_insert_with(|| Bucket::full(budget, now));
        bucket.refill(budget, now);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }

    fn forget_full_buckets(&mut self, now: Instant) {
        let budget = self.per_address;
        self.addresses.retain(|_, bucket| {
            bucket.refill(budget, now);
            bucket.tokens < f64::from(budget.burst)
        });
    }

    /// Time until a bucket regains one guess, for the error message.
    pub fn retry_after(&self) -> Duration {
        Duration::from_secs_f64(60.0 / self.per_address.per_minute.max(1e-3))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDRESS: GuessBudget = GuessBudget {
        burst: 3,
        per_minute: 1.0,
    };
    const GLOBAL: GuessBudget = GuessBudget {
        burst: 5,
        per_minute: 6.0,
    };

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn limiter_refuses_an_address_past_its_budget_and_refills_with_time() {
        let t0 = Instant::now();
        let mut limiter = GuessLimiter::new(ADDRESS, GLOBAL, t0);
        for _ in 0..3 {
            assert_eq!(limiter.check(ip(1), t0), Ok(()));
            limiter.charge_failure(ip(1), t0);
        }
        assert_eq!(limiter.check(ip(1), t0), Err(Refused::Address));
        assert_eq!(limiter.check(ip(2), t0), Ok(()));
        assert_eq!(
            limiter.check(ip(1), t0 + Duration::from_secs(61)),
            Ok(()),
            "one guess back after a minute"
        );
    }

    #[test]
    fn limiter_refuses_everyone_past_the_global_budget() {
        let t0 = Instant::now();
        let mut limiter = GuessLimiter::new(ADDRESS, GLOBAL, t0);
        for i in 0..5 {
            assert_eq!(limiter.check(ip(i), t0), Ok(()));
            limiter.charge_failure(ip(i), t0);
        }
        assert_eq!(limiter.check(ip(100), t0), Err(Refused::Global));
        assert_eq!(limiter.check(ip(100), t0 + Duration::from_secs(10)), Ok(()));
    }

    #[test]
    fn ipv6_addresses_share_a_bucket_per_slash_64() {
        let t0 = Instant::now();
        let mut limiter = GuessLimiter::new(ADDRESS, GLOBAL, t0);
        for last in 1..=3u16 {
            let addr = IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, last]);
            limiter.charge_failure(addr, t0);
        }
        let other = IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 99]);
        assert_eq!(limiter.check(other, t0), Err(Refused::Address));
    }
}
