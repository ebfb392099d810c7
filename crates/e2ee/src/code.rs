//! The pairing code: `LOCATOR_DIGITS` digits the relay issues, then `SECRET_DIGITS` digits the
//! agent's console draws itself, read to the customer as one code (`1234 5678 9012`).
//!
//! The relay sees only the locator (the customer's page sends it to find the session), so the
//! secret is a password the relay does not know, and SPAKE2 over it ([`crate::exchange`]) gives
//! a relay that runs the exchange itself one guess per exchange, `10^-SECRET_DIGITS` =
//! 1/1,000,000 each. A page reloads and a console reconnects, so one pairing may see several
//! exchanges; the console allows [`MAX_UNFINISHED`] it answered that were never confirmed, the
//! page fails at its first bad answer, so a malicious relay's chance per pairing is at most
//! `(MAX_UNFINISHED + 1) × 10^-SECRET_DIGITS` = 1.5 × 10⁻⁵, below Magic Wormhole's
//! 1/65,536 ≈ 1.53 × 10⁻⁵ ([`RELAY_GUESS_PER_PAIRING`]). Someone outside guessing
//! codes against the relay must hit a live locator *and* its secret, since the page and the
//! console each fail key confirmation otherwise; with the relay's guess limits (at most 848
//! judged guesses over a key's lifetime, 1,000 live keys; see ARCHITECTURE.md) that is at most
//! `848 × 1,000 / 10^12` ≈ 8.5 × 10⁻⁷, today's bound for the 12-digit key, at the same length.

use alloc::string::String;
use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use thiserror::Error;

/// Digits of the part the relay issues and sees.
pub const LOCATOR_DIGITS: usize = 6;
/// Digits of the part the console draws and only the two people see.
pub const SECRET_DIGITS: usize = 6;
/// Digits the customer types.
pub const CODE_DIGITS: usize = LOCATOR_DIGITS + SECRET_DIGITS;

/// Exchanges a console answers that are never confirmed (a page that reloads or navigates
/// before its confirmation, or a relay guessing), at most, before it ends the session.
pub const MAX_UNFINISHED: u32 = 14;

/// A malicious relay's chance to learn the keys of one pairing: one guess for each unfinished
/// exchange the console allows, and one the page's first bad answer ends.
pub const RELAY_GUESS_PER_PAIRING: f64 = (MAX_UNFINISHED as f64 + 1.0) / 1_000_000.0;

/// An outsider's chance that any judged guess hits a whole live code: `judged` guesses against
/// `live` codes, each of `10^CODE_DIGITS`.
pub fn outsider_bound(judged: u64, live: u64) -> f64 {
    judged as f64 * live as f64 / 1e12
}

/// A code that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodeError {
    #[error("a code has {CODE_DIGITS} digits; this one has {got}")]
    WrongLength { got: usize },
    #[error("a code is digits (spaces and dashes are ignored); found {found:?}")]
    NotADigit { found: char },
    #[error("the relay's part of a code has {LOCATOR_DIGITS} digits; got {got:?}")]
    BadLocator { got: String },
}

/// The console's part: never sent to the relay.
#[derive(Clone)]
pub struct Secret([u8; SECRET_DIGITS]);

impl Secret {
    /// Draws a secret uniformly from the `10^SECRET_DIGITS` possible ones.
    pub fn draw(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        const SPACE: u32 = 1_000_000;
        // The largest multiple of SPACE below 2^32: draws above it are redrawn, so every
        // secret is equally likely.
        const LIMIT: u32 = u32::MAX - (u32::MAX % SPACE);
        let mut n = loop {
            let v = rng.next_u32();
            if v < LIMIT {
                break v % SPACE;
            }
        };
        let mut digits = [b'0'; SECRET_DIGITS];
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        Self(digits)
    }

