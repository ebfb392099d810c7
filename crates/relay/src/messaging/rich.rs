//! Rich messages: a card (image, title, text, buttons) or a carousel of cards, sent by an
//! agent or a bot, and the postback a customer answers a card's button with. Plain data and
//! the rules that bound it; no I/O.
//!
//! Everything here comes from a request (an agent's body, a bot's answer, an integration's
//! delivery, a guest's click), so [`Rich::validate`] bounds every string and count and
//! refuses any link that is not `http`/`https` (a `javascript:` or `data:` link would run in
//! the customer's page). A postback is only ever taken as the answer to a button the
//! conversation offered ([`Rich::postback_label`]): a guest cannot send one of its own making.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A card's title, at most (characters).
pub const MAX_TITLE_CHARS: usize = 80;
/// A card's text, at most (characters).
pub const MAX_TEXT_CHARS: usize = 640;
/// A button's label, at most (characters).
pub const MAX_LABEL_CHARS: usize = 20;
/// A postback's payload, at most (bytes).
pub const MAX_PAYLOAD_BYTES: usize = 256;
/// A link's or an image's URL, at most (bytes).
pub const MAX_URL_BYTES: usize = 2048;
/// Buttons on one card, at most.
pub const MAX_BUTTONS: usize = 3;
/// Cards in a carousel: at least two (one is a card), at most ten.
pub const MIN_CAROUSEL_CARDS: usize = 2;
pub const MAX_CAROUSEL_CARDS: usize = 10;

/// Structured content of an agent's or a bot's message: one card, or a carousel of cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Rich {
    /// `{"type": "card", "card": {...}}`
    Card { card: Card },
    /// `{"type": "carousel", "cards": [...]}`: 2 to 10 cards, shown side by side.
    Carousel { cards: Vec<Card> },
}

/// A card: a title, and optionally an image, a text and up to three buttons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Card {
    /// An `https` URL of the image shown above the title (at most 2 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// 1 to 80 characters.
    pub title: String,
    /// At most 640 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// At most 3.
    #[serde(default)]
    pub buttons: Vec<Button>,
}

/// A button of a card: its label and what pressing it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Button {
    /// 1 to 20 characters.
    pub label: String,
    pub action: ButtonAction,
}

/// What a button does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ButtonAction {
    /// Opens `url` (`http` or `https`, at most 2 KiB) in a new tab.
    Link { url: String },
    /// Sends the customer's answer back into the conversation, carrying `payload` (1 to 256
    /// bytes) for a bot or an agent to act on.
    Postback { payload: String },
}

/// A customer's answer to a postback button: the button's payload, and its label (which is
/// also the message's text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Postback {
    pub payload: String,
    pub label: String,
}

/// Why a rich message (or a postback) was refused. Each names the field and the bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RichError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {limit} {unit}, got {got}")]
    TooLong {
        field: &'static str,
        limit: usize,
        got: usize,
        unit: &'static str,
    },
    #[error("a card has at most {MAX_BUTTONS} buttons, got {got}")]
    TooManyButtons { got: usize },
    #[error(
        "a carousel has {MIN_CAROUSEL_CARDS} to {MAX_CAROUSEL_CARDS} cards, got {got} \
         (one card is sent as type card)"
    )]
    CarouselSize { got: usize },
    #[error("{field} must be {allowed} URL")]
    Scheme {
        field: &'static str,
        allowed: &'static str,
    },
    #[error("the postback matches no button offered in this conversation")]
    UnknownPostback,
}

impl Rich {
    /// The cards, one or several.
    pub fn cards(&self) -> &[Card] {
        match self {
            Rich::Card { card } => std::slice::from_ref(card),
            Rich::Carousel { cards } => cards,
        }
    }

    /// Checks every bound; the first one broken is the answer.
    pub fn validate(&self) -> Result<(), RichError> {
        if let Rich::Carousel { cards } = self {
            if !(MIN_CAROUSEL_CARDS..=MAX_CAROUSEL_CARDS).contains(&cards.len()) {
                return Err(RichError::CarouselSize { got: cards.len() });
            }
        }
        self.cards().iter().try_for_each(Card::validate)
    }

    /// The label of the postback button carrying `payload`, if this content has one.
    pub fn postback_label(&self, payload: &str) -> Option<&str> {
        self.cards()
            .iter()
            .flat_map(|c| &c.buttons)
            .find_map(|b| match &b.action {
                ButtonAction::Postback { payload: p } if p == payload => Some(b.label.as_str()),
                _ => None,
            })
    }
}

impl Card {
    fn validate(&self) -> Result<(), RichError> {
        chars("card title", &self.title, MAX_TITLE_CHARS)?;
        if let Some(text) = &self.text {
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(too_long("card text", MAX_TEXT_CHARS, text.chars().count()));
            }
        }
        if let Some(image) = &self.image {
            web_url("card image", image, &["https"], "an https")?;
        }
        if self.buttons.len() > MAX_BUTTONS {
            return Err(RichError::TooManyButtons {
                got: self.buttons.len(),
            });
        }
        self.buttons.iter().try_for_each(Button::validate)
    }
}

impl Button {
    fn validate(&self) -> Result<(), RichError> {
        chars("button label", &self.label, MAX_LABEL_CHARS)?;
        match &self.action {
            ButtonAction::Link { url } => {
                web_url("button link", url, &["http", "https"], "an http or https")
            }
            ButtonAction::Postback { payload } => payload_bounds(payload),
        }
    }
}

impl Postback {
    /// Checks the bounds a postback button's label and payload have.
    pub fn validate(&self) -> Result<(), RichError> {
        payload_bounds(&self.payload)?;
        chars("postback label", &self.label, MAX_LABEL_CHARS)
    }
}

/// The payload of a postback: 1 to 256 bytes.
pub fn payload_bounds(payload: &str) -> Result<(), RichError> {
    if payload.is_empty() {
        return Err(RichError::Empty {
            field: "postback payload",
        });
    }
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(RichError::TooLong {
            field: "postback payload",
            limit: MAX_PAYLOAD_BYTES,
            got: payload.len(),
            unit: "bytes",
        });
    }
    Ok(())
}

fn too_long(field: &'static str, limit: usize, got: usize) -> RichError {
    RichError::TooLong {
        field,
        limit,
        got,
        unit: "characters",
    }
}

/// A required text of 1 to `limit` characters, not all blank.
fn chars(field: &'static str, text: &str, limit: usize) -> Result<(), RichError> {
    if text.trim().is_empty() {
        return Err(RichError::Empty { field });
    }
    let got = text.chars().count();
    if got > limit {
        return Err(too_long(field, limit, got));
    }
    Ok(())
}

/// An absolute URL with one of `schemes` and a host, at most 2 KiB, with no blank or control
/// character (which browsers strip, so the URL stored would not be the URL followed).
fn web_url(
    field: &'static str,
    url: &str,
    schemes: &[&str],
    allowed: &'static str,
) -> Result<(), RichError> {
    if url.len() > MAX_URL_BYTES {
        return Err(RichError::TooLong {
            field,
            limit: MAX_URL_BYTES,
            got: url.len(),
            unit: "bytes",
        });
    }
    let refused = RichError::Scheme { field, allowed };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refused);
    }
    match reqwest::Url::parse(url) {
        Ok(parsed) if schemes.contains(&parsed.scheme()) && parsed.host_str().is_some() => Ok(()),
        _ => Err(refused),
    }
}

#[cfg(test)]
#[path = "rich_tests.rs"]
mod tests;
