//! End-to-end encryption on the wire: the key exchange's three frames, and which frames travel
//! sealed (the relay forwards both without reading them).
//!
//! The exchange (code flow, `e2ee::exchange`): the page starts it whenever it needs keys for an
//! agent connection ([`KeyShare`], kind `KeyStart`); the console answers with its own message
//! and its confirmation ([`KeyReply`]); the page checks that confirmation and only then sends
//! its own, with the content key sealed for that console ([`KeyConfirm`]). A side whose check
//! fails ends the session with [`crate::EndReason::KeyExchangeFailed`].
//!
//! The compare flow (a session accepted in a chat, `e2ee::compare`) uses the same frames: the
//! page's first `KeyStart` carries a 32-byte commitment, the console's first `KeyReply` its
//! message with an all-zero confirmation, the page's second `KeyStart` of the same exchange
//! its revealed message, the console's second `KeyReply` (empty message) its confirmation.
//!
//! A sealed frame sets [`crate::SEALED`] on its kind byte; its body is the postcard body sealed with an
//! AEAD (ChaCha20-Poly1305, 16-byte tag), after a clear prefix only for the agent input that
//! names a target node: that node as a varint, so the relay's gate for scoped grants still reads
//! it (the page checks it against the sealed copy). Control frames (requests, consent, grant
//! terms, revocations, the end) and the relay's own frames are never sealed: they carry no page
//! content, and the relay must read them to enforce control.

use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// The longest key-exchange message accepted (a SPAKE2 message on Ed25519 is 33 bytes).
pub const MAX_KEY_MESSAGE: usize = 64;

/// The page's half of a key exchange (kind `KeyStart`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct KeyShare {
    /// A number the page draws for this exchange; the answer and the confirmation name it, so
    /// an answer to an earlier exchange (a page that reloaded meanwhile) is told apart from a
    /// wrong one.
    pub exchange: u32,
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=64)")
    )]
    pub message: Vec<u8>,
}

/// The console's half and its key confirmation (kind `KeyReply`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct KeyReply {
    /// The exchange answered ([`KeyShare::exchange`]).
    pub exchange: u32,
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=64)")
    )]
    pub message: Vec<u8>,
    pub confirmation: [u8; 32],
}

/// The page's key confirmation and the session's content key, sealed for this console under
/// the exchange's page-to-console key (kind `KeyConfirm`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct KeyConfirm {
    /// The exchange confirmed ([`KeyShare::exchange`]).
    pub exchange: u32,
    pub confirmation: [u8; 32],
    /// The content key (32 bytes) and its tag.
    #[cfg_attr(
        test,
        proptest(strategy = "proptest::collection::vec(proptest::prelude::any::<u8>(), 0..=64)")
    )]
    pub content_key: Vec<u8>,
}
