//! Persistence: the one store every table of the relay goes through. A [`Store`] is a handle
//! to one database (the embedded SQLite file, or PostgreSQL) with one group-commit writer
//! thread and a few reader threads; queries are written once over [`Sql`] in the modules that
//! own their tables and run on either engine, and so do the [`migrate::MIGRATIONS`].
//!
//! Every call into the database blocks, so none runs on the async threads: [`Store::write`]
//! and [`Store::read`] queue a closure for the store's threads and await its answer, and
//! writes nobody waits for (audit entries, routing events) are queued with
//! [`Store::queue_write`] or [`Store::try_queue_write`]. A write is answered only once the
//! transaction holding it has committed (and, with [`Options::fsync`] on SQLite, reached the
//! disk).
//!
//! # Layout
//!
//! - `error`: [`StoreError`], the one error of every query and every engine.
//! - [`sql`]: the [`Sql`] trait, values, rows, and the writer's memos.
//! - [`sqlite`] and [`postgres`]: the two engines.
//! - [`migrate`]: the one list of migrations.
//! - `writer`: the writer and reader loops (group commit, savepoints only on failure).
//! - [`wal`]: on SQLite, the threads that fsync and checkpoint the WAL beside the writer.
//!
//! **Invariant:** there is one writer per database, so a memo the writer keeps of what it
//! wrote ([`sql::Memos`]) is correct, and SQLite's write lock is never contended between two
//! writers of the relay.

mod error;
pub mod migrate;
pub mod postgres;
pub mod sql;
pub mod sqlite;
pub mod wal;
mod writer;

use std::{
    path::{Path, PathBuf},
    sync::{mpsc as std_mpsc, Arc, Mutex},
};

use tokio::sync::{mpsc, oneshot};

pub use error::StoreError;
pub use sql::{from_json, to_json, Columns, Forget, Memos, Row, Sql, Val};
use writer::{After, Job};

/// Which database a store opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The embedded SQLite file.
    Sqlite(PathBuf),
    /// A `postgres://` URL, optionally confined to one schema (tests use one per run).
    Postgres { url: String, schema: Option<String> },
}

impl Target {
    /// `postgres://` and `postgresql://` URLs select PostgreSQL; anything else is the SQLite
    /// path (with or without `sqlite://`).
    pub fn from_url(url: &str) -> Target {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Target::Postgres {
                url: url.to_owned(),
                schema: None,
            }
        } else {
            Target::Sqlite(PathBuf::from(url.strip_prefix("sqlite://").unwrap_or(url)))
        }
    }

    fn connect(&self, fsync: bool) -> Result<Box<dyn Sql>, StoreError> {
        Ok(match self {
            Target::Sqlite(path) => Box::new(sqlite::Sqlite::open(path, fsync)?),
            Target::Postgres { url, schema } => {
                Box::new(postgres::Postgres::connect(url, schema.as_deref())?)
            }
        })
    }

    fn connect_writer(&self) -> Result<Box<dyn Sql>, StoreError> {
        match self {
            Target::Sqlite(path) => Ok(Box::new(sqlite::Sqlite::open_writer(path)?)),
            Target::Postgres { .. } => self.connect(true),
        }
    }

    fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Target::Sqlite(path) => Some(path),
            Target::Postgres { .. } => None,
        }
    }
}

/// How a store runs its threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// SQLite: a write is answered only after the WAL holding it is fsynced (power-loss
    /// safe); off, after the commit (a crash of the process loses nothing, a power loss may).
    /// PostgreSQL syncs in its own `COMMIT` either way.
    pub fsync: bool,
    /// SQLite: checkpoint on a thread of its own and, with `fsync`, extend the WAL with zeros
    /// ahead of the commits (see [`wal::preallocate`]). For a long-running relay, not for a
    /// one-shot command.
    pub background_wal: bool,
    /// Reader threads, each with its own connection.
    pub readers: usize,
    /// Jobs queued for the writer, and for the readers; callers wait (or are refused, with
    /// [`Store::try_queue_write`]) when it is full.
    pub queue: usize,
}

impl Options {
    /// A serving relay's store.
    pub fn server(fsync: bool) -> Options {
        Options {
            fsync,
            background_wal: true,
            readers: 2,
            queue: 16_384,
        }
    }

    /// A command-line tool's: durable, and quick to open and drop.
    pub fn command() -> Options {
        Options {
            fsync: true,
            background_wal: false,
            readers: 1,
            queue: 64,
        }
    }
}

/// Committed batches waiting for the WAL's fsync besides the one being synced.
const SYNC_QUEUE: usize = 1;

/// The handle: cheap to clone, usable from async code. The threads stop when the last handle
/// is dropped, after finishing what was queued.
#[derive(Clone)]
pub struct Store {
    writes: mpsc::Sender<Box<dyn Job>>,
    reads: mpsc::Sender<Box<dyn Job>>,
}

