//! Open messaging, inbound: the webhook `POST /api/messaging/open/{integration}` taking a body
//! shaped like Genesys Open Messaging's normalized message (text, attachments, metadata,
//! `channel.from` {id, nickname}, a `ButtonResponse` when the customer pressed a card's
//! button) or a receipt (the shapes are in `wire`). Every inbound request is checked by
//! `signature` against the raw bytes before anything is parsed or stored.
//!
//! Deliveries are idempotent: a message is stored once per its channel id (`id`, else
//! `channel.messageId`), and a redelivery is answered with the first answer; so a message
//! signed with the hub form alone, which carries no delivery id or timestamp, must carry an
//! id. Once an integration signs with timestamps its hub form alone is refused, so a captured
//! request cannot be replayed by dropping the timestamped headers.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use super::{
    model::*,
    postback::answered,
    queries::{self, Refusal},
    signature::{self, Presented, SignatureError},
    state::MsgState,
    wire::{ButtonResponse, Normalized, CHANNEL_PREFIX},
    Messaging, MessagingError,
};
use crate::{error::ApiError, ids::now_ms};

fn presented(headers: &HeaderMap) -> Presented {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Presented {
        hub: get(signature::HUB_HEADER),
        signature: get(signature::SIGNATURE_HEADER),
        timestamp: get(signature::TIMESTAMP_HEADER),
        delivery_id: get(signature::DELIVERY_HEADER),
    }
}

/// Why a delivery's signature was refused.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SignatureRefused {
    /// Missing, forged, stale, replayed or downgraded, in words.
    pub error: String,
}

fn unauthorized(e: &SignatureError) -> Response {
    let body = SignatureRefused {
        error: e.to_string(),
    };
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

/// Open messaging inbound: a normalized message or a receipt, signed by the integration
///
/// A normalized message (type Text or Structured: text, content[] attachments or a
/// ButtonResponse {type: Button|QuickReply, text, payload} (a Button's payload must be one a card
/// of the conversation offered), metadata, channel.from {id, nickname}) or a receipt (type Receipt, status Delivered|Read|Failed, id of our message).
/// Signed: X-Hub-Signature-256: sha256=<base64 HMAC-SHA256(secret, raw body)>, or
/// X-Signature-256 over "<X-Timestamp>.<X-Delivery-Id>.<body>" (refused when more than 300 s
/// old or when the delivery id was seen). A request with any timestamped header is judged by
/// that form alone; once an integration has signed with timestamps, the hub form alone is
/// refused (until its secret changes). A message is stored once per its id (id, else
/// channel.messageId; required with the hub form alone): a redelivery is answered as the
/// first was. Outbound deliveries to the integration's webhook carry both forms, keep their
/// X-Delivery-Id across retries and follow no redirect (a 3xx is a failed delivery).
#[utoipa::path(post, path = "/api/messaging/open/{integration}", tag = "messaging",
    operation_id = "open_messaging_inbound",
    params(("integration" = String, Path, description = "The integration's name")),
    request_body = Normalized,
    responses(
        (status = 200, body = Object, description = "Stored (committed): {id, conversation_id}, \
            or {receipt}"),
        (status = 400, description = "Malformed body"),
        (status = 401, body = SignatureRefused, description = "Missing, forged, stale, \
            replayed or downgraded signature; nothing stored"),
        (status = 404, description = "No such integration"),
    ),
    security(()))]
