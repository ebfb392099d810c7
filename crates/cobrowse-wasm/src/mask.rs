//! Masking decisions, made before anything is serialized: given an element's facts (tag,
//! attributes, the state inherited from its parent, which site selectors it matches) decide
//! whether it is skipped (our own overlay), blocked (an empty box), or kept with a mask state
//! its text, values and children inherit. Also the same-length mask itself.
//!
//! # Invariants
//! - Password, `autocomplete="cc-*"` and hidden inputs have their values masked whatever the
//!   configuration or `data-cobrowse-unmask` say.
//! - `data-cobrowse-unmask` only opens what private-by-default mode and the card-field names
//!   closed; an explicit mask (attribute or selector) above it still masks.
//! - A form control whose `id`, `name`, `autocomplete`, `aria-label`, `placeholder` or label
//!   text names a card number, security code, expiry or holder, an IBAN or a national id (see
//!   [`crate::card_field`]) has its value masked by default; unlike `autocomplete="cc-*"`,
//!   `data-cobrowse-unmask` on it or an ancestor opens it (a site that names a field `sin` for
//!   something else can say so).

/// Marks the library's own UI (consent prompt, banner, agent pointer): never captured.
pub const OVERLAY_ATTR: &str = "data-cobrowse-overlay";
pub const MASK_ATTR: &str = "data-cobrowse-mask";
pub const BLOCK_ATTR: &str = "data-cobrowse-block";
pub const UNMASK_ATTR: &str = "data-cobrowse-unmask";
pub const READONLY_ATTR: &str = "data-cobrowse-readonly";

/// What a node inherits from its ancestors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaskState {
    /// An ancestor (or the element) is explicitly masked.
    pub explicit: bool,
    /// An ancestor (or the element) carries `data-cobrowse-unmask`.
    pub opened: bool,
    /// Text and values here are masked (derived from the above and the private mode).
    pub masked: bool,
    /// The agent may not act here.
    pub readonly: bool,
}

impl MaskState {
    /// The state at the document root.
    pub fn root(private_by_default: bool) -> Self {
        Self {
            masked: private_by_default,
            ..Self::default()
        }
    }
}

/// What to do with an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not captured at all, nor its subtree (the library's own overlay).
    Skip,
    /// Sent as an empty box of its size; its subtree is never read.
    Block(MaskState),
    /// Sent, with the state its text, values and children inherit.
    Keep(MaskState),
}

/// The facts about one element that masking depends on. Selector matches are computed by the
/// caller only when the site configured selectors.
#[derive(Debug, Clone, Copy)]
pub struct ElementFacts<'a> {
    pub attrs: &'a [(String, String)],
    pub parent: MaskState,
    pub private_by_default: bool,
    pub matches_mask: bool,
    pub matches_block: bool,
    pub matches_readonly: bool,
}

pub fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Decides what happens to an element.
pub fn decide(facts: &ElementFacts) -> Verdict {
    let has = |name| attr(facts.attrs, name).is_some();
    if has(OVERLAY_ATTR) {
        return Verdict::Skip;
    }
    let explicit = facts.parent.explicit || has(MASK_ATTR) || facts.matches_mask;
    let opened = facts.parent.opened || has(UNMASK_ATTR);
    let state = MaskState {
        explicit,
        opened,
        masked: explicit || (facts.private_by_default && !opened),
        readonly: facts.parent.readonly || has(READONLY_ATTR) || facts.matches_readonly,
    };
    if has(BLOCK_ATTR) || facts.matches_block {
        Verdict::Block(state)
    } else {
        Verdict::Keep(state)
    }
}

/// Whether a form control's value must be masked: its own state, always for password,
/// `autocomplete="cc-*"` and hidden inputs, and unless opened for a control whose names mark a
/// card or id field (`label` gives its label's text, read only when the rest did not decide).
pub fn value_masked(
    tag: &str,
    attrs: &[(String, String)],
    state: MaskState,
    label: impl FnOnce() -> String,
) -> bool {
    if state.masked {
        return true;
    }
    let control = matches!(tag, "input" | "select" | "textarea");
    let named = || {
        ["id", "name", "autocomplete", "aria-label", "placeholder"]
            .iter()
            .filter_map(|n| attr(attrs, n))
            .any(crate::card_field::names_sensitive)
            || crate::card_field::names_sensitive(&label())
    };
    let autocomplete_cc = attr(attrs, "autocomplete").is_some_and(|v| {
        v.split_ascii_whitespace().any(|token| {
            token
                .get(..3)
                .is_some_and(|t| t.eq_ignore_ascii_case("cc-"))
        })
    });
    autocomplete_cc
        || password_input(tag, attrs)
        || input_of_type(tag, attrs, "hidden")
        || (control && !state.opened && named())
}

