//! The browser library: capture and masking in the customer's page, applying granted agent
//! input, and the agent-side mirror renderer.
//!
//! # Layout
//!
//! - `web` (wasm32 only): every `#[wasm_bindgen]` item and every use of web-sys lives there.
//!
//! # Architecture invariants
//!
//! - Masking happens before serialization: masked text and values never reach an encoder.
//! - Only the `web` module touches the browser; everything else is pure and tested natively.

#[cfg(target_arch = "wasm32")]
mod web;

/// The protocol version this library speaks.
pub fn protocol_version() -> u16 {
    protocol::PROTOCOL_VERSION
}
