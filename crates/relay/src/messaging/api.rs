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
    Json,
};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    attachments::{resolve, store_upload, Owner, UploadQuery},
    feed::{history, sse, HistoryEntry, ReadMark, Typing},
    model::*,
    queries,
    state::MsgState,
    PushKind,
};
use crate::{
    accounts::AuthAgent,
    clients::ClientIp,
    error::ApiError,
    policy::{Action, Role, Scope},
};

/// The agent routes, documented (their state is applied by `routes`).
pub fn routes() -> OpenApiRouter<MsgState> {
    OpenApiRouter::default()
        .routes(routes!(inbox))
        .routes(routes!(conversation))
        .routes(routes!(send))
        .routes(routes!(read))
        .routes(routes!(typing))
        .routes(routes!(assign))
        .routes(routes!(wrap_up))
        .routes(routes!(event))
        .routes(routes!(agent_upload))
        .routes(routes!(stream))
        .route_layer(axum::middleware::from_fn(in_conversation_span))
}

/// The inbox scopes an agent may ask for.
const SCOPES: [&str; 3] = ["mine", "waiting", "all"];

/// The timeline events the console records.
const KINDS: &[&str] = &[
    "cobrowse_offered",
    "cobrowse_started",
    "cobrowse_ended",
    "transferred",
    "parked",
];

/// A string schema admitting only `names`, for the API description of a name the handler
/// checks itself (so a wrong one is its 400, not the JSON extractor's).
fn names_schema(names: &[&str]) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(names.iter().copied()))
        .build()
}

fn scope_schema() -> utoipa::openapi::schema::Object {
    let mut schema = names_schema(&SCOPES);
    schema.description = Some(
        "mine (the default: the agent's own open conversations), waiting (those waiting for an \
         agent) or all (every open conversation, a supervisor's)"
            .into(),
    );
    schema
}

fn kind_schema() -> utoipa::openapi::schema::Object {
    names_schema(KINDS)
}

/// Conversation ids are short; a longer path segment is no conversation's and is not logged.
const LOGGED_ID_CHARS: usize = 64;

/// Runs an agent request about one conversation inside a `conversation` span that names it,
/// so whatever its handling logs carries the conversation id (`--log-format json`).
pub(super) async fn in_conversation_span(
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// `mine` (the default: the agent's own open conversations), `waiting` (those waiting for
    /// an agent) or `all` (every open conversation, a supervisor's).
    #[serde(default)]
    #[param(schema_with = scope_schema)]
    scope: Option<String>,
}

/// The agent's inbox
///
/// The agent's inbox: own open conversations, or scope=waiting for those waiting for an agent; each
/// with contact_name, unread (customer messages not yet read by the agent side) and last_text
#[utoipa::path(get, path = "/api/messaging/conversations", tag = "messaging",
    operation_id = "messaging_inbox",
    params(InboxQuery),
    responses(
        (status = 200, body = [Summary], description = "Summaries"),
        (status = 400, description = "Unknown scope"),
        (status = 401, description = "Not signed in"),
        (status = 403, description = "scope=all without work.read_any, or no agent role"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
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
        // The names of `SCOPES`.
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

/// A conversation as the agent opens it: the conversation, its contact and the contact's
/// whole history.
#[derive(Serialize, ToSchema)]
pub struct ConversationView {
    pub conversation: Conversation,
    pub contact: Option<Contact>,
    /// Every conversation of the contact, on every channel, with messages and timeline.
    pub history: Vec<HistoryEntry>,
}

/// A conversation with its contact's whole history
///
/// The conversation, its contact, and the contact's full history across conversations and channels:
/// [{conversation, messages, events}]
#[utoipa::path(get, path = "/api/messaging/conversations/{id}", tag = "messaging",
    operation_id = "conversation_get",
    params(("id" = String, Path, description = "The conversation")),
    responses(
        (status = 200, body = ConversationView, description = "Conversation view"),
        (status = 403, description = "Someone else's conversation"),
        (status = 404, description = "No such conversation"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn conversation(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<Json<ConversationView>, ApiError> {
    let c = s.svc.conversation(&id).await?.ok_or(ApiError::NotFound)?;
    let resource = format!("conversation {id}");
    match c.agent_id.as_deref() {
        // No one's yet: waiting work an agent may be offered (the console opens it before Take).
        None if !auth.has(Role::Supervisor) => auth.may(Action::Desk, Scope::Own, &resource)?,
        owner => auth.may_on(Action::Read, owner, &resource)?,
    }
    let (contact, history) = history(&s.svc, &c.contact_id).await?;
    Ok(Json(ConversationView {
        conversation: c,
        contact,
        history,
    }))
}

/// What an agent sends: text, attachments, a card or carousel, or several of them.
#[derive(Deserialize, ToSchema)]
pub struct Compose {
    #[serde(default)]
    pub text: String,
    /// A card, or a carousel of 2 to 10 cards (bounds in the schema's descriptions).
    #[serde(default)]
    pub rich: Option<Rich>,
    /// Choices offered to the customer.
    #[serde(default)]
    pub quick_replies: Vec<String>,
    /// Ids returned by an upload.
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// Send a message as the agent
///
/// Send as the agent: {text, quick_replies?, attachments? (ids from an upload), rich? (a card or
/// a carousel)}; to an integration it goes through the outbox
#[utoipa::path(post, path = "/api/messaging/conversations/{id}/messages", tag = "messaging",
    operation_id = "conversation_send",
    params(("id" = String, Path, description = "The conversation")),
    request_body = Compose,
    responses(
        (status = 200, body = Message, description = "The stored message"),
        (status = 400, description = "Empty message, an unknown attachment, or a card out \
            of its bounds (named)"),
        (status = 403, description = "Not the conversation's agent"),
        (status = 404, description = "No such conversation"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn send(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path(id): Path<String>,
    Json(body): Json<Compose>,
) -> Result<Json<Message>, ApiError> {
    let c = acted_on(&s, &auth, &id).await?;
    let agent = auth.agent;
    let attachments = resolve(&s.svc, &c.contact_id, &body.attachments)?;
    if body.text.trim().is_empty() && attachments.is_empty() && body.rich.is_none() {
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
            rich: body.rich,
        })
        .await?;
    Ok(Json(message))
}

/// Mark customer messages up to {seq} read (a read receipt to the customer)
#[utoipa::path(post, path = "/api/messaging/conversations/{id}/read", tag = "messaging",
    operation_id = "conversation_read",
    params(("id" = String, Path, description = "The conversation")),
    request_body = ReadMark,
    responses((status = 204, description = "Marked")),
    security(("cookie" = []), ("bearer" = [])))]
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

/// {typing: bool}, pushed to the customer
#[utoipa::path(post, path = "/api/messaging/conversations/{id}/typing", tag = "messaging",
    operation_id = "conversation_typing",
    params(("id" = String, Path, description = "The conversation")),
    request_body = Typing,
    responses((status = 204, description = "Pushed")),
    security(("cookie" = []), ("bearer" = [])))]
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

/// Take the conversation (manual; routing assigns through Messaging::assign)
///
/// A waiting one as an agent (the console's Take), one's own, or (as a supervisor) anyone's.
#[utoipa::path(post, path = "/api/messaging/conversations/{id}/assign", tag = "messaging",
    operation_id = "conversation_assign",
    params(("id" = String, Path, description = "The conversation")),
    responses((status = 200, body = Conversation, description = "The conversation")),
    security(("cookie" = []), ("bearer" = [])))]
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
pub(super) async fn acted_on(
    s: &MsgState,
    auth: &AuthAgent,
    id: &str,
) -> Result<Conversation, ApiError> {
    let c = s.svc.conversation(id).await?.ok_or(ApiError::NotFound)?;
    auth.may_on(
        Action::Act,
        c.agent_id.as_deref(),
        &format!("conversation {id}"),
    )?;
    Ok(c)
}

/// Close it; the customer's next message starts a new conversation
#[utoipa::path(post, path = "/api/messaging/conversations/{id}/wrap-up", tag = "messaging",
    operation_id = "conversation_wrap_up",
    params(("id" = String, Path, description = "The conversation")),
    responses((status = 204, description = "Closed")),
    security(("cookie" = []), ("bearer" = [])))]
