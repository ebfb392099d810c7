//! The call routes. The agent's, beside the conversation they ring from (its assigned agent
//! only, as every act on a conversation):
//! - `GET  /api/messaging/conversations/{id}/call`: which calls its queue offers, and the
//!   call that rings or is live;
//! - `POST /api/messaging/conversations/{id}/call`: ring the contact (`{media: voice|video}`);
//! - `POST /api/messaging/conversations/{id}/call/{call}/signal|end`.
//!
//! The guest's, for its latest conversation only (the guest token names it):
//! - `GET  /api/messaging/guest/call`: the call that rings or is live, if any;
//! - `POST /api/messaging/guest/call/{call}/answer|decline|signal|end`.
//!
//! A call id names a call only within its conversation, so an id from someone else's
//! conversation is no call here (409). `end` takes its reason in the query, so a page that
//! is going away can send it with `navigator.sendBeacon`.

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, Path, Query, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::ice::{ice_servers, IceServer};
use super::service::CallRefusal;
use super::{Answer, Call, CallError, EndReason, Offered, Side, Signal};
use crate::error::ApiError;
use crate::messaging::{api::acted_on, guest::latest_of, guest::Guest, state::MsgState};
use crate::{accounts::AuthAgent, ids::now_ms};

/// A signalling request at most (a session description is bounded tighter by the handler).
const BODY_LIMIT: usize = 64 << 10;

/// The agent's call routes (their state is applied by messaging's `routes`).
pub fn agent_routes() -> OpenApiRouter<MsgState> {
    OpenApiRouter::default()
        .routes(routes!(ring, options))
        .routes(routes!(agent_signal))
        .routes(routes!(agent_end))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// The guest's call routes (behind the widget's CORS layer, with the rest of the guest's).
pub fn guest_routes() -> OpenApiRouter<MsgState> {
    OpenApiRouter::default()
        .routes(routes!(guest_call))
        .routes(routes!(answer))
        .routes(routes!(decline))
        .routes(routes!(guest_signal))
        .routes(routes!(guest_end))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

impl From<CallRefusal> for ApiError {
    fn from(e: CallRefusal) -> Self {
        match e {
            CallRefusal::Call(CallError::TooSoon)
            | CallRefusal::Call(CallError::TooManySignals) => {
                ApiError::rate_limited(e.to_string(), std::time::Duration::from_secs(2))
            }
            CallRefusal::Call(e) => ApiError::Conflict(e.to_string()),
            CallRefusal::Signal(e) => ApiError::BadRequest(e.to_string()),
            CallRefusal::Routing(why) => ApiError::Conflict(why),
            CallRefusal::NotOffered(_) => ApiError::Forbidden(e.to_string()),
            CallRefusal::Messaging(e) => e.into(),
            CallRefusal::Elsewhere(why) => ApiError::Unavailable(why),
        }
    }
}

/// An agent's request body, read only once the policy allowed the request (so a refusal
/// tells nothing, whatever the body).
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("invalid body: {e}")))
}

/// What to ring with.
#[derive(Deserialize, ToSchema)]
pub struct Ring {
    pub media: Offered,
}

/// A call and the ICE servers to reach the other side with.
#[derive(Serialize, ToSchema)]
pub struct CallStart {
    pub call: Call,
    /// For `RTCPeerConnection`'s `iceServers` (TURN credentials are valid for a while).
    pub ice_servers: Vec<IceServer>,
}

fn start(s: &MsgState, call: Call) -> CallStart {
    let now_s = u64::try_from(now_ms() / 1000).unwrap_or(0);
    let ice_servers = ice_servers(&s.svc.config.calls, &call.id, now_s);
    CallStart { call, ice_servers }
}

/// Why a side ends a call.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EndQuery {
    /// `hung_up` (the default), `left` (the page is going away) or `connection_lost`.
    #[serde(default)]
    #[param(inline)]
    pub reason: Option<EndReason>,
}

fn side_reason(q: &EndQuery) -> Result<EndReason, ApiError> {
    match q.reason.unwrap_or(EndReason::HungUp) {
        r @ (EndReason::HungUp | EndReason::Left | EndReason::ConnectionLost) => Ok(r),
        _ => Err(ApiError::BadRequest(
            "reason is hung_up, left or connection_lost".into(),
        )),
    }
}

