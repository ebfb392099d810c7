//! Why a call request was refused, as the routes answer it and as it crosses nodes
//! (`super::wire::Refused` carries it).

use super::Offered;

/// Why a call request was refused.
#[derive(Debug, thiserror::Error)]
pub enum CallRefusal {
    #[error(transparent)]
    Call(#[from] super::CallError),
    #[error(transparent)]
    Signal(#[from] super::SignalError),
    #[error("{0}")]
    Routing(String),
    /// The conversation's queue does not offer this kind of call.
    #[error("{}", not_offered(.0))]
    NotOffered(Vec<Offered>),
    #[error(transparent)]
    Messaging(#[from] crate::messaging::MessagingError),
    /// The node holding the call could not carry the request out (`super::remote`).
    #[error("{0}")]
    Elsewhere(String),
}

fn not_offered(allowed: &[Offered]) -> &'static str {
    if allowed.contains(&Offered::Voice) {
        "this conversation's queue offers voice calls only"
    } else {
        "this conversation's queue offers no calls"
    }
}
