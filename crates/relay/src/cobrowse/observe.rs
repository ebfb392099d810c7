//! A supervisor's view of live co-browse: the list of running sessions to pick one from, and
//! the `/ws/observe` upgrade that joins one as a silent observer (mirror only, never control;
//! see `session::observers` for what an observer receives and what is refused). Both need the
//! `cobrowse.observe` permission, asked before anything is looked up, so a plain agent learns
//! nothing of others' sessions; the upgrade also refuses a full session (409) before opening.

use std::sync::Arc;

use axum::{
    extract::{ws::WebSocketUpgrade, Query, State},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    connection::{serve, Side},
    live::{self, LiveSession},
    state::Cobrowse,
};
use crate::{
    accounts::AuthAgent,
    clients::ClientIp,
    error::{ApiError, ErrorBody},
    policy::{Action, Scope},
};

/// The observer's routes (merged into `api::routes`, which applies the state).
pub fn routes() -> OpenApiRouter<Arc<Cobrowse>> {
    OpenApiRouter::new()
        .routes(routes!(live_sessions))
        .routes(routes!(observe_ws))
}

/// `GET /api/cobrowse/sessions`: every live session of the cluster (paired or waiting), for
/// a supervisor to pick one to observe: this node's, and what the other nodes answer.
#[utoipa::path(
    get,
    path = "/api/cobrowse/sessions",
    tag = "cobrowse",
    summary = "Live co-browse sessions, for a supervisor to pick one to observe (needs \
        cobrowse.observe)",
    description = "Every live session of the cluster, paired or waiting, by id, through \
        any node (each names the node that holds it)",
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The sessions", body = Vec<LiveSession>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs cobrowse.observe", body = ErrorBody),
    )
)]
async fn live_sessions(
    State(cb): State<Arc<Cobrowse>>,
    auth: AuthAgent,
) -> Result<Json<Vec<LiveSession>>, ApiError> {
    auth.may(Action::Observe, Scope::Others, "co-browse sessions")?;
    let mut live = live::here(&cb);
    live.extend(super::remote::rest::live_elsewhere(&cb).await);
    live.sort_by(|a, b| a.view.session_id.cmp(&b.view.session_id));
    Ok(Json(live))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ObserveQuery {
    /// The session to observe; missing, it names none (404 once the permission is held).
    #[serde(default)]
    session: String,
}

/// `GET /ws/observe?session=ID`: a supervisor's console joins session `ID` as a silent
/// observer (first frame: `Hello` with `Pairing::Observe` naming the same session).
#[utoipa::path(
    get,
    path = "/ws/observe",
    tag = "cobrowse",
    summary = "A supervisor's silent observer WebSocket (first frame: Hello with role Agent \
        and Pairing Observe naming the same session): receives what the agent receives, \
        controls nothing",
    description = "A WebSocket upgrade; the permission is asked before the session is looked \
        up, and a full session is refused before the socket opens",
    params(ObserveQuery),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 101, description = "Upgraded"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs cobrowse.observe", body = ErrorBody),
        (status = 404, description = "No such live session", body = ErrorBody),
        (status = 409, description = "The session already has its most observers",
            body = ErrorBody),
        (status = 503, description = "Connection limit reached", body = ErrorBody),
    )
)]
async fn observe_ws(
    State(cb): State<Arc<Cobrowse>>,
    ClientIp(client): ClientIp,
    auth: AuthAgent,
    Query(q): Query<ObserveQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let resource = format!("co-browse {}", q.session);
    // Observing needs the permission whoever's session it is: asked before the lookup.
    auth.may(Action::Observe, Scope::Others, &resource)?;
    let observers = match cb.registry.get(&q.session) {
        Some(session) if !session.has_ended() => session.observer_count(),
        Some(_) => return Err(ApiError::NotFound),
        // Another node's session: the socket is piped to it once the hello comes.
        None => match super::remote::rest::state(&cb, &q.session).await {
            Some(remote) if remote.view.end_reason.is_none() => remote.view.observers,
            _ => return Err(ApiError::NotFound),
        },
    };
    let max = cb.config.max_observers;
    if observers >= max {
        return Err(ApiError::Conflict(format!(
            "this session already has {max} observers"
        )));
    }
    let permit = cb.streams.open(client)?;
    let side = Side::Observer {
        agent: auth.agent,
        session: q.session.clone(),
    };
    let shared = cb.clone();
    Ok(crate::limits::bounded_websocket(ws, &cb.config)
        .on_upgrade(move |socket| serve(socket, shared, side, permit))
        .into_response())
}
