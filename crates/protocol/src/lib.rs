//! Wire protocol v3: the one compatibility boundary between the customer's page, the relay and
//! the agent's console. (v2 changed one layout: a snapshot's node list carries ids as deltas,
//! see [`dom::delta_nodes`]. v3 numbers control grants: `Welcome` and `ModeChanged` carry the
//! latest grant's number and a resuming page names the grant it still holds, see
//! [`Pairing::Resume`]. Later v3 builds added, without changing any existing encoding, the
//! relay's [`Viewers`] frame under a new kind, which earlier pages ignore, and
//! [`Pairing::Observe`] as the last variant, for a supervisor's silent observer, and time-boxed
//! and scoped grants: new kinds for an accept on terms, a region's node ids, an area request,
//! the relay's grant status and its dropped-input notice, and two `Refusal` variants last; and
//! a large page's snapshot in parts, `SnapshotBegin` and [`SnapshotPart`].)
//!
//! One binary WebSocket message carries one [`Frame`]: a one-byte [`FrameKind`], a varint
//! sequence number and a postcard-encoded body. The relay reads only the [`Envelope`] (kind and
//! sequence number) to route frames and enforce control; DOM bodies pass through it untouched.
//!
//! # Layout
//!
//! - [`frame`]: frame kinds, the envelope, encoding and bounded decoding.
//! - [`seq`]: sequence tracking.
//! - [`session`]: hello/welcome, roles, pairing, end reasons, error codes.
//! - [`dom`]: snapshots and mutation batches of the customer's page, and its other signals.
//! - [`agent`]: what the agent sends: pointer, highlights, strokes, and input while granted.
//! - [`fixtures`]: golden frames whose encodings are committed, for both sides to decode.
//! - [`table`]: PROTOCOL.md's frame table, generated from [`frame`]'s list of kinds.
//! - [`control`]: the pure control state machine (read-only, requested, granted, ended) that the
//!   relay and the page both run.
//! - [`keys`]: end-to-end encryption on the wire: the sealed layout and the key exchange's
//!   frames.
//! - [`kind`]: what each kind is for: agent input, page state, sealable.
//! - [`grant`]: the terms of a grant (a deadline, a region of node ids) and the frames that
//!   carry them.
//!
//! # Architecture invariants
//!
//! - No I/O, no clocks, no async runtime, no browser bindings: this crate builds for wasm32 and
//!   native alike, and the caller owns sockets and timers.
//! - Decoding untrusted bytes never panics, and nothing is allocated beyond a bound proportional
//!   to [`Limits::max_frame_bytes`], checked before decoding starts. No wire type is recursive,
//!   so hostile nesting cannot exhaust the stack.

#![cfg_attr(not(test), no_std)]
extern crate alloc;

pub mod agent;
pub mod carried;
pub mod control;
pub mod dom;
pub mod fixtures;
pub mod frame;
pub mod grant;
pub mod keys;
pub mod kind;
pub mod seq;
pub mod session;
pub mod table;

pub use agent::*;
pub use carried::CarriedControl;
pub use control::{ControlState, DropReason, Verdict};
pub use dom::*;
pub use frame::{
    peek_hello_version, DecodeError, Empty, EncodeError, Envelope, Frame, FrameKind, Limits,
    Message, Sender, SeqCheck, SeqTracker, MAX_FRAME_BYTES, SEALED,
};
pub use grant::{
    AreaRequest, GrantStatus, GrantTerms, ModeReason, ScopeNodes, MAX_GRANT_SECS, MAX_SCOPE_NODES,
};
pub use keys::{KeyConfirm, KeyReply, KeyShare, MAX_KEY_MESSAGE};
pub use session::*;

#[cfg(test)]
mod tests;

/// The protocol version this build speaks. A `hello` with another version is refused with
/// [`ErrorCode::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u16 = 3;
