//! The store's threads: one writer that groups concurrent writes into one transaction (group
//! commit) and answers each only after that transaction commits, and the readers, each on its
//! own connection. Both engines sit behind [`Sql`], so these loops are the same for SQLite and
//! PostgreSQL.
//!
//! One failing write rolls back alone and the rest of its batch still commits: a batch first
//! runs without savepoints, and only a batch in which a write failed runs again with one
//! savepoint per write (see [`write_batch`]).

use std::sync::{mpsc as std_mpsc, Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use super::error::StoreError;
use super::sql::Sql;
use super::wal::{Answer, Settled};

/// Writes grouped into one transaction at most.
const WRITE_BATCH: usize = 1024;

/// A queued read or write: run against a connection, then answered.
pub(super) trait Job: Answer {
    /// Runs it, keeping the result for the answer; `false` if it failed. A write may run
    /// twice (its batch rolled back and run again, see [`write_batch`]): only the last run's
    /// result is answered.
    fn run(&mut self, db: &mut dyn Sql) -> bool;
}

/// A job whose caller waits for its result.
struct Pending<T, F> {
    f: F,
    /// The last run's result; `None` if it never ran (its batch failed first).
    result: Option<Result<T, StoreError>>,
    tx: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnMut(&mut dyn Sql) -> Result<T, StoreError> + Send,
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
            Some(other) => other,
            None => Err(StoreError::NotCommitted),
        };
        // The caller may have given up waiting; the write stands either way.
        self.tx.send(answer).ok();
    }
}

/// A write nobody waits for (an audit entry, a routing event): its failure is logged here,
/// once, naming `what` it was.
struct Detached<F> {
    f: F,
    what: &'static str,
    failed: Option<StoreError>,
}

impl<F: FnMut(&mut dyn Sql) -> Result<(), StoreError> + Send> Job for Detached<F> {
    fn run(&mut self, db: &mut dyn Sql) -> bool {
        self.failed = (self.f)(db).err();
        self.failed.is_none()
    }
}

impl<F: Send> Answer for Detached<F> {
    fn answer(self: Box<Self>, committed: bool) {
        match self.failed {
            Some(e) => tracing::error!(error = %e, what = self.what, "store: write failed"),
            None if !committed => tracing::error!(what = self.what, "store: write not committed"),
            None => {}
        }
    }
}

pub(super) fn pending<T: Send + 'static>(
    f: impl FnMut(&mut dyn Sql) -> Result<T, StoreError> + Send + 'static,
    tx: oneshot::Sender<Result<T, StoreError>>,
) -> Box<dyn Job> {
    Box::new(Pending {
        f,
        result: None,
        tx,
    })
}

pub(super) fn detached(
    what: &'static str,
    f: impl FnMut(&mut dyn Sql) -> Result<(), StoreError> + Send + 'static,
) -> Box<dyn Job> {
    Box::new(Detached {
        f,
        what,
        failed: None,
    })
}

/// What the writer does once a batch is settled, besides answering.
pub(super) struct After {
    /// Where committed batches wait for the WAL's fsync before they are answered; `None`
    /// answers at once (after PostgreSQL's `COMMIT`, or SQLite without fsync).
    pub syncer: Option<std_mpsc::SyncSender<Settled>>,
    /// Nudged after each commit.
    pub checkpoint: Option<std_mpsc::SyncSender<()>>,
}

pub(super) fn write_loop(mut db: Box<dyn Sql>, mut rx: mpsc::Receiver<Box<dyn Job>>, after: After) {
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
            tracing::error!(error = %e, "store: write batch");
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
fn write_batch(db: &mut dyn Sql, batch: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
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
        // The job's own error rolls back only its savepoint; its answer reports the error.
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
                tracing::error!(error = %rollback, "store: rolling back a failed batch");
            }
            Err(e)
        }
    }
}

/// On any failure to commit, what the writer remembers may not have been committed.
fn commit(db: &mut dyn Sql) -> Result<(), StoreError> {
    db.batch("COMMIT").inspect_err(|_| forget_all(db))
}

/// Clears the writer's memos of what it wrote ([`super::sql::Memos`]).
fn forget_all(db: &mut dyn Sql) {
    if let Some(memos) = db.memos() {
        memos.clear();
    }
}

/// One reader thread: takes the next read from the queue the readers share and answers it.
pub(super) fn read_loop(mut db: Box<dyn Sql>, rx: Arc<Mutex<mpsc::Receiver<Box<dyn Job>>>>) {
    loop {
        // The lock is held only while waiting for a job, never while running one.
        let next = rx.lock().unwrap_or_else(|p| p.into_inner()).blocking_recv();
        let Some(mut j) = next else { break };
        j.run(db.as_mut());
        j.answer(true);
    }
}
