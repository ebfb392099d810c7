//! The security-key guessing limiter: token buckets of failed guesses, one per client address,
//! one per network (IPv4 /24, IPv6 /48) and one for everyone. Pure: the caller passes the
//! time.
//!
//! Only failed guesses are charged, so customers who type their key right never use the
//! budget. An attempt is judged (its key looked up) only while its address and its network
//! have budget left. While the global bucket has budget, that is all; once others have spent
//! it, an attempt is still judged when its network has failed at most once lately, so a
//! customer typing the right key (after a typo, even) is not refused because strangers
//! guessed wrong, while a network that keeps guessing is. That makes the number of judged
//! wrong guesses during one key's lifetime at most the global budget plus a few per guessing
//! network, the bound in ARCHITECTURE.md (`Config::key_guess_bound`).

use std::{
    collections::HashMap,
    net::IpAddr,
    time::{Duration, Instant},
};

use crate::clients::{address_key, network};

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
/// Who ran out of budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("too many wrong keys from this address; wait a minute")]
    Address,
    #[error("too many wrong keys from this network; wait a minute")]
    Network,
    #[error("too many wrong keys overall; wait a minute")]
    Global,
}

/// Addresses (and networks) tracked at most; past this, full buckets are forgotten first.
const MAX_TRACKED: usize = 100_000;

/// One table of buckets by key.
#[derive(Debug)]
struct Buckets {
    budget: GuessBudget,
    by_key: HashMap<IpAddr, Bucket>,
}

impl Buckets {
    fn new(budget: GuessBudget) -> Buckets {
        Buckets {
            budget,
            by_key: HashMap::new(),
        }
    }

    /// Tokens `key` has now (a key never seen has a full bucket).
    fn tokens(&mut self, key: IpAddr, now: Instant) -> f64 {
        let budget = self.budget;
        match self.by_key.get_mut(&key) {
            Some(bucket) => {
                bucket.refill(budget, now);
                bucket.tokens
            }
            None => f64::from(budget.burst),
        }
    }

    fn charge(&mut self, key: IpAddr, now: Instant) {
        let budget = self.budget;
        if self.by_key.len() >= MAX_TRACKED && !self.by_key.contains_key(&key) {
            self.by_key.retain(|_, bucket| {
                bucket.refill(budget, now);
                bucket.tokens < f64::from(budget.burst)
            });
        }
        let bucket = self
            .by_key
            .entry(key)
            .or_insert_with(|| Bucket::full(budget, now));
        bucket.refill(budget, now);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }
}

/// The limiter state.
#[derive(Debug)]
pub struct GuessLimiter {
    /// Budget of everyone together.
    global_budget: GuessBudget,
    /// The global bucket.
    global: Bucket,
    /// One bucket per recently seen address (IPv6 by /64, since one host owns a whole /64).
    addresses: Buckets,
    /// One bucket per recently seen network.
    networks: Buckets,
}

impl GuessLimiter {
    pub fn new(
        per_address: GuessBudget,
        per_network: GuessBudget,
        global: GuessBudget,
        now: Instant,
    ) -> Self {
        Self {
            global_budget: global,
            global: Bucket::full(global, now),
            addresses: Buckets::new(per_address),
            networks: Buckets::new(per_network),
        }
    }

    /// May `ip` try a key now? Charges nothing.
    pub fn check(&mut self, ip: IpAddr, now: Instant) -> Result<(), Refused> {
        if self.addresses.tokens(address_key(ip), now) < 1.0 {
            return Err(Refused::Address);
        }
        let network_tokens = self.networks.tokens(network(ip), now);
        if network_tokens < 1.0 {
            return Err(Refused::Network);
        }
        self.global.refill(self.global_budget, now);
        // Others spent everyone's budget: a network that has failed at most once lately is
        // still judged (the customer who types the right key after one typo).
        let quiet_network = network_tokens >= f64::from(self.networks.budget.burst) - 1.0;
        if self.global.tokens < 1.0 && !quiet_network {
            return Err(Refused::Global);
        }
        Ok(())
    }

