//! The site configuration as the loader passes it to `Capture.start` (an object, or the same
//! as a JSON string), read into [`Config`]: each selector list as one selector string or an
//! array of selectors, `privateByDefault` by truthiness, and the pointer interval and slice
//! budget as numbers, clamped to what capture can work with. What is missing keeps its
//! default; a string that is not JSON is the loader's error.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;

use crate::config::Config;

/// Reads the site configuration from an object or a JSON string (see [`Config`]).
pub(super) fn parse_config(value: &JsValue) -> Result<Config, JsValue> {
    let object = match value.as_string() {
        Some(json) => js_sys::JSON::parse(&json)?,
        None => value.clone(),
    };
    let mut config = Config::default();
    if object.is_undefined() || object.is_null() {
        return Ok(config);
    }
    let get =
        |key: &str| Reflect::get(&object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
    let list = |key: &str| -> String {
        let v = get(key);
        if let Some(s) = v.as_string() {
            return s;
        }
        if !Array::is_array(&v) {
            return String::new();
        }
        let items: Vec<String> = Array::from(&v)
            .iter()
            .filter_map(|s| s.as_string())
            .collect();
        Config::selector_list(items.iter().map(String::as_str))
    };
    config.mask = list("mask");
    config.block = list("block");
    config.readonly = list("readonly");
    config.private_by_default = get("privateByDefault").is_truthy();
    if let Some(ms) = get("pointerIntervalMs").as_f64() {
        config.pointer_interval_ms = ms.max(0.0);
    }
    if let Some(ms) = get("sliceMs").as_f64() {
        config.slice_ms = ms.clamp(1.0, 1000.0);
    }
    Ok(config)
}
