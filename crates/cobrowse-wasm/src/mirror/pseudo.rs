//! The customer's `:hover`, `:focus` and `:target` in the mirror. The agent's own pointer and
//! focus are not the customer's, so the mirror's stylesheets have those pseudo-classes
//! rewritten into attribute selectors (`a:hover` → `a[data-cb-hover]`), and the shell sets the
//! attributes on the elements the customer's page names (see [`crate::marks`]).
//!
//! The rewrite works on CSS text without parsing it: it copies strings, comments, escapes,
//! `url(…)` and attribute selectors untouched, rewrites only in a selector (text that a `{`
//! ends, not an at-rule's prelude), and only whole pseudo-class names (`:hover`, not
//! `::before` or `:hover-x`). Declarations (`grid-area:target`) are left alone.

use std::borrow::Cow;

/// On the focused element.
pub const FOCUS_ATTR: &str = "data-cb-focus";
/// On the focused element too (the mirror cannot tell keyboard focus from a click's).
pub const FOCUS_VISIBLE_ATTR: &str = "data-cb-focus-visible";
/// On the focused element and its ancestors.
pub const FOCUS_WITHIN_ATTR: &str = "data-cb-focus-within";
/// On the element under the customer's pointer and its ancestors.
pub const HOVER_ATTR: &str = "data-cb-hover";
/// On the `:target` element.
pub const TARGET_ATTR: &str = "data-cb-target";

/// The pseudo-classes rewritten, with their attribute.
const REWRITTEN: &[(&str, &str)] = &[
    ("hover", HOVER_ATTR),
    ("focus", FOCUS_ATTR),
    ("focus-visible", FOCUS_VISIBLE_ATTR),
    ("focus-within", FOCUS_WITHIN_ATTR),
    ("target", TARGET_ATTR),
];

/// `css` (a rule, a rule list or a `<style>`'s text) with the mirrored pseudo-classes in its
/// selectors turned into attribute selectors; borrowed when there is none.
pub fn rewrite_selectors(css: &str) -> Cow<'_, str> {
    let lower = css.to_ascii_lowercase();
    if !REWRITTEN.iter().any(|(name, _)| lower.contains(name)) {
        return Cow::Borrowed(css);
    }
    let b = css.as_bytes();
    let mut out = String::with_capacity(css.len() + 32);
    // Copied up to here; the current selector decision (None: not looked at yet).
    let (mut copied, mut i) = (0, 0);
    let mut selector: Option<bool> = None;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'/' | b'\\' | b'u' | b'U' | b'[' => i = skip(b, i),
            b'{' | b'}' | b';' => {
                selector = None;
                i += 1;
            }
            b':' if b.get(i + 1) == Some(&b':') => i += 2,
            b':' => {
                let is_selector = *selector.get_or_insert_with(|| in_selector(b, i));
                let end = i + 1 + b[i + 1..].iter().take_while(|c| is_ident(**c)).count();
                let name = &lower[i + 1..end];
                let attr = REWRITTEN.iter().find(|(n, _)| *n == name).map(|(_, a)| a);
                match attr {
                    Some(attr) if is_selector && b.get(end) != Some(&b'(') => {
                        out.push_str(&css[copied..i]);
                        out.push('[');
                        out.push_str(attr);
                        out.push(']');
                        copied = end;
                        i = end;
                    }
                    // A value may follow (`background:url(…)`): read on from the name.
                    _ => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    if copied == 0 {
        return Cow::Borrowed(css);
    }
    out.push_str(&css[copied..]);
    Cow::Owned(out)
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c >= 0x80
}

/// Where the construct starting at `b[i]` ends: past a string, a comment, an escape, a
/// `url(…)` or an attribute selector; one byte on otherwise.
fn skip(b: &[u8], i: usize) -> usize {
    let find = |from: usize, stop: &dyn Fn(&[u8], usize) -> bool| {
        let mut j = from;
        while j < b.len() && !stop(b, j) {
            j += if b[j] == b'\\' { 2 } else { 1 };
        }
        (j + 1).min(b.len())
    };
    match b[i] {
        q @ (b'"' | b'\'') => find(i + 1, &|b, j| b[j] == q),
        b'/' if b.get(i + 1) == Some(&b'*') => {
            let mut j = i + 2;
            while j + 1 < b.len() && !(b[j] == b'*' && b[j + 1] == b'/') {
                j += 1;
            }
            (j + 2).min(b.len())
        }
        b'\\' => (i + 2).min(b.len()),
        b'u' | b'U'
            if b.get(i..i + 4)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"url(")) =>
        {
            let quoted = b[i + 4..]
                .iter()
                .find(|c| !c.is_ascii_whitespace())
                .is_some_and(|c| matches!(c, b'"' | b'\''));
            if quoted {
                i + 4
            } else {
                find(i + 4, &|b, j| b[j] == b')')
            }
        }
        b'[' => find(i + 1, &|b, j| b[j] == b']'),
        _ => i + 1,
    }
}

