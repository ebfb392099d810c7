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
pub mod attachments;
pub mod bot;
pub mod feed;
pub mod guest;
pub mod model;
pub mod open;
pub mod outbox;
pub mod queries;
pub mod ratelimit;
pub mod recent;
mod routes;
pub mod service;
pub mod signature;
pub mod state;
pub mod threading;
pub mod wire;

use std::{path::PathBuf, sync::Arc};

use tokio::sync::watch;

pub use crate::config::MessagingConfig;
pub use service::{Messaging, MessagingError, NeedsAgent, Push};

use crate::{accounts::Accounts, store::Store};

/// What messaging needs from the relay.
pub struct Deps {
    pub config: MessagingConfig,
    /// Where conversations live: the relay's own store, or one on PostgreSQL.
    pub store: Store,
    /// Where uploaded attachments are kept.
    pub attachments_dir: PathBuf,
    /// Sign-in, for the agent endpoints.
    pub accounts: Accounts,
    /// The relay's own store, for site origins.
    pub sites: Store,
    /// Turns `true` once at shutdown.
    pub shutdown: watch::Receiver<bool>,
}

/// Starts the outbox worker and returns the service and its routes.
pub fn start(deps: Deps) -> (Arc<Messaging>, axum::Router) {
    let (svc, bot_turns) = Messaging::new(deps.store, deps.config, deps.attachments_dir);
    let svc = Arc::new(svc);
    tokio::spawn(outbox::run(svc.clone(), deps.shutdown.clone()));
    tokio::spawn(bot::run(svc.clone(), bot_turns));
    let state = state::MsgState {
        svc: svc.clone(),
        accounts: deps.accounts,
        sites: deps.sites,
        shutdown: deps.shutdown,
    };
    (svc, routes::routes(state))
}
