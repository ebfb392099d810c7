//! What the mirror refuses to carry over from the customer's page: the decisions that make the
//! rebuilt DOM inert, made on names and values alone so they are tested natively.
//!
//! The mirror's iframe is sandboxed with `allow-same-origin` only, so no script runs there in
//! any case; these rules are the second wall. Script elements keep their place in the tree but
//! lose `src` and get an inert `type`; inline event handlers (`on*`) are dropped; URL-valued
//! attributes with an executable scheme (`javascript:`, `vbscript:`, `data:text/html`) are
//! dropped; `<meta http-equiv>` (refresh, CSP, cookies) is disarmed by dropping the attribute;
//! `<iframe src>`/`srcdoc` are dropped because the mirror builds the frame's document itself.

use protocol::Namespace;

/// The `type` a mirrored `<script>` gets, so a browser never treats it as code.
pub const INERT_SCRIPT_TYPE: &str = "text/x-cobrowse-inert";

/// What to do with one attribute of a mirrored element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrAction {
    Keep,
    Drop,
    Replace(String),
}

fn is_script(tag: &str) -> bool {
    tag.eq_ignore_ascii_case("script")
}

/// Whether a URL value would run code when followed or loaded. Browsers strip ASCII
/// whitespace and control characters anywhere in the scheme, so the check does too.
pub fn is_executable_url(value: &str) -> bool {
    let scheme: String = value
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_ascii_control())
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    scheme.starts_with("javascript:")
        || scheme.starts_with("vbscript:")
        || scheme.starts_with("data:text/html")
}

fn carries_url(name: &str) -> bool {
    crate::url::is_url_attr(name) || matches!(name, "srcset" | "ping" | "codebase" | "cite")
}

/// Decides one attribute of element `tag` in namespace `ns`.
pub fn attribute(ns: Namespace, tag: &str, name: &str, value: &str) -> AttrAction {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("on") {
        return AttrAction::Drop;
    }
    if is_script(tag) {
        return match lower.as_str() {
            "src" | "xlink:href" | "href" | "nonce" | "integrity" => AttrAction::Drop,
            "type" => AttrAction::Replace(INERT_SCRIPT_TYPE.into()),
            _ => AttrAction::Keep,
        };
    }
    if ns == Namespace::Html && tag.eq_ignore_ascii_case("meta") && lower == "http-equiv" {
        return AttrAction::Drop;
    }
    if ns == Namespace::Html
        && tag.eq_ignore_ascii_case("iframe")
        && matches!(lower.as_str(), "src" | "srcdoc")
    {
        return AttrAction::Drop;
    }
    if lower == "srcdoc" || (carries_url(&lower) && is_executable_url(value)) {
        return AttrAction::Drop;
    }
    AttrAction::Keep
}

/// The attributes a new mirrored element is created with, in order: each one decided by
/// [`attribute`], and an inert `type` added to scripts that had none.
pub fn element_attrs(
    ns: Namespace,
    tag: &str,
    attrs: &[(String, String)],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = attrs
        .iter()
        .filter_map(|(name, value)| match attribute(ns, tag, name, value) {
            AttrAction::Keep => Some((name.clone(), value.clone())),
            AttrAction::Replace(v) => Some((name.clone(), v)),
            AttrAction::Drop => None,
        })
        .collect();
    if is_script(tag) && !out.iter().any(|(n, _)| n.eq_ignore_ascii_case("type")) {
        out.push(("type".into(), INERT_SCRIPT_TYPE.into()));
    }
    out
}

/// An attribute change to apply to a mirrored element, after the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrChange {
    Set { name: String, value: String },
    Remove { name: String },
}

