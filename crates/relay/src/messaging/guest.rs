//! The guest (web messaging widget) API.
//!
//! A guest token is issued on first contact and kept by the widget in localStorage; only its
//! SHA-256 is stored (as the `web` channel identity), so the database signs nobody in. The
//! token travels in `X-Guest-Token` (or `?token=` where a header cannot be set: the event
//! stream, image links). Browsers on an allowed site origin get CORS answers (`widget_cors`).
//!
//! Nothing is stored for a token until its first message, which makes the contact, the
//! conversation and the routing arrival; minting tokens and starting conversations are
//! limited per client address and for everyone ([`super::admission`]). The event stream opens
//! only for a token that has written (its identity exists) and holds one of the relay's
//! stream places; an upload needs a conversation of the guest and fits its quotas.
//!
//! - `POST /api/messaging/guest`: a new token;
//! - `GET  /api/messaging/guest/history`: every conversation of the guest, with messages;
//! - `POST /api/messaging/guest/messages|typing|read`;
//! - `GET  /api/messaging/guest/stream`: server-sent events for the guest's conversations;
//! - the upload and attachment downloads are `guest_files`', behind the same CORS layer.

use std::convert::Infallible;

use axum::{
    extract::{FromRequestParts, State},
    http::{request::Parts, StatusCode},
    middleware,
    response::{sse::Event as SseEvent, Sse},
    Json,
};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    attachments::resolve,
    feed::{history, sse, HistoryEntry, ReadMark, Typing},
    model::*,
    postback, queries,
    state::MsgState,
    widget_cors, Messaging, MessagingError, PushKind,
};
use crate::{
    clients::ClientIp,
    error::ApiError,
    ids::{random_hex, secret_hash},
};

pub use super::model::WEB;

/// The widget's routes, documented, behind the CORS layer (its file routes are
/// `guest_files`').
pub fn routes(state: MsgState) -> OpenApiRouter<MsgState> {
    OpenApiRouter::default()
        .routes(routes!(issue))
        .routes(routes!(guest_history))
        .routes(routes!(guest_send))
        .routes(routes!(guest_typing))
        .routes(routes!(guest_read))
        .routes(routes!(guest_stream))
        .layer(middleware::from_fn_with_state(state, widget_cors::cors))
}

/// A guest, identified by the hash of its token.
pub struct Guest {
    pub external_id: String,
}

fn guest_id(token: &str) -> String {
    secret_hash(token)
}

impl FromRequestParts<MsgState> for Guest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &MsgState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get("x-guest-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let query = parts.uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "token")
                .map(|(_, v)| v.to_owned())
        });
        let token = header.or(query).ok_or(ApiError::Unauthorized)?;
        Guest::from_token(&token).ok_or(ApiError::Unauthorized)
    }
}

impl Guest {
    /// The guest `token` names, if it is shaped like a guest token (64 hex digits).
    pub fn from_token(token: &str) -> Option<Guest> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(Guest {
            external_id: guest_id(token),
        })
    }
}

/// Whether `token` is the guest token of the widget conversation `conversation_id` (one of
/// the guest's own, on the `web` channel). For co-browse's offer lookup, through `app`.
pub async fn is_guest_of(
    svc: &Messaging,
    token: &str,
    conversation_id: &str,
) -> Result<bool, MessagingError> {
    let Some(guest) = Guest::from_token(token) else {
        return Ok(false);
    };
    Ok(svc
        .conversation(conversation_id)
        .await?
        .is_some_and(|c| c.channel == WEB && c.external_id == guest.external_id))
}

/// A new guest token.
#[derive(Serialize, ToSchema)]
pub struct GuestToken {
    /// 64 hex digits; only its SHA-256 is ever stored.
    pub token: String,
}

/// A new guest token
///
/// A new guest token (the widget keeps it in localStorage and sends it as X-Guest-Token, or ?token=
/// for the stream and attachment links). Nothing is stored until its first message. Limited per
/// client address and for everyone
#[utoipa::path(post, path = "/api/messaging/guest", tag = "messaging-guest",
    operation_id = "guest_token",
    responses(
        (status = 200, body = GuestToken, description = "{token}"),
        (status = 429, description = "Too many sign-ups from this address, or from everyone; \
            Retry-After"),
    ),
    security(()))]
