//! A site's co-browse rules as the customer's page reads them (`GET
//! /api/cobrowse/sites/{key}/config`), and the checks they pass before they are stored: the
//! mask, block and read-only selectors (`selector`), the URL patterns that pause sharing,
//! masked typing and submit buttons, whether sessions must be end-to-end encrypted, and the
//! capture tunables. Also what a site key looks like (an allowed origin: `origin`). Pure: no
//! store, no I/O.
//!
//! The JSON shape is the one `www/sites/*.json` files always had (now an import format):
//! `{"mask": [".account-number"], "block": [...], "readonly": [...], "pause": ["/pay/*"],
//! "agentTypesMasked": false, "submitReadonly": false, "requireEncryption": false}`; a selector list may also be one
//! string, as the page accepts. An unknown field is refused, so a misspelt `"maks"` does not
//! silently leave a site unmasked.

use serde::{Deserialize, Deserializer, Serialize};

use super::selector;

/// Entries one selector list, or the pause patterns, may hold.
pub const MAX_ENTRIES: usize = 200;
/// Longest pause pattern, in bytes.
pub const MAX_PATTERN_BYTES: usize = 512;

/// What the customer's page applies on a site. Every field has the page's default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SiteRules {
    /// CSS selectors of elements whose text and values are masked before they leave the page.
    #[serde(default, deserialize_with = "one_or_many")]
    pub mask: Vec<String>,
    /// CSS selectors of elements shown to the agent as empty boxes and never observed.
    #[serde(default, deserialize_with = "one_or_many")]
    pub block: Vec<String>,
    /// CSS selectors of elements a granted agent may not click or type into.
    #[serde(default, deserialize_with = "one_or_many")]
    pub readonly: Vec<String>,
    /// URL patterns on which sharing pauses (`*`: any run; starting with `/`: the path and
    /// query).
    #[serde(default, deserialize_with = "one_or_many")]
    pub pause: Vec<String>,
    /// The agent may type into masked fields (what it types stays masked).
    #[serde(default)]
    pub agent_types_masked: bool,
    /// Submit buttons are read-only to the agent.
    #[serde(default)]
    pub submit_readonly: bool,
    /// Everything is masked except inside `data-cobrowse-unmask`.
    #[serde(default)]
    pub private_by_default: bool,
    /// Sessions must be end-to-end encrypted: the relay refuses the Accept flow (an offer in
    /// a chat, not encrypted) and drops any clear frame of page content or agent input.
    #[serde(default)]
    pub require_encryption: bool,
    /// The customer's pointer is sent at most once per this many milliseconds (0 to 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer_interval_ms: Option<u32>,
    /// A snapshot slice yields to the page after this many milliseconds (1 to 1,000; the
    /// page's default is 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice_ms: Option<u32>,
    /// The durations, in seconds, the customer may grant control for (1 to 3,600 each, at
    /// most four, besides "until I stop it"); none: 5, 15 and 30 minutes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_secs: Vec<u32>,
}

/// Why rules, an origin or a key were refused; the text is what the admin reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("the rules are not valid: {0}")]
    Shape(String),
    #[error("{list} selector {number} {why}: {selector:?}")]
    Selector {
        list: &'static str,
        number: usize,
        why: &'static str,
        selector: String,
    },
    #[error("{list} holds {got} entries; at most {limit}")]
    TooMany {
        list: &'static str,
        limit: usize,
        got: usize,
    },
    #[error("pause pattern {number} {why}: {pattern:?}")]
    Pattern {
        number: usize,
        why: &'static str,
        pattern: String,
    },
    #[error("{field} is {got}; it must be between {min} and {max}")]
    OutOfRange {
        field: &'static str,
        got: u32,
        min: u32,
        max: u32,
    },
    #[error("origin {number} {why} (an origin is scheme://host[:port], such as https://shop.example): {origin:?}")]
    Origin {
        number: usize,
        why: &'static str,
        origin: String,
    },
    #[error("a site key is 1 to 64 letters, digits, `-` or `_`")]
    Key,
}

/// Accepts one string or a list of strings.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

impl SiteRules {
    /// Reads rules from JSON (an import file's or a request's) and checks them.
    pub fn from_json(json: &serde_json::Value) -> Result<SiteRules, RuleError> {
        SiteRules::deserialize(json)
            .map_err(|e| RuleError::Shape(e.to_string()))?
            .checked()
    }

    /// The rules with each entry trimmed and empty ones dropped, if every entry is valid.
    pub fn checked(mut self) -> Result<SiteRules, RuleError> {
        for (list, entries) in [
            ("mask", &mut self.mask),
            ("block", &mut self.block),
            ("readonly", &mut self.readonly),
        ] {
            tidy(list, entries)?;
            for (i, entry) in entries.iter().enumerate() {
                selector::check(entry).map_err(|why| RuleError::Selector {
                    list,
                    number: i + 1,
                    why,
                    selector: entry.clone(),
                })?;
            }
        }
        tidy("pause", &mut self.pause)?;
        for (i, pattern) in self.pause.iter().enumerate() {
            check_pattern(pattern).map_err(|why| RuleError::Pattern {
                number: i + 1,
                why,
                pattern: pattern.clone(),
            })?;
        }
        in_range("pointerIntervalMs", self.pointer_interval_ms, 0, 10_000)?;
        in_range("sliceMs", self.slice_ms, 1, 1_000)?;
        if self.grant_secs.len() > 4 {
            return Err(RuleError::TooMany {
                list: "grantSecs",
                limit: 4,
                got: self.grant_secs.len(),
            });
        }
        for &secs in &self.grant_secs {
            in_range("grantSecs", Some(secs), 1, protocol::MAX_GRANT_SECS)?;
        }
        Ok(self)
    }
}

