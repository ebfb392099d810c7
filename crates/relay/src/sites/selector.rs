//! Whether a site's mask, block or read-only selector is one a browser accepts. The customer's
//! page joins each list into one selector string and asks `matches` / `querySelectorAll` with
//! it; a browser answers an invalid list with an exception, which the page takes as "matches
//! nothing", so one bad entry would silently switch off every mask of its list. An admin's
//! entry is therefore checked here before it is stored, against the subset of Selectors
//! Level 4 that browsers' `querySelectorAll` accepts: type, class, id, attribute selectors
//! (with the `=`, `~=`, `|=`, `^=`, `$=`, `*=` operators and the `i` / `s` flags), the
//! pseudo-classes listed in [`PSEUDO_CLASSES`] (`:not`, `:is`, `:where` checked inside), and
//! the four combinators. Pseudo-elements match no element, so they are refused too.
//!
//! This is a checker, not a parser: nothing here decides what a selector matches.

/// Longest selector accepted, in bytes.
pub const MAX_SELECTOR_BYTES: usize = 512;

/// Pseudo-classes `querySelectorAll` knows (an unknown one makes the whole list invalid).
/// Those taking arguments are in [`FUNCTIONAL`].
const PSEUDO_CLASSES: &[&str] = &[
    "active",
    "any-link",
    "autofill",
    "checked",
    "default",
    "defined",
    "disabled",
    "empty",
    "enabled",
    "first-child",
    "first-of-type",
    "focus",
    "focus-visible",
    "focus-within",
    "hover",
    "in-range",
    "indeterminate",
    "invalid",
    "last-child",
    "last-of-type",
    "link",
    "only-child",
    "only-of-type",
    "optional",
    "out-of-range",
    "placeholder-shown",
    "read-only",
    "read-write",
    "required",
    "root",
    "scope",
    "target",
    "valid",
    "visited",
];

/// Functional pseudo-classes; the first three take a selector list, checked here in turn.
const FUNCTIONAL: &[&str] = &[
    "not",
    "is",
    "where",
    "has",
    "nth-child",
    "nth-last-child",
    "nth-of-type",
    "nth-last-of-type",
    "lang",
    "dir",
];

/// Where the checker stands between two pieces of a selector.
#[derive(Clone, Copy, PartialEq)]
enum At {
    /// A compound must come next (start, after a comma or a combinator).
    Start,
    /// Just after a simple selector.
    Compound,
    /// After whitespace that follows a compound: a combinator, a comma, the end or another
    /// compound (the descendant combinator) may come.
    Space,
}

/// `Ok` when `selector` (one entry of a list; it may itself hold commas) is valid; otherwise
/// why not, in a few words.
pub fn check(selector: &str) -> Result<(), &'static str> {
    if selector.len() > MAX_SELECTOR_BYTES {
        return Err("is longer than 512 bytes");
    }
    let chars: Vec<char> = selector.chars().collect();
    let mut checker = Checker { chars, at: 0 };
    checker.list()
}

struct Checker {
    chars: Vec<char>,
    at: usize,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || !c.is_ascii()
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

impl Checker {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// A selector list, to its end.
    fn list(&mut self) -> Result<(), &'static str> {
        let mut state = At::Start;
        while let Some(c) = self.peek() {
            if c.is_control() && !c.is_whitespace() {
                return Err("holds a control character");
            }
            match c {
                c if c.is_whitespace() => {
                    self.at += 1;
                    if state == At::Compound {
                        state = At::Space;
                    }
                }
                '>' | '+' | '~' => {
                    if state == At::Start {
                        return Err("has a combinator with no selector before it");
                    }
                    self.at += 1;
                    state = At::Start;
                }
                ',' => {
                    if state == At::Start {
                        return Err("has an empty selector in its list");
                    }
                    self.at += 1;
                    state = At::Start;
                }
                '.' | '#' => {
                    self.at += 1;
                    if !self.ident()? {
                        return Err(if c == '.' {
                            "has a `.` not followed by a class name"
                        } else {
                            "has a `#` not followed by an id"
                        });
                    }
                    state = At::Compound;
                }
                ':' => {
                    self.pseudo()?;
                    state = At::Compound;
                }
                '[' => {
                    self.attribute()?;
                    state = At::Compound;
                }
                '*' => {
                    if state == At::Compound {
                        return Err("has a `*` inside a compound selector");
                    }
                    self.at += 1;
                    state = At::Compound;
                }
                _ => {
                    if !self.ident()? {
                        return Err("holds a character a selector cannot hold here");
                    }
                    if state == At::Compound {
                        return Err("has a tag name after another part of a compound selector");
                    }
                    state = At::Compound;
                }
            }
        }
        match state {
            At::Start if self.chars.iter().all(|c| c.is_whitespace()) => Err("is empty"),
            At::Start => Err("ends with a combinator or a comma"),
            _ => Ok(()),
        }
    }

