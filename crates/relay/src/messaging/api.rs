//! The agent REST API and push stream of messaging. The guest (widget) side is in `guest`,
//! open messaging in `open`; `routes` puts them together.
//!
//! Agent endpoints (signed-in, like the rest of the relay's agent API):
//! - `GET  /api/messaging/conversations?scope=mine|waiting|all`: the inbox with unread counts
//!   (`all`, every open conversation whoever holds it, is a supervisor's);
//! - `GET  /api/messaging/conversations/{id}`: the conversation with the contact's full history
//!   (every conversation, on every channel, with its timeline);
//! - `POST /api/messaging/conversations/{id}/messages|read|typing|assign|wrap-up|events`;
//! - `GET  /api/messaging/stream`: server-sent events for the agent's and waiting conversations.

use std::convert::Infallible;

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::sse::{Event as SseEvent, Sse},
    routing::{get, post},
    Json, Router,
};
use futures_util::Stream;
use serde::Deserialize;
use tracing::Instrument;

use super::{
    attachments::{resolve, store_upload, Owner, UploadQuery},
    feed::{history, sse, ReadMark, Typing},
    model::*,
    queries,
    state::MsgState,
};
use crate::{
    accounts::AuthAgent,
    clients::ClientIp,
    error::ApiError,
    policy::{Action, Role, Scope},
};

/// The agent routes (their state is applied by `routes`).
pub fn routes() -> Router<MsgState> {
    Router::new()
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
            post(agent_upload),
        )
        .route("/api/messaging/stream", get(stream))
        .route_layer(axum::middleware::from_fn(in_conversation_span))
}

/// Conversation ids are short; a longer path segment is no conversation's and is not logged.
const LOGGED_ID_CHARS: usize = 64;

/// Runs an agent request about one conversation inside a `conversation` span that names it,
/// so whatever its handling logs carries the conversation id (`--log-format json`).
async fn in_conversation_span(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let id = request
        .uri()
        .path()
        .strip_prefix("/api/messaging/conversations/")
        .and_then(|rest| rest.split('/').next())
        .filter(|id| !id.is_empty() && id.len() <= LOGGED_ID_CHARS)
        .map(str::to_owned);
    let Some(id) = id else {
        return next.run(request).await;
    };
    let span = tracing::info_span!("conversation", conversation = %id);
    async move {
        let response = next.run(request).await;
        tracing::debug!(
            status = response.status().as_u16(),
            "agent request answered"
        );
        response
    }
    .instrument(span)
    .await
}

#[derive(Deserialize)]
pub struct InboxQuery {
    #[serde(default)]
    scope: Option<String>,
}

async fn inbox(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Query(q): Query<InboxQuery>,
) -> Result<Json<Vec<Summary>>, ApiError> {
    let scope = q.scope.as_deref().unwrap_or("mine");
    if scope == "all" {
        // Others' conversations: reading them is a supervisor's (`work.read_any`).
        auth.may(Action::Read, Scope::Others, "every open conversation")?;
    } else {
        auth.may(Action::Desk, Scope::Own, "inbox")?;
    }
    let agent = auth.agent.id;
    let rows = match scope {
        "mine" => {
            s.svc
                .store
                .read(move |db| queries::inbox(db, queries::InboxScope::Mine(&agent)))
                .await?
        }
        "waiting" => {
            s.svc
                .store
                .read(|db| queries::inbox(db, queries::InboxScope::Waiting))
                .await?
        }
        "all" => {
            s.svc
                .store
                .read(|db| queries::inbox(db, queries::InboxScope::Open))
                .await?
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "unknown inbox scope {other:?}: mine, waiting or all"
            )))
        }
    };
    Ok(Json(rows))
}

async fn conversation(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let c = s.svc.conversation(&id).await?.ok_or(ApiError::NotFound)?;
    let resource = format!("conversation {id}");
    match c.agent_id.as_deref() {
        // No one's yet: waiting work an agent may be offered (the console opens it before Take).
        None if !auth.has(Role::Supervisor) => auth.may(Action::Desk, Scope::Own, &resource)?,
        owner => auth.may_on(Action::Read, owner, &resource)?,
    }
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
    auth: AuthAgent,
    Path(id): Path<String>,
    Json(body): Json<Compose>,
) -> Result<Json<Message>, ApiError> {
    let c = acted_on(&s, &auth, &id).await?;
    let agent = auth.agent;
    let attachments = resolve(&s.svc, &c.contact_id, &body.attachments)?;
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

async fn read(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path(id): Path<String>,
    Json(body): Json<ReadMark>,
) -> Result<StatusCode, ApiError> {
    let c = acted_on(&s, &auth, &id).await?;
    s.svc.mark_read(&c, Author::Agent, body.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn typing(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path(id): Path<String>,
    Json(body): Json<Typing>,
) -> Result<StatusCode, ApiError> {
    let c = acted_on(&s, &auth, &id).await?;
    s.svc.typing(&c, Author::Agent, body.typing);
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a conversation (the manual path; routing calls [`Messaging::assign`]): a waiting one
/// as an agent (the console's Take), one's own, or (as a supervisor) anyone's.
async fn assign(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, ApiError> {
    let c = s.svc.conversation(&id).await?.ok_or(ApiError::NotFound)?;
    let resource = format!("conversation {id}");
    match (c.state, c.agent_id.as_deref()) {
        (ConversationState::Waiting, None) if !auth.has(Role::Supervisor) => {
            auth.may(Action::Desk, Scope::Own, &resource)?
        }
        (_, owner) => auth.may_on(Action::Assign, owner, &resource)?,
    }
    Ok(Json(s.svc.assign(&id, auth.id()).await?))
}

/// The conversation `id`, if the signed-in person may act on it (its assigned agent).
async fn acted_on(s: &MsgState, auth: &AuthAgent, id: &str) -> Result<Conversation, ApiError> {
    let c = s.svc.conversation(id).await?.ok_or(ApiError::NotFound)?;
    auth.may_on(
        Action::Act,
        c.agent_id.as_deref(),
        &format!("conversation {id}"),
    )?;
    Ok(c)
}

async fn wrap_up(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    acted_on(&s, &auth, &id).await?;
    s.svc.wrap_up(&id, auth.id()).await?;
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
    auth: AuthAgent,
    Path(id): Path<String>,
    Json(body): Json<NewEvent>,
) -> Result<Json<Event>, ApiError> {
    acted_on(&s, &auth, &id).await?;
    let agent = auth.agent;
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

/// The agent's event stream, holding one of the relay's stream places while open.
async fn stream(
    State(s): State<MsgState>,
    ClientIp(client): ClientIp,
    auth: AuthAgent,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    // A supervisor's stream carries every conversation; an agent's its own and waiting ones.
    let everything = auth.has(Role::Supervisor);
    if !everything {
        auth.may(Action::Desk, Scope::Own, "messaging stream")?;
    }
    let agent = auth.agent;
    let permit = s.streams.open(client)?;
    let hold = s.accounts.hold(&agent.id);
    Ok(sse(&s, permit, Some(hold), move |p| {
        everything || p.agent_id.as_deref().is_none_or(|a| a == agent.id)
    }))
}

async fn agent_upload(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> Result<Json<Attachment>, ApiError> {
    let c = acted_on(&s, &auth, &id).await?;
    let owner = Owner {
        contact: &c.contact_id,
        conversation: &c.id,
        by_guest: false,
    };
    Ok(Json(
        store_upload(&s.svc, owner, &headers, q.name, body).await?,
    ))
}
