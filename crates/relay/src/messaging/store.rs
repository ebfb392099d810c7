//! The messaging store's shell: one writer thread that groups concurrent writes into one
//! transaction (group commit) and answers each only after that transaction commits, and one
//! reader thread on its own connection. Both engines sit behind [`Sql`], so this shell is
//! the same for SQLite and PostgreSQL.
//!
//! Each write runs inside its own savepoint, so one failing write rolls back alone and the
//! rest of the batch still commits.

use std::path::PathBuf;

use tokio::sync::{mpsc, oneshot};

use super::db::{self, DbError, Postgres, Sql, Sqlite};

/// Writes grouped into one transaction at most.
const WRITE_BATCH: usize = 1024;
/// Jobs queued for each thread; senders wait when it is full.
const QUEUE: usize = 16_384;

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
}

/// Why a messaging store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the transaction holding this write did not commit")]
    NotCommitted,
    #[error("messaging store thread stopped")]
    WorkerGone,
}

/// Called after the batch ends: `true` if its transaction committed.
type Done = Box<dyn FnOnce(bool) + Send>;
/// Runs against the connection; returns the answer to send after the batch, and whether the
/// job succeeded (a failed job's savepoint is rolled back).
type Job = Box<dyn FnOnce(&mut dyn Sql) -> (Done, bool) + Send>;

/// The handle: cheap to clone, usable from async code.
#[derive(Clone)]
pub struct MessagingStore {
    writes: mpsc::Sender<Job>,
    reads: mpsc::Sender<Job>,
}

impl MessagingStore {
    /// Connects, applies the relay's migrations, and starts the writer and reader threads.
    pub fn open(target: &Target) -> Result<MessagingStore, StoreError> {
        let mut writer = target.connect()?;
        db::migrate(writer.as_mut(), crate::store::MIGRATIONS)?;
        let reader = target.connect()?;
        let (writes, write_rx) = mpsc::channel(QUEUE);
        let (reads, read_rx) = mpsc::channel(QUEUE);
        spawn("msg-writer", move || write_loop(writer, write_rx))?;
        spawn("msg-reader", move || read_loop(reader, read_rx))?;
        Ok(MessagingStore { writes, reads })
    }

    /// Runs `f` in the next write batch; answers once that batch's transaction has committed.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Sql) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, StoreError> {
        run(&self.writes, f).await
    }

    /// Runs `f` on the reader connection (sees every committed write).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Sql) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, StoreError> {
        run(&self.reads, f).await
    }

    /// Blocking write, for the command line (not for async threads).
    pub fn write_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Sql) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.writes
            .blocking_send(job(f, tx))
            .map_err(|_| StoreError::WorkerGone)?;
        rx.blocking_recv().map_err(|_| StoreError::WorkerGone)?
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), StoreError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(drop)
        .map_err(|_| StoreError::WorkerGone)
}

fn job<T: Send + 'static>(
    f: impl FnOnce(&mut dyn Sql) -> Result<T, DbError> + Send + 'static,
    tx: oneshot::Sender<Result<T, StoreError>>,
) -> Job {
    Box::new(move |db: &mut dyn Sql| {
        let result = f(db);
        let ok = result.is_ok();
        let done = Box::new(move |committed: bool| {
            let answer = match result {
                Ok(_) if !committed => Err(StoreError::NotCommitted),
                other => other.map_err(StoreError::Db),
            };
            // The caller may have given up waiting; the write stands either way.
            tx.send(answer).ok();
        }) as Done;
        (done, ok)
    })
}

async fn run<T: Send + 'static>(
    queue: &mpsc::Sender<Job>,
    f: impl FnOnce(&mut dyn Sql) -> Result<T, DbError> + Send + 'static,
) -> Result<T, StoreError> {
    let (tx, rx) = oneshot::channel();
    queue
        .send(job(f, tx))
        .await
        .map_err(|_| StoreError::WorkerGone)?;
    rx.await.map_err(|_| StoreError::WorkerGone)?
}

fn write_loop(mut db: Box<dyn Sql>, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(WRITE_BATCH);
    let mut done: Vec<Done> = Vec::with_capacity(WRITE_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let committed = write_batch(db.as_mut(), &mut batch, &mut done);
        if let Err(e) = &committed {
            tracing::error!(error = %e, "messaging write batch");
        }
        let committed = committed.is_ok();
        for d in done.drain(..) {
            d(committed);
        }
    }
}

fn write_batch(
    db: &mut dyn Sql,
    batch: &mut Vec<Job>,
    done: &mut Vec<Done>,
) -> Result<(), DbError> {
    if let Err(e) = db.batch("BEGIN") {
        // Still answer every job: each closure reports "not committed".
        for j in batch.drain(..) {
            done.push(Box::new(move |_| drop(j)));
        }
        return Err(e);
    }
    let mut failed = None;
    for j in batch.drain(..) {
        if failed.is_some() {
            done.push(Box::new(move |_| drop(j)));
            continue;
        }
        if let Err(e) = db.batch("SAVEPOINT job") {
            failed = Some(e);
            done.push(Box::new(move |_| drop(j)));
            continue;
        }
        // The job's own error rolls back only its savepoint; it reports the error itself.
        let (d, ok) = j(db);
        done.push(d);
        let end = if ok {
            db.batch("RELEASE SAVEPOINT job")
        } else {
            db.batch("ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job")
        };
        if let Err(e) = end {
            failed = Some(e);
        }
    }
    match failed {
        None => db.batch("COMMIT"),
        Some(e) => {
            if let Err(rollback) = db.batch("ROLLBACK") {
                tracing::error!(error = %rollback, "rolling back a failed batch");
            }
            Err(e)
        }
    }
}

fn read_loop(mut db: Box<dyn Sql>, mut rx: mpsc::Receiver<Job>) {
    while let Some(j) = rx.blocking_recv() {
        j(db.as_mut()).0(true);
    }
}
