//! URL absolutization, so the agent's browser (on another origin) loads the customer's images,
//! styles and fonts: plain URL attributes, `srcset` candidate lists and CSS `url()` references.
//!
//! Fragment-only references (`#icon`) stay as they are: SVG `<use href="#icon">` and
//! `fill: url(#gradient)` must keep pointing into the same document. Values with a scheme
//! (`data:`, `blob:`, `https:`) are already absolute.

use std::borrow::Cow;

/// Attributes whose value is one URL, by element-independent name.
pub fn is_url_attr(name: &str) -> bool {
    matches!(
        name,
        "src" | "href" | "xlink:href" | "poster" | "background" | "action" | "data" | "formaction"
    )
}

/// Resolves `value` against the absolute `base`. Returns `value` untouched when it is already
/// absolute, fragment-only, empty, or when `base` has no authority (`about:blank`).
pub fn absolutize<'a>(base: &str, value: &'a str) -> Cow<'a, str> {
    let rel = value.trim_matches(|c: char| c.is_ascii_whitespace());
    if rel.is_empty() || rel.starts_with('#') || has_scheme(rel) {
        return Cow::Borrowed(value);
    }
    let Some(scheme_end) = base.find("://") else {
        return Cow::Borrowed(value);
    };
    let scheme = &base[..scheme_end];
    let after = &base[scheme_end + 3..];
    let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let origin = &base[..scheme_end + 3 + authority_end];
    let base_rest = &after[authority_end..];
    if let Some(rest) = rel.strip_prefix("//") {
        return Cow::Owned(join(&[scheme, "://", rest]));
    }
    if rel.starts_with('/') {
        return Cow::Owned(join(&[origin, &normalize(rel)]));
    }
    let base_path_end = base_rest.find(['?', '#']).unwrap_or(base_rest.len());
    let base_path = &base_rest[..base_path_end];
    if rel.starts_with('?') {
        return Cow::Owned(join(&[origin, base_path, rel]));
    }
    let dir = match base_path.rfind('/') {
        Some(i) => &base_path[..=i],
        None => "/",
    };
    Cow::Owned(join(&[origin, &normalize(&join(&[dir, rel]))]))
}

/// Concatenates `parts`: one loop, where `[..].concat()` and `join` bring the generic
/// slice-join code into the package.
pub(crate) fn join(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    parts.iter().for_each(|p| out.push_str(p));
    out
}

fn has_scheme(s: &str) -> bool {
    let mut chars = s.char_indices();
    if !matches!(chars.next(), Some((_, c)) if c.is_ascii_alphabetic()) {
        return false;
    }
    for (_, c) in chars {
        if c == ':' {
            return true;
        }
        if !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
            return false;
        }
    }
    false
}

/// Removes `.` and `..` segments from the path part (before `?`/`#`) of an absolute path.
fn normalize(path_and_more: &str) -> String {
    let split = path_and_more
        .find(['?', '#'])
        .unwrap_or(path_and_more.len());
    let (path, tail) = path_and_more.split_at(split);
    if !path.contains("/.") {
        return path_and_more.to_owned();
    }
    let mut segments: Vec<&str> = Vec::new();
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    let last = parts.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, seg) in parts.iter().enumerate() {
        match *seg {
            "." => trailing_slash = i == last,
            ".." => {
                segments.pop();
                trailing_slash = i == last;
            }
            s => {
                segments.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut out = String::with_capacity(path_and_more.len());
    for seg in &segments {
        out.push('/');
        out.push_str(seg);
    }
    if trailing_slash || out.is_empty() {
        out.push('/');
    }
    out.push_str(tail);
    out
}

/// Absolutizes every candidate URL of a `srcset` (`a.png 1x, b.png 2x`).
pub fn absolutize_srcset(base: &str, srcset: &str) -> String {
    let mut out = String::with_capacity(srcset.len() + 32);
    let mut rest = srcset;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ',');
        if rest.is_empty() {
            break;
        }
        let url_end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let mut url = &rest[..url_end];
        let mut ended = false;
        if url.ends_with(',') {
            url = url.trim_end_matches(',');
            ended = true;
        }
        rest = &rest[url_end..];
        let descriptor = if ended {
            ""
        } else {
            let d_end = rest.find(',').unwrap_or(rest.len());
            let d = rest[..d_end].trim();
            rest = &rest[d_end..];
            d
        };
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&absolutize(base, url));
        if !descriptor.is_empty() {
            out.push(' ');
            out.push_str(descriptor);
        }
    }
    out
}

