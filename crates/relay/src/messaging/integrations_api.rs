//! Open-messaging integrations, as an admin manages them: the list (name, webhook and bot
//! addresses, never a secret) and a new or changed integration. A new integration, or one
//! whose secret is rotated, gets a fresh 256-bit signing secret shown once in the answer; a
//! change that does not rotate keeps the secret the channel signs with. The inbound webhook
//! reads integrations through a one-second memo, so a change applies within a second. Each
//! asks `admin.connectors` before it reads its body or looks anything up.

use axum::{
    extract::{Path, State},
    Json,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{model::Integration, queries, state::MsgState};
use crate::{
    accounts::AuthAgent,
    error::ApiError,
    ids::now_ms,
    policy::{Action, Area},
};

const CONNECTORS: Action = Action::Configure(Area::Connectors);
const MAX_URL: usize = 2048;

/// The integration routes, documented (their state is applied by `routes`).
pub fn routes() -> OpenApiRouter<MsgState> {
    OpenApiRouter::default()
        .routes(routes!(list))
        .routes(routes!(save))
}

/// Every open-messaging integration: name, webhook_url, bot_url (never a secret)
#[utoipa::path(get, path = "/api/messaging/integrations", tag = "messaging",
    operation_id = "integrations_list",
    responses(
        (status = 200, body = [Integration], description = "The integrations"),
        (status = 403, description = "Needs the admin role (the answer names admin.people, \
            admin.sites or admin.connectors)"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn list(
    State(s): State<MsgState>,
    auth: AuthAgent,
) -> Result<Json<Vec<Integration>>, ApiError> {
    auth.may_platform(CONNECTORS)?;
    Ok(Json(s.svc.store.read(queries::integration_list).await?))
}

/// A new or changed integration (unknown fields are refused).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct IntegrationChange {
    /// Where the relay delivers agent and bot messages (`http` or `https`, at most 2 KiB).
    webhook_url: String,
    /// The bot's webhook, if a bot answers first.
    #[serde(default)]
    bot_url: Option<String>,
    /// Issue a new signing secret (the old one stops verifying).
    #[serde(default)]
    rotate_secret: bool,
}

/// An integration as saved.
#[derive(Serialize, ToSchema)]
struct IntegrationSaved {
    integration: Integration,
    /// The inbound webhook the channel posts to.
    inbound: String,
    /// The signing secret: only for a new or rotated one (shown once), else `null`.
    secret: Option<String>,
}

/// Create or change an open-messaging integration
///
/// Create or change an integration; a new one, or rotate_secret, gets a fresh signing secret shown
/// once
#[utoipa::path(put, path = "/api/messaging/integrations/{name}", tag = "messaging",
    operation_id = "integration_save",
    params(("name" = String, Path, description = "1 to 64 of A-Z a-z 0-9 - _")),
    request_body = IntegrationChange,
    responses(
        (status = 200, body = IntegrationSaved, description = "{integration, inbound, secret (new or \
            rotated only)}"),
        (status = 400, description = "Bad name or address"),
        (status = 403, description = "Needs the admin role (the answer names admin.people, \
            admin.sites or admin.connectors)"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn save(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<IntegrationSaved>, ApiError> {
    auth.may_platform(CONNECTORS)?;
    let change: IntegrationChange =
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
    Ok(Json(IntegrationSaved {
        integration,
        inbound: format!("/api/messaging/open/{name}"),
        // Shown once: only a new or rotated secret.
        secret: issued,
    }))
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
