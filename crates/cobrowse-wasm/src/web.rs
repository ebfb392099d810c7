//! The browser shell: the JavaScript-facing API of the library. The only module that touches
//! wasm-bindgen and web-sys.

use wasm_bindgen::prelude::*;

/// The protocol version, so the loader can check it fetched a matching package.
#[wasm_bindgen(js_name = protocolVersion)]
pub fn protocol_version() -> u16 {
    crate::protocol_version()
}
