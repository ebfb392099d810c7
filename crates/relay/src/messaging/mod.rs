//! Messaging: long-lived, asynchronous conversations between contacts and agents, over the web
//! messaging widget and open-messaging integrations, with bots answering first.
//!
//! # Layout
//!
//! - [`model`]: contacts, conversations, messages, timeline events (plain data).
//! - [`threading`]: the threading window, a pure rule.
//! - [`db`]: the small storage trait ([`db::Sql`]) with SQLite and PostgreSQL behind it.
//! - [`queries`]: the domain queries, written once over [`db::Sql`].
//! - [`store`]: the shell: a group-commit writer thread and a reader thread.

pub mod db;
pub mod model;
pub mod queries;
pub mod store;
pub mod threading;

pub use store::{MessagingStore, StoreError, Target};
