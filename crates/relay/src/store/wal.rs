//! Durability of the embedded store's commits, kept off the writer thread.
//!
//! The writer's SQLite connection commits with `synchronous = NORMAL` (the WAL is written, not
//! fsynced) and does not checkpoint. Two threads make up for that:
//!
//! - the syncer: after one or more batches committed, it fsyncs the WAL file, and only then
//!   answers their writes. An answered write is on disk exactly as with `synchronous = FULL`
//!   (which is the same fsync of the same file at the end of the commit), but the writer has
//!   already started the next batch: the fsync of one batch overlaps the work of the next, and
//!   one fsync covers every batch committed while the previous one ran.
//! - the checkpointer: copies the WAL back into the database file (`PASSIVE`, so it never
//!   blocks the writer), so the checkpoint's own fsyncs no longer stall a commit now and then.
//!
//! A reader may see a committed write a few milliseconds before it is durable and answered;
//! no write is answered before it is.

use std::{
    path::{Path, PathBuf},
    sync::mpsc,
    time::Duration,
};

use super::sql::{Columns, Sql};
use super::sqlite::WRITER_AUTOCHECKPOINT;

/// A write waiting for its answer.
pub trait Answer: Send {
    /// Called once its batch is settled: `true` if the write committed (and is durable, when
    /// the store fsyncs).
    fn answer(self: Box<Self>, ok: bool);
}

impl<F: FnOnce(bool) + Send> Answer for F {
    fn answer(self: Box<Self>, ok: bool) {
        (*self)(ok)
    }
}

pub type Done = Box<dyn Answer>;

/// The answers of one committed (or failed) batch, waiting for the fsync.
pub struct Settled {
    pub done: Vec<Done>,
    pub committed: bool,
}

/// Pause between two checkpoints, so a checkpoint copies many commits' pages at once.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(50);

/// SQLite keeps the WAL of `db` beside it.
pub fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Forces the WAL's content to disk (any descriptor of the file flushes all of it).
pub fn sync(wal: &Path) -> std::io::Result<()> {
    std::fs::File::open(wal)?.sync_data()
}

/// How much of the WAL [`preallocate`] writes ahead: as many frames as the writer lets it hold
/// before its own checkpoint restarts it from the start ([`WRITER_AUTOCHECKPOINT`]), plus the
/// header, for pages of `page_bytes`.
pub fn preallocated_bytes(page_bytes: u64) -> u64 {
    let frames = u64::try_from(WRITER_AUTOCHECKPOINT).unwrap_or(0);
    32 + frames * (24 + page_bytes)
}

/// Extends the WAL with zeros to `bytes` and makes that durable, as PostgreSQL fills each new
/// WAL segment with zeros. A commit then overwrites blocks the file already has, so its fsync
/// flushes only data: appending also changed the file's size and allocation, which ext4 commits
/// through its journal, and that journal commit waits for whatever else is being written back
/// (the checkpoints' pages). In `make bench-messaging` this took the fsync store path from
/// about 25k to about 42k messages/s. Safe: SQLite reads the WAL only up to its last valid
/// frame, and a zero frame is never valid. The caller holds the write lock, so no commit
/// appends meanwhile.
pub fn preallocate(wal: &Path, bytes: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new().write(true).open(wal)?;
    let len = file.metadata()?.len();
    if len >= bytes {
        return Ok(());
    }
    file.seek(SeekFrom::Start(len))?;
    let zeros = vec![0u8; 1 << 20];
    let mut left = bytes - len;
    while left > 0 {
        let n = usize::try_from(left).map_or(zeros.len(), |l| l.min(zeros.len()));
        file.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    file.sync_all()
}

/// Makes the directory entry of a newly created WAL durable too (SQLite does so on its own
/// first sync of the file, which with `synchronous = NORMAL` comes only at a checkpoint).
fn sync_dir(wal: &Path) -> std::io::Result<()> {
    match wal.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => std::fs::File::open(".")?.sync_all(),
    }
}

