//! The one storage interface every query of the relay is written against: a connection that
//! runs SQL with positional `$n` parameters over two value types (`BIGINT` as `i64`, `TEXT` as
//! `String`, either nullable). SQLite ([`super::sqlite`]) and PostgreSQL ([`super::postgres`])
//! implement it, so the domain queries are written once and run on both, and so do the
//! migrations.
//!
//! Queries run on the store's own threads (see [`super::Store`]), never on an async thread.

use std::any::Any;

use super::error::StoreError;

/// A parameter or a column value. Typed even when null, because PostgreSQL checks types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Int(Option<i64>),
    Text(Option<String>),
}

impl Val {
    pub fn int(&self) -> Result<i64, StoreError> {
        match self {
            Val::Int(Some(v)) => Ok(*v),
            other => Err(StoreError::Type(format!(
                "expected an integer, got {other:?}"
            ))),
        }
    }

    pub fn opt_int(&self) -> Result<Option<i64>, StoreError> {
        match self {
            Val::Int(v) => Ok(*v),
            Val::Text(None) => Ok(None),
            other => Err(StoreError::Type(format!(
                "expected an integer, got {other:?}"
            ))),
        }
    }

    pub fn text(&self) -> Result<String, StoreError> {
        match self {
            Val::Text(Some(v)) => Ok(v.clone()),
            other => Err(StoreError::Type(format!("expected text, got {other:?}"))),
        }
    }

    pub fn opt_text(&self) -> Result<Option<String>, StoreError> {
        match self {
            Val::Text(v) => Ok(v.clone()),
            Val::Int(None) => Ok(None),
            other => Err(StoreError::Type(format!("expected text, got {other:?}"))),
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
impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Self {
        Val::Text(v.map(str::to_owned))
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::Int(Some(v))
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Val::Int(v)
    }
}
impl From<u32> for Val {
    fn from(v: u32) -> Self {
        Val::Int(Some(i64::from(v)))
    }
}
impl From<Option<u32>> for Val {
    fn from(v: Option<u32>) -> Self {
        Val::Int(v.map(i64::from))
    }
}

/// One result row.
pub type Row = Vec<Val>;

/// Typed access to a row's columns by position; a missing column or a wrong type is a
/// [`StoreError::Type`], never a panic.
pub trait Columns {
    fn col(&self, i: usize) -> Result<&Val, StoreError>;

    fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.col(i)?.int()
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        self.col(i)?.opt_int()
    }
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.col(i)?.text()
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        self.col(i)?.opt_text()
    }
}

impl Columns for [Val] {
    fn col(&self, i: usize) -> Result<&Val, StoreError> {
        self.get(i)
            .ok_or_else(|| StoreError::Type(format!("missing column {i}")))
    }
}

/// Stored JSON read back into `T`.
pub fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Type(format!("stored JSON: {e}")))
}

/// `v` as JSON text for a column.
pub fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Type(format!("JSON: {e}")))
}

/// One database connection. Transactions are plain SQL (`BEGIN`, `SAVEPOINT`, `COMMIT`), which
/// both engines speak, so the batching writer needs nothing more.
pub trait Sql: Send {
    /// Runs statements without parameters (migrations, transaction control).
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;
    /// Runs one statement; returns the rows it changed.
    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, StoreError>;
    /// Runs one query; returns every row.
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, StoreError>;
    /// What the store's single writer remembers of the rows it wrote (see [`Memos`]); `None`
    /// on every other connection.
    fn memos(&mut self) -> Option<&mut Memos> {
        None
    }
    /// Inside a transaction: waits until no other process is migrating this database, until
    /// the transaction ends. SQLite's write lock already does that (nothing to add); several
    /// relay nodes starting at once on one PostgreSQL take an advisory lock.
    fn lock_migrations(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The first row of a query, if any.
    fn query_row(&mut self, sql: &str, params: &[Val]) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
}

/// Memos kept by the writer's connection, one per type: what a domain remembers of the rows it
/// wrote, so a hot write path can skip a lookup (messaging's latest conversation per identity).
/// Sound only because that connection is the one writer: the store clears every memo when a
/// write or a batch rolls back, and each domain forgets what its other writes change.
#[derive(Default)]
pub struct Memos(Vec<Memo>);

struct Memo {
    value: Box<dyn Any + Send>,
    clear: fn(&mut (dyn Any + Send)),
}

/// What a memo must offer the store: a way to forget everything.
pub trait Forget: Any + Send + Default {
    fn forget_all(&mut self);
}

impl Memos {
    /// The memo of type `T`, made empty on first use (`None` only if a memo could not be
    /// read back as its own type, which cannot happen).
    pub fn get<T: Forget>(&mut self) -> Option<&mut T> {
        if !self.0.iter().any(|m| m.value.is::<T>()) {
            self.0.push(Memo {
                value: Box::new(T::default()),
                clear: |any| {
                    if let Some(t) = any.downcast_mut::<T>() {
                        t.forget_all();
                    }
                },
            });
        }
        self.0.iter_mut().find_map(|m| m.value.downcast_mut::<T>())
    }

    /// Forgets what every memo holds (after a rollback).
    pub fn clear(&mut self) {
        for m in &mut self.0 {
            (m.clear)(m.value.as_mut());
        }
    }
}
