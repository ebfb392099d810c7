//! Open messaging: the inbound webhook `POST /api/messaging/open/{integration}` taking a body
//! shaped like Genesys Open Messaging's normalized message (text, attachments, metadata,
//! `channel.from` {id, nickname}) or a receipt, and the outbound body the outbox sends to the
//! integration's webhook. Every inbound request is checked by `signature` against the raw
//! bytes before anything is parsed or stored.

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};

use super::{
    model::*,
    queries,
    signature::{self, Presented, SignatureError},
    state::MsgState,
    MessagingError,
};
use crate::{
    error::ApiError,
    ids::{now_ms, random_hex},
};

/// Conversations from integration `x` have channel `open:x`.
pub const CHANNEL_PREFIX: &str = "open:";

#[derive(Debug, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    pub id: String,
    #[serde(default)]
    pub nickname: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ChannelInfo {
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub from: Option<Party>,
    #[serde(default)]
    pub to: Option<Party>,
    #[serde(default)]
    pub time: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaAttachment {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub mime: String,
    #[serde(default)]
    pub filename: String,
    #[serde(default)]
    pub content_size_bytes: i64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    pub content_type: String,
    #[serde(default)]
    pub attachment: Option<MediaAttachment>,
    #[serde(default)]
    pub quick_reply: Option<serde_json::Value>,
}

/// The normalized message, inbound or outbound.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Normalized {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub channel: ChannelInfo,
    /// `Text`, or `Receipt` (with `status` and the receipted message's `id`).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub content: Vec<Content>,
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub direction: Option<String>,
}

/// The outbox entry for a relay-side message in an open-messaging conversation.
pub fn outbox_item(m: &Message, c: &Conversation) -> Option<OutboxItem> {
    let integration = c.channel.strip_prefix(CHANNEL_PREFIX)?;
    if m.author == Author::Customer {
        return None;
    }
    let mut content: Vec<Content> = m
        .attachments
        .iter()
        .map(|a| Content {
            content_type: "Attachment".into(),
            attachment: Some(MediaAttachment {
                url: a.id.clone(),
                mime: a.mime.clone(),
                filename: a.name.clone(),
                content_size_bytes: a.bytes,
            }),
            quick_reply: None,
        })
        .collect();
    content.extend(m.quick_replies.iter().map(|q| Content {
        content_type: "QuickReply".into(),
        attachment: None,
        quick_reply: Some(serde_json::json!({ "text": q, "payload": q, "action": "Message" })),
    }));
    let body = Normalized {
        id: Some(m.id.clone()),
        channel: ChannelInfo {
            message_id: Some(m.id.clone()),
            from: None,
            to: Some(Party {
                id: c.external_id.clone(),
                nickname: None,
            }),
            time: Some(m.created_at.to_string()),
        },
        kind: "Text".into(),
        text: Some(m.text.clone()),
        content,
        metadata: Some(serde_json::json!({ "author": m.author, "conversationId": c.id })),
        status: None,
        direction: Some("Outbound".into()),
    };
    Some(OutboxItem {
        delivery_id: random_hex(12),
        integration: integration.to_owned(),
        message_id: m.id.clone(),
        body: serde_json::to_string(&body).ok()?,
        attempts: 0,
        next_at: 0,
    })
}

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

fn unauthorized(e: &SignatureError) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({ "error": e.to_string() })),
    )
        .into_response()
}

/// `POST /api/messaging/open/{integration}`.
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
    let seen = delivery.map(|id| DeliveryId {
        integration: name.clone(),
        id,
    });
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
        match svc.receipt(&id, status, seen).await {
            Err(MessagingError::Replayed) => return Ok(unauthorized(&SignatureError::Replayed)),
            other => other?,
        }
        return Ok(Json(serde_json::json!({ "receipt": id })).into_response());
    }
    let from = msg
        .channel
        .from
        .ok_or_else(|| ApiError::BadRequest("channel.from.id is required".into()))?;
    if from.id.is_empty() || from.id.len() > 256 {
        return Err(ApiError::BadRequest(
            "channel.from.id must be 1 to 256 bytes".into(),
        ));
    }
    let attachments = msg
        .content
        .into_iter()
        .filter_map(|c| c.attachment)
        .map(|a| Attachment {
            id: a.url,
            name: a.filename,
            mime: a.mime,
            bytes: a.content_size_bytes,
        })
        .collect();
    let ingested = svc
        .ingest_once(
            Inbound {
                channel: format!("{CHANNEL_PREFIX}{name}"),
                external_id: from.id.clone(),
                display_name: from.nickname.unwrap_or(from.id),
                text: msg.text.unwrap_or_default(),
                attachments,
                has_bot: integration.bot_url.is_some(),
            },
            seen,
        )
        .await;
    let ingested = match ingested {
        Err(MessagingError::Replayed) => return Ok(unauthorized(&SignatureError::Replayed)),
        other => other?,
    };
    Ok(Json(serde_json::json!({
        "id": ingested.message.id,
        "conversation_id": ingested.conversation.id,
    }))
    .into_response())
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

/// Shared by the outbox worker and the bot client: POSTs `body` signed with `secret`.
pub async fn post_signed(
    http: &reqwest::Client,
    url: &str,
    secret: &str,
    delivery_id: &str,
    body: String,
    timeout: std::time::Duration,
) -> Result<reqwest::Response, String> {
    let mut req = http
        .post(url)
        .timeout(timeout)
        .header("content-type", "application/json");
    for (k, v) in signature::outbound_headers(secret, body.as_bytes(), delivery_id, now_ms() / 1000)
    {
        req = req.header(k, v);
    }
    let response = req.body(body).send().await.map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(format!("status {}", response.status()))
    }
}