/// Whether an element is a password field now. One that ever was stays masked (see
/// `serialize::sent_as`): the "show password" toggle makes it `type=text`, still holding it.
pub fn password_input(tag: &str, attrs: &[(String, String)]) -> bool {
    input_of_type(tag, attrs, "password")
}

/// Whether an element is an `<input>` of type `ty` (the attribute trimmed, any letter case).
fn input_of_type(tag: &str, attrs: &[(String, String)], ty: &str) -> bool {
    tag == "input" && attr(attrs, "type").is_some_and(|v| v.trim().eq_ignore_ascii_case(ty))
}

/// Whether an attribute's value is masked on an element: values of masked controls, and inside
/// masked content the human-readable texts and the addresses a link writes out (`mailto:`,
/// `tel:`, `sms:`).
pub fn attr_masked(name: &str, value: &str, value_is_masked: bool, state: MaskState) -> bool {
    let spelled_out = || {
        let scheme = value.trim_start().split(':').next().unwrap_or_default();
        ["mailto", "tel", "sms"]
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s))
    };
    (value_is_masked && name == "value")
        || (state.masked
            && (matches!(
                name,
                "value"
                    | "title"
                    | "alt"
                    | "aria-label"
                    | "aria-description"
                    | "aria-valuetext"
                    | "aria-placeholder"
                    | "placeholder"
                    | "label"
                    | "abbr"
            ) || (name == "href" && spelled_out())))
}

/// Attributes never sent: `srcdoc` (an iframe's whole document as markup, unmasked; a
/// same-origin frame's document is captured, masked, as its own subtree instead), and where
/// values are masked, `checked` and `selected`, whose mere presence is the answer.
pub fn attr_dropped(name: &str, value_is_masked: bool) -> bool {
    name == "srcdoc" || (value_is_masked && matches!(name, "checked" | "selected"))
}

/// Attributes whose change can change a verdict even without site selectors.
pub fn affects_verdict(name: &str) -> bool {
    name.starts_with("data-cobrowse-")
        || matches!(
            name,
            "type" | "autocomplete" | "id" | "name" | "aria-label" | "placeholder"
        )
}