async fn issue(
    State(s): State<MsgState>,
    ClientIp(client): ClientIp,
) -> Result<Json<GuestToken>, ApiError> {
    s.admission.mint(client)?;
    Ok(Json(GuestToken {
        token: random_hex(32),
    }))
}

/// The guest's contact, if it has written before.
pub(super) async fn contact_of(svc: &Messaging, guest: &Guest) -> Result<Option<String>, ApiError> {
    let id = guest.external_id.clone();
    let rows = svc
        .store
        .read(move |db| {
            db.query(
                "SELECT contact_id FROM msg_identities WHERE channel = $1 AND external_id = $2",
                &[WEB.into(), (&id).into()],
            )
        })
        .await?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .and_then(|v| v.text().ok()))
}

/// The guest's latest conversation, if it has written.
pub(super) async fn latest_of(
    svc: &Messaging,
    guest: &Guest,
) -> Result<Option<Conversation>, ApiError> {
    let id = guest.external_id.clone();
    Ok(svc
        .store
        .read(move |db| queries::latest_for_identity(db, WEB, &id))
        .await?)
}

/// What a guest reads of its own conversations.
#[derive(Serialize, ToSchema)]
pub struct GuestHistory {
    /// `null` until the guest's first message.
    pub contact_id: Option<String>,
    /// The guest's conversations with their messages (never the agents' timeline).
    pub history: Vec<HistoryEntry>,
}

/// The guest's conversations with their messages
#[utoipa::path(get, path = "/api/messaging/guest/history", tag = "messaging-guest",
    operation_id = "guest_history",
    responses(
        (status = 200, body = GuestHistory, description = "{contact_id, history}"),
        (status = 401, description = "No or malformed guest token"),
    ),
    security(()))]
async fn guest_history(
    State(s): State<MsgState>,
    guest: Guest,
) -> Result<Json<GuestHistory>, ApiError> {
    let Some(contact) = contact_of(&s.svc, &guest).await? else {
        return Ok(Json(GuestHistory {
            contact_id: None,
            history: Vec::new(),
        }));
    };
    let (_, history) = history(&s.svc, &contact).await?;
    // The customer sees its own conversations, not the agents' internal timeline.
    let history = history
        .into_iter()
        .map(|h| HistoryEntry { events: None, ..h })
        .collect();
    Ok(Json(GuestHistory {
        contact_id: Some(contact),
        history,
    }))
}

/// What the customer sends: text, attachments or both; or the answer to a card's button.
#[derive(Deserialize, ToSchema)]
struct GuestMessage {
    #[serde(default)]
    text: String,
    /// A postback button pressed: its payload must be one a card of the guest's conversation
    /// offered, and the message's text becomes that button's label.
    #[serde(default)]
    postback: Option<Postback>,
    /// The customer's name, used when the contact is new (at most 80 bytes).
    #[serde(default)]
    name: Option<String>,
    /// Ids returned by an upload.
    #[serde(default)]
    attachments: Vec<String>,
}

/// A customer message, stored.
#[derive(Serialize, ToSchema)]
struct GuestSent {
    message: Message,
    conversation_id: String,
    contact_id: String,
}

/// Send a message as the customer
///
/// Send as the customer: {text, name?, attachments?, postback?}. Answered after the message is
/// committed; a postback no card of the conversation offered is refused (400). Rate
/// limit per guest: 2/s with a burst of 4; a message that starts a conversation (the first, or one
/// after a wrap-up or the threading window) is also limited per client address and for everyone
#[utoipa::path(post, path = "/api/messaging/guest/messages", tag = "messaging-guest",
    operation_id = "guest_send",
    request_body = GuestMessage,
    responses(
        (status = 200, body = GuestSent, description = "{message, conversation_id, contact_id}"),
        (status = 400, description = "Empty message, or an unknown attachment"),
        (status = 401, description = "No or malformed guest token"),
        (status = 429, description = "Over a rate limit; not stored; Retry-After"),
    ),
    security(()))]
