//! Persistence: the embedded SQLite database (WAL mode), its numbered migrations, the queries
//! the rest of the relay needs, and the batched writer that keeps the audit log off the hot
//! path.
//!
//! Every call into SQLite blocks, so none runs on the async threads: request handlers go
//! through [`Store::call`] (`spawn_blocking`), and per-frame records (audit entries, session
//! ends) go into the bounded queue of the [`Recorder`], whose own thread writes them in
//! batches, one transaction per batch.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::ids::{now_ms, random_hex};

/// The migrations, in order. Each runs once, recorded in `schema_migrations`.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_messaging.sql")),
    (3, include_str!("../migrations/0003_routing.sql")),
    (4, include_str!("../migrations/0004_delivery_prune.sql")),
    (
        5,
        include_str!("../migrations/0005_latest_conversation.sql"),
    ),
];

/// Opens a transaction that takes the write lock at `BEGIN` (`BEGIN IMMEDIATE`). Several
/// connections share the database file (this store, the reporting writer, messaging); a
/// deferred transaction that reads and then writes fails at once with "database is locked"
/// if another connection committed in between, which `busy_timeout` cannot wait out.
/// Taking the lock first turns that race into a short wait.
pub(crate) fn write_tx(conn: &mut Connection) -> Result<Transaction<'_>, rusqlite::Error> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

/// How many records the writer thread commits in one transaction at most.
const WRITE_BATCH: usize = 512;

/// Why a database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database worker stopped")]
    WorkerGone,
    #[error("{what} {name:?} not found")]
    NotFound { what: &'static str, name: String },
}

/// An agent as the auth layer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
}

/// An agent's stored credentials.
#[derive(Debug, Clone)]
pub struct AgentCredentials {
    pub agent: Agent,
    pub password_hash: String,
    pub disabled: bool,
}

/// One line of a session's audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub session_id: String,
    /// Order within the session, assigned by the session.
    pub seq: i64,
    pub at_ms: i64,
    /// A short machine-readable name: `paired`, `dropped`, `mode`, `ended`, ...
    pub event: String,
    /// Facts about the event; never page content.
    pub detail: String,
}

/// A new co-browse session row.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub agent_id: String,
    pub interaction: String,
    pub interaction_id: String,
    pub pairing: &'static str,
}

/// The database handle for request handlers: one connection, used off the async threads.
#[derive(Clone)]
pub struct Store {
    /// The connection; a mutex because SQLite connections are not `Sync`, and request-path
    /// queries are short.
    conn: Arc<Mutex<Connection>>,
    /// Where the database lives, so the [`Recorder`] can open its own connection.
    path: PathBuf,
}

/// How long a connection waits for a lock another connection holds.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// Tries of [`wait_for_lock`] that pause only [`SHORT_PAUSE`]: about the first 10 ms of a wait.
const SHORT_TRIES: i32 = 200;
const SHORT_PAUSE: std::time::Duration = std::time::Duration::from_micros(50);
/// The pause of every later try, up to [`LOCK_WAIT`] in all.
const LONG_PAUSE: std::time::Duration = std::time::Duration::from_millis(1);
const LONG_TRIES: i32 = (LOCK_WAIT.as_millis() / LONG_PAUSE.as_millis()) as i32;

/// The busy handler of every connection to the relay's file (several share it: this store,
/// the reporting writer, the messaging store's writer, reader and checkpointer). SQLite's own
/// handler, the one `busy_timeout` installs, sleeps 1, 2, 5, 10, 15 ms... between tries, so a
/// writer that finds the write lock held for just over a millisecond (another connection's
/// commit) sleeps 8 ms, and one held for 30 ms costs up to 100 (bench-messaging showed
/// `BEGIN`s of 8-9 ms, and one of 330 ms). This one tries again every 50 µs for the first
/// ~10 ms, then every millisecond, and gives up after about [`LOCK_WAIT`] (`SQLITE_BUSY`).
fn wait_for_lock(tries: i32) -> bool {
    if tries < SHORT_TRIES {
        std::thread::sleep(SHORT_PAUSE);
        true
    } else if tries < SHORT_TRIES + LONG_TRIES {
        std::thread::sleep(LONG_PAUSE);
        true
    } else {
        false
    }
}

/// Makes `conn` wait for locks with [`wait_for_lock`].
pub(crate) fn wait_for_locks(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.busy_handler(Some(wait_for_lock))
}

