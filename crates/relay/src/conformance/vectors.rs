//! The conformance vectors the runner sends to a relay, chosen from
//! `crates/protocol/conformance/vectors.json` by what PROTOCOL.md requires a relay to refuse.
//!
//! A relay reads only the envelope (kind and sequence number) of stream frames and decodes only
//! `Hello` and `End` bodies; everything else passes through untouched. So the vectors a relay
//! must refuse are those that fail in the envelope (`Empty`, `UnknownKind`, `BadSequence`, sent
//! after the handshake) and malformed `Hello`s (sent as the first frame), and the valid
//! `hello_unsupported_version`. An invalid body of another kind (`TrailingBytes` of a pointer,
//! a non-UTF-8 text input) is the receiving peer's to refuse, not the relay's, and vectors that
//! need smaller decoder limits than a relay's are left out. The selection is by error, not by
//! name, so a vector added to the file later is sent too.

use serde_json::Value;

use super::target::SetupError;

/// The file, as the protocol crate generates and checks it.
const VECTORS: &str = include_str!("../../../protocol/conformance/vectors.json");

/// One vector: its name and its bytes.
#[derive(Debug, Clone)]
pub struct Vector {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The vectors the runner uses, by how a relay must treat them.
#[derive(Debug)]
pub struct Vectors {
    /// Invalid in the envelope: sent after the handshake, refused `Malformed` (close 1002).
    pub bad_envelopes: Vec<Vector>,
    /// `Hello`s that do not decode: sent first, refused `Malformed` (close 1002).
    pub bad_hellos: Vec<Vector>,
    /// A well-formed `Hello` of another version: refused `UnsupportedVersion` (close 1008).
    pub other_version: Vector,
    /// A `Hello` with the sealed bit (never sealable): sent first, refused `Malformed`.
    pub sealed_hello: Vector,
}

fn unhex(name: &str, hex: &str) -> Result<Vec<u8>, SetupError> {
    let bad = || SetupError::Vectors(format!("vector {name}: bad hex"));
    if hex.len() % 2 != 0 || !hex.is_ascii() {
        return Err(bad());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(bad)
        })
        .collect()
}

fn vector(case: &Value) -> Result<Vector, SetupError> {
    let name = case["name"]
        .as_str()
        .ok_or_else(|| SetupError::Vectors("a vector without a name".into()))?;
    let hex = case["hex"]
        .as_str()
        .ok_or_else(|| SetupError::Vectors(format!("vector {name}: no hex")))?;
    Ok(Vector {
        name: name.to_owned(),
        bytes: unhex(name, hex)?,
    })
}

impl Vectors {
    pub fn load() -> Result<Vectors, SetupError> {
        Vectors::parse(VECTORS)
    }

    fn parse(text: &str) -> Result<Vectors, SetupError> {
        let all: Value =
            serde_json::from_str(text).map_err(|e| SetupError::Vectors(e.to_string()))?;
        let list = |key: &str| {
            all[key]
                .as_array()
                .cloned()
                .ok_or_else(|| SetupError::Vectors(format!("no {key:?} list")))
        };
        let (mut bad_envelopes, mut bad_hellos) = (Vec::new(), Vec::new());
        for case in list("invalid")? {
            // Vectors under smaller limits than the defaults are not a relay's to refuse.
            if !case["limits"].is_null() {
                continue;
            }
            let error = &case["error"];
            match (error["error"].as_str(), error["kind"].as_str()) {
                (Some("Empty" | "UnknownKind" | "BadSequence"), _) => {
                    bad_envelopes.push(vector(&case)?)
                }
                (Some("Malformed"), Some("Hello")) => bad_hellos.push(vector(&case)?),
                _ => {}
            }
        }
        let named = |key: &str, name: &str| {
            list(key)?
                .iter()
                .find(|case| case["name"] == name)
                .map(vector)
                .ok_or_else(|| SetupError::Vectors(format!("no {name}")))?
        };
        let other_version = named("valid", "hello_unsupported_version")?;
        let sealed_hello = named("invalid", "sealed_hello_is_no_kind")?;
        if bad_envelopes.is_empty() || bad_hellos.is_empty() {
            return Err(SetupError::Vectors(
                "no invalid envelope or hello vectors".into(),
            ));
        }
        Ok(Vectors {
            bad_envelopes,
            bad_hellos,
            other_version,
            sealed_hello,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_vectors_give_every_class_a_relay_must_refuse() {
        let v = Vectors::load().unwrap();
        let names: Vec<_> = v.bad_envelopes.iter().map(|v| v.name.as_str()).collect();
        assert!(names.contains(&"empty") && names.contains(&"sequence_over_u32"));
        // A body error of a forwarded kind is the peer's to refuse, not the relay's.
        assert!(!names.contains(&"pointer_trailing_byte"), "{names:?}");
        assert!(v.bad_hellos.iter().any(|v| v.name == "hello_truncated"));
        assert_eq!(v.other_version.bytes.first(), Some(&0x01));
        assert_eq!(v.sealed_hello.bytes.first(), Some(&0x81));
    }

    #[test]
    fn bad_hex_is_an_error_not_a_panic() {
        for hex in ["0", "zz", "é1"] {
            assert!(unhex("x", hex).is_err(), "{hex}");
        }
        assert_eq!(unhex("x", "00ff").unwrap(), vec![0, 255]);
    }
}
