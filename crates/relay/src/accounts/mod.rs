//! People and sign-in: accounts (argon2id password hashes) and their roles, sign-in tokens (an
//! HTTP-only cookie, or `Authorization: Bearer`), the [`AuthAgent`] extractor that guards every
//! agent endpoint and WebSocket of every domain and asks the policy for each, and the login,
//! logout and "me" routes.
//!
//! Only a SHA-256 of each token is stored, so a copy of the database signs nobody in.
//!
//! Signing out touches other domains (routing gives the agent's work back to the queues); this
//! module only calls the [`SignedOut`] hook the composition root hands it. Disabling a person
//! (`relay agent disable`, from another process) is noticed within a second: every long-lived
//! connection of an agent holds a [`Hold`] that is then revoked, and the hook signs it out.
//!
//! # Layout
//!
//! - `queries`: agents and tokens in the store.
//! - `password`: hashes, checks, and the bounded pool checks run on.
//! - `throttle`: failed sign-ins per account and per address, and their growing delays.
//! - `origin`: which origins agent requests may come from.
//! - `holds`: what each agent holds open; `disabled`: the sweep that revokes it; [`fanout`]:
//!   revocations told to the other nodes.
//! - `refusals`: the audit of what the policy (`crate::policy`) refused, bounded per person.
//! - `service`: [`Accounts`], [`AuthAgent`] and the routes; `schemes`: how the API
//!   description names the two ways a token is carried.

mod disabled;
pub mod fanout;
mod holds;
mod origin;
mod password;
mod queries;
pub mod refusals;
mod schemes;
mod service;
mod throttle;

pub use holds::{revoked, Hold};
pub use password::{hash_password, verify_password, HashError, Hasher, Lane};
pub use queries::{
    agent_credentials, agent_disable, agent_enable, agent_exists, agent_upsert, disabled_among,
    password_set, people_list, person_get, person_upsert, roles_of, roles_set, token_agent,
    token_delete, token_insert, Agent, AgentCredentials, Person,
};
pub use service::{not_found_as_404, Accounts, AuthAgent, Login, SignedOut, COOKIE};
