//! Bots: an integration may name a bot webhook that sees a new conversation first. It is sent
//! each customer message while the conversation is in the bot's hands, signed like any
//! delivery, and answers either `{"action":"reply","text":..,"quick_replies":[..],"rich":..}`
//! (`rich` a card or carousel, see `rich`) or `{"action":"handoff","reason":..,"data":{..}}`.
//! The message it is sent carries `postback` {payload, label} when the customer pressed one
//! of its cards' buttons, so a flow can branch on the payload. A bot that fails or answers
//! nonsense (a card out of its bounds included) hands off, so no customer is left with nobody.

use std::sync::Arc;

use serde::Deserialize;

use tokio::sync::mpsc;
use tracing::Instrument;

use super::{model::*, queries, wire, Messaging};
use crate::ids::random_hex;

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum BotAnswer {
    Reply {
        #[serde(default)]
        text: String,
        #[serde(default)]
        quick_replies: Vec<String>,
        /// A card or a carousel (`rich::Rich`'s shape); one out of its bounds hands off.
        #[serde(default)]
        rich: Option<Rich>,
    },
    Handoff {
        #[serde(default)]
        reason: String,
        #[serde(default)]
        data: serde_json::Value,
    },
}

/// The bot worker: each customer message in a bot's conversation is asked about in a task of
/// its own, so one slow bot delays no other conversation. Runs for the life of the relay.
pub async fn run(svc: Arc<Messaging>, mut turns: mpsc::Receiver<Ingested>) {
    while let Some(ingested) = turns.recv().await {
        let span = tracing::info_span!("bot_turn", conversation = %ingested.conversation.id);
        tokio::spawn(turn(svc.clone(), ingested).instrument(span));
    }
}

/// Asks the bot about `ingested` and carries out its answer.
async fn turn(svc: Arc<Messaging>, ingested: Ingested) {
    let conversation = ingested.conversation.id.clone();
    let answer = ask(&svc, &ingested)
        .await
        .and_then(|(bot, answer)| match &answer {
            BotAnswer::Reply { rich: Some(r), .. } => match r.validate() {
                Ok(()) => Ok((bot, answer)),
                Err(e) => Err(format!("an invalid card: {e}")),
            },
            BotAnswer::Reply { text, .. } if text.trim().is_empty() => Err("an empty reply".into()),
            _ => Ok((bot, answer)),
        });
    let result = match answer {
        Ok((
            bot,
            BotAnswer::Reply {
                text,
                quick_replies,
                rich,
            },
        )) => svc
            .send(Outgoing {
                conversation_id: conversation.clone(),
                author: Author::Bot,
                author_id: Some(bot),
                text,
                attachments: vec![],
                quick_replies,
                rich,
            })
            .await
            .map(drop),
        Ok((_, BotAnswer::Handoff { reason, data })) => {
            svc.hand_off(&conversation, &reason, data).await
        }
        Err(why) => {
            tracing::warn!(%why, "bot unavailable; handing off");
            svc.hand_off(&conversation, "bot unavailable", serde_json::json!({}))
                .await
        }
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "bot turn");
    }
}

async fn ask(svc: &Messaging, ingested: &Ingested) -> Result<(String, BotAnswer), String> {
    let name = ingested
        .conversation
        .channel
        .strip_prefix(wire::CHANNEL_PREFIX)
        .ok_or("not an integration conversation")?
        .to_owned();
    let integration = svc
        .store
        .read(move |db| queries::integration(db, &name))
        .await
        .map_err(|e| e.to_string())?
        .ok_or("integration removed")?;
    let url = integration.bot_url.clone().ok_or("no bot")?;
    let body = serde_json::json!({
        "conversation": ingested.conversation,
        "message": ingested.message,
    })
    .to_string();
    let response = wire::post_signed(
        &svc.http,
        &url,
        &integration.secret,
        &random_hex(12),
        body,
        svc.config.bot_timeout,
    )
    .await?;
    let answer = response
        .json::<BotAnswer>()
        .await
        .map_err(|e| format!("bot answer: {e}"))?;
    Ok((integration.name, answer))
}
