//! The guest (web messaging widget) API, and attachment downloads for either side.
//!
//! A guest token is issued on first contact and kept by the widget in localStorage; only its
//! SHA-256 is stored (as the `web` channel identity), so the database signs nobody in. The
//! token travels in `X-Guest-Token` (or `?token=` where a header cannot be set: the event
//! stream, image links). Browsers on an allowed site origin get CORS answers.
//!
//! Nothing is stored for a token until its first message, which makes the contact, the
//! conversation and the routing arrival; minting tokens and starting conversations are
//! limited per client address and for everyone ([`super::admission`]). The event stream opens
//! only for a token that has written (its identity exists) and holds one of the relay's
//! stream places; an upload needs a conversation of the guest and fits its quotas.
//!
//! - `POST /api/messaging/guest`: a new token;
//! - `GET  /api/messaging/guest/history`: every conversation of the guest, with messages;
//! - `POST /api/messaging/guest/messages|typing|read|attachments`;
//! - `GET  /api/messaging/guest/stream`: server-sent events for the guest's conversations;
//! - `GET  /api/messaging/attachments/{contact}/{file}`: only for the contact and agents.

use std::convert::Infallible;

use axum::{
    body::Body,
    extract::{FromRequestParts, Path, Query, Request, State},
    http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::{self, Next},
    response::{sse::Event as SseEvent, IntoResponse, Response, Sse},
    routing::{get, post},
    Json, Router,
};
use futures_util::Stream;
use serde::Deserialize;

use super::{
    attachments::{resolve, store_upload, valid_part, Owner, UploadQuery},
    feed::{history, sse, ReadMark, Typing},
    model::*,
    queries,
    state::{MsgState, SignedIn},
    Messaging, MessagingError, PushKind,
};
use crate::{
    clients::ClientIp,
    error::ApiError,
    ids::{random_hex, secret_hash},
};

pub use super::model::WEB;

pub fn routes(state: MsgState) -> Router<MsgState> {
    Router::new()
        .route("/api/messaging/guest", post(issue))
        .route("/api/messaging/guest/history", get(guest_history))
        .route("/api/messaging/guest/messages", post(guest_send))
        .route("/api/messaging/guest/typing", post(guest_typing))
        .route("/api/messaging/guest/read", post(guest_read))
        .route("/api/messaging/guest/attachments", post(guest_upload))
        .route("/api/messaging/guest/stream", get(guest_stream))
        .route("/api/messaging/attachments/{contact}/{file}", get(download))
        .layer(middleware::from_fn_with_state(state, cors))
}

/// Whether `origin` belongs to a registered site, as read from the store at most a second ago
/// ([`super::service::Messaging::origins`]); a store failure answers no.
async fn origin_allowed(s: &MsgState, origin: &str) -> bool {
    let o = origin.to_owned();
    s.svc
        .origins
        .get_or_read(origin, || {
            s.sites
                .read(move |db| crate::sites::origin_registered(db, &o))
        })
        .await
        .unwrap_or(false)
}

/// Answers preflights and adds `Access-Control-Allow-Origin` for origins of a registered site.
async fn cors(State(s): State<MsgState>, req: Request, next: Next) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let allowed = match &origin {
        Some(o) => origin_allowed(&s, o).await,
        None => false,
    };
    let mut response = if req.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    if let (true, Some(origin)) = (allowed, origin) {
        let h = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&origin) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, x-guest-token"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
    }
    response
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

/// A new token, within the sign-up limits; nothing is stored until its first message.
async fn issue(
    State(s): State<MsgState>,
    ClientIp(client): ClientIp,
) -> Result<Json<serde_json::Value>, ApiError> {
    s.admission.mint(client)?;
    Ok(Json(serde_json::json!({ "token": random_hex(32) })))
}

