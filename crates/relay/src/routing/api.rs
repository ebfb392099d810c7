//! Routing over HTTP: the agent desk (presence, offers, actions, `/ws/desk` pushes), the
//! supervisor endpoints (queues, agent profiles, the real-time board) and the telephony
//! connector API (calls offered, answered, ended; chats and messages from integrations),
//! which authenticates with a connector token made by `relay connector add`.

use axum::{
    extract::{
        ws::{close_code, CloseFrame, Message, WebSocket},
        FromRequestParts, Path, State, WebSocketUpgrade,
    },
    http::request::Parts,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::service::live::{parse_presence, DeskView};
use super::service::persist::{self, ProfileSpec, QueueSpec, SpecError};
use super::service::{Action, Arrival, PreviousAgent, ServiceError, Target};
use super::{Media, RoutingError};
use crate::{
    accounts::{self, AuthAgent},
    clients::{bearer, ClientIp},
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

/// Every routing route (desks, supervisors, the telephony connector API, `/ws/desk`), with
/// its state applied.
pub fn routes(state: RoutingState) -> Router {
    Router::new()
        .route("/api/routing/desk", get(desk))
        .route("/api/routing/presence", post(presence))
        .route("/api/routing/interactions/{id}/{action}", post(act))
        .route("/api/routing/interactions", post(connector_arrive))
        .route("/api/routing/queues", get(queues).post(define_queue))
        .route(
            "/api/routing/agents/{name}/profile",
            get(load_profile).put(save_profile),
        )
        .route("/api/routing/realtime", get(realtime))
        .route("/api/telephony/calls", post(call_offered))
        .route("/api/telephony/calls/{id}/answered", post(call_answered))
        .route("/api/telephony/calls/{id}/ended", post(call_ended))
        .route("/ws/desk", get(desk_ws))
        .merge(super::supervise_api::routes())
        .merge(super::connectors_api::routes())
        .with_state(state)
}

/// A telephony or messaging connector, authenticated by `Authorization: Bearer <token>`.
pub struct Connector {
    pub name: String,
}

impl FromRequestParts<RoutingState> for Connector {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        s: &RoutingState,
    ) -> std::result::Result<Self, ApiError> {
        let token = bearer(&parts.headers)
            .map(str::to_owned)
            .ok_or(ApiError::Unauthorized)?;
        let name = s
            .store
            .read(move |db| persist::connector_for(db, &token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Connector { name })
    }
}

/// A desk, presence and actions are one's own work: they need the agent role.
fn own_work(auth: &AuthAgent, action: May, resource: &str) -> Result<()> {
    auth.may(action, Scope::Own, resource)
}

async fn desk(State(s): State<RoutingState>, auth: AuthAgent) -> Result<Json<DeskView>> {
    own_work(&auth, May::Desk, "desk")?;
    Ok(Json(s.routing.desk(&auth.agent.id).await?))
}

#[derive(Deserialize)]
struct PresenceBody {
    presence: String,
}

/// `POST /api/routing/presence`: signs the agent into routing with its stored profile (or out,
/// with `offline`) and sets its presence.
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

#[derive(Deserialize, Default)]
struct ActBody {
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

/// `POST /api/routing/interactions/{id}/{accept|decline|park|unpark|end|wrap-up|transfer}`.
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

async fn queues(State(s): State<RoutingState>, auth: AuthAgent) -> Result<Json<serde_json::Value>> {
    // An agent sees the queues' names (its transfer dialog lists them); their configuration
    // is the wallboard's and the admin's.
    let names_only = auth.has(Role::Agent) && !auth.has(Role::Supervisor) && !auth.has(Role::Admin);
    if auth.has(Role::Admin) {
        auth.may_platform(May::Configure(Area::Routing))?;
    } else if !names_only {
        auth.may_platform(May::Wallboard)?;
    }
    let queues = s.routing.queues().await?;
    Ok(Json(json!(queues
        .into_iter()
        .map(|(id, spec)| match names_only {
            true => json!({ "id": id.0, "queue": { "name": spec.name } }),
            false => json!({ "id": id.0, "queue": spec }),
        })
        .collect::<Vec<_>>())))
}

/// `POST /api/routing/queues`: creates or replaces a queue (by name), stored and applied.
async fn define_queue(
    State(s): State<RoutingState>,
    auth: AuthAgent,
    Json(spec): Json<QueueSpec>,
) -> Result<Json<serde_json::Value>> {
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
    Ok(Json(json!({ "id": id.0 })))
}

/// `PUT /api/routing/agents/{name}/profile`: skills, capacity and queues, checked against the
/// queues and applied at once to a signed-in agent.
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

/// `GET /api/routing/agents/{name}/profile`: the profile an admin edits (every queue when none
/// is stored).
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

async fn realtime(State(s): State<RoutingState>, auth: AuthAgent) -> Result<Response> {
    auth.may_platform(May::Wallboard)?;
    let board = s.routing.realtime().borrow().clone();
    Ok(Json(board.as_ref()).into_response())
}

#[derive(Deserialize)]
struct Offered {
    id: String,
    queue: String,
    #[serde(default)]
    media: Option<String>,
    #[serde(default)]
    priority: Option<i32>,
    /// Store id of the agent who last handled this customer's conversation.
    #[serde(default)]
    last_agent_id: Option<String>,
    #[serde(default)]
    last_handled_at_ms: Option<i64>,
}

fn media(name: Option<&str>, default: Media) -> Result<Media> {
    match name {
        None => Ok(default),
        Some("call") => Ok(Media::Call),
        Some("chat") => Ok(Media::Chat),
        Some("message") => Ok(Media::Message),
        Some(_) => Err(ApiError::BadRequest("unknown media".into())),
    }
}

async fn arrive(
    s: &RoutingState,
    body: Offered,
    default: Media,
) -> Result<Json<serde_json::Value>> {
    let arrival = Arrival {
        media: media(body.media.as_deref(), default)?,
        last_agent: body.last_agent_id.map(|agent_id| PreviousAgent {
            agent_id,
            handled_at_ms: body.last_handled_at_ms.unwrap_or_else(crate::ids::now_ms),
        }),
        id: body.id,
        queue: body.queue,
        priority: body.priority,
    };
    let id = arrival.id.clone();
    s.routing.arrive(arrival).await?;
    Ok(Json(json!({ "id": id, "queued": true })))
}

/// `POST /api/telephony/calls`: a call was offered to the contact center.
async fn call_offered(
    State(s): State<RoutingState>,
    _connector: Connector,
    Json(body): Json<Offered>,
) -> Result<Json<serde_json::Value>> {
    arrive(&s, body, Media::Call).await
}

/// `POST /api/routing/interactions`: a chat or message from an integration (`media` given).
async fn connector_arrive(
    State(s): State<RoutingState>,
    _connector: Connector,
    Json(body): Json<Offered>,
) -> Result<Json<serde_json::Value>> {
    arrive(&s, body, Media::Chat).await
}

/// `POST /api/telephony/calls/{id}/answered`: the agent it is offered to picked up.
async fn call_answered(
    State(s): State<RoutingState>,
    _connector: Connector,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>> {
    s.routing.act(&id, None, Action::Accept).await?;
    Ok(Json(json!({ "id": id, "answered": true })))
}

/// `POST /api/telephony/calls/{id}/ended`: the call ended (an abandon if never answered).
async fn call_ended(
    State(s): State<RoutingState>,
    _connector: Connector,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>> {
    s.routing.act(&id, None, Action::End).await?;
    Ok(Json(json!({ "id": id, "ended": true })))
}

/// `GET /ws/desk`: the agent's desk after every change, and, to a supervisor, the real-time
/// board as it moves.
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
