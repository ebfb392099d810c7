//! The domain queries, written once over [`crate::store::Sql`] and run on SQLite and
//! PostgreSQL alike, by aggregate: `contacts`, `conversations` (messages and timeline),
//! `integrations` (with inbound delivery ids and the outbox), `collect` (what the collector
//! removes), `rich` (the postback buttons a conversation offered); `rows` reads rows back
//! into types; `cache` is the writer's memo of where customer messages go. Each query runs inside a transaction opened by the store; none commits.

mod cache;
mod collect;
mod contacts;
mod conversations;
mod integrations;
mod rich;
mod rows;

pub use cache::WriterCache;
pub use collect::*;
pub use contacts::*;
pub use conversations::*;
pub use integrations::*;
pub use rich::*;
