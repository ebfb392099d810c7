//! Supervisors over HTTP: assign or force-assign an interaction to a chosen agent, set a
//! stuck agent's state, sign it out, and the wallboard as a server-sent event stream.
//!
//! Every handler asks the policy before it reads a body or looks anything up, so a refusal
//! tells a hostile caller nothing about which agents or interactions exist. What the engine
//! refuses (the agent is not signed in, has no room without force, already holds it) is a
//! 409; an unknown agent or interaction is a 404. Each order is journaled by the switchboard
//! (`supervisor_assign` with `forced=...`, `supervisor_presence`, `supervisor_sign_out`).
//!
//! The wallboard stream is the supervisor's own push channel: a supervisor-only person holds
//! no agent role, so it cannot open `/ws/desk`. It sends the board at once, then whenever the
//! routing task republishes it (a `watch`: coalesced to the latest, at most every
//! `publish_every`, every second while anything waits), with the relay's `at_ms` so the page
//! counts times in state on from `status_since_ms` by itself.

use std::convert::Infallible;

use axum::{
    extract::{Path, State},
    response::{
        sse::{Event as SseEvent, KeepAlive, Sse},
        IntoResponse, Response,
    },
    Json,
};
use futures_util::Stream;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::service::live::{parse_presence, presence_schema, DeskView, Realtime};
use super::service::{Order, ServiceError};
use super::state::RoutingState;
use super::Presence;
use crate::{
    accounts::{self, revoked, AuthAgent},
    clients::ClientIp,
    error::ApiError,
    policy::{Action as May, Scope},
};

type Result<T> = std::result::Result<T, ApiError>;

/// The supervisor routes, documented, for `routing::api::routes` to merge.
pub fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::default()
        .routes(routes!(assign))
        .routes(routes!(set_state))
        .routes(routes!(sign_out))
        .routes(routes!(wallboard_stream))
}

/// A body read only once the policy allowed the request.
fn body<T: DeserializeOwned>(value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| ApiError::BadRequest(format!("bad body: {e}")))
}

/// The store id of the agent called `name` (404 when there is none).
async fn agent_named(s: &RoutingState, name: &str) -> Result<String> {
    let lookup = name.to_owned();
    let found = s
        .store
        .read(move |db| accounts::agent_credentials(db, &lookup))
        .await?;
    found
        .map(|c| c.agent.id)
        .ok_or_else(|| ApiError::Unknown(format!("no agent named {name:?}")))
}

/// A refusal of the routing service, with "not signed in" said of the agent, not the caller.
fn refused(e: ServiceError, name: &str) -> ApiError {
    match e {
        ServiceError::NotSignedIn => {
            ApiError::Conflict(format!("{name} is not signed in to routing"))
        }
        other => other.into(),
    }
}

#[derive(Deserialize, ToSchema)]
struct AssignBody {
    /// The agent's name.
    agent: String,
    /// Go above the agent's room if need be (needs the force-assign action).
    #[serde(default)]
    force: bool,
}

/// What an assignment did.
#[derive(Serialize, ToSchema)]
struct Assigned {
    interaction: String,
    /// The agent's name.
    agent: String,
    /// It went above the agent's room.
    forced: bool,
}