/// The guest's contact, if it has written before.
async fn contact_of(svc: &Messaging, guest: &Guest) -> Result<Option<String>, ApiError> {
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

async fn latest(svc: &Messaging, guest: &Guest) -> Result<Option<Conversation>, ApiError> {
    let id = guest.external_id.clone();
    Ok(svc
        .store
        .read(move |db| queries::latest_for_identity(db, WEB, &id))
        .await?)
}

async fn guest_history(
    State(s): State<MsgState>,
    guest: Guest,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(contact) = contact_of(&s.svc, &guest).await? else {
        return Ok(Json(
            serde_json::json!({ "contact_id": null, "history": [] }),
        ));
    };
    let (_, history) = history(&s.svc, &contact).await?;
    // The customer sees its own conversations, not the agents' internal timeline.
    let history: Vec<_> = history
        .into_iter()
        .map(|mut h| {
            if let Some(map) = h.as_object_mut() {
                map.remove("events");
            }
            h
        })
        .collect();
    Ok(Json(
        serde_json::json!({ "contact_id": contact, "history": history }),
    ))
}

#[derive(Deserialize)]
struct GuestMessage {
    #[serde(default)]
    text: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    attachments: Vec<String>,
}

async fn guest_send(
    State(s): State<MsgState>,
    ClientIp(client): ClientIp,
    guest: Guest,
    Json(body): Json<GuestMessage>,
) -> Result<Json<serde_json::Value>, ApiError> {
    s.admission.message(&guest.external_id)?;
    let attachments = if body.attachments.is_empty() {
        vec![]
    } else {
        let contact = contact_of(&s.svc, &guest)
            .await?
            .ok_or_else(|| ApiError::BadRequest("unknown attachment".into()))?;
        resolve(&s.svc, &contact, &body.attachments)?
    };
    if body.text.trim().is_empty() && attachments.is_empty() {
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
        text: body.text,
        attachments,
        has_bot: false,
    };
    let ingested = s
        .svc
        .ingest_guest(inbound, move || admission.start(client))
        .await?;
    Ok(Json(serde_json::json!({
        "message": ingested.message,
        "conversation_id": ingested.conversation.id,
        "contact_id": ingested.conversation.contact_id,
    })))
}

async fn guest_typing(
    State(s): State<MsgState>,
    guest: Guest,
    Json(body): Json<Typing>,
) -> Result<StatusCode, ApiError> {
    if let Some(c) = latest(&s.svc, &guest).await? {
        s.svc.typing(&c, Author::Customer, body.typing);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn guest_read(
    State(s): State<MsgState>,
    guest: Guest,
    Json(body): Json<ReadMark>,
) -> Result<StatusCode, ApiError> {
    let c = latest(&s.svc, &guest).await?.ok_or(ApiError::NotFound)?;
    s.svc.mark_read(&c, Author::Customer, body.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The guest's event stream: only for a token that has written (the widget opens it after
/// the first message), holding one of the relay's stream places while open.
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
                PushKind::Typing {
                    author: Author::Customer,
                    ..
                }
            )
    }))
}

/// Every check that does not need the file comes before its body is read, so a refused
/// upload costs the relay no more than its head.
async fn guest_upload(
    State(s): State<MsgState>,
    ClientIp(client): ClientIp,
    guest: Guest,
    headers: HeaderMap,
    Query(q): Query<UploadQuery>,
    body: Body,
) -> Result<Json<Attachment>, ApiError> {
    s.admission.message(&guest.external_id)?;
    // Files belong to a conversation: a token that never wrote has none to attach them to.
    let c = latest(&s.svc, &guest)
        .await?
        .ok_or_else(|| ApiError::Conflict("send a message before attaching files".into()))?;
    let max = s.svc.config.max_attachment_bytes;
    let too_large = || ApiError::TooLarge(format!("attachments must be 1 to {max} bytes"));
    // Without a length (chunked), the upload is charged as the largest allowed.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .unwrap_or(max as u64);
    if declared > max as u64 {
        return Err(too_large());
    }
    s.admission.upload(client, declared)?;
    let body = axum::body::to_bytes(body, max)
        .await
        .map_err(|_| too_large())?;
    let owner = Owner {
        contact: &c.contact_id,
        conversation: &c.id,
        by_guest: true,
    };
    Ok(Json(
        store_upload(&s.svc, owner, &headers, q.name, body).await?,
    ))
}

/// Serves an attachment to a signed-in agent or to the contact it belongs to; to anyone else
/// it does not exist.
async fn download(
    State(s): State<MsgState>,
    Path((contact, file)): Path<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let (mut parts, _) = request.into_parts();
    let agent = SignedIn::from_request_parts(&mut parts, &s).await.is_ok();
    let allowed = agent
        || match Guest::from_request_parts(&mut parts, &s).await {
            Ok(g) => contact_of(&s.svc, &g).await?.as_deref() == Some(contact.as_str()),
            Err(_) => false,
        };
    if !allowed || !valid_part(&contact) || !valid_part(&file) {
        return Err(ApiError::NotFound);
    }
    let attachment = resolve(&s.svc, &contact, &[format!("{contact}/{file}")])
        .map_err(|_| ApiError::NotFound)?
        .pop()
        .ok_or(ApiError::NotFound)?;
    let bytes = tokio::fs::read(s.svc.attachments_dir.join(&contact).join(&file))
        .await
        .map_err(|_| ApiError::NotFound)?;
    let disposition = if attachment.mime.starts_with("image/") {
        "inline"
    } else {
        "attachment"
    };
    Response::builder()
        .header(header::CONTENT_TYPE, attachment.mime)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::CACHE_CONTROL, "private, max-age=3600")
        .header(
            header::CONTENT_DISPOSITION,
            format!("{disposition}; filename=\"{}\"", attachment.name),
        )
        .body(Body::from(bytes))
        .map_err(|_| ApiError::Internal)
}
