//! Webhook signatures, a pure core: HMAC-SHA256 over the raw body, compared in constant time.
//!
//! Two forms are accepted inbound, and outbound requests carry both:
//! - `X-Hub-Signature-256: sha256=<base64 HMAC(body)>`;
//! - the timestamped form: `X-Timestamp: <unix seconds>`, `X-Delivery-Id: <id>` and
//!   `X-Signature-256: sha256=<base64 HMAC("<timestamp>.<delivery id>.<body>")>`. It is refused
//!   when the timestamp is more than [`MAX_AGE_SECS`] away from now, and (by the caller, who
//!   remembers delivery ids) when the delivery id was seen before.
//!
//! A request that carries any header of the timestamped form is judged by that form alone,
//! whatever hub signature it also carries: a missing part is refused, never made up for by the
//! hub form. Dropping all three headers is the caller's to catch: an integration that has
//! signed with timestamps is refused the hub form alone (`queries::admit_signed`), and a hub
//! form message is stored once per message id.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const HUB_HEADER: &str = "x-hub-signature-256";
pub const SIGNATURE_HEADER: &str = "x-signature-256";
pub const TIMESTAMP_HEADER: &str = "x-timestamp";
pub const DELIVERY_HEADER: &str = "x-delivery-id";

/// How far a timestamped signature may be from now, either way.
pub const MAX_AGE_SECS: i64 = 300;

/// The longest delivery id accepted (ids are stored to refuse replays).
pub const MAX_DELIVERY_ID_BYTES: usize = 128;

/// How long a delivery id must be remembered: a timestamp may be up to [`MAX_AGE_SECS`] ahead
/// of the clock when it is received, and a replay passes the timestamp check until
/// [`MAX_AGE_SECS`] after that timestamp; a minute more covers clock steps.
pub const REPLAY_MEMORY_MS: i64 = (2 * MAX_AGE_SECS + 60) * 1000;

/// Why a request's signature was refused. The messages are safe to return to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing signature: send X-Hub-Signature-256, or X-Signature-256 with X-Timestamp and X-Delivery-Id")]
    Missing,
    #[error("malformed signature header: expected sha256=<base64>")]
    Malformed,
    #[error("signature does not match the body")]
    Mismatch,
    #[error("timestamp is {age_secs} s away from now (at most 300 s allowed)")]
    Stale { age_secs: i64 },
    #[error("delivery id was already received")]
    Replayed,
    #[error("incomplete timestamped signature: send X-Signature-256, X-Timestamp and X-Delivery-Id together")]
    Incomplete,
    #[error("this integration signs with X-Signature-256 and X-Timestamp; X-Hub-Signature-256 alone is refused")]
    Downgraded,
}

/// The signature headers of a request, as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presented {
    pub hub: Option<String>,
    pub signature: Option<String>,
    pub timestamp: Option<String>,
    pub delivery_id: Option<String>,
}

fn mac(secret: &str) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

fn timestamped_input(timestamp: &str, delivery_id: &str, body: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(timestamp.len() + delivery_id.len() + body.len() + 2);
    input.extend_from_slice(timestamp.as_bytes());
    input.push(b'.');
    input.extend_from_slice(delivery_id.as_bytes());
    input.push(b'.');
    input.extend_from_slice(body);
    input
}

/// `sha256=<base64 HMAC-SHA256(secret, message)>`.
pub fn sign(secret: &str, message: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(message);
    format!("sha256={}", STANDARD.encode(m.finalize().into_bytes()))
}

/// The headers of an outbound delivery: both forms.
pub fn outbound_headers(
    secret: &str,
    body: &[u8],
    delivery_id: &str,
    now_secs: i64,
) -> Vec<(&'static str, String)> {
    let timestamp = now_secs.to_string();
    vec![
        (HUB_HEADER, sign(secret, body)),
        (
            SIGNATURE_HEADER,
            sign(secret, &timestamped_input(&timestamp, delivery_id, body)),
        ),
        (TIMESTAMP_HEADER, timestamp),
        (DELIVERY_HEADER, delivery_id.to_owned()),
    ]
}

