//! The attachment store's ledger: the disk every upload takes, counted per conversation and per
//! guest (a guest's uploads only: agents are held by the store's total alone) and for the whole
//! store, so an upload past a quota is refused before a byte is written; and the uploads no
//! message has carried yet, with when they came, for the collector (`sweep`).
//!
//! Pure bookkeeping behind one lock: the files themselves are written and deleted by
//! `attachments` and `sweep`, which tell the ledger. At start it is filled from the files on
//! disk ([`Ledger::scan`]).

use std::{
    collections::HashMap,
    path::Path,
    sync::Mutex,
    time::{SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

use super::model::Attachment;

/// The disk an upload of `bytes` takes: whole 4 KiB blocks, and one more for its description.
pub fn disk_cost(bytes: u64) -> u64 {
    const BLOCK: u64 = 4096;
    bytes.div_ceil(BLOCK).max(1) * BLOCK + BLOCK
}

/// What is written beside an upload (`<file>.json`): the attachment, who uploaded it for
/// which conversation and when, and whether a message was found to carry it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stored {
    #[serde(flatten)]
    pub attachment: Attachment,
    /// The conversation it was uploaded for (absent in uploads older than quotas).
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Uploaded by the guest (counted in the guest's quotas) rather than an agent.
    #[serde(default)]
    pub by_guest: bool,
    /// When it was uploaded, ms since the epoch (0: unknown, the file's time is used).
    #[serde(default)]
    pub at_ms: i64,
    /// A message carries it: the collector leaves it alone.
    #[serde(default)]
    pub kept: bool,
}

/// One upload as the ledger counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `contact/file`.
    pub id: String,
    pub contact: String,
    pub conversation: Option<String>,
    pub by_guest: bool,
    /// Its [`disk_cost`].
    pub cost: u64,
    pub at_ms: i64,
}

/// Which quota an upload would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    Conversation(u64),
    Guest(u64),
    Store(u64),
}

/// The quotas, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Quotas {
    pub per_conversation: u64,
    pub per_guest: u64,
    pub store: u64,
}

#[derive(Default)]
struct Books {
    total: u64,
    by_contact: HashMap<String, u64>,
    by_conversation: HashMap<String, u64>,
    /// Uploads no message is known to carry, by id.
    pending: HashMap<String, Entry>,
}

impl Books {
    fn add(&mut self, e: &Entry) {
        self.total = self.total.saturating_add(e.cost);
        if e.by_guest {
            *self.by_contact.entry(e.contact.clone()).or_default() += e.cost;
            if let Some(c) = &e.conversation {
                *self.by_conversation.entry(c.clone()).or_default() += e.cost;
            }
        }
    }

    fn remove(&mut self, e: &Entry) {
        self.total = self.total.saturating_sub(e.cost);
        if e.by_guest {
            take(&mut self.by_contact, &e.contact, e.cost);
            if let Some(c) = &e.conversation {
                take(&mut self.by_conversation, c, e.cost);
            }
        }
    }
}

fn take(map: &mut HashMap<String, u64>, key: &str, cost: u64) {
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(cost);
        if *n == 0 {
            map.remove(key);
        }
    }
}

/// See the module doc.
pub struct Ledger {
    quotas: Quotas,
    books: Mutex<Books>,
}

impl Ledger {
    pub fn new(quotas: Quotas) -> Ledger {
        Ledger {
            quotas,
            books: Mutex::new(Books::default()),
        }
    }

    fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts `entry` if it fits every quota, as one not yet carried by a message; the caller
    /// then writes it, and [`Ledger::forget`]s it if that fails.
    pub fn reserve(&self, entry: Entry) -> Result<(), Over> {
        let mut books = self.books();
        if books.total.saturating_add(entry.cost) > self.quotas.store {
            return Err(Over::Store(self.quotas.store));
        }
        if entry.by_guest {
            let used = |map: &HashMap<String, u64>, key: &str| map.get(key).copied();
            if let Some(c) = &entry.conversation {
                let held = used(&books.by_conversation, c).unwrap_or(0);
                if held.saturating_add(entry.cost) > self.quotas.per_conversation {
                    return Err(Over::Conversation(self.quotas.per_conversation));
                }
            }
            let held = used(&books.by_contact, &entry.contact).unwrap_or(0);
            if held.saturating_add(entry.cost) > self.quotas.per_guest {
                return Err(Over::Guest(self.quotas.per_guest));
            }
        }
        books.add(&entry);
        books.pending.insert(entry.id.clone(), entry);
        Ok(())
    }

    /// Counts an upload found on disk, whatever the quotas (they may have shrunk).
    fn count(&self, entry: Entry, kept: bool) {
        let mut books = self.books();
        books.add(&entry);
        if !kept {
            books.pending.insert(entry.id.clone(), entry);
        }
    }

    /// The upload is gone (deleted, or never written).
    pub fn forget(&self, entry: &Entry) {
        let mut books = self.books();
        books.remove(entry);
        books.pending.remove(&entry.id);
    }

    /// A message carries it: it stays counted, but is no longer the collector's.
    pub fn keep(&self, id: &str) {
        self.books().pending.remove(id);
    }

