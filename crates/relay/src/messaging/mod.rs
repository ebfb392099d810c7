//! Messaging: long-lived, asynchronous conversations between contacts and agents, over the web
//! messaging widget and open-messaging integrations, with bots answering first.
//!
//! # Layout
//!
//! - [`model`]: contacts, conversations, messages, timeline events (plain data).
//! - [`threading`], [`signature`], [`ratelimit`]: pure rules (threading window, webhook
//!   HMAC, per-guest token bucket).
//! - [`queries`]: the domain queries, written once over the store's [`crate::store::Sql`].
//! - [`service`]: the one place that changes conversations, and what it tells routing.
//! - [`api`] (agents), [`guest`] (the widget), [`open`] (open-messaging webhooks): HTTP.
//! - [`outbox`]: delivers agent and bot messages to integrations; [`bot`]: bot webhooks.

pub mod api;
pub mod bot;
pub mod guest;
pub mod model;
pub mod open;
pub mod outbox;
pub mod queries;
pub mod ratelimit;
pub mod recent;
pub mod service;
pub mod signature;
pub mod threading;

use std::{path::Path, sync::Arc};

use tokio::sync::watch;

pub use crate::config::MessagingConfig;
pub use service::{Messaging, MessagingError, NeedsAgent, Push};

use crate::{
    app::App,
    store::{Options, Store, StoreError, Target},
};

/// Opens messaging's store (the relay's own unless a `postgres://` URL is configured), starts
/// the outbox worker, and returns the service and its routes.
pub async fn start(
    app: Arc<App>,
    shutdown: watch::Receiver<bool>,
) -> Result<(Arc<Messaging>, axum::Router), StoreError> {
    let config = app.config.messaging.clone();
    let store = match &config.database_url {
        Some(url) => {
            let options = Options::server(app.config.fsync_commits);
            Store::open_async(Target::from_url(url), options).await?
        }
        None => app.store.clone(),
    };
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