    /// Charges one failed guess to `ip`, its network and everyone.
    pub fn charge_failure(&mut self, ip: IpAddr, now: Instant) {
        self.global.refill(self.global_budget, now);
        self.global.tokens = (self.global.tokens - 1.0).max(0.0);
        self.addresses.charge(address_key(ip), now);
        self.networks.charge(network(ip), now);
    }

    /// Time until an address's bucket regains one guess, for the error message.
    pub fn retry_after(&self) -> Duration {
        Duration::from_secs_f64(60.0 / self.addresses.budget.per_minute.max(1e-3))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDRESS: GuessBudget = GuessBudget {
        burst: 3,
        per_minute: 1.0,
    };
    const NETWORK: GuessBudget = GuessBudget {
        burst: 6,
        per_minute: 1.0,
    };
    const GLOBAL: GuessBudget = GuessBudget {
        burst: 10,
        per_minute: 6.0,
    };

    fn ip(net: u8, last: u8) -> IpAddr {
        IpAddr::from([10, 0, net, last])
    }

    fn limiter(t0: Instant) -> GuessLimiter {
        GuessLimiter::new(ADDRESS, NETWORK, GLOBAL, t0)
    }

    #[test]
    fn an_address_past_its_budget_is_refused_and_refills_with_time() {
        let t0 = Instant::now();
        let mut l = limiter(t0);
        for _ in 0..3 {
            assert_eq!(l.check(ip(1, 1), t0), Ok(()));
            l.charge_failure(ip(1, 1), t0);
        }
        assert_eq!(l.check(ip(1, 1), t0), Err(Refused::Address));
        assert_eq!(l.check(ip(2, 1), t0), Ok(()));
        assert_eq!(
            l.check(ip(1, 1), t0 + Duration::from_secs(61)),
            Ok(()),
            "one guess back after a minute"
        );
    }

    #[test]
    fn a_network_s_addresses_share_its_budget() {
        let t0 = Instant::now();
        let mut l = limiter(t0);
        for last in 0..6 {
            assert_eq!(l.check(ip(1, last), t0), Ok(()));
            l.charge_failure(ip(1, last), t0);
        }
        assert_eq!(l.check(ip(1, 200), t0), Err(Refused::Network));
        assert_eq!(l.check(ip(2, 200), t0), Ok(()));
    }

    #[test]
    fn once_others_spent_everyone_s_budget_a_quiet_network_is_still_judged_and_a_busy_one_not() {
        let t0 = Instant::now();
        let mut l = limiter(t0);
        // Five guessing networks spend the global budget, two wrong guesses each.
        for net in 1..=5 {
            for last in 0..2 {
                l.charge_failure(ip(net, last), t0);
            }
        }
        assert_eq!(l.check(ip(1, 9), t0), Err(Refused::Global));
        // A customer's network that never guessed: judged; after one typo: still judged.
        assert_eq!(l.check(ip(50, 1), t0), Ok(()));
        l.charge_failure(ip(50, 1), t0);
        assert_eq!(l.check(ip(50, 1), t0), Ok(()));
        l.charge_failure(ip(50, 1), t0);
        assert_eq!(l.check(ip(50, 1), t0), Err(Refused::Global));
    }

    #[test]
    fn ipv6_addresses_share_a_bucket_per_slash_64_and_a_network_per_slash_48() {
        let t0 = Instant::now();
        let mut l = limiter(t0);
        for last in 1..=3u16 {
            let addr = IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, last]);
            l.charge_failure(addr, t0);
        }
        let same_64 = IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 99]);
        assert_eq!(l.check(same_64, t0), Err(Refused::Address));
        let same_48 = IpAddr::from([0x2001, 0xdb8, 0, 7, 0, 0, 0, 1]);
        assert_eq!(l.check(same_48, t0), Ok(()));
    }
}