/// Installs the busy handler, then switches the connection's database to WAL. Changing the
/// journal mode takes a lock for which SQLite does not call the busy handler, so a connection
/// that opens a fresh file while another one is converting it gets `SQLITE_BUSY` at once: that
/// is retried until [`LOCK_WAIT`] has passed.
pub(crate) fn enter_wal(conn: &Connection) -> Result<(), rusqlite::Error> {
    wait_for_locks(conn)?;
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

fn open_connection(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open(path)?;
    enter_wal(&conn)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            applied_at BIGINT NOT NULL
        );",
    )?;
    for &(version, sql) in MIGRATIONS {
        let tx = write_tx(conn)?;
        let applied: Option<i64> = tx
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .optional()?;
        if applied.is_none() {
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, now_ms()],
            )?;
        }
        tx.commit()?;
    }
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = open_connection(path)?;
        migrate(&mut conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
    }

    /// Runs `f` with the connection. Blocking: for the CLI and for [`Store::call`].
    pub fn blocking<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut conn)
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.blocking(f))
            .await
            .map_err(|_| StoreError::WorkerGone)?
    }

    /// Starts the batched writer thread with a queue of `capacity` records.
    pub fn recorder(&self, capacity: usize) -> Result<(Recorder, RecorderThread), StoreError> {
        let conn = open_connection(&self.path)?;
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let thread = std::thread::Builder::new()
            .name("relay-recorder".into())
            .spawn(move || write_loop(conn, rx))
            .map_err(|_| StoreError::WorkerGone)?;
        Ok((Recorder { tx }, RecorderThread(Some(thread))))
    }
}

// Queries. Each takes the connection, so it runs inside `blocking` or `call`.

pub fn agent_upsert(conn: &Connection, name: &str, password_hash: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO agents (id, name, password_hash, disabled, created_at)
         VALUES (?1, ?2, ?3, 0, ?4)
         ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, disabled = 0",
        params![random_hex(16), name, password_hash, now_ms()],
    )?;
    Ok(())
}

pub fn agent_exists(conn: &Connection, name: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row("SELECT 1 FROM agents WHERE name = ?1", [name], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Disables an agent and signs it out everywhere.
pub fn agent_disable(conn: &mut Connection, name: &str) -> Result<(), StoreError> {
    let tx = write_tx(conn)?;
    let changed = tx.execute("UPDATE agents SET disabled = 1 WHERE name = ?1", [name])?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "agent",
            name: name.to_owned(),
        });
    }
    tx.execute(
        "DELETE FROM agent_tokens WHERE agent_id IN (SELECT id FROM agents WHERE name = ?1)",
        [name],
    )?;
    tx.commit()?;
    Ok(())
}

pub fn agent_credentials(
    conn: &Connection,
    name: &str,
) -> Result<Option<AgentCredentials>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT id, name, password_hash, disabled FROM agents WHERE name = ?1",
            [name],
            |r| {
                Ok(AgentCredentials {
                    agent: Agent {
                        id: r.get(0)?,
                        name: r.get(1)?,
                    },
                    password_hash: r.get(2)?,
                    disabled: r.get::<_, i64>(3)? != 0,
                })
            },
        )
        .optional()?)
}

pub fn token_insert(
    conn: &Connection,
    token_hash: &str,
    agent_id: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO agent_tokens (token_hash, agent_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![token_hash, agent_id, now_ms(), expires_at],
    )?;
    Ok(())
}

/// The enabled agent a live token belongs to.
pub fn token_agent(conn: &Connection, token_hash: &str) -> Result<Option<Agent>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT a.id, a.name FROM agent_tokens t JOIN agents a ON a.id = t.agent_id
             WHERE t.token_hash = ?1 AND t.expires_at > ?2 AND a.disabled = 0",
            params![token_hash, now_ms()],
            |r| {
                Ok(Agent {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            },
        )
        .optional()?)
}

pub fn token_delete(conn: &Connection, token_hash: &str) -> Result<(), StoreError> {
    conn.execute(
        "DELETE FROM agent_tokens WHERE token_hash = ?1",
        [token_hash],
    )?;
    Ok(())
}

/// Creates the site if needed and adds `origins` to its allowed list.
pub fn site_add(conn: &mut Connection, key: &str, origins: &[String]) -> Result<(), StoreError> {
    let tx = write_tx(conn)?;
    tx.execute(
        "INSERT INTO sites (site_key, created_at) VALUES (?1, ?2) ON CONFLICT (site_key) DO NOTHING",
        params![key, now_ms()],
    )?;
    for origin in origins {
        tx.execute(
            "INSERT INTO site_origins (site_key, origin) VALUES (?1, ?2)
             ON CONFLICT (site_key, origin) DO NOTHING",
            params![key, origin.trim_end_matches('/')],
        )?;
    }
    tx.commit()?;
    Ok(())
}

