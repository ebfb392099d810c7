//! The one error of the persistence layer: every engine's, every query's and the store
//! threads' failures.

/// Why a database operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] ::postgres::Error),
    #[error("column type: {0}")]
    Type(String),
    #[error("{what} {name:?} not found")]
    NotFound { what: &'static str, name: String },
    #[error("the transaction holding this write did not commit (or did not reach the disk)")]
    NotCommitted,
    #[error("syncing the write-ahead log: {0}")]
    Sync(#[from] std::io::Error),
    #[error("setting up TLS for the database: {0}")]
    Tls(String),
    #[error("the store's queue is full")]
    Full,
    #[error("database thread stopped")]
    WorkerGone,
}