/// Supervisor: assign an interaction to a chosen agent
///
/// Supervisor: put a waiting, offered, connected or parked interaction on a chosen agent, connected
/// at once (another agent's: a transfer); force goes above the agent's room and is journaled as
/// forced
///
/// The agent's desk socket shows it with the next push.
#[utoipa::path(post, path = "/api/routing/interactions/{id}/assign", tag = "routing",
    operation_id = "interaction_assign",
    params(("id" = String, Path, description = "The interaction")),
    request_body = AssignBody,
    responses(
        (status = 200, body = Assigned, description = "{interaction, agent, forced}"),
        (status = 400, description = "Bad body"),
        (status = 403, description = "work.assign_any missing"),
        (status = 404, description = "No such interaction or agent"),
        (status = 409, description = "Agent not signed in, no room without force, already \
            holds it, or in wrap-up"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn assign(
    State(s): State<RoutingState>,
    auth: AuthAgent,
    Path(id): Path<String>,
    Json(raw): Json<Value>,
) -> Result<Json<Assigned>> {
    let force = raw.get("force").and_then(Value::as_bool).unwrap_or(false);
    let action = if force { May::ForceAssign } else { May::Assign };
    // Work put on a chosen agent's desk is that agent's, even when it leaves one's own hands:
    // never `Own`, so an agent cannot push its work onto a colleague without an offer.
    auth.may(action, Scope::Others, &format!("interaction {id}"))?;
    let AssignBody { agent, force } = body(raw)?;
    let agent_id = agent_named(&s, &agent).await?;
    let order = Order::Assign {
        interaction: id.clone(),
        agent: agent_id,
        force,
    };
    let forced =
        (s.routing.supervise(&auth.agent.id, order).await).map_err(|e| refused(e, &agent))?;
    Ok(Json(Assigned {
        interaction: id,
        agent,
        forced,
    }))
}

#[derive(Deserialize, ToSchema)]
struct StateBody {
    /// `available`, `busy`, `away` or `offline` (signs out).
    #[schema(schema_with = presence_schema)]
    state: String,
}

/// Sets `name`'s presence as a supervisor; answers that agent's desk.
async fn manage(
    s: &RoutingState,
    auth: &AuthAgent,
    name: &str,
    presence: Presence,
) -> Result<Json<DeskView>> {
    let agent_id = agent_named(s, name).await?;
    let order = Order::SetPresence {
        agent: agent_id.clone(),
        presence,
    };
    (s.routing.supervise(&auth.agent.id, order).await).map_err(|e| refused(e, name))?;
    Ok(Json(s.routing.desk(&agent_id).await?))
}

/// Another agent is `Others` (agents.manage); oneself is one's own desk.
fn may_manage(auth: &AuthAgent, name: &str) -> Result<()> {
    let scope = if name == auth.agent.name {
        Scope::Own
    } else {
        Scope::Others
    };
    auth.may(May::ManageAgent, scope, &format!("agent {name}"))
}

/// Supervisor: set a signed-in agent's state (available, busy, away; offline signs out)
#[utoipa::path(put, path = "/api/routing/agents/{name}/state", tag = "routing",
    operation_id = "agent_set_state",
    params(("name" = String, Path, description = "The agent's name")),
    request_body = StateBody,
    responses(
        (status = 200, body = DeskView, description = "The agent's desk"),
        (status = 400, description = "Unknown state"),
        (status = 403, description = "agents.manage missing"),
        (status = 404, description = "No such agent"),
        (status = 409, description = "Not signed in to routing"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn set_state(
    State(s): State<RoutingState>,
    auth: AuthAgent,
    Path(name): Path<String>,
    Json(raw): Json<Value>,
) -> Result<Json<DeskView>> {
    may_manage(&auth, &name)?;
    let StateBody { state } = body(raw)?;
    let presence = parse_presence(&state)
        .ok_or_else(|| ApiError::BadRequest("state is available, busy, away or offline".into()))?;
    manage(&s, &auth, &name, presence).await
}

/// Supervisor: sign an agent out of routing; its offers and work wait in their queues again
///
/// Nothing is lost; its wrap-up ends without a code.
#[utoipa::path(post, path = "/api/routing/agents/{name}/sign-out", tag = "routing",
    operation_id = "agent_sign_out",
    params(("name" = String, Path, description = "The agent's name")),
    responses(
        (status = 200, body = DeskView, description = "The agent's desk (offline)"),
        (status = 403, description = "agents.manage missing"),
        (status = 404, description = "No such agent"),
        (status = 409, description = "Not signed in to routing"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn sign_out(
    State(s): State<RoutingState>,
    auth: AuthAgent,
    Path(name): Path<String>,
) -> Result<Json<DeskView>> {
    may_manage(&auth, &name)?;
    manage(&s, &auth, &name, Presence::Offline).await
}

/// Supervisor: the wallboard as server-sent events
///
/// Supervisor: the wallboard as server-sent events named wallboard (the whole board at once, then
/// on every change, coalesced): queues with waiting, longest wait, service level over the last 15
/// minutes, waiting interactions; agents with state, status_since_ms and current work
///
/// Each event's data is one whole board (`Realtime`). Holds one of the client address's
/// stream places while open.
#[utoipa::path(get, path = "/api/routing/wallboard/stream", tag = "routing",
    operation_id = "wallboard_stream",
    responses(
        (status = 200, content_type = "text/event-stream", body = Realtime,
            description = "text/event-stream"),
        (status = 403, description = "wallboard.view missing"),
        (status = 429, description = "This address holds as many streams as it may"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn wallboard_stream(
    State(s): State<RoutingState>,
    ClientIp(client): ClientIp,
    auth: AuthAgent,
) -> Result<Response> {
    auth.may_platform(May::Wallboard)?;
    let permit = s.streams.open(client)?;
    let hold = Some(s.accounts.hold(&auth.agent.id));
    Ok(board_events(&s, permit, hold).into_response())
}

fn board_event(board: &Realtime) -> SseEvent {
    SseEvent::default()
        .event("wallboard")
        .json_data(board)
        .unwrap_or_else(|_| SseEvent::default().comment("unserializable"))
}

fn board_events(
    s: &RoutingState,
    permit: crate::limits::StreamPermit,
    hold: Option<accounts::Hold>,
) -> Sse<impl Stream<Item = std::result::Result<SseEvent, Infallible>>> {
    let mut board = s.routing.realtime();
    // The first event is the board as it is now.
    board.mark_changed();
    let mut shutdown = s.shutdown.clone();
    let stream = futures_util::stream::unfold((board, permit), |(mut board, permit)| async move {
        // An error means the routing task is gone: the relay is stopping.
        board.changed().await.ok()?;
        let event = board_event(&board.borrow_and_update());
        Some((Ok(event), (board, permit)))
    });
    // The stream ends at shutdown, or when its person is disabled.
    let stop = async move {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => {}
            () = revoked(hold) => {}
        }
    };
    Sse::new(futures_util::StreamExt::take_until(stream, stop)).keep_alive(KeepAlive::default())
}