    /// Uploads no message is known to carry that came before `before_ms`.
    pub fn due(&self, before_ms: i64) -> Vec<Entry> {
        self.books()
            .pending
            .values()
            .filter(|e| e.at_ms < before_ms)
            .cloned()
            .collect()
    }

    /// Disk every upload takes now, as counted.
    pub fn total(&self) -> u64 {
        self.books().total
    }

    /// Fills the ledger from the uploads under `dir` (`contact/file` with `file.json` beside);
    /// a missing directory is an empty store. Blocking: run at start.
    pub fn scan(&self, dir: &Path) {
        let Ok(contacts) = std::fs::read_dir(dir) else {
            return;
        };
        for contact in contacts.flatten() {
            let Ok(files) = std::fs::read_dir(contact.path()) else {
                continue;
            };
            let contact_id = contact.file_name().to_string_lossy().into_owned();
            for meta in files.flatten() {
                let path = meta.path();
                if path.extension().is_none_or(|x| x != "json") {
                    continue;
                }
                let Some(stored) = std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Stored>(&b).ok())
                else {
                    continue;
                };
                let at_ms = if stored.at_ms > 0 {
                    stored.at_ms
                } else {
                    modified_ms(&path)
                };
                let kept = stored.kept;
                self.count(entry_of(&contact_id, stored, at_ms), kept);
            }
        }
    }
}

/// The ledger's entry for a stored upload of `contact`.
pub fn entry_of(contact: &str, stored: Stored, at_ms: i64) -> Entry {
    Entry {
        id: stored.attachment.id,
        contact: contact.to_owned(),
        conversation: stored.conversation_id,
        by_guest: stored.by_guest,
        cost: disk_cost(u64::try_from(stored.attachment.bytes).unwrap_or(0)),
        at_ms,
    }
}

fn modified_ms(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUOTAS: Quotas = Quotas {
        per_conversation: 40_000,
        per_guest: 60_000,
        store: 100_000,
    };

    fn upload(id: &str, contact: &str, conversation: &str, bytes: u64) -> Entry {
        Entry {
            id: id.into(),
            contact: contact.into(),
            conversation: Some(conversation.into()),
            by_guest: true,
            cost: disk_cost(bytes),
            at_ms: 1_000,
        }
    }

    #[test]
    fn a_file_costs_whole_blocks_and_its_description_one_more() {
        assert_eq!(disk_cost(1), 8192);
        assert_eq!(disk_cost(4096), 8192);
        assert_eq!(disk_cost(4097), 12288);
    }

    #[test]
    fn each_quota_refuses_what_would_pass_it_and_names_itself() {
        let ledger = Ledger::new(QUOTAS);
        // 16 KiB each: two fit one conversation, the third passes its 40,000 bytes.
        ledger.reserve(upload("a/1", "a", "c1", 12_000)).unwrap();
        ledger.reserve(upload("a/2", "a", "c1", 12_000)).unwrap();
        assert_eq!(
            ledger.reserve(upload("a/3", "a", "c1", 12_000)),
            Err(Over::Conversation(40_000))
        );
        // Another conversation of the same guest: the guest's 60,000 bytes hold.
        ledger.reserve(upload("a/4", "a", "c2", 12_000)).unwrap();
        assert_eq!(
            ledger.reserve(upload("a/5", "a", "c2", 12_000)),
            Err(Over::Guest(60_000))
        );
        // Two more guests fill the store: six of 16 KiB fit its 100,000 bytes, not seven.
        ledger.reserve(upload("b/1", "b", "c3", 12_000)).unwrap();
        ledger.reserve(upload("b/2", "b", "c3", 12_000)).unwrap();
        ledger.reserve(upload("c/1", "c", "c4", 12_000)).unwrap();
        assert_eq!(
            ledger.reserve(upload("d/1", "d", "c5", 12_000)),
            Err(Over::Store(100_000))
        );
        // Collecting one gives its room back.
        ledger.forget(&upload("b/2", "b", "c3", 12_000));
        ledger.reserve(upload("d/1", "d", "c5", 12_000)).unwrap();
        assert_eq!(ledger.total(), 6 * 16_384);
    }

    #[test]
    fn an_agent_s_upload_counts_only_against_the_store() {
        let ledger = Ledger::new(QUOTAS);
        for i in 0..6 {
            let mut e = upload(&format!("a/{i}"), "a", "c1", 12_000);
            e.by_guest = false;
            ledger.reserve(e).unwrap();
        }
        assert_eq!(
            ledger.reserve(upload("a/9", "a", "c1", 12_000)),
            Err(Over::Store(100_000))
        );
    }

    #[test]
    fn only_uploads_no_message_carries_and_older_than_the_grace_are_due() {
        let ledger = Ledger::new(QUOTAS);
        ledger.reserve(upload("a/1", "a", "c1", 10)).unwrap();
        let mut late = upload("a/2", "a", "c1", 10);
        late.at_ms = 5_000;
        ledger.reserve(late).unwrap();
        ledger.reserve(upload("a/3", "a", "c1", 10)).unwrap();
        ledger.keep("a/3");
        let due: Vec<String> = ledger.due(2_000).into_iter().map(|e| e.id).collect();
        assert_eq!(due, ["a/1"]);
    }
}
