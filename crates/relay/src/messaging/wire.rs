//! Open messaging on the wire: the normalized message shape (Genesys Open Messaging's, inbound
//! and outbound), the outbox entry a relay-side message in an integration's conversation
//! becomes, and the signed POST that delivers it (shared by the outbox worker and the bot
//! client). No service state: the service, the inbound webhook, the outbox and bots all use
//! it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{model::*, signature};
use crate::ids::{now_ms, random_hex};

/// Conversations from integration `x` have channel `open:x`.
pub const CHANNEL_PREFIX: &str = "open:";

#[derive(Debug, Deserialize, Serialize, Default, ToSchema)]
#[schema(as = OpenMessagingParty)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    pub id: String,
    #[serde(default)]
    pub nickname: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, Default, ToSchema)]
#[schema(as = OpenMessagingChannel)]
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

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(as = OpenMessagingAttachment)]
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

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(as = OpenMessagingContent)]
#[serde(rename_all = "camelCase")]
pub struct Content {
    pub content_type: String,
    #[serde(default)]
    pub attachment: Option<MediaAttachment>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub quick_reply: Option<serde_json::Value>,
}

/// The normalized message, inbound or outbound.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(as = OpenMessagingMessage)]
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
    #[schema(value_type = Option<Object>)]
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

/// The client that calls integrations' webhooks and bots. It follows no redirect: a signed
/// delivery goes to the URL the integration registered and nowhere else (a `3xx` answer is a
/// failed delivery, retried as any other), so a webhook cannot bounce the relay's signed
/// requests, with their bodies, to another host or into the relay's own network.
pub fn webhook_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        // Building fails only where `reqwest::Client::new` would panic: a TLS backend that
        // cannot start, and this build has none.
        .unwrap_or_else(|_| unreachable!("a client without TLS builds"))
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
