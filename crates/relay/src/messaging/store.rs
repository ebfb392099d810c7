//! The messaging store's shell: one writer thread that groups concurrent writes into one
//! transaction (group commit) and answers each only after that transaction commits, and one
//! reader thread on its own connection. Both engines sit behind [`Sql`], so this shell is
//! the same for SQLite and PostgreSQL.
//!
//! One failing write rolls back alone and the rest of its batch still commits: a batch first
//! runs without savepoints, and only a batch in which a write failed runs again with one
//! savepoint per write (see [`write_batch`]).
//!
//! On SQLite the writer does not wait for the disk: [`super::wal`] fsyncs the WAL on another
//! thread and answers a batch's writes after that fsync, while the writer runs the next batch,
//! and checkpoints on a third.

use std::{path::PathBuf, sync::mpsc as std_mpsc};

use tokio::sync::{mpsc, oneshot};

use super::{
    db::{self, DbError, Postgres, Sql, Sqlite},
    wal::{self, Answer, Settled},
};

/// Writes grouped into one transaction at most.
const WRITE_BATCH: usize = 1024;
/// Jobs queued for each thread; senders wait when it is full.
const QUEUE: usize = 16_384;
/// Committed batches waiting for the WAL's fsync besides the one being synced.
const SYNC_QUEUE: usize = 1;

/// Which database messaging lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The relay's embedded SQLite file; every commit is fsynced.
    Sqlite(PathBuf),
    /// The same without an fsync per commit: acknowledged writes survive a crash of the relay,
    /// not a power loss (`synchronous = NORMAL`).
    SqliteNoFsync(PathBuf),
    /// A `postgres://` URL, optionally confined to one schema (tests use one per run).
    Postgres { url: String, schema: Option<String> },
}

impl Target {
    /// `postgres://` and `postgresql://` URLs select PostgreSQL; anything else is the SQLite
    /// path.
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

    fn connect(&self) -> Result<Box<dyn Sql>, DbError> {
        Ok(match self {
            Target::Sqlite(path) => Box::new(Sqlite::open(path, true)?),
            Target::SqliteNoFsync(path) => Box::new(Sqlite::open(path, false)?),
            Target::Postgres { url, schema } => {
                Box::new(Postgres::connect(url, schema.as_deref())?)
            }
        })
    }

    /// The writer's connection, and the WAL its commits must be fsynced to before they are
    /// answered (SQLite with fsync; PostgreSQL syncs in its own `COMMIT`).
    fn connect_writer(&self) -> Result<(Box<dyn Sql>, Option<PathBuf>), DbError> {
        Ok(match self {
            Target::Sqlite(path) => (
                Box::new(Sqlite::open_writer(path)?),
                Some(wal::wal_path(path)),
            ),
            Target::SqliteNoFsync(path) => (Box::new(Sqlite::open_writer(path)?), None),
            Target::Postgres { .. } => (self.connect()?, None),
        })
    }

    /// SQLite's checkpoints run on their own connection (PostgreSQL has none to run).
    fn connect_checkpointer(&self) -> Result<Option<Box<dyn Sql>>, DbError> {
        match self {
            Target::Sqlite(_) | Target::SqliteNoFsync(_) => self.connect().map(Some),
            Target::Postgres { .. } => Ok(None),
        }
    }
}

/// Why a messaging store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the transaction holding this write did not commit (or did not reach the disk)")]
    NotCommitted,
    #[error("syncing the write-ahead log: {0}")]
    Sync(#[from] std::io::Error),
    #[error("messaging store thread stopped")]
    WorkerGone,
}

/// A queued read or write: run against a connection, then answered.
trait Job: Answer {
    /// Runs it, keeping the result for the answer; `false` if it failed. A write may run
    /// twice (its batch rolled back and run again, see [`write_batch`]): only the last run's
    /// result is answered.
    fn run(&mut self, db: &mut dyn Sql) -> bool;
}

