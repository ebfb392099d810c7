//! Open messaging on the wire: the normalized message shape (Genesys Open Messaging's, inbound
//! and outbound, with cards and carousels as structured `content`), the outbox entry a relay-side message in an integration's conversation
//! becomes, and the signed POST that delivers it (shared by the outbox worker and the bot
//! client). No service state: the service, the inbound webhook, the outbox and bots all use
//! it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    model::*,
    rich::{ButtonAction, Card},
    signature,
};
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

/// One item of a message's `content`: `Attachment`, `QuickReply`, `Card`, `Carousel` (out),
/// or `ButtonResponse` (in: the customer pressed a card's postback button or a quick reply).
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<WireCard>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carousel: Option<WireCarousel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub button_response: Option<ButtonResponse>,
}

impl Content {
    fn of_type(content_type: &str) -> Content {
        Content {
            content_type: content_type.into(),
            attachment: None,
            quick_reply: None,
            card: None,
            carousel: None,
            button_response: None,
        }
    }
}

/// A card as open messaging carries it (`contentType: "Card"`).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(as = OpenMessagingCard)]
#[serde(rename_all = "camelCase")]
pub struct WireCard {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The image's https URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default)]
    pub actions: Vec<WireAction>,
}

/// A card's button: `type` `Link` (with `url`) or `Postback` (with `payload`); `text` is
/// its label.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(as = OpenMessagingCardAction)]
#[serde(rename_all = "camelCase")]
pub struct WireAction {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// Cards side by side (`contentType: "Carousel"`).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(as = OpenMessagingCarousel)]
pub struct WireCarousel {
    pub cards: Vec<WireCard>,
}

/// The customer's press of a button, inbound (`contentType: "ButtonResponse"`): `type`
/// `Button` (a card's postback: `payload` must be one the conversation offered) or
/// `QuickReply` (taken as the text it carries); `text` is the button's label.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[schema(as = OpenMessagingButtonResponse)]
#[serde(rename_all = "camelCase")]
pub struct ButtonResponse {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub payload: String,
}

fn wire_card(card: &Card) -> WireCard {
    WireCard {
        title: card.title.clone(),
        description: card.text.clone(),
        image: card.image.clone(),
        actions: card
            .buttons
            .iter()
            .map(|b| {
                let (kind, url, payload) = match &b.action {
                    ButtonAction::Link { url } => ("Link", Some(url.clone()), None),
                    ButtonAction::Postback { payload } => ("Postback", None, Some(payload.clone())),
                };
                WireAction {
                    kind: kind.into(),
                    text: b.label.clone(),
                    url,
                    payload,
                }
            })
            .collect(),
    }
}

/// The `content` item a card or carousel goes out as.
fn rich_content(rich: &Rich) -> Content {
    match rich {
        Rich::Card { card } => Content {
            card: Some(wire_card(card)),
            ..Content::of_type("Card")
        },
        Rich::Carousel { cards } => Content {
            carousel: Some(WireCarousel {
                cards: cards.iter().map(wire_card).collect(),
            }),
            ..Content::of_type("Carousel")
        },
    }
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
    /// `Text`, `Structured` (with cards, or a button response, in `content`), or `Receipt`
    /// (with `status` and the receipted message's `id`).
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
            attachment: Some(MediaAttachment {
                url: a.id.clone(),
                mime: a.mime.clone(),
                filename: a.name.clone(),
                content_size_bytes: a.bytes,
            }),
            ..Content::of_type("Attachment")
        })
        .collect();
    content.extend(m.rich.as_ref().map(rich_content));
    content.extend(m.quick_replies.iter().map(|q| Content {
        quick_reply: Some(serde_json::json!({ "text": q, "payload": q, "action": "Message" })),
        ..Content::of_type("QuickReply")
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
        // Genesys calls a message with cards structured; its text (if any) goes along.
        kind: if m.rich.is_some() {
            "Structured"
        } else {
            "Text"
        }
        .into(),
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
