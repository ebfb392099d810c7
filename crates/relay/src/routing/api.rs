//! Routing over HTTP: the agent desk (presence, offers, actions, `/ws/desk` pushes) and the
//! supervisor endpoints (queues, agent profiles, the real-time board); `routes` adds the
//! telephony connector API (`telephony_api`), supervisors' orders (`supervise_api`) and the
//! connectors' administration (`connectors_api`). Every handler is documented for the
//! OpenAPI description.

use axum::{
    extract::{
        ws::{close_code, CloseFrame, Message, WebSocket},
        Path, State, WebSocketUpgrade,
    },
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::service::live::{parse_presence, presence_schema, DeskView, Realtime};
use super::service::persist::{self, ProfileSpec, QueueSpec, SpecError};
use super::service::{Action, ServiceError, Target};
use super::RoutingError;
use crate::{
    accounts::{self, AuthAgent},
    clients::ClientIp,
    error::ApiError,
    limits::{bounded_websocket, StreamPermit},
    policy::{Action as May, Area, Role, Scope},
};

/// What a refused routing command means to a REST client.
impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let text = e.to_string();
        match e {
            ServiceError::Spec(_) => ApiError::BadRequest(text),
            ServiceError::UnknownInteraction(_) => ApiError::Unknown(text),
            ServiceError::NotYours(_) => ApiError::Forbidden(text),
            ServiceError::Stopped => ApiError::Unavailable(text),
            ServiceError::Routing(
                RoutingError::ProficiencyOutOfRange { .. }
                | RoutingError::RingsOutOfOrder { .. }
                | RoutingError::UnknownQueue { .. }
                | RoutingError::MemberOfUnknownQueue { .. },
            ) => ApiError::BadRequest(text),
            _ => ApiError::Conflict(text),
        }
    }
}

impl From<SpecError> for ApiError {
    fn from(e: SpecError) -> Self {
        ServiceError::Spec(e).into()
    }
}

type Result<T> = std::result::Result<T, ApiError>;

pub use super::state::RoutingState;

/// Every routing route (desks, supervisors, the telephony connector API, `/ws/desk`),
/// documented, with its state applied.
pub fn routes(state: RoutingState) -> OpenApiRouter {
    OpenApiRouter::default()
        .routes(routes!(desk))
        .routes(routes!(presence))
        .routes(routes!(act))
        .routes(routes!(queues, define_queue))
        .routes(routes!(load_profile, save_profile))
        .routes(routes!(realtime))
        .routes(routes!(desk_ws))
        .merge(super::telephony_api::routes())
        .merge(super::supervise_api::routes())
        .merge(super::connectors_api::routes())
        .with_state(state)
}

/// A desk, presence and actions are one's own work: they need the agent role.
fn own_work(auth: &AuthAgent, action: May, resource: &str) -> Result<()> {
    auth.may(action, Scope::Own, resource)
}