/// A job made of a closure and the caller's channel.
struct Pending<T, F> {
    f: F,
    /// The last run's result; `None` if it never ran (its batch failed first).
    result: Option<Result<T, DbError>>,
    tx: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnMut(&mut dyn Sql) -> Result<T, DbError> + Send,
{
    fn run(&mut self, db: &mut dyn Sql) -> bool {
        let result = (self.f)(db);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }
}

impl<T: Send, F: Send> Answer for Pending<T, F> {
    fn answer(self: Box<Self>, committed: bool) {
        let answer = match self.result {
            Some(Ok(_)) | None if !committed => Err(StoreError::NotCommitted),
            Some(other) => other.map_err(StoreError::Db),
            None => Err(StoreError::NotCommitted),
        };
        // The caller may have given up waiting; the write stands either way.
        self.tx.send(answer).ok();
    }
}

/// The handle: cheap to clone, usable from async code.
#[derive(Clone)]
pub struct MessagingStore {
    writes: mpsc::Sender<Box<dyn Job>>,
    reads: mpsc::Sender<Box<dyn Job>>,
}

impl MessagingStore {
    /// Connects, applies the relay's migrations, and starts the writer and reader threads.
    pub fn open(target: &Target) -> Result<MessagingStore, StoreError> {
        let (mut writer, wal) = target.connect_writer()?;
        db::migrate(writer.as_mut(), crate::store::MIGRATIONS)?;
        let reader = target.connect()?;
        let (writes, write_rx) = mpsc::channel(QUEUE);
        let (reads, read_rx) = mpsc::channel(QUEUE);
        let mut after = After {
            syncer: None,
            checkpoint: None,
        };
        if let Some(wal) = wal {
            // The migrations committed without an fsync too.
            wal::sync(&wal)?;
            preallocate_wal(writer.as_mut(), &wal)?;
            // One batch waits while another is being synced; a third blocks the writer, so
            // under load writes queue up and the next batch is bigger (fewer WAL frames per
            // write) instead of the writer committing ever smaller batches ahead of the disk.
            let (tx, rx) = std_mpsc::sync_channel(SYNC_QUEUE);
            spawn("msg-sync", move || wal::syncer(wal, rx))?;
            after.syncer = Some(tx);
        }
        if let Some(db) = target.connect_checkpointer()? {
            let (tx, rx) = std_mpsc::sync_channel(1);
            spawn("msg-checkpoint", move || wal::checkpointer(db, rx))?;
            after.checkpoint = Some(tx);
        }
        spawn("msg-writer", move || write_loop(writer, write_rx, after))?;
        spawn("msg-reader", move || read_loop(reader, read_rx))?;
        Ok(MessagingStore { writes, reads })
    }

    /// Runs `f` in the next write batch; answers once that batch's transaction has committed.
    /// `f` runs again when another write of its batch failed (the batch is rolled back and
    /// rerun), so it must not act outside the database.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnMut(&mut dyn Sql) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, StoreError> {
        run(&self.writes, f).await
    }

    /// Runs `f` on the reader connection (sees every committed write).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnMut(&mut dyn Sql) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, StoreError> {
        run(&self.reads, f).await
    }

    /// Blocking write, for the command line (not for async threads).
    pub fn write_blocking<T: Send + 'static>(
        &self,
        f: impl FnMut(&mut dyn Sql) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.writes
            .blocking_send(job(f, tx))
            .map_err(|_| StoreError::WorkerGone)?;
        rx.blocking_recv().map_err(|_| StoreError::WorkerGone)?
    }
}

/// Extends the WAL ahead of the commits that will fill it ([`wal::preallocate`]), holding the
/// write lock meanwhile: the relay's other connections append to the same WAL. A failure to
/// extend is only logged (commits then append, as without it).
fn preallocate_wal(writer: &mut dyn Sql, wal: &std::path::Path) -> Result<(), StoreError> {
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
        tracing::warn!(error = %e, wal = %wal.display(), "preallocating the messaging WAL");
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

fn job<T: Send + 'static>(
    f: impl FnMut(&mut dyn Sql) -> Result<T, DbError> + Send + 'static,
    tx: oneshot::Sender<Result<T, StoreError>>,
) -> Box<dyn Job> {
    Box::new(Pending {
        f,
        result: None,
        tx,
    })
}

