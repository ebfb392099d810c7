//! The exchange for the Accept flow, where no code is read aloud: SPAKE2 with a public password
//! is then a plain Diffie-Hellman, which a relay in the middle can run with each side. What
//! catches it is the six-digit safety code both people compare (on the phone, on a call): a
//! relay in the middle leaves the two sides with different codes.
//!
//! For the comparison to mean anything, the relay must not be able to *choose* its messages
//! until the codes match (a million tries would do). So the page commits first:
//!
//! ```text
//! page    → console   commitment = SHA-256("open-cobrowse/e2ee/v1 commit" || session || A)
//! console → page      SPAKE2 message B
//! page    → console   SPAKE2 message A (checked against the commitment)
//! each    → other     confirmation tag
//! ```
//!
//! The relay must fix its message to the page before the page reveals A, and its commitment
//! to the console before the console answers, so each code it leaves behind is a fresh draw:
//! the two match by chance with probability 10⁻⁶.

use alloc::vec::Vec;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::exchange::{Confirming, Exchange, ExchangeError, Side};

const PASSWORD: &[u8] = b"open-cobrowse compare";
const MODE: &[u8] = b"compare";

fn commitment(session: &[u8], message: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"open-cobrowse/e2ee/v1 commit");
    h.update((session.len() as u32).to_be_bytes());
    h.update(session);
    h.update(message);
    h.finalize().into()
}

/// The page's half: committed, its message held back until the console's arrives.
pub struct PageCommitted {
    exchange: Exchange,
    message: Vec<u8>,
}

impl PageCommitted {
    /// Starts the page's half; returns the commitment to send first.
    pub fn start(session: &[u8], rng: &mut (impl RngCore + CryptoRng)) -> (Self, [u8; 32]) {
        let (exchange, message) = Exchange::begin(Side::Page, PASSWORD, MODE, session, rng);
        let commit = commitment(session, &message);
        (Self { exchange, message }, commit)
    }

    /// Takes the console's message; returns the keys to confirm and the page's message to
    /// reveal now.
    pub fn reveal(self, console: &[u8]) -> Result<(Confirming, Vec<u8>), ExchangeError> {
        let confirming = self.exchange.finish(console)?;
        Ok((confirming, self.message))
    }
}

/// The console's half: answered a commitment, waiting for the page's message.
pub struct ConsoleAnswered {
    exchange: Exchange,
    commitment: [u8; 32],
    session: Vec<u8>,
}

impl ConsoleAnswered {
    /// Answers the page's commitment; returns the console's message to send.
    pub fn start(
        session: &[u8],
        commitment: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Self, Vec<u8>), ExchangeError> {
        let commitment: [u8; 32] = commitment
            .try_into()
            .map_err(|_| ExchangeError::BadMessage)?;
        let (exchange, message) = Exchange::begin(Side::Console, PASSWORD, MODE, session, rng);
        Ok((
            Self {
                exchange,
                commitment,
                session: session.into(),
            },
            message,
        ))
    }

    /// Takes the page's revealed message, checks it against the commitment, and derives.
    pub fn finish(self, page: &[u8]) -> Result<Confirming, ExchangeError> {
        let expected = commitment(&self.session, page);
        if !bool::from(expected.ct_eq(&self.commitment)) {
            return Err(ExchangeError::CommitmentMismatch);
        }
        self.exchange.finish(page)
    }
}
