//! What the page's CSSOM hooks report to a capture: which sheet changed and how, before the
//! capture decides whether the change goes out as one rule or as the whole sheet.

/// A CSSOM change reported by the page's hooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawRuleChange {
    /// A top-level rule was inserted at `index` (its text as the browser serializes it).
    Insert {
        index: u32,
        rule: String,
    },
    Delete {
        index: u32,
    },
    /// Anything else (nested rules, `replace`): send the whole list.
    Full,
}

/// Which sheet a CSSOM hook saw change.
pub enum SheetTarget<'a, N> {
    Owner(&'a N),
    Constructed(u32),
}