    /// The digits, for the page to keep in its tab's storage across a reload.
    pub fn digits(&self) -> &str {
        // Only ASCII digits are ever stored.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// A secret kept by [`Secret::digits`].
    pub fn from_digits(digits: &str) -> Option<Self> {
        let bytes: [u8; SECRET_DIGITS] = digits.as_bytes().try_into().ok()?;
        bytes.iter().all(u8::is_ascii_digit).then_some(Self(bytes))
    }

    /// The SPAKE2 password: the digits as ASCII.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A whole code: what the console shows and the customer types.
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    locator: String,
    secret: Secret,
}

impl Code {
    /// The console's side: the relay's locator and a secret drawn here.
    pub fn new(locator: &str, rng: &mut (impl RngCore + CryptoRng)) -> Result<Self, CodeError> {
        if locator.len() != LOCATOR_DIGITS || !locator.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::BadLocator {
                got: locator.chars().take(32).collect(),
            });
        }
        Ok(Self {
            locator: locator.into(),
            secret: Secret::draw(rng),
        })
    }

    /// The customer's side: the code as typed (spaces and dashes are ignored).
    pub fn parse(typed: &str) -> Result<Self, CodeError> {
        let mut digits = [0u8; CODE_DIGITS];
        let mut n = 0;
        for c in typed.chars() {
            if c == ' ' || c == '-' {
                continue;
            }
            if !c.is_ascii_digit() {
                return Err(CodeError::NotADigit { found: c });
            }
            if n < CODE_DIGITS {
                digits[n] = c as u8;
            }
            n += 1;
        }
        if n != CODE_DIGITS {
            return Err(CodeError::WrongLength { got: n });
        }
        let (locator, secret) = digits.split_at(LOCATOR_DIGITS);
        let mut s = [0u8; SECRET_DIGITS];
        s.copy_from_slice(secret);
        Ok(Self {
            // Only ASCII digits reach here.
            locator: locator.iter().map(|&b| b as char).collect(),
            secret: Secret(s),
        })
    }

    /// What the page sends the relay to find its session.
    pub fn locator(&self) -> &str {
        &self.locator
    }

    /// What only the page and the console hold.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The code as read aloud: groups of four (`1234 5678 9012`).
    pub fn display(&self) -> String {
        let mut out = String::with_capacity(CODE_DIGITS + CODE_DIGITS / 4);
        let all = self
            .locator
            .bytes()
            .chain(self.secret.0.iter().copied())
            .enumerate();
        for (i, b) in all {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(b as char);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

    #[test]
    fn the_console_s_code_reads_back_as_the_customer_types_it() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let code = Code::new("123456", &mut rng).unwrap();
        let shown = code.display();
        assert_eq!(shown.len(), 14, "{shown}");
        assert!(shown.starts_with("1234 56"), "{shown}");
        let typed = Code::parse(&shown.replace(' ', "-")).unwrap();
        assert_eq!(typed, code);
        assert_eq!(typed.locator(), "123456");
    }

    #[test]
    fn codes_that_are_not_twelve_digits_are_refused() {
        assert_eq!(
            Code::parse("1234 5678 901"),
            Err(CodeError::WrongLength { got: 11 })
        );
        assert_eq!(
            Code::parse("1234 5678 90123"),
            Err(CodeError::WrongLength { got: 13 })
        );
        assert_eq!(
            Code::parse("1234 5678 901x"),
            Err(CodeError::NotADigit { found: 'x' })
        );
        assert_eq!(
            Code::parse(&"9".repeat(10_000)),
            Err(CodeError::WrongLength { got: 10_000 })
        );
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        assert!(matches!(
            Code::new("12345", &mut rng),
            Err(CodeError::BadLocator { .. })
        ));
        assert!(matches!(
            Code::new("12345a", &mut rng),
            Err(CodeError::BadLocator { .. })
        ));
    }

    #[test]
    fn secrets_cover_the_whole_space_evenly() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut first_digit = [0u32; 10];
        for _ in 0..20_000 {
            let s = Secret::draw(&mut rng);
            assert!(s.0.iter().all(u8::is_ascii_digit));
            first_digit[usize::from(s.0[0] - b'0')] += 1;
        }
        // Each leading digit about 2,000 times: a secret drawn from a smaller space would
        // leave some at zero.
        for (d, n) in first_digit.iter().enumerate() {
            assert!((1_700..2_300).contains(n), "digit {d}: {n}");
        }
    }

    #[test]
    fn the_stated_bounds_hold() {
        const { assert!(RELAY_GUESS_PER_PAIRING <= 1.0 / 65_536.0) };
        const { assert!(CODE_DIGITS == 12, "no longer than today's key") };
        assert!(outsider_bound(848, 1_000) < 1e-6);
        assert!(
            outsider_bound(848, 1_000) > 8e-7,
            "the bound is computed, not assumed"
        );
    }
}
