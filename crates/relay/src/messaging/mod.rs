//! Messaging: long-lived, asynchronous conversations between contacts and agents, over the web
//! messaging widget and open-messaging integrations, with bots answering first.
//!
//! # Layout
//!
//! - [`model`]: contacts, conversations, messages, timeline events (plain data).
//! - [`threading`], [`signature`], [`ratelimit`]: pure rules (threading window, webhook
//!   HMAC, per-guest token bucket).
//! - [`queries`]: the domain queries, written once over the store's [`crate::store::Sql`].
//! - [`service`]: the one place that changes conversations, and what it tells ([`push`]).
//! - [`api`] (agents), [`guest`] (the widget, behind [`widget_cors`]), [`open`]
//!   (open-messaging webhooks): HTTP, each handler documented for the OpenAPI description;
//!   [`integrations_api`]: admins' list and change of open-messaging integrations;
//!   [`admission`]: what an anonymous guest may ask (sign-ups, conversation starts, messages).
//! - [`attachments`] with [`quota`] (the disk uploads take); [`sweep`] collects the uploads no
//!   message carries and the conversations that never got a message.
//! - [`outbox`]: delivers agent and bot messages to integrations; [`bot`]: bot webhooks.
//! - [`rich`]: cards and carousels and their bounds (pure); [`postback`]: a customer's answer
//!   to a card's button, taken only if the conversation offered that button.
//! - [`call`]: voice and video calls placed from a conversation (WebRTC signalling, the
//!   timeline, routing's seat).
//! - [`counters`]: what `/metrics` reads of messaging (messages ingested by channel).
//! - [`fanout`]: the pushes of one node heard on the others (`--nats`).

pub mod admission;
pub mod api;
pub mod attachments;
pub mod bot;
pub mod call;
pub mod counters;
pub mod fanout;
pub mod feed;
pub mod guest;
pub mod guest_files;
pub mod integrations_api;
pub mod model;
pub mod open;
pub mod outbox;
pub mod postback;
pub mod push;
pub mod queries;
pub mod quota;
pub mod ratelimit;
pub mod recent;
pub mod rich;
mod routes;
pub mod service;
pub mod signature;
pub mod state;
pub mod sweep;
pub mod threading;
pub mod widget_cors;
pub mod wire;

use std::{path::PathBuf, sync::Arc};

use tokio::sync::watch;

pub use crate::config::MessagingConfig;
pub use service::{Messaging, MessagingError, NeedsAgent, Push, PushKind};

use crate::{accounts::Accounts, limits::Streams, store::Store};

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
    /// The relay's places for open streams (shared with every WebSocket route).
    pub streams: Streams,
}

/// Counts the attachments on disk, starts the outbox worker, the bot worker and the collector,
/// and returns the service and its routes with their OpenAPI description
/// (`OpenApiRouter::split_for_parts` parts them).
pub fn start(deps: Deps) -> (Arc<Messaging>, utoipa_axum::router::OpenApiRouter) {
    let admission = Arc::new(admission::Admission::new(&deps.config));
    let (svc, bot_turns) = Messaging::new(deps.store, deps.config, deps.attachments_dir);
    // Before serving, so the first upload is held by the quotas of what is already there.
    svc.uploads.scan(&svc.attachments_dir);
    let svc = Arc::new(svc);
    tokio::spawn(outbox::run(svc.clone(), deps.shutdown.clone()));
    tokio::spawn(bot::run(svc.clone(), bot_turns));
    tokio::spawn(sweep::run(svc.clone(), deps.shutdown.clone()));
    tokio::spawn(call::service::run(svc.clone(), deps.shutdown.clone()));
    let state = state::MsgState {
        svc: svc.clone(),
        accounts: deps.accounts,
        sites: deps.sites,
        shutdown: deps.shutdown,
        admission,
        streams: deps.streams,
    };
    (svc, routes::routes(state))
}
