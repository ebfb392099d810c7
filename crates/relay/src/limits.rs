//! Rate limits for what anyone on the internet may ask without signing in (and for sign-in
//! attempts): one budget per client key (an address or a network, see [`crate::clients`]) and
//! one for everyone together, on governor's GCRA. A refused request is a 429 with
//! `Retry-After`, and refusing costs no budget.
//!
//! Memory is bounded: the per-key table forgets keys whose budget has refilled, and when it
//! still holds [`RateLimit::max_keys`] keys a new key is refused as if the global budget were
//! spent, so a flood from millions of addresses costs a bounded table, not the relay's memory.
//!
//! [`Streams`] bounds what stays open: every WebSocket and event stream of every domain holds a
//! [`StreamPermit`], at most so many in all and so many per client address.

use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use governor::{
    clock::{Clock, DefaultClock},
    DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota,
};

use crate::{config::RateBudget, error::ApiError};

const MINUTE: Duration = Duration::from_secs(60);

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
        self.check_n(key, 1)
    }

    /// Takes `n` units (at least one) of `key`'s budget and of everyone's, or refuses; more
    /// than a whole burst is never allowed.
    pub fn check_n(&self, key: IpAddr, n: u32) -> Result<(), ApiError> {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        if self.per_key.len() >= self.max_keys {
            self.per_key.retain_recent();
            if self.per_key.len() >= self.max_keys {
                return Err(self.refused("too many clients", Duration::from_secs(1)));
            }
        }
        match self.per_key.check_key_n(&key, n) {
            Ok(Ok(())) => {}
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(self.clock.now());
                return Err(self.refused("too many from this address", wait));
            }
            Err(_) => return Err(self.refused("more than one address may ask at once", MINUTE)),
        }
        match self.global.check_n(n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Err(self.refused("too many right now", wait))
            }
            Err(_) => Err(self.refused("more than everyone may ask at once", MINUTE)),
        }
    }

    fn refused(&self, why: &str, wait: Duration) -> ApiError {
        ApiError::rate_limited(format!("{}: {why}; try again later", self.what), wait)
    }
}

/// The long-lived connections (WebSockets, event streams) the relay holds: at most `total`,
/// and at most `per_client` for one client address (its /64 for IPv6), so one address cannot
/// hold the relay's sockets. Cheap to clone.
#[derive(Clone)]
pub struct Streams {
    total: Arc<tokio::sync::Semaphore>,
    capacity: usize,
    per_client: usize,
    by_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One open stream's place; dropping it gives the place back.
pub struct StreamPermit {
    _total: tokio::sync::OwnedSemaphorePermit,
    client: IpAddr,
    by_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut map = self.by_client.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.client);
            }
        }
    }
}

impl Streams {
    pub fn new(total: usize, per_client: usize) -> Streams {
        Streams {
            total: Arc::new(tokio::sync::Semaphore::new(total)),
            capacity: total,
            per_client: per_client.max(1),
            by_client: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A place for one more stream of `client`, or a refusal: 429 when that client holds its
    /// share, 503 when the relay holds all it may.
    pub fn open(&self, client: IpAddr) -> Result<StreamPermit, ApiError> {
        let key = crate::clients::address_key(client);
        let mut map = self.by_client.lock().unwrap_or_else(|p| p.into_inner());
        let held = map.get(&key).copied().unwrap_or(0);
        if held >= self.per_client {
            return Err(ApiError::rate_limited(
                "too many connections from this address",
                Duration::from_secs(5),
            ));
        }
        let total = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::Unavailable("too many connections".into()))?;
        map.insert(key, held + 1);
        Ok(StreamPermit {
            _total: total,
            client: key,
            by_client: self.by_client.clone(),
        })
    }

    /// Streams open now.
    pub fn open_now(&self) -> usize {
        self.capacity.saturating_sub(self.total.available_permits())
    }

    /// Waits up to `within` for every stream to close (at shutdown); `false` if some did not.
    pub async fn drained(&self, within: Duration) -> bool {
        let all = u32::try_from(self.capacity).unwrap_or(u32::MAX);
        tokio::time::timeout(within, self.total.acquire_many(all))
            .await
            .is_ok()
    }
}

/// The bounds every WebSocket of the relay is upgraded with: small read buffers, bounded
/// write buffers, and messages no larger than the frame limit.
pub fn bounded_websocket(
    ws: axum::extract::WebSocketUpgrade,
    config: &crate::config::Config,
) -> axum::extract::WebSocketUpgrade {
    let max = config.limits.max_frame_bytes;
    ws.read_buffer_size(config.read_buffer_bytes)
        .write_buffer_size(config.write_buffer_bytes)
        .max_write_buffer_size(config.write_buffer_bytes + max + (64 << 10))
        // A little over the frame limit, so most oversized frames get a precise answer.
        .max_message_size(max + (64 << 10))
        .max_frame_size(max + (64 << 10))
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
    fn one_client_holds_at_most_its_share_of_streams_and_everyone_at_most_the_total() {
        let streams = Streams::new(5, 2);
        let a = streams.open(ip("198.51.100.1")).unwrap();
        let _b = streams.open(ip("198.51.100.1")).unwrap();
        assert!(matches!(
            streams.open(ip("198.51.100.1")),
            Err(ApiError::RateLimited { .. })
        ));
        drop(a);
        let _c = streams.open(ip("198.51.100.1")).unwrap();
        let _d = streams.open(ip("198.51.100.2")).unwrap();
        let _e = streams.open(ip("198.51.100.3")).unwrap();
        let _f = streams.open(ip("198.51.100.4")).unwrap();
        assert!(matches!(
            streams.open(ip("198.51.100.5")),
            Err(ApiError::Unavailable(_))
        ));
        assert_eq!(streams.open_now(), 5);
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
