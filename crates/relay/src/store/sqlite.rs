//! The embedded engine: SQLite in WAL mode behind [`Sql`], with the busy handler every
//! connection to the relay's file uses.
//!
//! Several connections share the file (the store's writer, its readers, its checkpointer, and
//! other processes such as the CLI). Every write transaction begins `IMMEDIATE`, and a busy
//! handler is set before any other statement, so a read-then-write never fails with "database is
//! locked" when another connection committed in between: it waits its turn instead.

use std::{path::Path, time::Duration};

use super::error::StoreError;
use super::sql::{Memos, Row, Sql, Val};

/// SQLite in WAL mode. The writer's connection keeps the [`Memos`] of what it wrote.
pub struct Sqlite(rusqlite::Connection, Option<Memos>);

/// Prepared statements kept per connection: every statement the domain queries and the
/// writer's transaction control use, so none is parsed twice on the hot path.
const STATEMENT_CACHE: usize = 64;

/// Frames the WAL may hold before a commit on the writer's connection checkpoints it itself:
/// a fallback only, for when the store's background checkpointer falls behind.
pub(crate) const WRITER_AUTOCHECKPOINT: i64 = 10_000;

/// How long a connection waits for a lock another connection holds.
const LOCK_WAIT: Duration = Duration::from_secs(5);
/// Tries of [`wait_for_lock`] that pause only [`SHORT_PAUSE`]: about the first 10 ms of a wait.
const SHORT_TRIES: i32 = 200;
const SHORT_PAUSE: Duration = Duration::from_micros(50);
/// The pause of every later try, up to [`LOCK_WAIT`] in all.
const LONG_PAUSE: Duration = Duration::from_millis(1);
const LONG_TRIES: i32 = (LOCK_WAIT.as_millis() / LONG_PAUSE.as_millis()) as i32;

/// The busy handler of every connection to the relay's file. SQLite's own handler, the one
/// `busy_timeout` installs, sleeps 1, 2, 5, 10, 15 ms... between tries, so a writer that finds
/// the write lock held for just over a millisecond (another connection's commit) sleeps 8 ms,
/// and one held for 30 ms costs up to 100 (bench-messaging showed `BEGIN`s of 8-9 ms, and one
/// of 330 ms). This one tries again every 50 µs for the first ~10 ms, then every millisecond,
/// and gives up after about [`LOCK_WAIT`] (`SQLITE_BUSY`).
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

/// Installs the busy handler, then switches the connection's database to WAL. Changing the
/// journal mode takes a lock for which SQLite does not call the busy handler, so a connection
/// that opens a fresh file while another one is converting it gets `SQLITE_BUSY` at once: that
/// is retried until [`LOCK_WAIT`] has passed.
fn enter_wal(conn: &rusqlite::Connection) -> Result<(), rusqlite::Error> {
    conn.busy_handler(Some(wait_for_lock))?;
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

impl Sqlite {
    /// A connection to `path` (created if missing) in WAL mode. With `fsync`,
    /// `synchronous = FULL`: what it commits or checkpoints is on disk. Without, `NORMAL`: a
    /// commit survives a crash of the process (the WAL is written before the answer) but not
    /// of the machine.
    pub fn open(path: &Path, fsync: bool) -> Result<Sqlite, StoreError> {
        let conn = rusqlite::Connection::open(path)?;
        enter_wal(&conn)?;
        conn.pragma_update(None, "synchronous", if fsync { "FULL" } else { "NORMAL" })?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Sqlite(conn, None))
    }

    /// The group-commit writer's connection: commits write the WAL without an fsync
    /// (`synchronous = NORMAL`) and do not checkpoint, because the store syncs the WAL itself
    /// before answering (when fsync is wanted) and checkpoints on another thread, so neither
    /// stalls the next batch. It keeps the memos of what it wrote.
    pub fn open_writer(path: &Path) -> Result<Sqlite, StoreError> {
        let mut db = Sqlite::open(path, false)?;
        db.0.pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT)?;
        db.1 = Some(Memos::default());
        Ok(db)
    }
}

/// SQLite reads `?n` where PostgreSQL reads `$n`; the queries are written the PostgreSQL way.
fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Val::Int(v) => v.to_sql(),
            Val::Text(v) => v.to_sql(),
        }
    }
}

impl Sql for Sqlite {
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        // A deferred transaction that reads, then writes, fails at once with "database is
        // locked" (no busy wait) when another connection to the file committed in between;
        // taking the write lock up front waits instead.
        let sql = if sql == "BEGIN" {
            "BEGIN IMMEDIATE"
        } else {
            sql
        };
        // The writer runs the same few transaction-control statements for every write
        // (`SAVEPOINT job`, `RELEASE SAVEPOINT job`, ...): one statement is prepared once and
        // reused; several (migrations) go through SQLite's own parser each time.
        if sql.contains(';') {
            Ok(self.0.execute_batch(sql)?)
        } else {
            self.0.prepare_cached(sql)?.raw_execute()?;
            Ok(())
        }
    }

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, StoreError> {
        let mut stmt = self.0.prepare_cached(&sqlite_sql(sql))?;
        let n = stmt.execute(rusqlite::params_from_iter(params))?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, StoreError> {
        use rusqlite::types::ValueRef;
        let mut stmt = self.0.prepare_cached(&sqlite_sql(sql))?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut vals = Vec::with_capacity(columns);
            for i in 0..columns {
                vals.push(match row.get_ref(i)? {
                    ValueRef::Null => Val::Text(None),
                    ValueRef::Integer(v) => Val::Int(Some(v)),
                    ValueRef::Text(t) => Val::Text(Some(String::from_utf8_lossy(t).into_owned())),
                    ValueRef::Real(_) | ValueRef::Blob(_) => {
                        return Err(StoreError::Type(format!(
                            "column {i} is not TEXT or BIGINT"
                        )))
                    }
                });
            }
            out.push(vals);
        }
        Ok(out)
    }

    fn memos(&mut self) -> Option<&mut Memos> {
        self.1.as_mut()
    }
}