/// Decides an attribute change (`value` `None` is a removal). `None` means: do nothing.
pub fn attribute_change(
    ns: Namespace,
    tag: &str,
    name: &str,
    value: Option<&str>,
) -> Option<AttrChange> {
    let Some(value) = value else {
        // Removing a script's type would make it live again: keep the inert one.
        if is_script(tag) && name.eq_ignore_ascii_case("type") {
            return None;
        }
        return Some(AttrChange::Remove { name: name.into() });
    };
    match attribute(ns, tag, name, value) {
        AttrAction::Keep => Some(AttrChange::Set {
            name: name.into(),
            value: value.into(),
        }),
        AttrAction::Replace(value) => Some(AttrChange::Set {
            name: name.into(),
            value,
        }),
        // A value that turned executable removes the old, harmless one.
        AttrAction::Drop if name.to_ascii_lowercase().starts_with("on") => None,
        AttrAction::Drop => Some(AttrChange::Remove { name: name.into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(tag: &str, name: &str, value: &str, expected: AttrAction) {
        assert_eq!(
            attribute(Namespace::Html, tag, name, value),
            expected,
            "<{tag} {name}={value:?}>"
        );
    }

    #[test]
    fn inline_event_handlers_are_dropped_whatever_their_case() {
        check("button", "onclick", "steal()", AttrAction::Drop);
        check("img", "ONERROR", "steal()", AttrAction::Drop);
        check("body", "onload", "", AttrAction::Drop);
    }

    #[test]
    fn javascript_urls_are_dropped_even_when_disguised() {
        check("a", "href", "javascript:alert(1)", AttrAction::Drop);
        check("a", "href", " JaVa\tScRiPt:alert(1)", AttrAction::Drop);
        check("form", "action", "vbscript:x", AttrAction::Drop);
        check("embed", "src", "data:text/html,<script>", AttrAction::Drop);
        check("a", "href", "https://shop.example/cart", AttrAction::Keep);
        check("img", "src", "data:image/png;base64,AAAA", AttrAction::Keep);
        check(
            "div",
            "title",
            "javascript: is a word here",
            AttrAction::Keep,
        );
    }

    #[test]
    fn scripts_stay_in_the_tree_but_inert() {
        let attrs = vec![
            ("src".to_string(), "https://cdn.example/app.js".to_string()),
            ("async".to_string(), String::new()),
        ];
        assert_eq!(
            element_attrs(Namespace::Html, "script", &attrs),
            vec![
                ("async".to_string(), String::new()),
                ("type".to_string(), INERT_SCRIPT_TYPE.to_string())
            ]
        );
        check(
            "script",
            "type",
            "module",
            AttrAction::Replace(INERT_SCRIPT_TYPE.into()),
        );
        assert_eq!(
            attribute_change(Namespace::Html, "script", "type", None),
            None,
            "removing type must not revive a script"
        );
        assert_eq!(
            attribute(Namespace::Svg, "script", "href", "https://x/y.js"),
            AttrAction::Drop
        );
    }

    #[test]
    fn meta_refresh_and_csp_are_disarmed() {
        check("meta", "http-equiv", "refresh", AttrAction::Drop);
        check(
            "meta",
            "http-equiv",
            "Content-Security-Policy",
            AttrAction::Drop,
        );
        check("meta", "charset", "utf-8", AttrAction::Keep);
    }

    #[test]
    fn iframes_lose_their_source_because_the_mirror_builds_their_document() {
        check(
            "iframe",
            "src",
            "https://shop.example/frame",
            AttrAction::Drop,
        );
        check("iframe", "srcdoc", "<p>secret</p>", AttrAction::Drop);
        check("iframe", "title", "payment", AttrAction::Keep);
    }

    #[test]
    fn a_value_turning_executable_removes_the_attribute() {
        assert_eq!(
            attribute_change(Namespace::Html, "a", "href", Some("javascript:x()")),
            Some(AttrChange::Remove {
                name: "href".into()
            })
        );
        assert_eq!(
            attribute_change(Namespace::Html, "a", "onclick", Some("x()")),
            None
        );
        assert_eq!(
            attribute_change(Namespace::Html, "a", "class", Some("big")),
            Some(AttrChange::Set {
                name: "class".into(),
                value: "big".into()
            })
        );
    }
}