    /// An identifier (escapes included); `Ok(false)` when none starts here.
    fn ident(&mut self) -> Result<bool, &'static str> {
        match self.peek() {
            // `-` starts one only before a name start, another `-` or an escape.
            Some('-') => match self.peek_at(1) {
                Some(c) if is_name_start(c) || c == '-' || c == '\\' => self.at += 1,
                _ => return Ok(false),
            },
            Some('\\') => self.escape()?,
            Some(c) if is_name_start(c) => self.at += 1,
            _ => return Ok(false),
        }
        loop {
            match self.peek() {
                Some('\\') => self.escape()?,
                Some(c) if is_name_char(c) => self.at += 1,
                _ => return Ok(true),
            }
        }
    }

    /// A backslash escape: up to six hex digits and one optional space, or one character.
    fn escape(&mut self) -> Result<(), &'static str> {
        self.at += 1;
        match self.peek() {
            None | Some('\n') | Some('\r') => Err("has a backslash that escapes nothing"),
            Some(c) if c.is_ascii_hexdigit() => {
                let mut digits = 0;
                while digits < 6 && self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                    self.at += 1;
                    digits += 1;
                }
                if self.peek().is_some_and(char::is_whitespace) {
                    self.at += 1;
                }
                Ok(())
            }
            Some(_) => {
                self.at += 1;
                Ok(())
            }
        }
    }

    /// A pseudo-class (with its argument, when it takes one).
    fn pseudo(&mut self) -> Result<(), &'static str> {
        self.at += 1;
        if self.peek() == Some(':') {
            return Err("names a pseudo-element, which matches no element");
        }
        let start = self.at;
        if !self.ident()? {
            return Err("has a `:` not followed by a pseudo-class");
        }
        let name: String = self.chars[start..self.at].iter().collect();
        let name = name.to_ascii_lowercase();
        if self.peek() != Some('(') {
            return if PSEUDO_CLASSES.contains(&name.as_str()) {
                Ok(())
            } else if matches!(
                name.as_str(),
                "before" | "after" | "first-line" | "first-letter"
            ) {
                Err("names a pseudo-element, which matches no element")
            } else {
                Err("names a pseudo-class browsers do not know")
            };
        }
        if !FUNCTIONAL.contains(&name.as_str()) {
            return Err("names a pseudo-class browsers do not know");
        }
        self.at += 1;
        let inner_start = self.at;
        self.group()?;
        let inner: String = self.chars[inner_start..self.at - 1].iter().collect();
        if inner.trim().is_empty() {
            return Err("has an empty `()`");
        }
        if matches!(name.as_str(), "not" | "is" | "where") {
            check(&inner)?;
        }
        Ok(())
    }

    /// Up to and past the `)` closing a group just opened (nested groups and strings inside).
    fn group(&mut self) -> Result<(), &'static str> {
        let mut depth = 1;
        while let Some(c) = self.peek() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        self.at += 1;
                        return Ok(());
                    }
                }
                '"' | '\'' => {
                    self.string()?;
                    continue;
                }
                '\\' => {
                    self.escape()?;
                    continue;
                }
                '{' | '}' | ';' => return Err("holds a character a selector cannot hold here"),
                c if c.is_control() && !c.is_whitespace() => {
                    return Err("holds a control character")
                }
                _ => {}
            }
            self.at += 1;
        }
        Err("has a `(` that is never closed")
    }

    /// A quoted string, past its closing quote.
    fn string(&mut self) -> Result<(), &'static str> {
        let Some(quote) = self.peek() else {
            return Err("has a string that is never closed");
        };
        self.at += 1;
        while let Some(c) = self.peek() {
            match c {
                '\\' => self.escape()?,
                '\n' | '\r' => return Err("has a line break inside a string"),
                c if c == quote => {
                    self.at += 1;
                    return Ok(());
                }
                _ => self.at += 1,
            }
        }
        Err("has a string that is never closed")
    }

    /// `[name]`, `[name OP value]` or `[name OP value i]`, past its `]`.
    fn attribute(&mut self) -> Result<(), &'static str> {
        self.at += 1;
        self.skip_spaces();
        // Only the namespace prefixes a page needs no declaration for: `*|name` and `|name`.
        if self.peek() == Some('*') && self.peek_at(1) == Some('|') {
            self.at += 2;
        } else if self.peek() == Some('|') && self.peek_at(1) != Some('=') {
            self.at += 1;
        }
        if !self.ident()? {
            return Err("has a `[` not followed by an attribute name");
        }
        if self.peek() == Some('|') && self.peek_at(1) != Some('=') {
            return Err("uses a namespace prefix, which a page cannot declare");
        }
        self.skip_spaces();
        match self.peek() {
            Some(']') => {
                self.at += 1;
                return Ok(());
            }
            Some('=') => self.at += 1,
            Some('~' | '|' | '^' | '$' | '*') if self.peek_at(1) == Some('=') => self.at += 2,
            None => return Err("has a `[` that is never closed"),
            _ => return Err("has an attribute selector with an unknown operator"),
        }
        self.skip_spaces();
        match self.peek() {
            Some('"' | '\'') => self.string()?,
            _ => {
                if !self.ident()? {
                    return Err("has an attribute value that needs quotes");
                }
            }
        }
        self.skip_spaces();
        if let Some('i' | 's' | 'I' | 'S') = self.peek() {
            self.at += 1;
            self.skip_spaces();
        }
        if self.peek() != Some(']') {
            return Err("has a `[` that is never closed");
        }
        self.at += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn selectors_a_browser_accepts_pass() {
        for selector in [
            ".account-number",
            "#chat-transcript",
            "input[type=password]",
            "input[type=\"password\" i]",
            "form.pay > input:not([type=hidden], .public)",
            "li:nth-child(2n + 1)",
            "a ~ b + c",
            "div   p",
            ".a, .b ,.c",
            "*",
            "* > .x",
            "[data-private]",
            "[data-x^='a]b']",
            "[*|lang]",
            ".\\31 23",
            "#-x",
            "div:is(.a, .b):where(p)",
            ":root .promo-code",
            "td:has(> input)",
            ".naïve",
            "  .padded  ",
        ] {
            assert_eq!(check(selector), Ok(()), "{selector}");
        }
    }

    #[test]
    fn selectors_a_browser_refuses_fail_with_a_reason() {
        for (selector, why) in [
            ("", "is empty"),
            ("   ", "is empty"),
            (".", "has a `.` not followed by a class name"),
            ("#", "has a `#` not followed by an id"),
            (".1a", "has a `.` not followed by a class name"),
            ("#1", "has a `#` not followed by an id"),
            ("1div", "holds a character a selector cannot hold here"),
            ("a,,b", "has an empty selector in its list"),
            (",a", "has an empty selector in its list"),
            ("a,", "ends with a combinator or a comma"),
            ("> a", "has a combinator with no selector before it"),
            ("a >", "ends with a combinator or a comma"),
            ("a > > b", "has a combinator with no selector before it"),
            ("[x", "has a `[` that is never closed"),
            ("[", "has a `[` not followed by an attribute name"),
            ("[x=1]", "has an attribute value that needs quotes"),
            ("[x=='a']", "has an attribute value that needs quotes"),
            (
                "[x!=a]",
                "has an attribute selector with an unknown operator",
            ),
            ("[x='a]", "has a string that is never closed"),
            (
                "div{color:red}",
                "holds a character a selector cannot hold here",
            ),
            ("a;b", "holds a character a selector cannot hold here"),
            ("<script>", "holds a character a selector cannot hold here"),
            (":", "has a `:` not followed by a pseudo-class"),
            (":hovr", "names a pseudo-class browsers do not know"),
            (
                "p::before",
                "names a pseudo-element, which matches no element",
            ),
            (
                "p:before",
                "names a pseudo-element, which matches no element",
            ),
            (":not()", "has an empty `()`"),
            (":not(.a", "has a `(` that is never closed"),
            (":not(.)", "has a `.` not followed by a class name"),
            (":foo(a)", "names a pseudo-class browsers do not know"),
            (
                "[x]div",
                "has a tag name after another part of a compound selector",
            ),
            ("a*", "has a `*` inside a compound selector"),
            (
                "[ns|x]",
                "uses a namespace prefix, which a page cannot declare",
            ),
            ("a\\", "has a backslash that escapes nothing"),
            ("a\u{7}b", "holds a control character"),
        ] {
            assert_eq!(check(selector), Err(why), "{selector:?}");
        }
        assert_eq!(check(&"a".repeat(513)), Err("is longer than 512 bytes"));
    }
}
