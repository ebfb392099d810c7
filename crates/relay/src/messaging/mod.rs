//! Messaging: long-lived, asynchronous conversations between contacts and agents, over the web
//! messaging widget and open-messaging integrations, with bots answering first.
//!
//! # Layout
//!
//! - [`model`]: contacts, conversations, messages, timeline events (plain data).
//! - [`threading`], [`signature`], [`ratelimit`]: pure rules (threading window, webhook
//!   HMAC, per-guest token bucket).
//! - [`db`]: the small storage trait ([`db::Sql`]) with SQLite and PostgreSQL behind it.
//! - [`queries`]: the domain queries, written once over [`db::Sql`].
//! - [`store`]: the shell: a group-commit writer thread and a reader thread; [`wal`]: the
//!   threads that fsync and checkpoint SQLite's WAL beside it.
//! - [`service`]: the one place that changes conversations, and what it tells routing.
//! - [`api`] (agents), [`guest`] (the widget), [`open`] (open-messaging webhooks): HTTP.
//! - [`outbox`]: delivers agent and bot messages to integrations; [`bot`]: bot webhooks.

pub mod api;
pub mod bot;
pub mod db;
pub mod guest;
pub mod model;
pub mod open;
pub mod outbox;
pub mod queries;
pub mod ratelimit;
pub mod recent;
pub mod service;
pub mod signature;
pub mod store;
pub mod threading;
pub mod wal;

use std::{path::Path, sync::Arc};

use tokio::sync::watch;

pub use crate::config::MessagingConfig;
pub use service::{Messaging, MessagingError, NeedsAgent, Push};
pub use store::{MessagingStore, StoreError, Target};

use crate::app::App;

/// Opens the messaging store (the relay's SQLite file unless a `postgres://` URL is
/// configured), starts the outbox worker, and returns the service and its routes.
pub async fn start(
    app: Arc<App>,
    shutdown: watch::Receiver<bool>,
) -> Result<(Arc<Messaging>, axum::Router), StoreError> {
    let config = app.config.messaging.clone();
    let target = match &config.database_url {
        Some(url) => Target::from_url(url),
        None if app.config.fsync_commits => Target::Sqlite(app.config.db_path.clone()),
        None => Target::SqliteNoFsync(app.config.db_path.clone()),
    };
    let store = tokio::task::spawn_blocking(move || MessagingStore::open(&target))
        .await
        .map_err(|_| StoreError::WorkerGone)??;
    let dir = config.attachments_dir.clone().unwrap_or_else(|| {
        app.config
            .db_path
            .parent()
            .unwrap_or(Path::new("."))
            .join("attachments")
    });
    let svc = Arc::new(Messaging::new(store, config, dir));
    tokio::spawn(outbox::run(svc.clone(), shutdown));
    Ok((svc.clone(), api::routes(app, svc)))
}