async fn wrap_up(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    acted_on(&s, &auth, &id).await?;
    s.svc.wrap_up(&id, auth.id()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A timeline event the console records.
#[derive(Deserialize, ToSchema)]
pub struct NewEvent {
    /// `cobrowse_offered`, `cobrowse_started`, `cobrowse_ended`, `transferred` or `parked`.
    #[schema(schema_with = kind_schema)]
    pub kind: String,
    /// Facts as a JSON object; the relay adds `agent_id`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// Record a timeline event
///
/// Timeline event {kind: cobrowse_offered|cobrowse_started|cobrowse_ended|transferred|parked,
/// detail}
#[utoipa::path(post, path = "/api/messaging/conversations/{id}/events", tag = "messaging",
    operation_id = "conversation_event",
    params(("id" = String, Path, description = "The conversation")),
    request_body = NewEvent,
    responses((status = 200, body = Event, description = "The event")),
    security(("cookie" = []), ("bearer" = [])))]
async fn event(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path(id): Path<String>,
    Json(body): Json<NewEvent>,
) -> Result<Json<Event>, ApiError> {
    acted_on(&s, &auth, &id).await?;
    let agent = auth.agent;
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

/// The agent's event stream
///
/// Server-sent events for the agent's own and unassigned conversations: {type:
/// message|typing|read|delivery|event, conversation_id, contact_id, ...}; event resync when the
/// stream fell behind. Holds one of the client address's stream places while open
#[utoipa::path(get, path = "/api/messaging/stream", tag = "messaging",
    operation_id = "messaging_stream",
    responses(
        (status = 200, content_type = "text/event-stream", body = String,
            description = "text/event-stream"),
        (status = 429, description = "This address holds as many streams as it may"),
        (status = 503, description = "The relay holds as many streams as it may"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
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
    Ok(sse(&s, permit, Some(hold), move |p| match &p.kind {
        // A call's news reaches its agent alone: not other agents, not a supervisor.
        PushKind::Call { to, .. } => {
            *to == super::call::Side::Agent && p.agent_id.as_deref() == Some(agent.id.as_str())
        }
        _ => everything || p.agent_id.as_deref().is_none_or(|a| a == agent.id),
    }))
}

/// Upload an attachment as the agent
///
/// Upload an attachment as the agent (raw body, Content-Type, ?name=); type and size limited, and
/// held by the attachment store's quota
#[utoipa::path(post, path = "/api/messaging/conversations/{id}/attachments", tag = "messaging",
    operation_id = "conversation_upload",
    params(("id" = String, Path, description = "The conversation"), UploadQuery),
    request_body(content_type = "application/octet-stream",
        description = "The file, with its type in Content-Type"),
    responses(
        (status = 200, body = Attachment, description = "{id, name, mime, bytes}"),
        (status = 400, description = "Type not allowed"),
        (status = 413, description = "Too large"),
        (status = 507, description = "The attachment store is full"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
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