pub fn site_allows(conn: &Connection, key: &str, origin: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM site_origins WHERE site_key = ?1 AND origin = ?2",
            params![key, origin],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

pub fn session_insert(conn: &Connection, s: &NewSession) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO cobrowse_sessions (id, agent_id, interaction, interaction_id, pairing, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![s.id, s.agent_id, s.interaction, s.interaction_id, s.pairing, now_ms()],
    )?;
    Ok(())
}

pub fn audit_for(conn: &Connection, session_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT session_id, seq, at_ms, event, detail FROM audit_log
         WHERE session_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([session_id], |r| {
        Ok(AuditEntry {
            session_id: r.get(0)?,
            seq: r.get(1)?,
            at_ms: r.get(2)?,
            event: r.get(3)?,
            detail: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What the batched writer persists.
#[derive(Debug)]
pub enum Record {
    Audit(AuditEntry),
    /// A customer attached to the session.
    Paired {
        session_id: String,
        site_key: String,
        at_ms: i64,
    },
    Ended {
        session_id: String,
        reason: String,
        at_ms: i64,
    },
    /// Answered once every record queued before it is committed.
    Flush(oneshot::Sender<()>),
}

/// The sending side of the batched writer. Cloned into every session.
#[derive(Clone)]
pub struct Recorder {
    /// Bounded, so a burst of audit entries slows only the connection producing them.
    tx: mpsc::Sender<Record>,
}

impl Recorder {
    /// Queues a record, waiting for room: audit entries are never lost to a full queue.
    pub async fn record(&self, record: Record) -> Result<(), StoreError> {
        self.tx
            .send(record)
            .await
            .map_err(|_| StoreError::WorkerGone)
    }

    /// Waits until everything queued so far is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.record(Record::Flush(tx)).await?;
        rx.await.map_err(|_| StoreError::WorkerGone)
    }
}

/// The writer thread; dropping every [`Recorder`] stops it, and [`RecorderThread::join`] waits
/// for its last batch.
pub struct RecorderThread(Option<std::thread::JoinHandle<()>>);

impl RecorderThread {
    pub fn join(mut self) {
        if let Some(handle) = self.0.take() {
            if handle.join().is_err() {
                tracing::error!("recorder thread panicked");
            }
        }
    }
}

fn write_loop(mut conn: Connection, mut rx: mpsc::Receiver<Record>) {
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(record) => batch.push(record),
                Err(_) => break,
            }
        }
        if let Err(e) = write_batch(&mut conn, &mut batch) {
            tracing::error!(error = %e, "writing audit batch");
        }
        for record in batch.drain(..) {
            if let Record::Flush(done) = record {
                // The asker may have gone away; nothing to tell it then.
                done.send(()).ok();
            }
        }
    }
}

fn write_batch(conn: &mut Connection, batch: &mut [Record]) -> Result<(), rusqlite::Error> {
    let tx = write_tx(conn)?;
    for record in batch.iter() {
        match record {
            Record::Audit(e) => {
                tx.execute(
                    "INSERT INTO audit_log (session_id, seq, at_ms, event, detail)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (session_id, seq) DO NOTHING",
                    params![e.session_id, e.seq, e.at_ms, e.event, e.detail],
                )?;
            }
            Record::Paired {
                session_id,
                site_key,
                at_ms,
            } => {
                tx.execute(
                    "UPDATE cobrowse_sessions SET site_key = ?2, paired_at = ?3
                     WHERE id = ?1 AND paired_at IS NULL",
                    params![session_id, site_key, at_ms],
                )?;
            }
            Record::Ended {
                session_id,
                reason,
                at_ms,
            } => {
                tx.execute(
                    "UPDATE cobrowse_sessions SET ended_at = ?2, end_reason = ?3 WHERE id = ?1",
                    params![session_id, at_ms, reason],
                )?;
            }
            Record::Flush(_) => {}
        }
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_sites_check_origins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let store = Store::open(&path).unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        store
            .blocking(|c| site_add(c, "shop", &["https://shop.example/".to_owned()]))
            .unwrap();
        assert!(store
            .blocking(|c| site_allows(c, "shop", "https://shop.example"))
            .unwrap());
        assert!(!store
            .blocking(|c| site_allows(c, "shop", "https://evil.example"))
            .unwrap());
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
                    let path = path.clone();
                    std::thread::spawn(move || Store::open(&path).map(drop))
                })
                .collect();
            for open in opens {
                let result = open.join().unwrap();
                assert!(result.is_ok(), "{result:?}");
            }
            let store = Store::open(&path).unwrap();
            let versions: i64 = store
                .blocking(|c| {
                    Ok::<_, StoreError>(c.query_row(
                        "SELECT COUNT(*) FROM schema_migrations",
                        [],
                        |r| r.get(0),
                    )?)
                })
                .unwrap();
            assert_eq!(versions, MIGRATIONS.len() as i64);
        }
    }
}
