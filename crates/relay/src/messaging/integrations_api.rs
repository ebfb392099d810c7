//! Open-messaging integrations, as an admin manages them: the list (name, webhook and bot
//! addresses, never a secret) and a new or changed integration. A new integration, or one
//! whose secret is rotated, gets a fresh 256-bit signing secret shown once in the answer; a
//! change that does not rotate keeps the secret the channel signs with. The inbound webhook
//! reads integrations through a one-second memo, so a change applies within a second. Each
//! asks `admin.connectors` before it reads its body or looks anything up.

use axum::{
    extract::{Path, State},
    routing::{get, put},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{model::Integration, queries, state::MsgState};
use crate::{
    accounts::AuthAgent,
    error::ApiError,
    ids::now_ms,
    policy::{Action, Area},
};

const CONNECTORS: Action = Action::Configure(Area::Connectors);
const MAX_URL: usize = 2048;

pub fn routes() -> Router<MsgState> {
    Router::new()
        .route("/api/messaging/integrations", get(list))
        .route("/api/messaging/integrations/{name}", put(save))
}

async fn list(State(s): State<MsgState>, auth: AuthAgent) -> Result<Json<Value>, ApiError> {
    auth.may_platform(CONNECTORS)?;
    let all = s.svc.store.read(queries::integration_list).await?;
    Ok(Json(json!(all)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    webhook_url: String,
    #[serde(default)]
    bot_url: Option<String>,
    /// Issue a new signing secret (the old one stops verifying).
    #[serde(default)]
    rotate_secret: bool,
}

async fn save(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Value>, ApiError> {
    auth.may_platform(CONNECTORS)?;
    let change: Change =
        serde_json::from_value(body).map_err(|e| ApiError::BadRequest(format!("bad body: {e}")))?;
    if !crate::sites::valid_key(&name) {
        return Err(ApiError::BadRequest(
            "an integration's name is 1 to 64 of A-Z a-z 0-9 - _".into(),
        ));
    }
    let webhook_url = checked_url("webhook_url", &change.webhook_url)?;
    let bot_url = change
        .bot_url
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .map(|u| checked_url("bot_url", u))
        .transpose()?;
    let lookup = name.clone();
    let existing = s
        .svc
        .store
        .read(move |db| queries::integration(db, &lookup))
        .await?;
    let issued = match (&existing, change.rotate_secret) {
        (Some(_), false) => None,
        _ => Some(crate::ids::random_hex(32)),
    };
    let integration = Integration {
        name: name.clone(),
        secret: issued
            .clone()
            .or(existing.map(|i| i.secret))
            .unwrap_or_default(),
        webhook_url,
        bot_url,
    };
    let saved = integration.clone();
    s.svc
        .store
        .write(move |db| queries::integration_put(db, &saved, now_ms()))
        .await?;
    tracing::info!(by = auth.id(), integration = %name, rotated = issued.is_some(), "admin saved an integration");
    Ok(Json(json!({
        "integration": integration,
        "inbound": format!("/api/messaging/open/{name}"),
        // Shown once: only a new or rotated secret.
        "secret": issued,
    })))
}

/// An `http` or `https` address of at most 2 KiB.
fn checked_url(field: &str, url: &str) -> Result<String, ApiError> {
    let url = url.trim();
    let parsed = reqwest::Url::parse(url).ok().filter(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some() && url.len() <= MAX_URL
    });
    match parsed {
        Some(_) => Ok(url.to_owned()),
        None => Err(ApiError::BadRequest(format!(
            "{field} must be an http or https address of at most {MAX_URL} bytes"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_addresses_are_webhooks() {
        assert!(checked_url("w", "https://crm.example/hook").is_ok());
        for bad in [
            "",
            "ftp://x.example/",
            "javascript:alert(1)",
            "https://",
            "not a url",
        ] {
            assert!(checked_url("w", bad).is_err(), "{bad:?}");
        }
        assert!(checked_url("w", &format!("https://x.example/{}", "a".repeat(3000))).is_err());
    }
}