/// Whether the `:` at `b[at]` is in a selector: the text around it is ended by `{` before any
/// `;` or `}`, and is not an at-rule's prelude (`@media (hover:hover)`).
fn in_selector(b: &[u8], at: usize) -> bool {
    let start = b[..at]
        .iter()
        .rposition(|c| matches!(c, b'{' | b'}' | b';'))
        .map_or(0, |p| p + 1);
    let prelude = b[start..at].iter().find(|c| !c.is_ascii_whitespace());
    if prelude == Some(&b'@') {
        return false;
    }
    let mut j = at;
    while j < b.len() {
        match b[j] {
            b'{' => return true,
            b';' | b'}' => return false,
            b'"' | b'\'' | b'/' | b'\\' | b'u' | b'U' | b'[' => j = skip(b, j),
            _ => j += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(css: &str, want: &str) {
        assert_eq!(rewrite_selectors(css), want, "{css}");
    }

    #[test]
    fn pseudo_classes_in_selectors_become_attribute_selectors() {
        check("a:hover{color:red}", "a[data-cb-hover]{color:red}");
        check(
            ".menu:hover .items { display: block; }",
            ".menu[data-cb-hover] .items { display: block; }",
        );
        check(
            "a:hover::before{content:'x'}",
            "a[data-cb-hover]::before{content:'x'}",
        );
        check(
            "li:not(:hover){opacity:.5}",
            "li:not([data-cb-hover]){opacity:.5}",
        );
        check("input:FOCUS{outline:0}", "input[data-cb-focus]{outline:0}");
        check(
            "a:focus-visible, form:focus-within {x:y}",
            "a[data-cb-focus-visible], form[data-cb-focus-within] {x:y}",
        );
        check(
            "h2:target{background:yellow}",
            "h2[data-cb-target]{background:yellow}",
        );
        check(
            "@media (min-width: 10px) { a:hover { b: c } }",
            "@media (min-width: 10px) { a[data-cb-hover] { b: c } }",
        );
        check(
            ".hover\\:bg-red:hover{color:red}",
            ".hover\\:bg-red[data-cb-hover]{color:red}",
        );
    }

    #[test]
    fn strings_urls_comments_declarations_and_other_names_are_left_alone() {
        for css in [
            "a::before{content:':hover'}",
            "a[title=\":hover\"]{x:y}",
            "a{background:url(data:image/svg+xml;utf8,<style>a:hover{fill:red}</style>)}",
            "a{background:url(\"x:hover{\")}",
            "/* a:hover{} */ b{c:d}",
            "a{grid-area:target}",
            "a{--x:hover}",
            "@media (hover:hover) { a { b: c } }",
            "a:hover-like{x:y}",
            "a:focused{x:y}",
            ":is(a){x:y}",
            "p{color:red}",
            "",
            ":",
            "a:hover",
        ] {
            assert_eq!(rewrite_selectors(css), css, "{css}");
        }
    }

    #[test]
    fn unterminated_input_does_not_panic() {
        for css in [
            "a:hover{\"",
            "url(",
            "/*",
            "[",
            "\\",
            "a:hover\\",
            "é:hover{}",
        ] {
            let _ = rewrite_selectors(css);
        }
        check("é:hover{}", "é[data-cb-hover]{}");
    }
}
