//! The small storage trait messaging is written against: a connection that runs SQL with
//! positional `$n` parameters over two value types (`BIGINT` as `i64`, `TEXT` as `String`,
//! either nullable). SQLite and PostgreSQL implement it; the domain queries in `queries` are
//! written once and run on both, and so do the migrations.

use std::path::Path;

use super::queries::WriterCache;

/// A parameter or a column value. Typed even when null, because PostgreSQL checks types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Int(Option<i64>),
    Text(Option<String>),
}

impl Val {
    pub fn int(&self) -> Result<i64, DbError> {
        match self {
            Val::Int(Some(v)) => Ok(*v),
            other => Err(DbError::Type(format!("expected an integer, got {other:?}"))),
        }
    }

    pub fn text(&self) -> Result<String, DbError> {
        match self {
            Val::Text(Some(v)) => Ok(v.clone()),
            other => Err(DbError::Type(format!("expected text, got {other:?}"))),
        }
    }

    pub fn opt_text(&self) -> Result<Option<String>, DbError> {
        match self {
            Val::Text(v) => Ok(v.clone()),
            Val::Int(None) => Ok(None),
            other => Err(DbError::Type(format!("expected text, got {other:?}"))),
        }
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(Some(v.to_owned()))
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(Some(v))
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        Val::Text(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(Some(v))
    }
}

pub type Row = Vec<Val>;

/// Why a statement failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("column type: {0}")]
    Type(String),
}

/// One database connection. Transactions are plain SQL (`BEGIN`, `SAVEPOINT`, `COMMIT`), which
/// both engines speak, so the batching writer needs nothing more.
pub trait Sql: Send {
    /// Runs statements without parameters (migrations, transaction control).
    fn batch(&mut self, sql: &str) -> Result<(), DbError>;
    /// Runs one statement; returns the rows it changed.
    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError>;
    /// Runs one query; returns every row.
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError>;
    /// What the store's single writer remembers of the rows it wrote (see [`WriterCache`]);
    /// `None` on every other connection.
    fn writer_cache(&mut self) -> Option<&mut WriterCache> {
        None
    }
}

/// SQLite in WAL mode. With `fsync`, `synchronous = FULL`: a committed transaction is on
/// disk. Without, `NORMAL`: a commit survives a crash of the process (the WAL is written before
/// the answer) but not of the machine.
pub struct Sqlite(rusqlite::Connection, Option<WriterCache>);

/// Prepared statements kept per connection: every statement the domain queries and the
/// writer's transaction control use, so none is parsed twice on the hot path.
const STATEMENT_CACHE: usize = 64;

/// Frames the WAL may hold before a commit on the writer's connection checkpoints it itself:
/// a fallback only, for when the store's background checkpointer falls behind.
pub(crate) const WRITER_AUTOCHECKPOINT: i64 = 10_000;

impl Sqlite {
    pub fn open(path: &Path, fsync: bool) -> Result<Sqlite, DbError> {
        let conn = rusqlite::Connection::open(path)?;
        crate::store::enter_wal(&conn)?;
        conn.pragma_update(None, "synchronous", if fsync { "FULL" } else { "NORMAL" })?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Sqlite(conn, None))
    }

    /// The group-commit writer's connection: commits write the WAL without an fsync
    /// (`synchronous = NORMAL`) and do not checkpoint, because the store's shell syncs the WAL
    /// itself before answering (when fsync is wanted) and checkpoints on another thread, so
    /// neither stalls the next batch.
    pub fn open_writer(path: &Path) -> Result<Sqlite, DbError> {
        let mut db = Sqlite::open(path, false)?;
        db.0.pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT)?;
        db.1 = Some(WriterCache::default());
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
    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        // A deferred transaction that reads, then writes, fails at once with "database is
        // locked" (no busy wait) when another connection to the file (the audit or routing
        // event writer) committed in between; taking the write lock up front waits instead.
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

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError> {
        let mut stmt = self.0.prepare_cached(&sqlite_sql(sql))?;
        let n = stmt.execute(rusqlite::params_from_iter(params))?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError> {
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
                        return Err(DbError::Type(format!("column {i} is not TEXT or BIGINT")))
                    }
                });
            }
            out.push(vals);
        }
        Ok(out)
    }

    fn writer_cache(&mut self) -> Option<&mut WriterCache> {
        self.1.as_mut()
    }
}

/// PostgreSQL through the blocking `postgres` client (it runs on the store's own threads).
pub struct Postgres(postgres::Client);

impl Postgres {
    /// Connects to `url` (`postgres://...`); with `schema`, every statement runs in it.
    pub fn connect(url: &str, schema: Option<&str>) -> Result<Postgres, DbError> {
        let mut client = postgres::Client::connect(url, postgres::NoTls)?;
        if let Some(schema) = schema {
            let quoted = format!("\"{}\"", schema.replace('"', ""));
            client.batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {quoted}; SET search_path TO {quoted}"
            ))?;
        }
        Ok(Postgres(client))
    }
}

fn pg_params(params: &[Val]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| match p {
            Val::Int(v) => v as &(dyn postgres::types::ToSql + Sync),
            Val::Text(v) => v as &(dyn postgres::types::ToSql + Sync),
        })
        .collect()
}

impl Sql for Postgres {
    fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.0.batch_execute(sql)?)
    }

    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError> {
        Ok(self.0.execute(sql, &pg_params(params))?)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError> {
        use postgres::types::Type;
        let rows = self.0.query(sql, &pg_params(params))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut vals = Vec::with_capacity(row.len());
            for (i, column) in row.columns().iter().enumerate() {
                let ty = column.type_();
                vals.push(if *ty == Type::INT8 {
                    Val::Int(row.try_get(i)?)
                } else if *ty == Type::INT4 {
                    Val::Int(row.try_get::<_, Option<i32>>(i)?.map(i64::from))
                } else if *ty == Type::TEXT || *ty == Type::VARCHAR {
                    Val::Text(row.try_get(i)?)
                } else {
                    return Err(DbError::Type(format!("column {i} has type {ty}")));
                });
            }
            out.push(vals);
        }
        Ok(out)
    }
}

/// Applies `migrations` once each, recorded in `schema_migrations` (as `store::Store` does for
/// SQLite), so the same files build the PostgreSQL schema.
pub fn migrate(db: &mut dyn Sql, migrations: &[(i64, &str)]) -> Result<(), DbError> {
    db.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            applied_at BIGINT NOT NULL
        )",
    )?;
    for &(version, sql) in migrations {
        db.batch("BEGIN")?;
        let done = db.query(
            "SELECT applied_at FROM schema_migrations WHERE version = $1",
            &[Val::Int(Some(version))],
        );
        let result = match done {
            Ok(rows) if !rows.is_empty() => Ok(()),
            Ok(_) => db.batch(sql).and_then(|()| {
                db.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    &[
                        Val::Int(Some(version)),
                        Val::Int(Some(crate::ids::now_ms())),
                    ],
                )
                .map(drop)
            }),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => db.batch("COMMIT")?,
            Err(e) => {
                db.batch("ROLLBACK")?;
                return Err(e);
            }
        }
    }
    Ok(())
}
