//! The browser library: capture and masking in the customer's page, and the DOM model the
//! agent-side mirror applies frames to.
//!
//! # Layout
//!
//! Pure core (no web-sys; tested natively with `cargo test -p cobrowse-wasm`):
//! - [`page`]: the [`page::Page`] trait, what capture reads from a live document.
//! - [`capture`]: a session: sliced snapshots, recording, flushing into frames with sequence
//!   numbers. The only module that holds a session's whole state; nothing below imports it:
//!   the slices, the flush and the walk take the parts of that state they need.
//! - [`diff`]: the flush's DOM part: recorded [`changes`] against what is [`known`], into
//!   ordered mutation ops (the walk sends what was added).
//! - [`reconcile`]: one child list against the receiver's: what stays, what is sent again.
//! - [`snapshot`]: a snapshot in slices, dropping the visits a change between slices made
//!   stale.
//! - [`serialize`]: the walk that turns live nodes into wire nodes, masking first.
//! - [`outbox`]: the numbered stream of encoded frames the shell sends, and the page's
//!   encoder.
//! - [`changes`]: the DOM changes recorded since the last flush (where to look, not what).
//! - [`known`]: what the receiver has: the [`tree`], the name table, ids, sheets and scopes
//!   sent, which the walk adds to and the flush compares the page with.
//! - [`tree`]: the sent nodes (ids, parents, children, masking facts).
//! - [`mask`]: keep, mask or block decisions and the same-length mask.
//! - [`marks`]: focus, hover and `:target`, sent when they change.
//! - [`card_field`]: the names that mark a card, IBAN or national-id field.
//! - [`intern`]: per-snapshot name table and the crate's fast hasher.
//! - [`order`]: the small heapsort the flush paths use instead of `sort_unstable`.
//! - [`url`]: absolute URLs for attributes, `srcset` and CSS `url()`.
//! - [`config`]: site configuration (selector lists, private mode, sampling, slicing).
//! - [`control`]: the customer's second gate on agent input, same-site navigation, pause
//!   patterns, and the few frames the page sends besides capture's.
//! - [`model`]: the DOM model frames build (mirror and tests), with a canonical form.
//! - [`secure`]: end-to-end encryption of a session's frames, the page's side and the
//!   console's, over `e2ee`.
//! - [`mirror`]: the agent-side mirror's core: frames to checked, sanitised DOM patches.
//!
//! Thin shell (wasm32 only):
//! - `web`: every `#[wasm_bindgen]` item and every use of web-sys and js-sys.
//!
//! # Architecture invariants
//!
//! - Masking happens before serialization: masked text and values never reach an encoder.
//! - Only the `web` module touches the browser; everything else is pure and tested natively.
//! - The capture side's [`tree`] is the truth about what the receiver has; mutation records
//!   only point at where to compare.

pub mod capture;
pub mod card_field;
pub mod changes;
pub mod config;
pub mod control;
pub mod diff;
pub mod intern;
pub mod known;
pub mod marks;
pub mod mask;
pub mod mirror;
pub mod model;
pub mod order;
pub mod outbox;
pub mod page;
pub mod reconcile;
pub mod secure;
pub mod serialize;
pub mod sheet_change;
pub mod snapshot;
pub mod tree;
pub mod url;

#[cfg(test)]
mod fake;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use capture::{Capture, RawRuleChange, SheetTarget};
pub use config::Config;
pub use model::{Dom, ModelError};
pub use outbox::CaptureError;

/// The protocol version this library speaks.
pub fn protocol_version() -> u16 {
    protocol::PROTOCOL_VERSION
}
