//! Telephony connectors, as an admin manages them: the list (names and when each was made,
//! never a token), a new connector or a new token for one (shown once in the answer; only its
//! hash is stored), and removing one (its token stops working at once: every connector request
//! looks its token up in the store). Each asks `admin.connectors` before it looks anything up.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{service::persist, state::RoutingState};
use crate::{
    accounts::AuthAgent,
    error::ApiError,
    policy::{Action, Area},
};

const CONNECTORS: Action = Action::Configure(Area::Connectors);

/// The connector routes, documented, for `routing::api::routes` to merge.
pub fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::default()
        .routes(routes!(list))
        .routes(routes!(issue, remove))
}

/// A telephony connector as listed (never its token).
#[derive(Serialize, ToSchema)]
struct ConnectorListed {
    name: String,
    /// When it was made (ms since the Unix epoch).
    created_at: i64,
}

/// Every telephony connector: name, created_at (never a token)
#[utoipa::path(get, path = "/api/routing/connectors", tag = "routing",
    operation_id = "connectors_list",
    responses(
        (status = 200, body = [ConnectorListed], description = "The connectors"),
        (status = 403, description = "Needs the admin role (the answer names admin.people, \
            admin.sites or admin.connectors)"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn list(
    State(s): State<RoutingState>,
    auth: AuthAgent,
) -> Result<Json<Vec<ConnectorListed>>, ApiError> {
    auth.may_platform(CONNECTORS)?;
    let all = s.store.read(persist::connector_list).await?;
    Ok(Json(
        all.into_iter()
            .map(|(name, created_at)| ConnectorListed { name, created_at })
            .collect(),
    ))
}

/// A connector's new token, shown once.
#[derive(Serialize, ToSchema)]
struct ConnectorIssued {
    name: String,
    /// `Authorization: Bearer <token>` for the connector API; only its hash is stored.
    token: String,
}

/// Create a connector or give it a new token
///
/// Create a connector or give it a new token (the old one stops working); the token is in this
/// answer only
#[utoipa::path(post, path = "/api/routing/connectors/{name}", tag = "routing",
    operation_id = "connector_issue",
    params(("name" = String, Path, description = "1 to 64 of A-Z a-z 0-9 - _")),
    responses(
        (status = 201, body = ConnectorIssued, description = "{name, token}"),
        (status = 400, description = "Bad name"),
        (status = 403, description = "Needs the admin role (the answer names admin.people, \
            admin.sites or admin.connectors)"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn issue(
    State(s): State<RoutingState>,
    auth: AuthAgent,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<ConnectorIssued>), ApiError> {
    auth.may_platform(CONNECTORS)?;
    if !crate::sites::valid_key(&name) {
        return Err(ApiError::BadRequest(
            "a connector's name is 1 to 64 of A-Z a-z 0-9 - _".into(),
        ));
    }
    let who = name.clone();
    let token = s
        .store
        .write(move |db| persist::connector_add(db, &who))
        .await?;
    tracing::info!(by = auth.id(), connector = %name, "admin issued a connector token");
    Ok((StatusCode::CREATED, Json(ConnectorIssued { name, token })))
}

/// Remove a connector: its token stops working at once
#[utoipa::path(delete, path = "/api/routing/connectors/{name}", tag = "routing",
    operation_id = "connector_remove",
    params(("name" = String, Path, description = "The connector")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Needs the admin role (the answer names admin.people, \
            admin.sites or admin.connectors)"),
        (status = 404, description = "No such connector"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn remove(
    State(s): State<RoutingState>,
    auth: AuthAgent,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    auth.may_platform(CONNECTORS)?;
    let who = name.clone();
    let removed = s
        .store
        .write(move |db| persist::connector_remove(db, &who))
        .await?;
    if !removed {
        return Err(ApiError::Unknown(format!("no connector is named {name:?}")));
    }
    tracing::info!(by = auth.id(), connector = %name, "admin removed a connector");
    Ok(StatusCode::NO_CONTENT)
}
