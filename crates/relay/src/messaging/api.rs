//! The agent REST API and push stream of messaging, the router of every messaging endpoint,
//! and the REST error type. The guest (widget) side is in `guest`, open messaging in `open`.
//!
//! Agent endpoints (signed-in, like the rest of the relay's agent API):
//! - `GET  /api/messaging/conversations?scope=mine|waiting`: the inbox with unread counts;
//! - `GET  /api/messaging/conversations/{id}`: the conversation with the contact's full history
//!   (every conversation, on every channel, with its timeline);
//! - `POST /api/messaging/conversations/{id}/messages|read|typing|assign|wrap-up|events`;
//! - `GET  /api/messaging/stream`: server-sent events for the agent's and waiting conversations.

use std::convert::Infallible;

use axum::{
    extract::{DefaultBodyLimit, Path, Query, State},
    http::StatusCode,
    response::sse::{Event as SseEvent, KeepAlive, Sse},
    routing::{get, post},
    Json, Router,
};
use futures_util::Stream;
use serde::Deserialize;

use super::{
    guest,
    model::*,
    open, queries,
    state::{MsgState, SignedIn},
    Messaging,
};
use crate::error::ApiError;

/// Every messaging route, with its state applied.
pub fn routes(state: MsgState) -> Router {
    let upload_limit = state.svc.config.max_attachment_bytes + 4096;
    Router::new()
        .route("/api/messaging/open/{integration}", post(open::inbound))
        .route("/api/messaging/conversations", get(inbox))
        .route("/api/messaging/conversations/{id}", get(conversation))
        .route("/api/messaging/conversations/{id}/messages", post(send))
        .route("/api/messaging/conversations/{id}/read", post(read))
        .route("/api/messaging/conversations/{id}/typing", post(typing))
        .route("/api/messaging/conversations/{id}/assign", post(assign))
        .route("/api/messaging/conversations/{id}/wrap-up", post(wrap_up))
        .route("/api/messaging/conversations/{id}/events", post(event))
        .route(
            "/api/messaging/conversations/{id}/attachments",
            post(guest::agent_upload),
        )
        .route("/api/messaging/stream", get(stream))
        .merge(guest::routes(state.clone()))
        .layer(DefaultBodyLimit::max(upload_limit))
        .with_state(state)
}

#[derive(Deserialize)]
pub struct InboxQuery {
    #[serde(default)]
    scope: Option<String>,
}

async fn inbox(
    State(s): State<MsgState>,
    SignedIn(agent): SignedIn,
    Query(q): Query<InboxQuery>,
) -> Result<Json<Vec<Summary>>, ApiError> {
    let mine = q.scope.as_deref() != Some("waiting");
    let rows = s
        .svc
        .store
        .read(move |db| queries::inbox(db, mine.then_some(agent.id.as_str())))
        .await?;
    Ok(Json(rows))
}

/// The conversation and the contact's whole history, for the conversation view.
pub async fn history(
    svc: &Messaging,
    contact_id: &str,
) -> Result<(Option<Contact>, Vec<serde_json::Value>), ApiError> {
    let contact_id = contact_id.to_owned();
    Ok(svc
        .store
        .read(move |db| {
            let contact = queries::contact(db, &contact_id)?;
            let mut out = Vec::new();
            for c in queries::conversations_of_contact(db, &contact_id)? {
                let messages = queries::messages(db, &c.id)?;
                let events = queries::events(db, &c.id)?;
                out.push(serde_json::json!({
                    "conversation": c, "messages": messages, "events": events,
                }));
            }
            Ok((contact, out))
        })
        .await?)
}

async fn conversation(
    State(s): State<MsgState>,
    SignedIn(_): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let c = s.svc.conversation(&id).await?.ok_or(ApiError::NotFound)?;
    let (contact, history) = history(&s.svc, &c.contact_id).await?;
    Ok(Json(serde_json::json!({
        "conversation": c, "contact": contact, "history": history,
    })))
}

#[derive(Deserialize)]
pub struct Compose {
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub quick_replies: Vec<String>,
    /// Ids returned by an upload.
    #[serde(default)]
    pub attachments: Vec<String>,
}