pub async fn inbound(
    State(state): State<MsgState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let svc = state.svc.clone();
    let integration = svc.integration(&name).await?.ok_or(ApiError::NotFound)?;
    let delivery = match signature::verify(
        &integration.secret,
        &presented(&headers),
        &body,
        now_ms() / 1000,
    ) {
        Ok(d) => d,
        Err(e) => return Ok(unauthorized(&e)),
    };
    let msg: Normalized =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let mut signed = Signed {
        integration: name.clone(),
        delivery_id: delivery,
        message_id: None,
    };
    if msg.kind.eq_ignore_ascii_case("receipt") {
        let status = match msg
            .status
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("delivered") => Delivery::Delivered,
            Some("read") => Delivery::Read,
            Some("failed") => Delivery::Failed,
            _ => {
                return Err(ApiError::BadRequest(
                    "receipt status must be Delivered, Read or Failed".into(),
                ))
            }
        };
        let id = msg
            .id
            .or(msg.channel.message_id)
            .ok_or_else(|| ApiError::BadRequest("receipt without id".into()))?;
        if let Err(e) = svc.receipt(&id, status, Some(signed)).await {
            return refusal(e);
        }
        return Ok(Json(serde_json::json!({ "receipt": id })).into_response());
    }
    let external = msg.id.or(msg.channel.message_id);
    if external
        .as_ref()
        .is_some_and(|id| id.is_empty() || id.len() > 256)
    {
        return Err(ApiError::BadRequest("id must be 1 to 256 bytes".into()));
    }
    if external.is_none() && signed.delivery_id.is_none() {
        return Err(ApiError::BadRequest(
            "a message signed with X-Hub-Signature-256 alone must carry an id (id or \
             channel.messageId), by which a redelivery is recognised"
                .into(),
        ));
    }
    signed.message_id = external;
    let from = msg
        .channel
        .from
        .ok_or_else(|| ApiError::BadRequest("channel.from.id is required".into()))?;
    if from.id.is_empty() || from.id.len() > 256 {
        return Err(ApiError::BadRequest(
            "channel.from.id must be 1 to 256 bytes".into(),
        ));
    }
    let channel = format!("{CHANNEL_PREFIX}{name}");
    let mut inbound = Inbound {
        channel,
        external_id: from.id.clone(),
        display_name: from.nickname.unwrap_or(from.id),
        text: msg.text.unwrap_or_default(),
        attachments: vec![],
        postback: None,
        has_bot: integration.bot_url.is_some(),
    };
    for content in msg.content {
        if let Some(a) = content.attachment {
            inbound.attachments.push(Attachment {
                id: a.url,
                name: a.filename,
                mime: a.mime,
                bytes: a.content_size_bytes,
            });
        }
        if let Some(pressed) = content.button_response {
            button_response(&svc, &mut inbound, pressed).await?;
        }
    }
    let ingested = svc.ingest_once(inbound, Some(signed)).await;
    match ingested {
        Ok(ingested) => Ok(stored(&ingested.message.id, &ingested.conversation.id)),
        Err(e) => refusal(e),
    }
}

/// A button the customer pressed on the channel: a quick reply is the text it carries (unless
/// the message has its own); a card's postback must answer a button the conversation offered
/// (400 otherwise), and the message's text is that button's label.
async fn button_response(
    svc: &Messaging,
    inbound: &mut Inbound,
    pressed: ButtonResponse,
) -> Result<(), ApiError> {
    if pressed.kind.eq_ignore_ascii_case("QuickReply") {
        if inbound.text.trim().is_empty() {
            inbound.text = pressed.text;
        }
        return Ok(());
    }
    let claimed = Postback {
        payload: pressed.payload,
        label: pressed.text,
    };
    let postback = answered(svc, &inbound.channel, &inbound.external_id, claimed).await?;
    inbound.text = postback.label.clone();
    inbound.postback = Some(postback);
    Ok(())
}

/// The answer to a stored message, the same for a redelivery of it.
fn stored(message_id: &str, conversation_id: &str) -> Response {
    Json(serde_json::json!({
        "id": message_id,
        "conversation_id": conversation_id,
    }))
    .into_response()
}

/// The answer to a delivery messaging did not store.
fn refusal(e: MessagingError) -> Result<Response, ApiError> {
    match e {
        MessagingError::Refused(Refusal::Repeated {
            message_id,
            conversation_id,
        }) => Ok(stored(&message_id, &conversation_id)),
        MessagingError::Refused(Refusal::Replayed) => Ok(unauthorized(&SignatureError::Replayed)),
        MessagingError::Refused(Refusal::Downgraded) => {
            Ok(unauthorized(&SignatureError::Downgraded))
        }
        other => Err(other.into()),
    }
}

/// Registers or updates an integration (the `relay integration add` command).
pub async fn integration_add(
    store: &crate::store::Store,
    integration: Integration,
) -> Result<(), crate::store::StoreError> {
    store
        .write(move |db| queries::integration_put(db, &integration, now_ms()))
        .await
}
