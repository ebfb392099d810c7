//! Telephony connectors, as an admin manages them: the list (names and when each was made,
//! never a token), a new connector or a new token for one (shown once in the answer; only its
//! hash is stored), and removing one (its token stops working at once: every connector request
//! looks its token up in the store). Each asks `admin.connectors` before it looks anything up.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

use super::{service::persist, state::RoutingState};
use crate::{
    accounts::AuthAgent,
    error::ApiError,
    policy::{Action, Area},
};

const CONNECTORS: Action = Action::Configure(Area::Connectors);

/// The connector routes, for `routing::api::routes` to merge.
pub fn routes() -> Router<RoutingState> {
    Router::new()
        .route("/api/routing/connectors", get(list))
        .route("/api/routing/connectors/{name}", post(issue).delete(remove))
}

async fn list(State(s): State<RoutingState>, auth: AuthAgent) -> Result<Json<Value>, ApiError> {
    auth.may_platform(CONNECTORS)?;
    let all = s.store.read(persist::connector_list).await?;
    Ok(Json(json!(all
        .into_iter()
        .map(|(name, created_at)| json!({ "name": name, "created_at": created_at }))
        .collect::<Vec<_>>())))
}

/// `POST /api/routing/connectors/{name}`: creates the connector, or gives it a new token (the
/// old one stops working); the token is in this answer only.
async fn issue(
    State(s): State<RoutingState>,
    auth: AuthAgent,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    Ok((
        StatusCode::CREATED,
        Json(json!({ "name": name, "token": token })),
    ))
}

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
