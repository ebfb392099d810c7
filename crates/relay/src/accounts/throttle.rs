//! The sign-in throttle, pure (the caller passes the time): failed sign-ins are counted per
//! account name and per client address, and past a few free failures each further attempt
//! must wait a delay that doubles with every failure, up to a cap. A success clears the
//! account's and the address's count; counts are forgotten after a quiet while.
//!
//! The account's cap is short (an attacker who knows a name cannot lock its owner out for
//! long); the address's is long (one address that keeps failing is refused for minutes).

use std::{
    collections::HashMap,
    hash::Hash,
    net::IpAddr,
    time::{Duration, Instant},
};

pub use crate::config::Backoff;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    /// No attempt is judged before this.
    next: Instant,
}

/// Keys tracked at most per table; past it the oldest failures are forgotten.
const MAX_TRACKED: usize = 100_000;

#[derive(Debug)]
struct Table<K> {
    backoff: Backoff,
    keys: HashMap<K, Failures>,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new(backoff: Backoff) -> Self {
        Table {
            backoff,
            keys: HashMap::new(),
        }
    }

    fn wait(&mut self, key: &K, now: Instant) -> Option<Duration> {
        let f = self.keys.get(key)?;
        if now.saturating_duration_since(f.last) >= self.backoff.forget_after {
            self.keys.remove(key);
            return None;
        }
        (f.next > now).then(|| f.next - now)
    }

    fn fail(&mut self, key: &K, now: Instant) {
        if self.keys.len() >= MAX_TRACKED && !self.keys.contains_key(key) {
            let forget = self.backoff.forget_after;
            self.keys
                .retain(|_, f| now.saturating_duration_since(f.last) < forget);
            if self.keys.len() >= MAX_TRACKED {
                // Still full: forget the oldest half.
                let mut lasts: Vec<Instant> = self.keys.values().map(|f| f.last).collect();
                lasts.sort_unstable();
                let cut = lasts.get(lasts.len() / 2).copied().unwrap_or(now);
                self.keys.retain(|_, f| f.last > cut);
            }
        }
        let b = self.backoff;
        let f = self.keys.entry(key.clone()).or_insert(Failures {
            count: 0,
            last: now,
            next: now,
        });
        f.count = f.count.saturating_add(1);
        f.last = now;
        f.next = match f.count.checked_sub(b.free) {
            None | Some(0) => now,
            Some(past) => {
                let doubling = 1u32.checked_shl(past - 1).unwrap_or(u32::MAX);
                now + b.first.saturating_mul(doubling).min(b.cap)
            }
        };
    }

    fn clear(&mut self, key: &K) {
        self.keys.remove(key);
    }
}

/// How long an address someone signed in from stays known.
const KNOWN_FOR: Duration = Duration::from_secs(30 * 86_400);

/// Failed sign-ins by account and by client address, and the addresses sign-ins succeeded
/// from (which wait in a line of their own while strangers flood).
#[derive(Debug)]
pub struct Throttle {
    accounts: Table<String>,
    addresses: Table<IpAddr>,
    known: HashMap<IpAddr, Instant>,
}

impl Throttle {
    pub fn new(account: Backoff, address: Backoff) -> Throttle {
        Throttle {
            accounts: Table::new(account),
            addresses: Table::new(address),
            known: HashMap::new(),
        }
    }

    /// How long `name` from `ip` must still wait before an attempt is judged (`None`: now).
    pub fn wait(&mut self, name: &str, ip: IpAddr, now: Instant) -> Option<Duration> {
        let account = self.accounts.wait(&name.to_owned(), now);
        let address = self.addresses.wait(&ip, now);
        account.max(address)
    }

    /// Whether someone signed in from `ip` in the last month and it is not failing now.
    pub fn is_known(&mut self, ip: IpAddr, now: Instant) -> bool {
        let recent = self
            .known
            .get(&ip)
            .is_some_and(|at| now.saturating_duration_since(*at) < KNOWN_FOR);
        recent && self.addresses.wait(&ip, now).is_none()
    }

    /// A wrong password (or an unknown name) for `name` from `ip`.
    pub fn failed(&mut self, name: &str, ip: IpAddr, now: Instant) {
        self.accounts.fail(&name.to_owned(), now);
        self.addresses.fail(&ip, now);
    }

    /// A right password: both counts start over, and the address is known.
    pub fn succeeded(&mut self, name: &str, ip: IpAddr, now: Instant) {
        self.accounts.clear(&name.to_owned());
        self.addresses.clear(&ip);
        if self.known.len() >= MAX_TRACKED && !self.known.contains_key(&ip) {
            self.known
                .retain(|_, at| now.saturating_duration_since(*at) < KNOWN_FOR);
            if self.known.len() >= MAX_TRACKED {
                self.known.clear();
            }
        }
        self.known.insert(ip, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn throttle() -> Throttle {
        Throttle::new(
            Backoff {
                free: 3,
                first: SEC,
                cap: 30 * SEC,
                forget_after: 900 * SEC,
            },
            Backoff {
                free: 10,
                first: SEC,
                cap: 900 * SEC,
                forget_after: 900 * SEC,
            },
        )
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([198, 51, 100, last])
    }

    #[test]
    fn an_account_s_delays_double_past_the_free_failures_up_to_the_cap() {
        let mut t = throttle();
        let t0 = Instant::now();
        let mut waits = Vec::new();
        for i in 0..10u8 {
            // Each from another address, so only the account's count grows.
            t.failed("ann", ip(i), t0);
            waits.push(t.wait("ann", ip(200), t0).map_or(0, |d| d.as_secs()));
        }
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(t.wait("bob", ip(200), t0), None);
    }

    #[test]
    fn one_address_that_keeps_failing_waits_for_minutes_on_any_account() {
        let mut t = throttle();
        let t0 = Instant::now();
        for i in 0..20 {
            t.failed(&format!("name{i}"), ip(1), t0);
        }
        let wait = t.wait("someone-else", ip(1), t0).unwrap();
        assert!(wait >= 512 * SEC, "{wait:?}");
        assert_eq!(t.wait("someone-else", ip(2), t0), None);
    }

    #[test]
    fn a_success_clears_and_a_quiet_while_forgets() {
        let mut t = throttle();
        let t0 = Instant::now();
        for _ in 0..5 {
            t.failed("ann", ip(1), t0);
        }
        assert!(t.wait("ann", ip(1), t0).is_some());
        assert!(!t.is_known(ip(1), t0));
        t.succeeded("ann", ip(1), t0);
        assert_eq!(t.wait("ann", ip(1), t0), None);
        assert!(t.is_known(ip(1), t0));
        assert!(!t.is_known(ip(2), t0));
        for _ in 0..5 {
            t.failed("ann", ip(1), t0);
        }
        assert_eq!(t.wait("ann", ip(1), t0 + 901 * SEC), None);
    }
}
