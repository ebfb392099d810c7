//! The site configuration of a capture session: selector lists that mask, block or make
//! read-only, private-by-default mode, pointer sampling and the snapshot slice budget.
//!
//! The shell reads it from the JSON (or object) the loader passes to `Capture.start`:
//!
//! ```json
//! { "mask": [".account-number"], "block": ["#chat-transcript"], "readonly": ["button.pay"],
//!   "privateByDefault": false, "pointerIntervalMs": 50, "sliceMs": 25 }
//! ```

/// Capture settings; every field has a safe default.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Elements whose text and values are masked, as one CSS selector list (empty: none).
    pub mask: String,
    /// Elements sent as empty boxes, as one CSS selector list (empty: none).
    pub block: String,
    /// Elements the agent may never act on, as one CSS selector list (empty: none).
    pub readonly: String,
    /// Mask all text and inputs except inside `data-cobrowse-unmask`.
    pub private_by_default: bool,
    /// The customer's pointer is sent at most once per this many milliseconds.
    pub pointer_interval_ms: f64,
    /// A snapshot slice yields to the page after this many milliseconds of work. The default
    /// leaves room in a 50 ms task (a long task, to the browser) for what the slice's task also
    /// does: encoding the part it collected, and the layout the first reads may force.
    pub slice_ms: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mask: String::new(),
            block: String::new(),
            readonly: String::new(),
            private_by_default: false,
            pointer_interval_ms: 50.0,
            slice_ms: 25.0,
        }
    }
}

impl Config {
    /// Joins a selector list from its parts, dropping empty ones.
    pub fn selector_list<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
        let mut out = String::new();
        for part in parts.into_iter().map(str::trim).filter(|s| !s.is_empty()) {
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(part);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn selector_list_trims_parts_drops_empty_ones_and_separates_with_commas() {
        let list = Config::selector_list([" .card ", "", "  ", "#pin", "input[type=password]"]);
        assert_eq!(list, ".card, #pin, input[type=password]");
        assert_eq!(Config::selector_list([]), "");
    }
}