fn check(secret: &str, message: &[u8], header: &str) -> Result<(), SignatureError> {
    let encoded = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let expected = STANDARD
        .decode(encoded)
        .map_err(|_| SignatureError::Malformed)?;
    let mut m = mac(secret);
    m.update(message);
    // `verify_slice` compares in constant time.
    m.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// Checks a request's signature. Returns the delivery id of a timestamped request (which the
/// caller must check for replay), or `None` for the hub form.
pub fn verify(
    secret: &str,
    presented: &Presented,
    body: &[u8],
    now_secs: i64,
) -> Result<Option<String>, SignatureError> {
    let timestamped = (
        &presented.signature,
        &presented.timestamp,
        &presented.delivery_id,
    );
    if let (Some(signature), Some(timestamp), Some(delivery_id)) = timestamped {
        if delivery_id.is_empty() || delivery_id.len() > MAX_DELIVERY_ID_BYTES {
            return Err(SignatureError::Malformed);
        }
        let at: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| SignatureError::Malformed)?;
        check(
            secret,
            &timestamped_input(timestamp, delivery_id, body),
            signature,
        )?;
        let age_secs = now_secs.saturating_sub(at).saturating_abs();
        if age_secs > MAX_AGE_SECS {
            return Err(SignatureError::Stale { age_secs });
        }
        return Ok(Some(delivery_id.clone()));
    }
    if timestamped != (&None, &None, &None) {
        return Err(SignatureError::Incomplete);
    }
    match &presented.hub {
        Some(hub) => check(secret, body, hub).map(|()| None),
        None => Err(SignatureError::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn timestamped(secret: &str, body: &[u8], id: &str, at: i64) -> Presented {
        let h = outbound_headers(secret, body, id, at);
        Presented {
            hub: None,
            signature: Some(h[1].1.clone()),
            timestamp: Some(h[2].1.clone()),
            delivery_id: Some(h[3].1.clone()),
        }
    }

    #[test]
    fn hub_signature_of_the_raw_body_is_accepted() {
        let body = br#"{"text":"hi"}"#;
        let p = Presented {
            hub: Some(sign("s3cret", body)),
            ..Presented::default()
        };
        assert_eq!(verify("s3cret", &p, body, NOW), Ok(None));
    }

    #[test]
    fn a_forged_or_reencoded_body_is_a_mismatch() {
        let p = Presented {
            hub: Some(sign("s3cret", br#"{"text":"hi"}"#)),
            ..Presented::default()
        };
        assert_eq!(
            verify("s3cret", &p, br#"{"text": "hi"}"#, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("other", &p, br#"{"text":"hi"}"#, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_told_apart() {
        assert_eq!(
            verify("s", &Presented::default(), b"x", NOW),
            Err(SignatureError::Missing)
        );
        let p = Presented {
            hub: Some("md5=abc".into()),
            ..Presented::default()
        };
        assert_eq!(verify("s", &p, b"x", NOW), Err(SignatureError::Malformed));
    }

    #[test]
    fn timestamped_signature_returns_its_delivery_id() {
        let p = timestamped("s", b"body", "d-1", NOW - 10);
        assert_eq!(verify("s", &p, b"body", NOW), Ok(Some("d-1".into())));
    }

    #[test]
    fn timestamped_signature_older_than_five_minutes_is_stale() {
        let p = timestamped("s", b"body", "d-1", NOW - 301);
        assert_eq!(
            verify("s", &p, b"body", NOW),
            Err(SignatureError::Stale { age_secs: 301 })
        );
    }

    #[test]
    fn a_request_signed_both_ways_is_judged_by_its_timestamp() {
        let mut p = timestamped("s", b"body", "d-1", NOW - 301);
        p.hub = Some(sign("s", b"body"));
        assert_eq!(
            verify("s", &p, b"body", NOW),
            Err(SignatureError::Stale { age_secs: 301 })
        );
        // Dropping one part of the timestamped form does not fall back to the hub form.
        for drop in 0..3 {
            let mut partial = p.clone();
            match drop {
                0 => partial.signature = None,
                1 => partial.timestamp = None,
                _ => partial.delivery_id = None,
            }
            assert_eq!(
                verify("s", &partial, b"body", NOW),
                Err(SignatureError::Incomplete)
            );
        }
    }

    #[test]
    fn changing_the_delivery_id_breaks_the_signature() {
        let mut p = timestamped("s", b"body", "d-1", NOW);
        p.delivery_id = Some("d-2".into());
        assert_eq!(verify("s", &p, b"body", NOW), Err(SignatureError::Mismatch));
    }
}