/// The syncer thread's loop: ends when the writer drops its sender.
pub fn syncer(wal: PathBuf, rx: mpsc::Receiver<Settled>) {
    let mut pending = Vec::new();
    let mut dir_synced = false;
    while let Ok(first) = rx.recv() {
        pending.push(first);
        while let Ok(more) = rx.try_recv() {
            pending.push(more);
        }
        let durable = if pending.iter().any(|s| s.committed) {
            let synced = sync(&wal).and_then(|()| {
                if !dir_synced {
                    sync_dir(&wal)?;
                    dir_synced = true;
                }
                Ok(())
            });
            match synced {
                Ok(()) => true,
                Err(e) => {
                    // Nothing in these batches is known to be on disk: none is acknowledged.
                    tracing::error!(error = %e, wal = %wal.display(), "syncing the WAL");
                    false
                }
            }
        } else {
            true
        };
        for settled in pending.drain(..) {
            let ok = settled.committed && durable;
            for d in settled.done {
                d.answer(ok);
            }
        }
    }
}

/// Frames in the WAL from which the checkpointer no longer pauses between checkpoints. The
/// writer's own checkpoint at [`WRITER_AUTOCHECKPOINT`] frames, which lets the WAL restart
/// from its start, stalls every write queued behind it while it copies the frames not copied
/// yet; copying back to back as the WAL nears that size leaves it only the last few.
const CATCH_UP_FRAMES: i64 = WRITER_AUTOCHECKPOINT * 3 / 4;

/// The checkpointer thread's loop: one `PASSIVE` checkpoint after each nudge from the writer,
/// at most one every [`CHECKPOINT_PAUSE`] until the WAL holds [`CATCH_UP_FRAMES`]; ends when
/// the writer drops its sender.
pub fn checkpointer(mut db: Box<dyn Sql>, rx: mpsc::Receiver<()>) {
    while rx.recv().is_ok() {
        // One row: (busy, frames in the WAL, frames copied).
        let frames = match db.query("PRAGMA wal_checkpoint(PASSIVE)", &[]) {
            Ok(rows) => rows.first().and_then(|row| row.int(1).ok()).unwrap_or(0),
            Err(e) => {
                tracing::warn!(error = %e, "checkpointing the WAL");
                0
            }
        };
        if frames < CATCH_UP_FRAMES {
            std::thread::sleep(CHECKPOINT_PAUSE);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Feeds one committed batch of `n` writes to a syncer on `wal`; returns their answers.
    fn settle(wal: PathBuf, n: usize) -> Vec<bool> {
        let answers = Arc::new(Mutex::new(Vec::new()));
        let done = (0..n)
            .map(|_| {
                let answers = answers.clone();
                Box::new(move |ok: bool| answers.lock().unwrap().push(ok)) as Done
            })
            .collect();
        let (tx, rx) = mpsc::channel();
        tx.send(Settled {
            done,
            committed: true,
        })
        .unwrap();
        drop(tx);
        syncer(wal, rx);
        let answers = answers.lock().unwrap().clone();
        answers
    }

    #[test]
    fn preallocation_extends_a_short_wal_with_zeros_and_leaves_a_long_one_alone() {
        let dir = tempfile::tempdir().unwrap();
        let wal = wal_path(&dir.path().join("m.db"));
        std::fs::write(&wal, b"frames").unwrap();
        preallocate(&wal, 4 << 20).unwrap();
        let bytes = std::fs::read(&wal).unwrap();
        assert_eq!(bytes.len(), 4 << 20);
        assert_eq!(&bytes[..6], b"frames");
        assert!(bytes[6..].iter().all(|&b| b == 0));
        preallocate(&wal, 1 << 20).unwrap();
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 4 << 20);
    }

    #[test]
    fn a_committed_batch_is_acknowledged_once_its_wal_is_synced() {
        let dir = tempfile::tempdir().unwrap();
        let wal = wal_path(&dir.path().join("m.db"));
        std::fs::write(&wal, b"frames").unwrap();
        assert_eq!(settle(wal, 3), vec![true, true, true]);
    }

    #[test]
    fn nothing_is_acknowledged_when_the_wal_cannot_be_synced() {
        let dir = tempfile::tempdir().unwrap();
        let missing = wal_path(&dir.path().join("gone.db"));
        assert_eq!(settle(missing, 2), vec![false, false]);
    }
}
