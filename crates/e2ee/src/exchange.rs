//! The key exchange keyed by the code's secret: SPAKE2 (page as side A, console as side B, both
//! identities naming the session), then [`crate::schedule`], then key confirmation.
//!
//! Messages, all carried by the relay:
//!
//! ```text
//! page    → console   SPAKE2 message A (33 bytes)
//! console → page      SPAKE2 message B (33 bytes)
//! each    → other     confirmation tag (32 bytes)
//! ```
//!
//! A relay that alters, swaps or answers either message itself leaves the two sides with
//! different keys, so both confirmations fail and both sides say so; to learn the keys it must
//! answer with the right secret, one guess per pairing. A side keeps no key until the other's
//! confirmation checks ([`Confirming::verify`]), so nothing is ever sealed under a key the other
//! side does not hold.

use alloc::vec::Vec;
use rand_core::{CryptoRng, RngCore};
use spake2::{Ed25519Group, Identity, Password, Spake2};
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::{
    code::Secret,
    schedule::{transcript, Schedule},
    seal::{Direction, Opener, Sealer},
};

/// Which end of the exchange this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Page,
    Console,
}

/// Why an exchange failed. Each is final: the session must pair again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ExchangeError {
    /// The other side's key message is not one (wrong length, not a point, or our own message
    /// sent back).
    #[error("the other side's key message is malformed")]
    BadMessage,
    /// The other side's confirmation does not match: another code, or the exchange was
    /// tampered with on the way.
    #[error("key confirmation failed: the code differs, or someone altered the exchange")]
    ConfirmationFailed,
    /// The page's message does not match what it committed to (the compare flow).
    #[error("the page's key message does not match its commitment")]
    CommitmentMismatch,
}

fn identities(session: &[u8]) -> (Identity, Identity) {
    let mut a = Vec::with_capacity(session.len() + 5);
    a.extend_from_slice(b"page:");
    a.extend_from_slice(session);
    let mut b = Vec::with_capacity(session.len() + 8);
    b.extend_from_slice(b"console:");
    b.extend_from_slice(session);
    (Identity::new(&a), Identity::new(&b))
}

/// SPAKE2 under way: this side's message is sent, the other's awaited.
pub struct Exchange {
    side: Side,
    spake: Spake2<Ed25519Group>,
    mine: Vec<u8>,
    session: Vec<u8>,
    mode: &'static [u8],
}

impl Exchange {
    /// Starts this side's half, with the code's secret as the password; returns the message to
    /// send to the other side.
    pub fn start(
        side: Side,
        secret: &Secret,
        session: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> (Self, Vec<u8>) {
        Self::begin(side, secret.as_bytes(), b"code", session, rng)
    }

    pub(crate) fn begin(
        side: Side,
        password: &[u8],
        mode: &'static [u8],
        session: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> (Self, Vec<u8>) {
        let (id_a, id_b) = identities(session);
        let password = Password::new(password);
        let (spake, mine) = match side {
            Side::Page => Spake2::<Ed25519Group>::start_a_with_rng(&password, &id_a, &id_b, rng),
            Side::Console => Spake2::<Ed25519Group>::start_b_with_rng(&password, &id_a, &id_b, rng),
        };
        let exchange = Self {
            side,
            spake,
            mine: mine.clone(),
            session: session.into(),
            mode,
        };
        (exchange, mine)
    }

    /// Takes the other side's message: the keys are derived but not yet trusted.
    pub fn finish(self, theirs: &[u8]) -> Result<Confirming, ExchangeError> {
        if theirs.len() != self.mine.len() || bool::from(theirs.ct_eq(&self.mine)) {
            return Err(ExchangeError::BadMessage);
        }
        let shared = self
            .spake
            .finish(theirs)
            .map_err(|_| ExchangeError::BadMessage)?;
        let (page, console) = match self.side {
            Side::Page => (self.mine.as_slice(), theirs),
            Side::Console => (theirs, self.mine.as_slice()),
        };
        let t = transcript(self.mode, &self.session, page, console);
        Ok(Confirming {
            side: self.side,
            schedule: Schedule::derive(&shared, t, &self.session),
        })
    }
}

/// Keys derived, waiting for the other side's confirmation.
pub struct Confirming {
    side: Side,
    schedule: Schedule,
}

impl Confirming {
    /// The tag to send to the other side.
    pub fn confirmation(&self) -> [u8; 32] {
        match self.side {
            Side::Page => self.schedule.page_confirmation(),
            Side::Console => self.schedule.console_confirmation(),
        }
    }

    /// The code both people may compare; in the compare flow, the one they must compare.
    pub fn safety_code(&self) -> u32 {
        self.schedule.safety
    }

    /// Checks the other side's tag; only then are the keys handed out.
    pub fn verify(self, theirs: &[u8]) -> Result<Keys, ExchangeError> {
        let expected = match self.side {
            Side::Page => self.schedule.console_confirmation(),
            Side::Console => self.schedule.page_confirmation(),
        };
        if theirs.len() != expected.len() || !bool::from(theirs.ct_eq(&expected)) {
            return Err(ExchangeError::ConfirmationFailed);
        }
        let s = &self.schedule;
        let (send, send_key, receive, receive_key) = match self.side {
            Side::Page => (
                Direction::PageToConsole,
                &s.page_to_console,
                Direction::ConsoleToPage,
                &s.console_to_page,
            ),
            Side::Console => (
                Direction::ConsoleToPage,
                &s.console_to_page,
                Direction::PageToConsole,
                &s.page_to_console,
            ),
        };
        Ok(Keys {
            sealer: Sealer::new(send_key, send, s.session),
            opener: Opener::new(receive_key, receive, s.session),
            safety: s.safety,
        })
    }
}

/// One side's keys after a confirmed exchange.
pub struct Keys {
    pub sealer: Sealer,
    pub opener: Opener,
    /// Six digits both sides show (`123 456`), the same on both when no one is in the middle.
    pub safety: u32,
}
