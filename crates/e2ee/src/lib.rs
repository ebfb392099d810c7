//! End-to-end encryption between the customer's page and the agent's console, so that the relay
//! between them forwards page content it cannot read.
//!
//! Pure: no I/O, no clock, and no randomness of its own (every function that draws takes the
//! caller's CSPRNG: the browser's `crypto.getRandomValues`, or a seeded one in tests). The relay
//! never links this crate's secrets: it sees only the envelope (kind, sequence, length).
//!
//! - [`code`]: the pairing code the customer types, split as Magic Wormhole splits its codes: a
//!   *locator* the relay issues to find the session, and a *secret* the console draws and never
//!   sends anywhere.
//! - [`exchange`]: SPAKE2 over the secret between the page and the console, through the relay,
//!   then the key schedule (HKDF-SHA256: one key per direction, key confirmation, a safety code).
//! - [`compare`]: the same exchange for the Accept flow, where no code is read: the page commits
//!   to its message first, so the relay cannot grind the short code both people compare.
//! - [`seal`]: frame bodies sealed with ChaCha20-Poly1305 under a counter nonce (the frame's
//!   sequence number), bound to the session, the direction, the frame kind and the sequence;
//!   replayed and reordered frames are refused.
#![no_std]

extern crate alloc;

pub mod code;
pub mod compare;
pub mod content;
pub mod exchange;
mod schedule;
pub mod seal;

pub use code::{Code, CodeError, Secret, LOCATOR_DIGITS, SECRET_DIGITS};
pub use content::ContentKey;
pub use exchange::{Confirming, Exchange, ExchangeError, Keys, Side};
pub use seal::{Direction, Opener, SealError, Sealer, TAG_BYTES};