async fn run<T: Send + 'static>(
    queue: &mpsc::Sender<Box<dyn Job>>,
    f: impl FnMut(&mut dyn Sql) -> Result<T, DbError> + Send + 'static,
) -> Result<T, StoreError> {
    let (tx, rx) = oneshot::channel();
    queue
        .send(job(f, tx))
        .await
        .map_err(|_| StoreError::WorkerGone)?;
    rx.await.map_err(|_| StoreError::WorkerGone)?
}

/// What the writer does once a batch is settled, besides answering.
struct After {
    /// Where committed batches wait for the WAL's fsync before they are answered; `None`
    /// answers at once (after PostgreSQL's `COMMIT`, or SQLite without fsync).
    syncer: Option<std_mpsc::SyncSender<Settled>>,
    /// Nudged after each commit.
    checkpoint: Option<std_mpsc::SyncSender<()>>,
}

fn write_loop(mut db: Box<dyn Sql>, mut rx: mpsc::Receiver<Box<dyn Job>>, after: After) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(WRITE_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let committed = write_batch(db.as_mut(), &mut batch);
        if let Err(e) = &committed {
            tracing::error!(error = %e, "messaging write batch");
        }
        let committed = committed.is_ok();
        if let (true, Some(checkpoint)) = (committed, &after.checkpoint) {
            // Full means a checkpoint is already due.
            checkpoint.try_send(()).ok();
        }
        match &after.syncer {
            Some(syncer) => {
                let settled = Settled {
                    done: batch.drain(..).map(|j| j as Box<dyn Answer>).collect(),
                    committed,
                };
                if let Err(std_mpsc::SendError(settled)) = syncer.send(settled) {
                    // The syncer is gone: nothing can be made durable, so nothing is acknowledged.
                    for d in settled.done {
                        d.answer(false);
                    }
                }
            }
            None => {
                for j in batch.drain(..) {
                    j.answer(committed);
                }
            }
        }
    }
}

/// Runs a batch in one transaction. First without savepoints: a savepoint per write costs two
/// more statements and a copy of every page the write touches (SQLite's sub-journal), a
/// fifth of the writer's time, and writes almost never fail. When one does fail, its partial
/// changes cannot be undone alone: the transaction is rolled back and the batch runs again,
/// each write in its own savepoint, so that the failing write rolls back alone and the others
/// commit. (A write that failed because of an earlier write of its batch fails again there.)
fn write_batch(db: &mut dyn Sql, batch: &mut [Box<dyn Job>]) -> Result<(), DbError> {
    db.batch("BEGIN")?;
    if batch.iter_mut().all(|j| j.run(db)) {
        return commit(db);
    }
    // What the writer remembers of the writes just undone is wrong now.
    forget_all(db);
    db.batch("ROLLBACK")?;
    db.batch("BEGIN")?;
    let mut failed = None;
    for j in batch.iter_mut() {
        if let Err(e) = db.batch("SAVEPOINT job") {
            failed = Some(e);
            break;
        }
        // The job's own error rolls back only its savepoint; it reports the error itself.
        let end = if j.run(db) {
            db.batch("RELEASE SAVEPOINT job")
        } else {
            forget_all(db);
            db.batch("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job")
        };
        if let Err(e) = end {
            failed = Some(e);
            break;
        }
    }
    match failed {
        None => commit(db),
        Some(e) => {
            forget_all(db);
            if let Err(rollback) = db.batch("ROLLBACK") {
                tracing::error!(error = %rollback, "rolling back a failed batch");
            }
            Err(e)
        }
    }
}

/// On any failure to commit, what the writer remembers may not have been committed.
fn commit(db: &mut dyn Sql) -> Result<(), DbError> {
    db.batch("COMMIT").inspect_err(|_| forget_all(db))
}

/// Clears the writer's cache of what it wrote ([`super::queries::WriterCache`]).
fn forget_all(db: &mut dyn Sql) {
    if let Some(cache) = db.writer_cache() {
        cache.clear();
    }
}

fn read_loop(mut db: Box<dyn Sql>, mut rx: mpsc::Receiver<Box<dyn Job>>) {
    while let Some(mut j) = rx.blocking_recv() {
        j.run(db.as_mut());
        j.answer(true);
    }
}