async fn send(
    State(s): State<MsgState>,
    SignedIn(agent): SignedIn,
    Path(id): Path<String>,
    Json(body): Json<Compose>,
) -> Result<Json<Message>, ApiError> {
    let c = s.svc.conversation(&id).await?.ok_or(ApiError::NotFound)?;
    let attachments = guest::resolve(&s.svc, &c.contact_id, &body.attachments)?;
    if body.text.trim().is_empty() && attachments.is_empty() {
        return Err(ApiError::BadRequest("empty message".into()));
    }
    let message = s
        .svc
        .send(Outgoing {
            conversation_id: c.id,
            author: Author::Agent,
            author_id: Some(agent.id),
            text: body.text,
            attachments,
            quick_replies: body.quick_replies,
        })
        .await?;
    Ok(Json(message))
}

#[derive(Deserialize)]
pub struct ReadMark {
    pub seq: i64,
}

async fn read(
    State(s): State<MsgState>,
    SignedIn(_): SignedIn,
    Path(id): Path<String>,
    Json(body): Json<ReadMark>,
) -> Result<StatusCode, ApiError> {
    let c = s.svc.conversation(&id).await?.ok_or(ApiError::NotFound)?;
    s.svc.mark_read(&c, Author::Agent, body.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct Typing {
    pub typing: bool,
}

async fn typing(
    State(s): State<MsgState>,
    SignedIn(_): SignedIn,
    Path(id): Path<String>,
    Json(body): Json<Typing>,
) -> Result<StatusCode, ApiError> {
    let c = s.svc.conversation(&id).await?.ok_or(ApiError::NotFound)?;
    s.svc.typing(&c, Author::Agent, body.typing);
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a waiting conversation (the manual path; routing calls [`Messaging::assign`]).
async fn assign(
    State(s): State<MsgState>,
    SignedIn(agent): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, ApiError> {
    Ok(Json(s.svc.assign(&id, &agent.id).await?))
}

async fn wrap_up(
    State(s): State<MsgState>,
    SignedIn(agent): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.svc.wrap_up(&id, &agent.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct NewEvent {
    pub kind: String,
    #[serde(default)]
    pub detail: serde_json::Value,
}

/// Timeline events the console records: `cobrowse_started`, `cobrowse_ended`, `cobrowse_offered`,
/// `transferred`, `parked`.
async fn event(
    State(s): State<MsgState>,
    SignedIn(agent): SignedIn,
    Path(id): Path<String>,
    Json(body): Json<NewEvent>,
) -> Result<Json<Event>, ApiError> {
    const KINDS: &[&str] = &[
        "cobrowse_offered",
        "cobrowse_started",
        "cobrowse_ended",
        "transferred",
        "parked",
    ];
    if !KINDS.contains(&body.kind.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "kind must be one of {KINDS:?}"
        )));
    }
    let mut detail = body.detail;
    if let Some(map) = detail.as_object_mut() {
        map.insert("agent_id".into(), agent.id.into());
    } else {
        detail = serde_json::json!({ "agent_id": agent.id });
    }
    Ok(Json(s.svc.event(&id, &body.kind, detail).await?))
}

/// Turns the push channel into server-sent events, keeping those `keep` accepts. The stream
/// ends at the relay's shutdown, so an open inbox or widget never holds the relay up.
pub fn sse(
    s: &MsgState,
    keep: impl Fn(&super::service::Push) -> bool + Send + 'static,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = s.svc.subscribe();
    let mut shutdown = s.shutdown.clone();
    let stream = futures_util::stream::unfold((rx, keep), |(mut rx, keep)| async move {
        loop {
            match rx.recv().await {
                Ok(push) if keep(&push) => {
                    let event = SseEvent::default()
                        .json_data(&push)
                        .unwrap_or_else(|_| SseEvent::default().comment("unserializable"));
                    return Some((Ok(event), (rx, keep)));
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let event = SseEvent::default().event("resync").data("{}");
                    return Some((Ok(event), (rx, keep)));
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let stop = async move {
        // An error means the sender is gone: the relay is stopping either way.
        shutdown.wait_for(|stop| *stop).await.ok();
    };
    Sse::new(futures_util::StreamExt::take_until(stream, stop)).keep_alive(KeepAlive::default())
}

async fn stream(
    State(s): State<MsgState>,
    SignedIn(agent): SignedIn,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    sse(&s, move |p| {
        p.agent_id.as_deref().is_none_or(|a| a == agent.id)
    })
}
