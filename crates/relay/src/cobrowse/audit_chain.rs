//! The co-browse audit's hash chain and its verification. Each entry's hash is
//! SHA-256(`ENTRY_TAG` || previous hash || session id, seq, at_ms, event, detail, each
//! length-prefixed); the first entry chains from the session's genesis hash, made from the
//! session row's fixed facts (id, agent, interaction id). The session computes hashes in
//! memory as it orders its entries, so the frame path never reads the database; an ended
//! session's row keeps the last hash and the count (the anchored head).
//!
//! **What it proves:** an edited, deleted, inserted or reordered row is found (and named),
//! unless whoever changes the database also recomputes every later hash and the session row's
//! head: the chain carries no secret. A keyed chain (HMAC with a key kept outside the
//! database) would close that; it is not done.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::audit::AuditEntry;
use crate::store::{Columns, Sql, StoreError};

const GENESIS_TAG: &[u8] = b"relay/cobrowse-audit/genesis/v1";
const ENTRY_TAG: &[u8] = b"relay/cobrowse-audit/entry/v1";

/// A SHA-256 digest.
pub type Hash = [u8; 32];

fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// Where a session's chain starts: a hash of the session row's fixed facts.
pub fn genesis(session_id: &str, agent_id: &str, interaction_id: &str) -> Hash {
    let mut h = Sha256::new();
    h.update(GENESIS_TAG);
    for f in [session_id, agent_id, interaction_id] {
        field(&mut h, f.as_bytes());
    }
    h.finalize().into()
}

/// The hash of `e` chained from `prev` (`e.hash` itself is not hashed).
pub fn entry_hash(prev: &Hash, e: &AuditEntry) -> Hash {
    let mut h = Sha256::new();
    h.update(ENTRY_TAG);
    h.update(prev);
    field(&mut h, e.session_id.as_bytes());
    h.update(e.seq.to_be_bytes());
    h.update(e.at_ms.to_be_bytes());
    field(&mut h, e.event.as_bytes());
    field(&mut h, e.detail.as_bytes());
    h.finalize().into()
}

/// Lower-case hex, as stored.
pub fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// A stored hash read back (`None`: not 64 hex digits).
pub fn from_hex(text: &str) -> Option<Hash> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let pair = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// How a chain breaks at an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// The entry's content (or its hash) is not what was recorded.
    Altered,
    /// The entry with this seq is gone (a gap, or the log ends before the anchored count).
    Missing,
    /// The entry is out of order (its time is before its predecessor's).
    Reordered,
    /// The entry was not recorded by the session (beyond the anchored count).
    Inserted,
}

/// What verifying a session's audit log found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verdict {
    /// Every entry chains; `head` is the last hash (the genesis hash for an empty log).
    /// `anchored`: the session ended and its row's head and count matched.
    Intact {
        entries: usize,
        head: String,
        anchored: bool,
    },
    /// The first bad entry.
    Broken { seq: i64, why: Why },
    /// The log was written before the chain existed (migration 0009).
    NotChained { entries: usize },
    /// No such session.
    Unknown,
}

/// Verifies session `session_id`'s audit log against its chain and anchored head.
pub fn verify(db: &mut dyn Sql, session_id: &str) -> Result<Verdict, StoreError> {
    let Some(row) = db.query_row(
        "SELECT agent_id, interaction_id, audit_head, audit_count FROM cobrowse_sessions
         WHERE id = $1",
        &[session_id.into()],
    )?
    else {
        return Ok(Verdict::Unknown);
    };
    let start = genesis(session_id, &row.text(0)?, &row.text(1)?);
    let anchor = match (row.opt_text(2)?, row.opt_int(3)?) {
        (Some(head), Some(count)) => Some((head, count)),
        _ => None,
    };
    let entries = super::audit::audit_for(db, session_id)?;
    if anchor.is_none() && !entries.is_empty() && entries.iter().all(|e| e.hash.is_none()) {
        return Ok(Verdict::NotChained {
            entries: entries.len(),
        });
    }
    Ok(check(start, &entries, anchor))
}

/// The pure part of [`verify`]: `entries` in seq order.
pub fn check(start: Hash, entries: &[AuditEntry], anchor: Option<(String, i64)>) -> Verdict {
    let mut prev = start;
    let mut prev_at = i64::MIN;
    let mut expected = 1;
    for e in entries {
        if let Some((_, count)) = &anchor {
            if e.seq > *count {
                return Verdict::Broken {
                    seq: e.seq,
                    why: Why::Inserted,
                };
            }
        }
        if e.seq != expected {
            return Verdict::Broken {
                seq: expected,
                why: Why::Missing,
            };
        }
        let computed = entry_hash(&prev, e);
        if e.hash.as_deref() != Some(hex(&computed).as_str()) {
            let why = if e.at_ms < prev_at {
                Why::Reordered
            } else {
                Why::Altered
            };
            return Verdict::Broken { seq: e.seq, why };
        }
        prev = computed;
        prev_at = e.at_ms;
        expected += 1;
    }
    let head = hex(&prev);
    let anchored = match anchor {
        None => false,
        Some((_, count)) if expected <= count => {
            return Verdict::Broken {
                seq: expected,
                why: Why::Missing,
            }
        }
        Some((stored, _)) if stored != head => {
            return Verdict::Broken {
                seq: expected - 1,
                why: Why::Altered,
            }
        }
        Some(_) => true,
    };
    Verdict::Intact {
        entries: entries.len(),
        head,
        anchored,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn log(n: i64) -> (Hash, Vec<AuditEntry>) {
        let start = genesis("s", "a", "i");
        let mut prev = start;
        let entries = (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    session_id: "s".into(),
                    seq,
                    at_ms: 1000 + seq,
                    event: "mode".into(),
                    detail: format!("d{seq}"),
                    hash: None,
                };
                prev = entry_hash(&prev, &e);
                e.hash = Some(hex(&prev));
                e
            })
            .collect();
        (start, entries)
    }

    fn head(entries: &[AuditEntry]) -> Option<(String, i64)> {
        let last = entries.last().unwrap();
        Some((last.hash.clone().unwrap(), last.seq))
    }

    #[test]
    fn a_clean_log_is_intact_and_each_change_is_named() {
        let (start, entries) = log(4);
        let anchor = head(&entries);
        assert!(matches!(
            check(start, &entries, anchor.clone()),
            Verdict::Intact {
                entries: 4,
                anchored: true,
                ..
            }
        ));
        let mut altered = entries.clone();
        altered[1].detail = "edited".into();
        assert_eq!(
            check(start, &altered, anchor.clone()),
            Verdict::Broken {
                seq: 2,
                why: Why::Altered
            }
        );
        let mut missing = entries.clone();
        missing.remove(2);
        assert_eq!(
            check(start, &missing, anchor.clone()),
            Verdict::Broken {
                seq: 3,
                why: Why::Missing
            }
        );
        let truncated = &entries[..3];
        assert_eq!(
            check(start, truncated, anchor.clone()),
            Verdict::Broken {
                seq: 4,
                why: Why::Missing
            }
        );
        let (_, longer) = log(5);
        assert_eq!(
            check(start, &longer, anchor.clone()),
            Verdict::Broken {
                seq: 5,
                why: Why::Inserted
            }
        );
        let mut swapped = entries.clone();
        swapped.swap(1, 2);
        swapped[1].seq = 2;
        swapped[2].seq = 3;
        assert_eq!(
            check(start, &swapped, anchor),
            Verdict::Broken {
                seq: 2,
                why: Why::Altered
            }
        );
    }
}