fn tidy(list: &'static str, entries: &mut Vec<String>) -> Result<(), RuleError> {
    entries.retain(|e| !e.trim().is_empty());
    for entry in entries.iter_mut() {
        *entry = entry.trim().to_owned();
    }
    if entries.len() > MAX_ENTRIES {
        return Err(RuleError::TooMany {
            list,
            limit: MAX_ENTRIES,
            got: entries.len(),
        });
    }
    Ok(())
}

fn in_range(field: &'static str, value: Option<u32>, min: u32, max: u32) -> Result<(), RuleError> {
    match value {
        Some(got) if !(min..=max).contains(&got) => Err(RuleError::OutOfRange {
            field,
            got,
            min,
            max,
        }),
        _ => Ok(()),
    }
}

/// A pause pattern: a path (`/account/*`) or a whole URL (`https://*/private?*`).
fn check_pattern(pattern: &str) -> Result<(), &'static str> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err("is longer than 512 bytes");
    }
    if pattern.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("holds a space or a control character");
    }
    if pattern.starts_with('/') || pattern.starts_with('*') || pattern.contains("://") {
        Ok(())
    } else {
        Err("starts with neither `/` (a path) nor a scheme or `*` (a whole URL)")
    }
}

/// Whether `key` is a site key: 1 to 64 of `A-Z a-z 0-9 - _`.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks site key `key`.
pub fn check_key(key: &str) -> Result<(), RuleError> {
    valid_key(key).then_some(()).ok_or(RuleError::Key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The npm package declares `SiteRules` for sites that keep their rules in code: its
    /// fields are the ones this type reads, no more, no fewer.
    #[test]
    fn the_npm_declarations_name_every_rule() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../npm/index.d.ts");
        let dts = std::fs::read_to_string(path).unwrap();
        let from = dts.find("export interface SiteRules {").unwrap();
        let block = &dts[from..];
        let block = &block[..block.find("\n}").unwrap()];
        let mut declared: Vec<&str> = block
            .lines()
            .filter_map(|l| l.trim().split_once("?:").map(|(name, _)| name))
            .collect();
        let every = SiteRules {
            pointer_interval_ms: Some(1),
            slice_ms: Some(1),
            grant_secs: vec![300],
            ..SiteRules::default()
        };
        let json = serde_json::to_value(every).unwrap();
        let mut fields: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        declared.sort_unstable();
        fields.sort_unstable();
        assert_eq!(declared, fields);
    }

    #[test]
    fn the_demo_file_reads_as_rules_and_writes_back_as_the_page_reads_them() {
        let file = json!({
            "mask": [".account-number"], "block": ["#chat-transcript"],
            "readonly": [".promo-code"], "pause": ["/demo/security.html*"],
            "agentTypesMasked": false, "submitReadonly": false
        });
        let rules = SiteRules::from_json(&file).unwrap();
        assert_eq!(rules.mask, [".account-number"]);
        let back = serde_json::to_value(&rules).unwrap();
        assert_eq!(back["pause"], json!(["/demo/security.html*"]));
        assert_eq!(back["agentTypesMasked"], json!(false));
        assert!(back.get("sliceMs").is_none());
    }

    #[test]
    fn encryption_is_required_only_when_a_site_says_so() {
        assert!(!SiteRules::default().require_encryption);
        let rules = SiteRules::from_json(&json!({"requireEncryption": true})).unwrap();
        assert!(rules.require_encryption);
        assert_eq!(
            serde_json::to_value(&rules).unwrap()["requireEncryption"],
            json!(true)
        );
    }

    #[test]
    fn grant_durations_are_one_second_to_an_hour_and_at_most_four() {
        assert!(SiteRules::from_json(&json!({"grantSecs": [3, 3600]})).is_ok());
        for bad in [json!([0]), json!([3601]), json!([1, 2, 3, 4, 5])] {
            assert!(SiteRules::from_json(&json!({ "grantSecs": bad })).is_err());
        }
    }

    #[test]
    fn a_selector_list_may_be_one_string_and_entries_are_trimmed() {
        let rules = SiteRules::from_json(&json!({"mask": " .card ", "block": ["", "  #x "]}));
        let rules = rules.unwrap();
        assert_eq!(rules.mask, [".card"]);
        assert_eq!(rules.block, ["#x"]);
    }

    #[test]
    fn invalid_rules_are_refused_naming_what_is_wrong() {
        let refused = |v: serde_json::Value| SiteRules::from_json(&v).unwrap_err().to_string();
        assert_eq!(
            refused(json!({"mask": [".ok", ".bad["]})),
            "mask selector 2 has a `[` not followed by an attribute name: \".bad[\""
        );
        assert!(refused(json!({"maks": [".a"]})).contains("unknown field `maks`"));
        assert!(refused(json!({"mask": 3})).starts_with("the rules are not valid"));
        assert_eq!(
            refused(json!({"pause": ["account"]})),
            "pause pattern 1 starts with neither `/` (a path) nor a scheme or `*` (a whole \
             URL): \"account\""
        );
        assert_eq!(
            refused(json!({"sliceMs": 0})),
            "sliceMs is 0; it must be between 1 and 1000"
        );
        let many: Vec<String> = (0..=MAX_ENTRIES).map(|i| format!(".c{i}")).collect();
        assert_eq!(
            refused(json!({ "readonly": many })),
            "readonly holds 201 entries; at most 200"
        );
    }

    #[test]
    fn site_keys_are_short_and_plain() {
        assert!(valid_key("demo") && valid_key("shop_2-eu"));
        assert!(!valid_key("") && !valid_key("a/b") && !valid_key(&"k".repeat(65)));
    }
}