/// The signed-in agent's desk (also pushed on /ws/desk after every change)
#[utoipa::path(get, path = "/api/routing/desk", tag = "routing",
    operation_id = "desk",
    responses(
        (status = 200, body = DeskView, description = "The agent's desk: {type: desk, agent_id, \
            presence, status, status_since_ms, now_ms, work: [{interaction, media, queue, \
            state: offered|connected|parked|wrap_up, offer_reason, expires_at_ms, parked_by, \
            wrap_up_codes, wrap_up_deadline_ms}]}"),
        (status = 400, description = "Bad request"),
        (status = 401, description = "Not signed in"),
        (status = 403, description = "Not the owner"),
        (status = 404, description = "Not being routed"),
        (status = 409, description = "Refused by the routing rules in this state"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn desk(State(s): State<RoutingState>, auth: AuthAgent) -> Result<Json<DeskView>> {
    own_work(&auth, May::Desk, "desk")?;
    Ok(Json(s.routing.desk(&auth.agent.id).await?))
}

#[derive(Deserialize, ToSchema)]
struct PresenceBody {
    /// `available`, `busy`, `away` or `offline` (signs out).
    #[schema(schema_with = presence_schema)]
    presence: String,
}

/// Set the agent's presence
///
/// Sign in to routing with the stored profile and set presence (available, busy, away; offline
/// signs out and requeues work)
#[utoipa::path(post, path = "/api/routing/presence", tag = "routing",
    operation_id = "desk_presence",
    request_body = PresenceBody,
    responses(
        (status = 200, body = DeskView, description = "The agent's desk"),
        (status = 400, description = "Bad request"),
        (status = 401, description = "Not signed in"),
        (status = 403, description = "Not the owner"),
        (status = 404, description = "Not being routed"),
        (status = 409, description = "Refused by the routing rules in this state"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn presence(
    State(s): State<RoutingState>,
    auth: AuthAgent,
    Json(body): Json<PresenceBody>,
) -> Result<Json<DeskView>> {
    own_work(&auth, May::Desk, "presence")?;
    let presence = parse_presence(&body.presence)
        .ok_or_else(|| ApiError::BadRequest("unknown presence".into()))?;
    let id = auth.agent.id.clone();
    let profile = s
        .store
        .read(move |db| persist::profile_load(db, &id))
        .await?;
    s.routing
        .set_presence(&auth.agent.id, &auth.agent.name, profile, presence)
        .await?;
    Ok(Json(s.routing.desk(&auth.agent.id).await?))
}

#[derive(Deserialize, Default, ToSchema)]
struct ActBody {
    /// The wrap-up code (for `wrap-up`).
    code: Option<String>,
    /// Transfer to this agent (by name).
    agent: Option<String>,
    /// Transfer to this queue (by name).
    queue: Option<String>,
}

async fn agent_id_by_name(s: &RoutingState, name: String) -> Result<String> {
    let found = s
        .store
        .read(move |db| accounts::agent_credentials(db, &name))
        .await?;
    found
        .map(|c| c.agent.id)
        .ok_or_else(|| ApiError::BadRequest("no such agent".into()))
}

/// Act on an offered or owned interaction
///
/// Act on an offered or owned interaction: accept, decline, park, unpark, end, wrap-up ({code}),
/// transfer ({agent} by name or {queue} by name)
#[utoipa::path(post, path = "/api/routing/interactions/{id}/{action}", tag = "routing",
    operation_id = "interaction_act",
    params(
        ("id" = String, Path, description = "The interaction"),
        ("action" = String, Path,
            description = "accept, decline, park, unpark, end, wrap-up or transfer"),
    ),
    request_body(content = Option<ActBody>, description = "For wrap-up and transfer"),
    responses(
        (status = 200, body = DeskView, description = "The agent's desk"),
        (status = 400, description = "Bad request"),
        (status = 401, description = "Not signed in"),
        (status = 403, description = "Not the owner"),
        (status = 404, description = "Not being routed, or no such action"),
        (status = 409, description = "Refused by the routing rules in this state"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn act(
    State(s): State<RoutingState>,
    auth: AuthAgent,
    Path((id, action)): Path<(String, String)>,
    body: Option<Json<ActBody>>,
) -> Result<Json<DeskView>> {
    // The service answers NotYours for someone else's interaction; agents act on their own.
    own_work(&auth, May::Act, &format!("interaction {id}"))?;
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let action = match action.as_str() {
        "accept" => Action::Accept,
        "decline" => Action::Decline,
        "park" => Action::Park,
        "unpark" => Action::Unpark,
        "end" => Action::End,
        "wrap-up" => Action::WrapUp {
            code: body
                .code
                .ok_or_else(|| ApiError::BadRequest("give a code".into()))?,
        },
        "transfer" => match (body.agent, body.queue) {
            (Some(name), None) => {
                Action::Transfer(Target::Agent(agent_id_by_name(&s, name).await?))
            }
            (None, Some(queue)) => Action::Transfer(Target::Queue(queue)),
            _ => return Err(ApiError::BadRequest("give an agent or a queue".into())),
        },
        _ => return Err(ApiError::NotFound),
    };
    s.routing.act(&id, Some(&auth.agent.id), action).await?;
    Ok(Json(s.routing.desk(&auth.agent.id).await?))
}

/// A queue as listed.
#[derive(Serialize, ToSchema)]
struct QueueListed {
    id: u32,
    queue: QueueShown,
}

/// A queue's whole specification, or (to an agent who is neither supervisor nor admin) its
/// name alone.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum QueueShown {
    Spec(QueueSpec),
    /// What an agent's desk needs: the name, and which calls its chats offer.
    Name {
        name: String,
        calls_from_chat: persist::CallsFromChat,
    },
}

/// The defined queues
#[utoipa::path(get, path = "/api/routing/queues", tag = "routing",
    operation_id = "queues_list",
    responses(
        (status = 200, body = [QueueListed], description = "[{id, queue: QueueSpec}]; an \
            agent without the supervisor or admin role sees each queue's name and \
            calls_from_chat alone"),
        (status = 401, description = "Not signed in"),
        (status = 403, description = "Needs wallboard.view or admin.routing"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn queues(State(s): State<RoutingState>, auth: AuthAgent) -> Result<Json<Vec<QueueListed>>> {
    // An agent sees the queues' names (its transfer dialog lists them); their configuration
    // is the wallboard's and the admin's.
    let names_only = auth.has(Role::Agent) && !auth.has(Role::Supervisor) && !auth.has(Role::Admin);
    if auth.has(Role::Admin) {
        auth.may_platform(May::Configure(Area::Routing))?;
    } else if !names_only {
        auth.may_platform(May::Wallboard)?;
    }
    let queues = s.routing.queues().await?;
    Ok(Json(
        queues
            .into_iter()
            .map(|(id, spec)| QueueListed {
                id: id.0,
                queue: match names_only {
                    true => QueueShown::Name {
                        name: spec.name,
                        calls_from_chat: spec.calls_from_chat,
                    },
                    false => QueueShown::Spec(spec),
                },
            })
            .collect(),
    ))
}

/// A queue's id, once stored.
#[derive(Serialize, ToSchema)]
struct QueueDefined {
    id: u32,
}

/// Create or replace a queue by name (stored and applied at once)
#[utoipa::path(post, path = "/api/routing/queues", tag = "routing",
    operation_id = "queue_define",
    request_body = QueueSpec,
    responses(
        (status = 200, body = QueueDefined, description = "{id}"),
        (status = 400, description = "Invalid specification"),
        (status = 403, description = "Needs admin.routing"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn define_queue(
    State(s): State<RoutingState>,
    auth: AuthAgent,
    Json(spec): Json<QueueSpec>,
) -> Result<Json<QueueDefined>> {
    auth.may_platform(May::Configure(Area::Routing))?;
    // Refuse what the engine would refuse before it reaches the database.
    spec.to_config(super::QueueId(0))
        .map_err(ServiceError::from)?;
    let saved = spec.clone();
    let id = s
        .store
        .write(move |db| persist::queue_save(db, &saved))
        .await?;
    s.routing.define_queue(id, spec).await?;
    Ok(Json(QueueDefined { id: id.0 }))
}

/// Save an agent's routing profile
///
/// An agent's routing profile: queues (none: all), skills 1-5, capacity per media; used from its
/// next sign-in
///
/// Checked against the queues, and applied at once to a signed-in agent.
#[utoipa::path(put, path = "/api/routing/agents/{name}/profile", tag = "routing",
    operation_id = "profile_save",
    params(("name" = String, Path, description = "The agent's name")),
    request_body = ProfileSpec,
    responses(
        (status = 200, body = Object, description = "{saved: true}"),
        (status = 400, description = "No such agent"),
        (status = 403, description = "Needs admin.routing"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn save_profile(
    State(s): State<RoutingState>,
    auth: AuthAgent,
    Path(name): Path<String>,
    Json(spec): Json<ProfileSpec>,
) -> Result<Json<serde_json::Value>> {
    auth.may_platform(May::Configure(Area::Routing))?;
    let id = agent_id_by_name(&s, name.clone()).await?;
    s.routing.update_profile(&id, spec.clone()).await?;
    s.store
        .write(move |db| persist::profile_save(db, &name, &spec))
        .await?;
    Ok(Json(json!({ "saved": true })))
}

/// An agent's routing profile as stored (every queue when none is)
#[utoipa::path(get, path = "/api/routing/agents/{name}/profile", tag = "routing",
    operation_id = "profile_get",
    params(("name" = String, Path, description = "The agent's name")),
    responses(
        (status = 200, body = ProfileSpec, description = "{queues, skills, capacity}"),
        (status = 403, description = "Needs admin.routing"),
        (status = 400, description = "No such agent"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn load_profile(
    State(s): State<RoutingState>,
    auth: AuthAgent,
    Path(name): Path<String>,
) -> Result<Json<ProfileSpec>> {
    auth.may_platform(May::Configure(Area::Routing))?;
    let id = agent_id_by_name(&s, name).await?;
    Ok(Json(
        s.store
            .read(move |db| persist::profile_load(db, &id))
            .await?,
    ))
}

/// The real-time board
///
/// Real-time board: per queue waiting, longest_wait_ms, agents_available, agents_busy,
/// offered_today, answered_today; per agent status, time_in_status_ms, active
#[utoipa::path(get, path = "/api/routing/realtime", tag = "routing",
    operation_id = "realtime",
    responses(
        (status = 200, body = Realtime, description = "{at_ms, queues: [...], agents: [...]}"),
        (status = 403, description = "Needs wallboard.view"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn realtime(State(s): State<RoutingState>, auth: AuthAgent) -> Result<Response> {
    auth.may_platform(May::Wallboard)?;
    let board = s.routing.realtime().borrow().clone();
    Ok(Json(board.as_ref()).into_response())
}

/// Agent desk WebSocket
///
/// Agent desk WebSocket: JSON text messages {type: desk, ...} after every change to the agent's
/// work, and {type: realtime, ...} as the board moves
///
/// A WebSocket upgrade, not a REST call: the desk (`DeskView`) after every change, and, to a
/// supervisor, the real-time board (`Realtime`, with `type: realtime`) as it moves. Holds one
/// of the client address's stream places while open.
#[utoipa::path(get, path = "/ws/desk", tag = "routing",
    operation_id = "desk_ws",
    responses(
        (status = 101, description = "Upgraded"),
        (status = 401, description = "Not signed in"),
        (status = 403, description = "No agent role"),
        (status = 429, description = "This address holds as many streams as it may"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn desk_ws(
    State(s): State<RoutingState>,
    ClientIp(client): ClientIp,
    auth: AuthAgent,
    ws: WebSocketUpgrade,
) -> Result<Response> {
    own_work(&auth, May::Desk, "desk socket")?;
    let permit = s.streams.open(client)?;
    let wallboard = auth.has(Role::Supervisor);
    Ok(bounded_websocket(ws, &s.config)
        .on_upgrade(move |socket| desk_socket(s, auth.agent.id, wallboard, socket, permit)))
}

async fn desk_socket(
    s: RoutingState,
    agent: String,
    wallboard: bool,
    mut socket: WebSocket,
    _permit: StreamPermit,
) {
    // Disabling the agent takes the desk away at once.
    let mut hold = s.accounts.hold(&agent);
    let mut pushes = s.routing.subscribe();
    let mut board = s.routing.realtime();
    let mut shutdown = s.shutdown.clone();
    let mut send_desk = true;
    loop {
        if send_desk {
            send_desk = false;
            let Ok(view) = s.routing.desk(&agent).await else {
                break;
            };
            let Ok(text) = serde_json::to_string(&view) else {
                break;
            };
            if socket.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
        let text: String = tokio::select! {
            push = pushes.recv() => match push {
                Ok(push) if push.agent == agent => push.body.to_string(),
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => {
                    send_desk = true;
                    continue;
                }
                Err(RecvError::Closed) => break,
            },
            changed = board.changed(), if wallboard => {
                if changed.is_err() {
                    break;
                }
                let current = board.borrow_and_update().clone();
                match serde_json::to_value(current.as_ref()) {
                    Ok(mut value) => {
                        value["type"] = json!("realtime");
                        value.to_string()
                    }
                    Err(_) => continue,
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => continue,
            },
            _ = shutdown.changed() => break,
            () = hold.revoked() => {
                let bye = CloseFrame { code: close_code::POLICY, reason: "signed out".into() };
                socket.send(Message::Close(Some(bye))).await.ok();
                return;
            }
        };
        if socket.send(Message::Text(text.into())).await.is_err() {
            break;
        }
    }
    // Closing an already-closed socket fails harmlessly.
    socket.send(Message::Close(None)).await.ok();
}
