//! The browser shell: the JavaScript-facing API of the library. The only module that touches
//! wasm-bindgen, js-sys and web-sys.
//!
//! - `page`: the [`crate::page::Page`] implementation over the live DOM.
//! - `session`: a running capture: observers, listeners, CSSOM hooks, animation-frame
//!   batching, sliced snapshots and frame delivery; `session/reports` says what each
//!   observer record, event and hook call records, `session/options` reads the site config.
//! - `hooks.js`: the few prototype patches that must be JavaScript.
//! - `mirror` + `mirror_dom` (feature `mirror`, the console's package): the agent's mirror.
//! - `customer`: the customer's session (relay connection, consent, pause, agent frames).
//! - `apply`: granted agent input applied to the live page as a person would.
//! - `overlay` + `ui.js`: prompts, banner and the agent's pointer, highlights and strokes.

mod apply;
pub mod customer;
#[cfg(feature = "mirror")]
pub mod mirror;
#[cfg(feature = "mirror")]
mod mirror_dom;
#[cfg(feature = "mirror")]
mod mirror_secure;
mod overlay;
mod page;
pub(crate) mod rng;
pub mod session;

pub use session::WebCapture;

use wasm_bindgen::prelude::*;

/// Talc instead of the default dlmalloc: the same behaviour for a single-threaded page at about
/// a quarter of the code (issue 4's size target), and no slower.
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// The protocol version, so the loader can check it fetched a matching package.
#[wasm_bindgen(js_name = protocolVersion)]
pub fn protocol_version() -> u16 {
    crate::protocol_version()
}
