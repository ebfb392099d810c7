//! What messaging's handlers share: the service, sign-in, the relay's own store (site origins
//! for the widget's CORS check, whichever store messaging itself is on), the guest side's
//! limits, the relay's places for open streams, and the shutdown signal that ends event
//! streams; and what a messaging refusal answers.

use std::sync::Arc;

use axum::{
    extract::{FromRef, FromRequestParts},
    http::request::Parts,
};
use tokio::sync::watch;

use super::{admission::Admission, Messaging, MessagingError};
use crate::{
    accounts::{Accounts, Agent, AuthAgent},
    error::ApiError,
    limits::Streams,
    store::Store,
};

/// The state of messaging's handlers.
#[derive(Clone)]
pub struct MsgState {
    pub svc: Arc<Messaging>,
    /// Who is signed in, for the agent endpoints.
    pub accounts: Accounts,
    /// The relay's store, where sites and their origins live.
    pub sites: Store,
    /// Turns `true` once at shutdown; streams end on it.
    pub shutdown: watch::Receiver<bool>,
    /// Guest sign-ups, conversation starts and guest messages, limited.
    pub admission: Arc<Admission>,
    /// The relay's places for WebSockets and event streams: each event stream holds one.
    pub streams: Streams,
}

impl FromRef<MsgState> for Accounts {
    fn from_ref(state: &MsgState) -> Accounts {
        state.accounts.clone()
    }
}

/// A signed-in agent, checked by the relay's own sign-in.
pub struct SignedIn(pub Agent);

impl FromRequestParts<MsgState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &MsgState) -> Result<Self, ApiError> {
        let auth = AuthAgent::from_request_parts(parts, state).await?;
        Ok(SignedIn(auth.agent))
    }
}

/// What a messaging refusal means to a REST client.
impl From<MessagingError> for ApiError {
    fn from(e: MessagingError) -> Self {
        match e {
            MessagingError::NoConversation => ApiError::NotFound,
            MessagingError::Invalid(why) => ApiError::BadRequest(why),
            MessagingError::RateLimited => {
                ApiError::rate_limited(e.to_string(), std::time::Duration::from_secs(1))
            }
            MessagingError::Refused(_) | MessagingError::Rich(_) => {
                ApiError::BadRequest(e.to_string())
            }
            MessagingError::Store(e) => e.into(),
        }
    }
}
