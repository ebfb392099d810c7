//! Co-browse offers. Observed on the old relay: an offer's token was handed to anyone who asked
//! for a conversation's offers with a plausible `Origin` (no credential at all, and anyone can
//! send any `Origin`), and an offer made for one site was claimed through another site's
//! customer socket.

use anyhow::{bail, Context, Result};
use e2e::Relay;
use futures_util::{SinkExt, StreamExt};
use protocol::{ErrorCode, Frame, Hello, Limits, Message, Pairing, Role, PROTOCOL_VERSION};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Message as Ws};

use super::support::{client_from, sign_in};

/// A widget guest of the demo site that wrote once: its token and its conversation.
async fn guest_conversation(relay: &Relay, http: &reqwest::Client) -> Result<(String, String)> {
    let (conversation, guest) = relay.guest_conversation(http).await?;
    Ok((guest, conversation))
}

/// The agent offers co-browse into `conversation`; the offer's token.
async fn offer(relay: &Relay, http: &reqwest::Client, conversation: &str) -> Result<String> {
    let token = sign_in(relay, http).await?;
    // Only the conversation's own agent offers co-browse in it.
    relay.take(conversation, &token).await?;
    let offer: Value = http
        .post(relay.url("/api/cobrowse/offers"))
        .bearer_auth(&token)
        .json(&json!({"conversation_id": conversation, "interaction": "web_messaging"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(offer["offer_token"]
        .as_str()
        .context("an offer token")?
        .to_owned())
}

/// What the relay answered a customer socket presenting an offer.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Paired,
    Refused(ErrorCode),
}

/// A customer's page on `site`, served from `origin`, presenting offer `token`.
async fn claim(relay: &Relay, site: &str, origin: &str, token: &str) -> Result<Answer> {
    let url = format!(
        "{}/ws/customer?site={site}",
        relay.base.replacen("http", "ws", 1)
    );
    let mut req = url.into_client_request()?;
    req.headers_mut()
        .insert("origin", HeaderValue::from_str(origin)?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    let hello = Message::Hello(Hello {
        version: PROTOCOL_VERSION,
        role: Role::Customer,
        site: site.to_owned(),
        pairing: Pairing::OfferToken(token.to_owned()),
    });
    ws.send(Ws::Binary(Frame::new(0, hello).encode()?.into()))
        .await?;
    while let Some(item) = ws.next().await {
        let Ws::Binary(bytes) = item? else { continue };
        match Frame::decode(&bytes, &Limits::default())?.message {
            Message::Welcome(_) => return Ok(Answer::Paired),
            Message::Error(e) => return Ok(Answer::Refused(e.code)),
            _ => {}
        }
    }
    bail!("closed without an answer")
}

#[tokio::test]
async fn a_forged_origin_without_the_guest_token_gets_no_offer_token() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    let http = client_from(0, 31, 1);
    let (_, conversation) = guest_conversation(&relay, &http).await?;
    let token = offer(&relay, &http, &conversation).await?;
    // Someone who knows (or guesses) the conversation id asks, claiming the site's origin.
    let response = client_from(0, 31, 2)
        .get(relay.url(&format!(
            "/api/cobrowse/offers?conversation={conversation}&site=demo"
        )))
        .header("origin", &relay.base)
        .send()
        .await?;
    let status = response.status().as_u16();
    let body = response.text().await?;
    assert!(
        !body.contains(&token),
        "the offer's token went to a request without the guest's token ({status}): {body}"
    );
    assert_eq!(status, 401, "{body}");
    Ok(())
}

#[tokio::test]
async fn an_offer_for_one_site_is_not_claimed_through_another_site_s_socket() -> Result<()> {
    let relay = Relay::start(&[]).await?;
    relay
        .cli(&["site", "add", "other", "--origin", "http://other.test"])
        .await?;
    let http = client_from(0, 31, 3);
    let (guest, conversation) = guest_conversation(&relay, &http).await?;
    let made = offer(&relay, &http, &conversation).await?;
    // The guest's widget on the demo site finds the offer: from now on it is the demo site's.
    let pending: Value = http
        .get(relay.url(&format!(
            "/api/cobrowse/offers?conversation={conversation}&site=demo"
        )))
        .header("origin", &relay.base)
        .header("x-guest-token", &guest)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = pending["offers"][0]["offer_token"]
        .as_str()
        .context("the widget sees the offer")?;
    assert_eq!(token, made);

    assert_eq!(
        claim(&relay, "other", "http://other.test", token).await?,
        Answer::Refused(ErrorCode::NotAllowed),
        "another site's page claimed the offer"
    );
    // The refusal did not use it up: the demo site's page still pairs with it.
    assert_eq!(
        claim(&relay, "demo", &relay.base, token).await?,
        Answer::Paired
    );
    Ok(())
}