impl Store {
    /// Connects, applies the migrations, and starts the writer and reader threads. Blocking
    /// (it connects and migrates): call it before serving, or from `spawn_blocking`.
    pub fn open(target: &Target, options: Options) -> Result<Store, StoreError> {
        let mut writer = target.connect_writer()?;
        migrate::migrate(writer.as_mut())?;
        let (writes, write_rx) = mpsc::channel(options.queue.max(1));
        let (reads, read_rx) = mpsc::channel(options.queue.max(1));
        let mut after = After {
            syncer: None,
            checkpoint: None,
        };
        if let Some(path) = target.sqlite_path() {
            let wal = wal::wal_path(path);
            if options.fsync {
                // The migrations committed without an fsync too.
                wal::sync(&wal)?;
            }
            if options.background_wal {
                if options.fsync {
                    preallocate_wal(writer.as_mut(), &wal)?;
                }
                let db = target.connect(options.fsync)?;
                let (tx, rx) = std_mpsc::sync_channel(1);
                spawn("store-checkpoint", move || wal::checkpointer(db, rx))?;
                after.checkpoint = Some(tx);
            }
            if options.fsync {
                // One batch waits while another is being synced; a third blocks the writer, so
                // under load writes queue up and the next batch is bigger (fewer WAL frames per
                // write) instead of the writer committing ever smaller batches ahead of the disk.
                let (tx, rx) = std_mpsc::sync_channel(SYNC_QUEUE);
                spawn("store-sync", move || wal::syncer(wal, rx))?;
                after.syncer = Some(tx);
            }
        }
        let read_rx = Arc::new(Mutex::new(read_rx));
        for _ in 0..options.readers.max(1) {
            let db = target.connect(options.fsync)?;
            let rx = read_rx.clone();
            spawn("store-reader", move || writer::read_loop(db, rx))?;
        }
        spawn("store-writer", move || {
            writer::write_loop(writer, write_rx, after)
        })?;
        Ok(Store { writes, reads })
    }

    /// Opens the store off the async threads.
    pub async fn open_async(target: Target, options: Options) -> Result<Store, StoreError> {
        tokio::task::spawn_blocking(move || Store::open(&target, options))
            .await
            .map_err(|_| StoreError::WorkerGone)?
    }

    /// Runs `f` in the next write batch; answers once that batch's transaction has committed.
    /// `f` runs again when another write of its batch failed (the batch is rolled back and
    /// rerun), so it must not act outside the database.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnMut(&mut dyn Sql) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        ask(&self.writes, f).await
    }

    /// Runs `f` on a reader connection (sees every committed write).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnMut(&mut dyn Sql) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        ask(&self.reads, f).await
    }

    /// Queues a write nobody waits for, waiting only for room in the queue: such writes are
    /// never lost to a full queue. A failure is logged by the writer, naming `what`.
    pub async fn queue_write(
        &self,
        what: &'static str,
        f: impl FnMut(&mut dyn Sql) -> Result<(), StoreError> + Send + 'static,
    ) -> Result<(), StoreError> {
        self.writes
            .send(writer::detached(what, f))
            .await
            .map_err(|_| StoreError::WorkerGone)
    }

    /// Queues a write nobody waits for without waiting at all: a full queue refuses it
    /// ([`StoreError::Full`]), so a caller that must never block (the routing task) can count
    /// what it drops.
    pub fn try_queue_write(
        &self,
        what: &'static str,
        f: impl FnMut(&mut dyn Sql) -> Result<(), StoreError> + Send + 'static,
    ) -> Result<(), StoreError> {
        self.writes
            .try_send(writer::detached(what, f))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => StoreError::Full,
                mpsc::error::TrySendError::Closed(_) => StoreError::WorkerGone,
            })
    }

    /// Waits until every write queued so far has committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.write(|_| Ok(())).await
    }
}

/// Extends the WAL ahead of the commits that will fill it ([`wal::preallocate`]), holding the
/// write lock meanwhile: other connections (another process) may append to the same WAL. A
/// failure to extend is only logged (commits then append, as without it).
fn preallocate_wal(writer: &mut dyn Sql, wal: &Path) -> Result<(), StoreError> {
    let page_bytes = writer
        .query("PRAGMA page_size", &[])?
        .first()
        .and_then(|row| row.first())
        .and_then(|v| v.int().ok())
        .and_then(|v| u64::try_from(v).ok())
        .unwrap_or(4096);
    writer.batch("BEGIN IMMEDIATE")?;
    let extended = wal::preallocate(wal, wal::preallocated_bytes(page_bytes));
    writer.batch("COMMIT")?;
    if let Err(e) = extended {
        tracing::warn!(error = %e, wal = %wal.display(), "preallocating the WAL");
    }
    Ok(())
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), StoreError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(drop)
        .map_err(|_| StoreError::WorkerGone)
}