async fn guest_send(
    State(s): State<MsgState>,
    ClientIp(client): ClientIp,
    guest: Guest,
    Json(body): Json<GuestMessage>,
) -> Result<Json<GuestSent>, ApiError> {
    s.admission.message(&guest.external_id)?;
    let attachments = if body.attachments.is_empty() {
        vec![]
    } else {
        let contact = contact_of(&s.svc, &guest)
            .await?
            .ok_or_else(|| ApiError::BadRequest("unknown attachment".into()))?;
        resolve(&s.svc, &contact, &body.attachments)?
    };
    let postback = match body.postback {
        Some(claimed) => Some(postback::answered(&s.svc, WEB, &guest.external_id, claimed).await?),
        None => None,
    };
    let text = postback.as_ref().map_or(body.text, |p| p.label.clone());
    if text.trim().is_empty() && attachments.is_empty() {
        return Err(ApiError::BadRequest("empty message".into()));
    }
    let admission = s.admission.clone();
    let inbound = Inbound {
        channel: WEB.into(),
        external_id: guest.external_id,
        display_name: body
            .name
            .filter(|n| !n.trim().is_empty() && n.len() <= 80)
            .unwrap_or_else(|| "Web visitor".into()),
        text,
        attachments,
        postback,
        has_bot: false,
    };
    let ingested = s
        .svc
        .ingest_guest(inbound, move || admission.start(client))
        .await?;
    Ok(Json(GuestSent {
        message: ingested.message,
        conversation_id: ingested.conversation.id,
        contact_id: ingested.conversation.contact_id,
    }))
}

/// {typing: bool}
#[utoipa::path(post, path = "/api/messaging/guest/typing", tag = "messaging-guest",
    operation_id = "guest_typing",
    request_body = Typing,
    responses(
        (status = 204, description = "Pushed"),
        (status = 401, description = "No or malformed guest token"),
    ),
    security(()))]
async fn guest_typing(
    State(s): State<MsgState>,
    guest: Guest,
    Json(body): Json<Typing>,
) -> Result<StatusCode, ApiError> {
    if let Some(c) = latest_of(&s.svc, &guest).await? {
        s.svc.typing(&c, Author::Customer, body.typing);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Mark agent and bot messages up to {seq} read
#[utoipa::path(post, path = "/api/messaging/guest/read", tag = "messaging-guest",
    operation_id = "guest_read",
    request_body = ReadMark,
    responses(
        (status = 204, description = "Marked"),
        (status = 401, description = "No or malformed guest token"),
        (status = 404, description = "The guest has no conversation"),
    ),
    security(()))]
async fn guest_read(
    State(s): State<MsgState>,
    guest: Guest,
    Json(body): Json<ReadMark>,
) -> Result<StatusCode, ApiError> {
    let c = latest_of(&s.svc, &guest).await?.ok_or(ApiError::NotFound)?;
    s.svc.mark_read(&c, Author::Customer, body.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The guest's event stream
///
/// Server-sent events for the guest's conversations (?token=), once the guest has written; holds
/// one of the client address's stream places while open
#[utoipa::path(get, path = "/api/messaging/guest/stream", tag = "messaging-guest",
    operation_id = "guest_stream",
    params(("token" = Option<String>, Query,
        description = "The guest token, where the X-Guest-Token header cannot be set")),
    responses(
        (status = 200, content_type = "text/event-stream", body = String,
            description = "text/event-stream"),
        (status = 401, description = "No guest has written with this token"),
        (status = 429, description = "This address holds as many streams as it may"),
        (status = 503, description = "The relay holds as many streams as it may"),
    ),
    security(()))]
async fn guest_stream(
    State(s): State<MsgState>,
    ClientIp(client): ClientIp,
    guest: Guest,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let contact = contact_of(&s.svc, &guest)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let permit = s.streams.open(client)?;
    Ok(sse(&s, permit, None, move |p| {
        p.contact_id == contact
            && !matches!(p.kind, PushKind::Event { .. })
            && !matches!(
                p.kind,
                PushKind::Call {
                    to: super::call::Side::Agent,
                    ..
                }
            )
            && !matches!(
                p.kind,
                PushKind::Typing {
                    author: Author::Customer,
                    ..
                }
            )
    }))
}
