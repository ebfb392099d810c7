//! What either side of a conversation (the agent's console, the customer's widget) reads and
//! signals alike: the contact's whole history, the live push stream as server-sent events, and
//! the two signals a side sends (read up to, typing).

use std::convert::Infallible;

use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{model::*, queries, state::MsgState, Messaging, Push};
use crate::{
    accounts::{revoked, Hold},
    error::ApiError,
    limits::StreamPermit,
};

/// One conversation of a contact's history, with its messages and, for agents, its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
    /// The agents' timeline of the conversation; absent in what the customer reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Event>>,
}

/// The conversation and the contact's whole history, for the conversation view.
pub async fn history(
    svc: &Messaging,
    contact_id: &str,
) -> Result<(Option<Contact>, Vec<HistoryEntry>), ApiError> {
    let contact_id = contact_id.to_owned();
    Ok(svc
        .store
        .read(move |db| {
            let contact = queries::contact(db, &contact_id)?;
            let mut out = Vec::new();
            for c in queries::conversations_of_contact(db, &contact_id)? {
                let messages = queries::messages(db, &c.id)?;
                let events = queries::events(db, &c.id)?;
                out.push(HistoryEntry {
                    conversation: c,
                    messages,
                    events: Some(events),
                });
            }
            Ok((contact, out))
        })
        .await?)
}

/// "I have read up to `seq`", from either side.
#[derive(Deserialize, ToSchema)]
pub struct ReadMark {
    /// The last message read (its `seq`).
    pub seq: i64,
}

/// "I am typing" (or stopped), from either side.
#[derive(Deserialize, ToSchema)]
pub struct Typing {
    pub typing: bool,
}

/// Turns the push channel into server-sent events, keeping those `keep` accepts. The stream
/// holds `permit`, its place among the relay's open streams, until it ends: when the client
/// goes, or at the relay's shutdown, so an open inbox or widget never holds the relay up.
pub fn sse(
    s: &MsgState,
    permit: StreamPermit,
    hold: Option<Hold>,
    keep: impl Fn(&Push) -> bool + Send + 'static,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = s.svc.subscribe();
    let mut shutdown = s.shutdown.clone();
    let state = (rx, keep, permit);
    let stream = futures_util::stream::unfold(state, |(mut rx, keep, permit)| async move {
        loop {
            match rx.recv().await {
                Ok(push) if keep(&push) => {
                    let event = SseEvent::default()
                        .json_data(&push)
                        .unwrap_or_else(|_| SseEvent::default().comment("unserializable"));
                    return Some((Ok(event), (rx, keep, permit)));
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let event = SseEvent::default().event("resync").data("{}");
                    return Some((Ok(event), (rx, keep, permit)));
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    // The stream ends at shutdown, or when its agent is disabled.
    let stop = async move {
        tokio::select! {
            // An error means the sender is gone: the relay is stopping either way.
            _ = shutdown.wait_for(|stop| *stop) => {}
            () = revoked(hold) => {}
        }
    };
    Sse::new(futures_util::StreamExt::take_until(stream, stop)).keep_alive(KeepAlive::default())
}