async fn ask<T: Send + 'static>(
    queue: &mpsc::Sender<Box<dyn Job>>,
    f: impl FnMut(&mut dyn Sql) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let (tx, rx) = oneshot::channel();
    queue
        .send(writer::pending(f, tx))
        .await
        .map_err(|_| StoreError::WorkerGone)?;
    rx.await.map_err(|_| StoreError::WorkerGone)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(path: &Path) -> Target {
        Target::Sqlite(path.to_path_buf())
    }

    #[tokio::test]
    async fn migrations_apply_once_and_sites_check_origins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        drop(
            Store::open_async(sqlite(&path), Options::command())
                .await
                .unwrap(),
        );
        let store = Store::open_async(sqlite(&path), Options::command())
            .await
            .unwrap();
        store
            .write(|db| crate::sites::site_add(db, "shop", &["https://shop.example/".to_owned()]))
            .await
            .unwrap();
        let allowed = |origin: &'static str| {
            let store = store.clone();
            async move {
                store
                    .read(move |db| crate::sites::site_allows(db, "shop", origin))
                    .await
                    .unwrap()
            }
        };
        assert!(allowed("https://shop.example").await);
        assert!(!allowed("https://evil.example").await);
        let versions = store
            .read(|db| {
                db.query_row("SELECT COUNT(*) FROM schema_migrations", &[])?
                    .map(|r| r.int(0))
                    .transpose()
            })
            .await
            .unwrap();
        assert_eq!(versions, Some(migrate::MIGRATIONS.len() as i64));
    }

    /// Two relays (or the CLI and a relay) opening one fresh database at once: each migration
    /// is applied exactly once and neither open fails with "database is locked".
    #[test]
    fn concurrent_opens_of_a_fresh_database_all_succeed() {
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("db.sqlite");
            let opens: Vec<_> = (0..6)
                .map(|_| {
                    let target = sqlite(&path);
                    std::thread::spawn(move || Store::open(&target, Options::command()).map(drop))
                })
                .collect();
            for open in opens {
                let result = open.join().unwrap();
                assert!(result.is_ok(), "{result:?}");
            }
            let mut db = sqlite::Sqlite::open(&path, false).unwrap();
            let versions = db
                .query_row("SELECT COUNT(*) FROM schema_migrations", &[])
                .unwrap()
                .unwrap();
            assert_eq!(versions.int(0).unwrap(), migrate::MIGRATIONS.len() as i64);
        }
    }

    #[tokio::test]
    async fn a_failing_write_rolls_back_alone_and_the_rest_of_its_batch_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_async(sqlite(&dir.path().join("db.sqlite")), Options::command())
            .await
            .unwrap();
        store
            .write(|db| db.batch("CREATE TABLE t (k TEXT PRIMARY KEY)"))
            .await
            .unwrap();
        let insert = |k: &'static str| {
            let store = store.clone();
            async move {
                store
                    .write(move |db| db.execute("INSERT INTO t (k) VALUES ($1)", &[k.into()]))
                    .await
            }
        };
        // Queued together, so they share one batch: the duplicate fails, the others commit.
        let (a, dup, b) = tokio::join!(insert("a"), insert("a"), insert("b"));
        assert_eq!(a.unwrap(), 1);
        assert!(dup.is_err());
        assert_eq!(b.unwrap(), 1);
        let rows = store
            .read(|db| db.query("SELECT k FROM t ORDER BY k", &[]))
            .await
            .unwrap();
        assert_eq!(rows, vec![vec![Val::from("a")], vec![Val::from("b")]]);
    }

    #[tokio::test]
    async fn a_queued_write_is_committed_by_the_next_flush_and_a_full_queue_refuses_a_try() {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            queue: 1,
            ..Options::command()
        };
        let store = Store::open_async(sqlite(&dir.path().join("db.sqlite")), options)
            .await
            .unwrap();
        store
            .write(|db| db.batch("CREATE TABLE t (k TEXT)"))
            .await
            .unwrap();
        // Hold the writer in a write of its own so the queue behind it fills.
        let (started_tx, started) = std::sync::mpsc::channel::<()>();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        let slow = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .write(move |_| {
                        started_tx.send(()).ok();
                        released.lock().unwrap().recv().ok();
                        Ok(())
                    })
                    .await
            })
        };
        tokio::task::spawn_blocking(move || started.recv().unwrap())
            .await
            .unwrap();
        store
            .try_queue_write("test", |db| {
                db.execute("INSERT INTO t (k) VALUES ('queued')", &[])
                    .map(drop)
            })
            .unwrap();
        let full = store.try_queue_write("test", |_| Ok(()));
        assert!(matches!(full, Err(StoreError::Full)), "{full:?}");
        release.send(()).unwrap();
        slow.await.unwrap().unwrap();
        store.flush().await.unwrap();
        let rows = store
            .read(|db| db.query("SELECT k FROM t", &[]))
            .await
            .unwrap();
        assert_eq!(rows, vec![vec![Val::from("queued")]]);
    }
}