/// Absolutizes every `url(...)` in CSS text (a `style` attribute, a `<style>`, a rule), and
/// the string form of `@import "x.css"`.
pub fn absolutize_css<'a>(base: &str, css: &'a str) -> Cow<'a, str> {
    let urls = absolutize_css_urls(base, css);
    if find_ascii_ci(&urls, "@import").is_none() {
        return urls;
    }
    let mut out = String::with_capacity(urls.len() + 32);
    let mut rest = &urls[..];
    while let Some(at) = find_ascii_ci(rest, "@import") {
        let (head, tail) = rest.split_at(at + 7);
        out.push_str(head);
        let lead = tail.len() - tail.trim_start().len();
        let Some((q, url, end)) = quoted(&tail[lead..]) else {
            rest = tail;
            continue;
        };
        out.push_str(&tail[..lead]);
        out.push(q);
        out.push_str(&absolutize(base, url));
        out.push(q);
        rest = &tail[lead + end + 1..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Where `needle` (ASCII) first occurs in `s`, whatever its case.
fn find_ascii_ci(s: &str, needle: &str) -> Option<usize> {
    let (s, n) = (s.as_bytes(), needle.as_bytes());
    (0..(s.len() + 1).saturating_sub(n.len())).find(|&i| s[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// A CSS string at the start of `body`: its quote, its content, and where its closing quote
/// is (escapes honoured); `None` unless `body` starts with a terminated string.
fn quoted(body: &str) -> Option<(char, &str, usize)> {
    let q = body.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    let mut escaped = false;
    let end = body[1..].char_indices().find_map(|(i, c)| {
        let found = !escaped && c == q;
        escaped = !escaped && c == '\\';
        found.then_some(i + 1)
    })?;
    Some((q, &body[1..end], end))
}

fn absolutize_css_urls<'a>(base: &str, css: &'a str) -> Cow<'a, str> {
    if find_url_open(css).is_none() {
        return Cow::Borrowed(css);
    }
    let mut out = String::with_capacity(css.len() + 32);
    let mut rest = css;
    while let Some(start) = find_url_open(rest) {
        let (head, tail) = rest.split_at(start + 4);
        out.push_str(head);
        let Some((quote, url, close)) = url_token(tail) else {
            rest = tail;
            break;
        };
        let resolved = absolutize(base, url);
        if let Some(q) = quote {
            out.push(q);
            out.push_str(&resolved);
            out.push(q);
        } else {
            out.push_str(&resolved);
        }
        out.push(')');
        rest = &tail[close + 1..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The URL of a `url(` token's rest: its quote, the URL, and where its `)` is. A quoted URL
/// ends at its closing quote (it may hold parentheses: SVG `data:` URLs do), an unquoted one
/// at the first `)`.
fn url_token(tail: &str) -> Option<(Option<char>, &str, usize)> {
    let lead = tail.len() - tail.trim_start().len();
    let body = &tail[lead..];
    if body.starts_with(['"', '\'']) {
        let (q, url, end) = quoted(body)?;
        let after = &body[end + 1..];
        let close = after.find(')').filter(|&c| after[..c].trim().is_empty())?;
        return Some((Some(q), url, lead + end + 1 + close));
    }
    let close = tail.find(')')?;
    Some((None, tail[..close].trim(), close))
}

/// Whether CSS text holds a `url(` in any letter case, as [`absolutize_css`] finds them (a
/// caller that only absolutizes when one is there asks this, not a case-sensitive search).
pub fn has_css_url(css: &str) -> bool {
    find_url_open(css).is_some()
}

fn find_url_open(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    (0..bytes.len().saturating_sub(3)).find(|&i| {
        bytes[i..i + 4].eq_ignore_ascii_case(b"url(")
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'-'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://shop.example/store/cart/index.html?x=1#top";

    #[test]
    fn references_resolve_like_a_browser() {
        let cases = [
            ("img.png", "https://shop.example/store/cart/img.png"),
            ("../img.png", "https://shop.example/store/img.png"),
            ("./a/../b.png", "https://shop.example/store/cart/b.png"),
            ("/abs.png", "https://shop.example/abs.png"),
            ("//cdn.example/x.js", "https://cdn.example/x.js"),
            ("?q=2", "https://shop.example/store/cart/index.html?q=2"),
            ("#icon", "#icon"),
            ("data:image/png;base64,AAA", "data:image/png;base64,AAA"),
            ("https://other.example/a", "https://other.example/a"),
            ("../../../../up.png", "https://shop.example/up.png"),
            ("dir/", "https://shop.example/store/cart/dir/"),
            ("..", "https://shop.example/store/"),
            ("", ""),
        ];
        for (rel, want) in cases {
            assert_eq!(absolutize(BASE, rel), want, "{rel}");
        }
        assert_eq!(absolutize("about:blank", "a.png"), "a.png");
        assert_eq!(
            absolutize("https://h.example", "a.png"),
            "https://h.example/a.png"
        );
    }

    #[test]
    fn srcset_candidates_each_resolve_and_keep_descriptors() {
        assert_eq!(
            absolutize_srcset(BASE, "a.png 1x,b.png 2x, /c.png 640w"),
            "https://shop.example/store/cart/a.png 1x, https://shop.example/store/cart/b.png 2x, https://shop.example/c.png 640w"
        );
        assert_eq!(
            absolutize_srcset(BASE, "a.png,b.png 2x,"),
            "https://shop.example/store/cart/a.png,b.png 2x"
        );
    }

    #[test]
    fn css_urls_resolve_quoted_or_not_and_fragments_stay() {
        assert_eq!(
            absolutize_css(BASE, "background: url('bg.png') no-repeat; fill: url(#g); mask: URL(/m.svg)"),
            "background: url('https://shop.example/store/cart/bg.png') no-repeat; fill: url(#g); mask: URL(https://shop.example/m.svg)"
        );
        assert!(matches!(
            absolutize_css(BASE, "color: red"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_quoted_css_url_ends_at_its_quote_not_at_a_parenthesis_inside() {
        let svg = r#"url("data:image/svg+xml,<svg><path transform='rotate(45)' d='M0 0'/></svg>")"#;
        let css = format!("background: {svg} no-repeat; mask: url( 'a(1).png' ) ; x: url(b.png)");
        assert_eq!(
            absolutize_css(BASE, &css),
            format!(
                "background: {svg} no-repeat; mask: url('https://shop.example/store/cart/a(1).png') ; x: url(https://shop.example/store/cart/b.png)"
            )
        );
        // An escaped quote does not end it; an unterminated one leaves the rest as it was.
        assert_eq!(
            absolutize_css(BASE, r#"url("a\"b.png")"#),
            r#"url("https://shop.example/store/cart/a\"b.png")"#
        );
        assert_eq!(absolutize_css(BASE, r#"url("open"#), r#"url("open"#);
    }

    #[test]
    fn import_strings_and_any_case_of_url_resolve() {
        assert_eq!(
            absolutize_css(
                BASE,
                r#"@import "theme.css" screen; @IMPORT 'x.css'; @import url(y.css);"#
            ),
            r#"@import "https://shop.example/store/cart/theme.css" screen; @IMPORT 'https://shop.example/store/cart/x.css'; @import url(https://shop.example/store/cart/y.css);"#
        );
        assert_eq!(
            absolutize_css(BASE, "background: Url(bg.png)"),
            "background: Url(https://shop.example/store/cart/bg.png)"
        );
        assert_eq!(absolutize_css(BASE, "@import nothing"), "@import nothing");
    }
}