/// Ring the conversation's contact (voice or video)
///
/// The customer's widget rings; while it rings or is live the agent counts as on a call in
/// routing (no new work is offered). One call per conversation and per agent.
#[utoipa::path(post, path = "/api/messaging/conversations/{id}/call", tag = "messaging",
    operation_id = "conversation_call",
    params(("id" = String, Path, description = "The conversation")),
    request_body = Ring,
    responses(
        (status = 200, body = CallStart, description = "Ringing"),
        (status = 403, description = "Not the conversation's agent"),
        (status = 409, description = "A call already rings or is live (here or for the agent)"),
        (status = 429, description = "The last call just ended"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn ring(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<CallStart>, ApiError> {
    let c = acted_on(&s, &auth, &id).await?;
    let body: Ring = parse(&body)?;
    if c.state != crate::messaging::model::ConversationState::Assigned {
        return Err(ApiError::Conflict("take the conversation first".into()));
    }
    let call = s.svc.call_offer(&c, auth.id(), body.media).await?;
    Ok(Json(start(&s, call)))
}

/// The calls a conversation offers, and its current one.
#[derive(Serialize, ToSchema)]
pub struct CallOptions {
    /// What the agent may ring with, as the conversation's queue allows (`calls_from_chat`).
    pub media: Vec<Offered>,
    /// The call that rings or is live in the conversation, if any.
    pub call: Option<Call>,
}

/// Which calls the conversation's queue offers
///
/// Voice and video unless the queue the conversation was routed in says `voice` or `none`;
/// the inbox and the desk show only those buttons.
#[utoipa::path(get, path = "/api/messaging/conversations/{id}/call", tag = "messaging",
    operation_id = "conversation_call_options",
    params(("id" = String, Path, description = "The conversation")),
    responses(
        (status = 200, body = CallOptions, description = "{media, call}"),
        (status = 403, description = "Not the conversation's agent"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn options(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<Json<CallOptions>, ApiError> {
    let c = acted_on(&s, &auth, &id).await?;
    let media = s.svc.calls.allowed(auth.id(), &c.id).await;
    let call = s.svc.call_of(&c.id).await;
    Ok(Json(CallOptions { media, call }))
}

/// Send a signalling message to the customer
#[utoipa::path(post, path = "/api/messaging/conversations/{id}/call/{call}/signal",
    tag = "messaging", operation_id = "conversation_call_signal",
    params(("id" = String, Path, description = "The conversation"),
        ("call" = String, Path, description = "The call")),
    request_body = Signal,
    responses(
        (status = 204, description = "Carried"),
        (status = 400, description = "Too large or not a signalling message"),
        (status = 409, description = "No such call in this conversation"),
        (status = 429, description = "Too many signalling messages in this call"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn agent_signal(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path((id, call)): Path<(String, String)>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let c = acted_on(&s, &auth, &id).await?;
    let signal: Signal = parse(&body)?;
    s.svc.call_signal(&c, &call, Side::Agent, signal).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End the call (or cancel it while it rings)
#[utoipa::path(post, path = "/api/messaging/conversations/{id}/call/{call}/end",
    tag = "messaging", operation_id = "conversation_call_end",
    params(("id" = String, Path, description = "The conversation"),
        ("call" = String, Path, description = "The call"), EndQuery),
    responses(
        (status = 204, description = "Ended"),
        (status = 409, description = "No such call in this conversation"),
    ),
    security(("cookie" = []), ("bearer" = [])))]
async fn agent_end(
    State(s): State<MsgState>,
    auth: AuthAgent,
    Path((id, call)): Path<(String, String)>,
    Query(q): Query<EndQuery>,
) -> Result<StatusCode, ApiError> {
    let reason = side_reason(&q)?;
    let c = acted_on(&s, &auth, &id).await?;
    s.svc.call_hang_up(&c, &call, Side::Agent, reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The guest's current call.
#[derive(Serialize, ToSchema)]
pub struct GuestCall {
    /// The call that rings or is live in the guest's conversation, if any.
    pub call: Option<Call>,
}

/// The call that rings or is live in the guest's conversation
///
/// A widget that loads while a call rings shows the prompt; one that loads while a call is
/// live (the page was reloaded) ends it, since the media went with the old page.
#[utoipa::path(get, path = "/api/messaging/guest/call", tag = "messaging-guest",
    operation_id = "guest_call",
    responses(
        (status = 200, body = GuestCall, description = "{call}"),
        (status = 401, description = "No or malformed guest token"),
    ),
    security(()))]
async fn guest_call(State(s): State<MsgState>, guest: Guest) -> Result<Json<GuestCall>, ApiError> {
    let call = match latest_of(&s.svc, &guest).await? {
        Some(c) => s.svc.call_of(&c.id).await,
        None => None,
    };
    Ok(Json(GuestCall { call }))
}

/// How the customer answers.
#[derive(Deserialize, ToSchema)]
pub struct AnswerBody {
    pub answer: Answer,
}

async fn guest_conversation(
    s: &MsgState,
    guest: &Guest,
) -> Result<crate::messaging::model::Conversation, ApiError> {
    latest_of(&s.svc, guest)
        .await?
        .ok_or_else(|| ApiError::Conflict(CallError::NoCall.to_string()))
}

/// Answer the ringing call, with audio or with video
#[utoipa::path(post, path = "/api/messaging/guest/call/{call}/answer", tag = "messaging-guest",
    operation_id = "guest_call_answer",
    params(("call" = String, Path, description = "The call")),
    request_body = AnswerBody,
    responses(
        (status = 200, body = CallStart, description = "Live"),
        (status = 401, description = "No or malformed guest token"),
        (status = 409, description = "No such call ringing in the guest's conversation"),
    ),
    security(()))]
async fn answer(
    State(s): State<MsgState>,
    guest: Guest,
    Path(call): Path<String>,
    Json(body): Json<AnswerBody>,
) -> Result<Json<CallStart>, ApiError> {
    let c = guest_conversation(&s, &guest).await?;
    let call = s.svc.call_answer(&c, &call, body.answer).await?;
    Ok(Json(start(&s, call)))
}

/// Decline the ringing call
#[utoipa::path(post, path = "/api/messaging/guest/call/{call}/decline", tag = "messaging-guest",
    operation_id = "guest_call_decline",
    params(("call" = String, Path, description = "The call")),
    responses(
        (status = 204, description = "Declined"),
        (status = 401, description = "No or malformed guest token"),
        (status = 409, description = "No such call ringing in the guest's conversation"),
    ),
    security(()))]
async fn decline(
    State(s): State<MsgState>,
    guest: Guest,
    Path(call): Path<String>,
) -> Result<StatusCode, ApiError> {
    let c = guest_conversation(&s, &guest).await?;
    s.svc.call_decline(&c, &call).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a signalling message to the agent (once answered)
#[utoipa::path(post, path = "/api/messaging/guest/call/{call}/signal", tag = "messaging-guest",
    operation_id = "guest_call_signal",
    params(("call" = String, Path, description = "The call")),
    request_body = Signal,
    responses(
        (status = 204, description = "Carried"),
        (status = 400, description = "Too large or not a signalling message"),
        (status = 401, description = "No or malformed guest token"),
        (status = 409, description = "No such live call in the guest's conversation"),
        (status = 429, description = "Too many signalling messages in this call"),
    ),
    security(()))]
async fn guest_signal(
    State(s): State<MsgState>,
    guest: Guest,
    Path(call): Path<String>,
    Json(signal): Json<Signal>,
) -> Result<StatusCode, ApiError> {
    let c = guest_conversation(&s, &guest).await?;
    s.svc.call_signal(&c, &call, Side::Customer, signal).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// End the call
#[utoipa::path(post, path = "/api/messaging/guest/call/{call}/end", tag = "messaging-guest",
    operation_id = "guest_call_end",
    params(("call" = String, Path, description = "The call"), EndQuery,
        ("token" = Option<String>, Query,
            description = "The guest token, where the X-Guest-Token header cannot be set")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "No or malformed guest token"),
        (status = 409, description = "No such call in the guest's conversation"),
    ),
    security(()))]
async fn guest_end(
    State(s): State<MsgState>,
    guest: Guest,
    Path(call): Path<String>,
    Query(q): Query<EndQuery>,
) -> Result<StatusCode, ApiError> {
    let reason = side_reason(&q)?;
    let c = guest_conversation(&s, &guest).await?;
    s.svc
        .call_hang_up(&c, &call, Side::Customer, reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
