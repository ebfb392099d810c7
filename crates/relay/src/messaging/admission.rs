//! What an anonymous guest may ask of the relay: guest tokens minted and conversations started,
//! each limited per client address and for everyone together ([`RateLimit`], answered 429 with
//! `Retry-After`), upload bytes per address and for everyone (charged from `Content-Length`
//! before a body is read), and messages, limited per guest (a token bucket, [`Bucket`]).
//!
//! Minting a token writes nothing; the first message makes the contact, the conversation and
//! the routing arrival, and it is that start which costs the most (agents see every one), so it
//! is limited on its own: a token a client made up itself does not skip it.

use std::{collections::HashMap, net::IpAddr, sync::Mutex, time::Instant};

use super::{ratelimit::Bucket, MessagingConfig, MessagingError};
use crate::{clients::address_key, config::RateBudget, error::ApiError, limits::RateLimit};

/// Guest buckets remembered at most (see [`Admission::message`]).
const GUESTS_TRACKED: usize = 100_000;

/// Upload budgets count in 64 KiB units (16 to the MiB).
const UPLOAD_UNIT: u64 = 64 << 10;

fn in_units(mib: RateBudget) -> RateBudget {
    RateBudget {
        burst: mib.burst.saturating_mul(16),
        per_minute: mib.per_minute.saturating_mul(16),
    }
}

/// The guest side's limits (see the module doc).
pub struct Admission {
    tokens: RateLimit,
    starts: RateLimit,
    /// Upload bytes, in units of [`UPLOAD_UNIT`].
    uploads: RateLimit,
    guests: Mutex<HashMap<String, Bucket>>,
    rate_per_sec: f64,
    burst: u32,
}

impl Admission {
    pub fn new(config: &MessagingConfig) -> Admission {
        Admission {
            tokens: RateLimit::new(
                "guest sign-ups",
                config.guest_tokens_per_address,
                config.guest_tokens_global,
            ),
            starts: RateLimit::new(
                "new conversations",
                config.conversation_starts_per_address,
                config.conversation_starts_global,
            ),
            uploads: RateLimit::new(
                "guest uploads",
                in_units(config.upload_mib_per_address),
                in_units(config.upload_mib_global),
            ),
            guests: Mutex::new(HashMap::new()),
            rate_per_sec: config.guest_rate_per_sec,
            burst: config.guest_burst,
        }
    }

    /// One more guest token for `client`, or a 429.
    pub fn mint(&self, client: IpAddr) -> Result<(), ApiError> {
        self.tokens.check(address_key(client))
    }

    /// One more conversation started by a guest of `client`, or a 429.
    pub fn start(&self, client: IpAddr) -> Result<(), ApiError> {
        self.starts.check(address_key(client))
    }

    /// An upload of `bytes` from `client`, charged before its body is read, or a 429.
    pub fn upload(&self, client: IpAddr, bytes: u64) -> Result<(), ApiError> {
        let units = bytes.div_ceil(UPLOAD_UNIT).max(1);
        self.uploads.check_n(
            address_key(client),
            u32::try_from(units).unwrap_or(u32::MAX),
        )
    }

    /// Takes a token from the guest's message bucket, or refuses.
    pub fn message(&self, guest: &str) -> Result<(), MessagingError> {
        let now = Instant::now();
        let mut guests = self.guests.lock().unwrap_or_else(|p| p.into_inner());
        // A flood of guest ids must not grow memory without bound; forgetting buckets only
        // lets each guest burst once more.
        if guests.len() > GUESTS_TRACKED {
            guests.clear();
        }
        let bucket = guests
            .entry(guest.to_owned())
            .or_insert_with(|| Bucket::full(self.burst, now));
        if bucket.take(self.rate_per_sec, self.burst, now) {
            Ok(())
        } else {
            Err(MessagingError::RateLimited)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_are_held_per_address_and_tokens_apart_from_them() {
        let config = MessagingConfig {
            conversation_starts_per_address: RateBudget {
                burst: 2,
                per_minute: 1,
            },
            ..MessagingConfig::default()
        };
        let admission = Admission::new(&config);
        let (a, b): (IpAddr, IpAddr) = (
            "198.51.100.1".parse().unwrap(),
            "198.51.100.2".parse().unwrap(),
        );
        admission.start(a).unwrap();
        admission.start(a).unwrap();
        let refused = admission.start(a).unwrap_err();
        assert!(
            matches!(refused, ApiError::RateLimited { .. }),
            "{refused:?}"
        );
        admission.start(b).unwrap();
        admission.mint(a).unwrap();
    }

    #[test]
    fn upload_bytes_are_held_per_address() {
        let config = MessagingConfig {
            upload_mib_per_address: RateBudget {
                burst: 2,
                per_minute: 1,
            },
            ..MessagingConfig::default()
        };
        let admission = Admission::new(&config);
        let (a, b): (IpAddr, IpAddr) = (
            "198.51.100.1".parse().unwrap(),
            "198.51.100.2".parse().unwrap(),
        );
        admission.upload(a, 1 << 20).unwrap();
        admission.upload(a, 900 << 10).unwrap();
        assert!(admission.upload(a, 200 << 10).is_err());
        // More than a whole burst at once is refused too, not waited for.
        assert!(admission.upload(b, 3 << 20).is_err());
        admission.upload(b, 2 << 20).unwrap();
    }
}
