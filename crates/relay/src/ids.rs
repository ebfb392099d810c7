//! Time and randomness: the clock every stored time is read from, and the identifiers and
//! secrets the relay issues.

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// Milliseconds since the Unix epoch, the time unit of every column.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Fills `buf` from the operating system's generator. Its failure is not recoverable for a
/// server that issues secrets: the process aborts rather than issue a guessable one.
pub fn fill_random(buf: &mut [u8]) {
    if getrandom::getrandom(buf).is_err() {
        std::process::abort();
    }
}

/// A fresh random identifier or secret: `bytes` random bytes, hex-encoded.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf);
    hex(&buf)
}

/// `n` uniformly random decimal digits.
pub fn random_digits(n: u32) -> String {
    let mut out = String::with_capacity(n as usize);
    while out.len() < n as usize {
        let mut byte = [0u8; 1];
        fill_random(&mut byte);
        // Rejection sampling keeps every digit uniform.
        if byte[0] < 250 {
            out.push(char::from(b'0' + byte[0] % 10));
        }
    }
    out
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// The SHA-256 of a secret, as hex: what the store keeps of a token instead of the token, so
/// a copy of the database signs nobody in.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_digits_are_digits_of_the_asked_length() {
        let key = random_digits(12);
        assert_eq!(key.len(), 12);
        assert!(key.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(random_hex(16), random_hex(16));
    }

    #[test]
    fn secret_hashes_are_sha256_hex() {
        assert_eq!(
            secret_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