/// The same-length mask: every character but whitespace becomes `*`, so layout survives.
pub fn mask_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_whitespace() { c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn facts(a: &[(String, String)], parent: MaskState, private: bool) -> ElementFacts<'_> {
        ElementFacts {
            attrs: a,
            parent,
            private_by_default: private,
            matches_mask: false,
            matches_block: false,
            matches_readonly: false,
        }
    }

    #[test]
    fn markup_decides_skip_block_and_mask() {
        let root = MaskState::root(false);
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "keep"),
            (&[(OVERLAY_ATTR, "")], "skip"),
            (&[(BLOCK_ATTR, "")], "block"),
            (&[(MASK_ATTR, "")], "keep masked"),
            (&[(READONLY_ATTR, "")], "keep readonly"),
        ];
        for (a, want) in cases {
            let a = attrs(a);
            let got = match decide(&facts(&a, root, false)) {
                Verdict::Skip => "skip".to_string(),
                Verdict::Block(_) => "block".to_string(),
                Verdict::Keep(s) => {
                    let mut out = "keep".to_string();
                    if s.masked {
                        out.push_str(" masked");
                    }
                    if s.readonly {
                        out.push_str(" readonly");
                    }
                    out
                }
            };
            assert_eq!(&got, want, "{a:?}");
        }
    }

    #[test]
    fn private_mode_masks_until_unmask_but_explicit_mask_wins() {
        let root = MaskState::root(true);
        assert!(root.masked);
        let open = attrs(&[(UNMASK_ATTR, "")]);
        let Verdict::Keep(opened) = decide(&facts(&open, root, true)) else {
            panic!()
        };
        assert!(!opened.masked);
        let none = attrs(&[]);
        let Verdict::Keep(child) = decide(&facts(&none, opened, true)) else {
            panic!()
        };
        assert!(!child.masked, "unmask is inherited");
        let explicit = attrs(&[(MASK_ATTR, "")]);
        let Verdict::Keep(masked) = decide(&facts(&explicit, MaskState::root(false), false)) else {
            panic!()
        };
        let Verdict::Keep(inner) = decide(&facts(&open, masked, false)) else {
            panic!()
        };
        assert!(inner.masked, "unmask does not open an explicit mask");
    }

    #[test]
    fn sensitive_inputs_are_always_masked() {
        let open = MaskState {
            opened: true,
            ..MaskState::default()
        };
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], bool);
        let cases: &[Case] = &[
            ("input", &[("type", "password")], true),
            ("input", &[("type", "PassWord")], true),
            ("input", &[("type", "hidden")], true),
            ("input", &[("autocomplete", "cc-number")], true),
            ("input", &[("autocomplete", "billing cc-exp")], true),
            ("select", &[("autocomplete", "cc-exp-month")], true),
            ("input", &[("type", "text")], false),
            ("input", &[("autocomplete", "email")], false),
            ("textarea", &[], false),
        ];
        for (tag, a, want) in cases {
            assert_eq!(
                value_masked(tag, &attrs(a), open, String::new),
                *want,
                "{tag} {a:?}"
            );
        }
    }

    #[test]
    fn card_named_controls_are_masked_unless_opened() {
        let plain = MaskState::root(false);
        let opened = MaskState {
            opened: true,
            ..plain
        };
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, bool);
        let cases: &[Case] = &[
            ("input", &[("name", "cardnumber")], "", true),
            ("input", &[("id", "cc-cvv")], "", true),
            ("select", &[("name", "exp_month")], "", true),
            ("input", &[("aria-label", "Card number")], "", true),
            ("input", &[("placeholder", "IBAN")], "", true),
            ("input", &[("id", "f1")], "Security code", true),
            ("input", &[("name", "email")], "Email", false),
            ("input", &[("name", "discover")], "", false),
            ("div", &[("id", "cvc")], "", false),
        ];
        for (tag, a, label, want) in cases {
            let a = attrs(a);
            let got = value_masked(tag, &a, plain, || label.to_string());
            assert_eq!(got, *want, "{tag} {a:?} {label:?}");
            assert!(
                !value_masked(tag, &a, opened, || label.to_string()),
                "data-cobrowse-unmask opens {tag} {a:?}"
            );
        }
        let forced = attrs(&[("autocomplete", "cc-number")]);
        assert!(value_masked("input", &forced, opened, String::new));
        let odd = attrs(&[("autocomplete", "aaé-x")]);
        assert!(!value_masked("input", &odd, opened, String::new));
    }

    #[test]
    fn inside_masked_content_labels_and_spelled_out_addresses_are_masked() {
        let masked = MaskState {
            masked: true,
            ..MaskState::root(false)
        };
        let plain = MaskState::root(false);
        for name in [
            "title",
            "alt",
            "aria-label",
            "aria-valuetext",
            "placeholder",
            "label",
        ] {
            assert!(attr_masked(name, "Jane Doe", false, masked), "{name}");
            assert!(!attr_masked(name, "Jane Doe", false, plain), "{name}");
        }
        for href in [
            "mailto:jane@doe.example",
            " TEL:+1 555 0100",
            "sms:+15550100",
        ] {
            assert!(attr_masked("href", href, false, masked), "{href}");
            assert!(!attr_masked("href", href, false, plain), "{href}");
        }
        for keep in [
            ("href", "/orders/1001"),
            ("class", "card"),
            ("data-state", "open"),
        ] {
            assert!(!attr_masked(keep.0, keep.1, false, masked), "{keep:?}");
        }
        assert!(attr_masked("value", "4111", true, plain));
    }

    #[test]
    fn mask_keeps_length_and_whitespace() {
        assert_eq!(mask_text("4111 1111\tx"), "**** ****\t*");
        assert_eq!(mask_text("héllo").chars().count(), 5);
        assert_eq!(mask_text(""), "");
    }
}
