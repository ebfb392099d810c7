//! The telephony connector API: calls offered, answered and ended, and chats or messages from
//! integrations needing an agent. A connector authenticates with `Authorization: Bearer
//! <token>`, a token made by `relay connector add` or an admin (`connectors_api`); every
//! request looks its token up in the store, so a removed connector stops at once.

use axum::{
    extract::{FromRequestParts, Path, State},
    http::request::Parts,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::service::{persist, Action, Arrival, PreviousAgent};
use super::{state::RoutingState, Media};
use crate::{clients::bearer, error::ApiError};

type Result<T> = std::result::Result<T, ApiError>;

/// The connector routes, documented, for `routing::api::routes` to merge.
pub fn routes() -> OpenApiRouter<RoutingState> {
    OpenApiRouter::default()
        .routes(routes!(connector_arrive))
        .routes(routes!(call_offered))
        .routes(routes!(call_answered))
        .routes(routes!(call_ended))
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

/// An interaction that needs an agent, as a connector hands it in.
#[derive(Deserialize, ToSchema)]
#[schema(as = Arrival)]
struct Offered {
    /// The caller's id (call id, conversation id).
    id: String,
    /// The queue's name.
    queue: String,
    /// `call`, `chat` or `message` (the route's own media when absent).
    #[serde(default)]
    #[schema(schema_with = media_schema)]
    media: Option<String>,
    #[serde(default)]
    priority: Option<i32>,
    /// Store id of the agent who last handled this customer's conversation.
    #[serde(default)]
    last_agent_id: Option<String>,
    #[serde(default)]
    last_handled_at_ms: Option<i64>,
}

/// Every media a connector may name.
const MEDIA_NAMES: [&str; 3] = ["call", "chat", "message"];

fn media_schema() -> utoipa::openapi::schema::Object {
    super::service::live::names_schema(&MEDIA_NAMES)
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

/// What a connector hears back: the interaction and what happened to it.
#[derive(Serialize, ToSchema)]
struct ConnectorAnswer {
    id: String,
    /// Present (`true`) once it waits in its queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    queued: Option<bool>,
    /// Present (`true`) once the call is answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    answered: Option<bool>,
    /// Present (`true`) once the call has ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    ended: Option<bool>,
}

impl ConnectorAnswer {
    fn new(id: String) -> ConnectorAnswer {
        ConnectorAnswer {
            id,
            queued: None,
            answered: None,
            ended: None,
        }
    }
}

async fn arrive(s: &RoutingState, body: Offered, default: Media) -> Result<Json<ConnectorAnswer>> {
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
    Ok(Json(ConnectorAnswer {
        queued: Some(true),
        ..ConnectorAnswer::new(id)
    }))
}

/// Telephony connector: a call was offered
#[utoipa::path(post, path = "/api/telephony/calls", tag = "telephony",
    operation_id = "call_offered",
    request_body = Offered,
    responses(
        (status = 200, body = ConnectorAnswer, description = "{id, queued: true}"),
        (status = 400, description = "Unknown queue"),
        (status = 401, description = "Unknown connector token"),
        (status = 409, description = "Already being routed"),
    ),
    security(("bearer" = [])))]
async fn call_offered(
    State(s): State<RoutingState>,
    _connector: Connector,
    Json(body): Json<Offered>,
) -> Result<Json<ConnectorAnswer>> {
    arrive(&s, body, Media::Call).await
}

/// Connector: a chat or message needs an agent
///
/// Connector: a chat or message needs an agent (messaging in-process uses
/// routing::service::Handle::arrive)
#[utoipa::path(post, path = "/api/routing/interactions", tag = "routing",
    operation_id = "interaction_arrive",
    request_body = Offered,
    responses(
        (status = 200, body = ConnectorAnswer, description = "{id, queued: true}"),
        (status = 400, description = "Unknown queue or media"),
        (status = 401, description = "Unknown connector token"),
        (status = 409, description = "Already being routed"),
    ),
    security(("bearer" = [])))]
async fn connector_arrive(
    State(s): State<RoutingState>,
    _connector: Connector,
    Json(body): Json<Offered>,
) -> Result<Json<ConnectorAnswer>> {
    arrive(&s, body, Media::Chat).await
}

/// Telephony connector: the call was answered
///
/// Telephony connector: the agent the call is offered to picked up (no-op if already accepted at
/// the desk)
#[utoipa::path(post, path = "/api/telephony/calls/{id}/answered", tag = "telephony",
    operation_id = "call_answered",
    params(("id" = String, Path, description = "The call's id")),
    responses(
        (status = 200, body = ConnectorAnswer, description = "{id, answered: true}"),
        (status = 401, description = "Unknown connector token"),
        (status = 404, description = "Not being routed"),
        (status = 409, description = "Not offered to anyone"),
    ),
    security(("bearer" = [])))]
async fn call_answered(
    State(s): State<RoutingState>,
    _connector: Connector,
    Path(id): Path<String>,
) -> Result<Json<ConnectorAnswer>> {
    s.routing.act(&id, None, Action::Accept).await?;
    Ok(Json(ConnectorAnswer {
        answered: Some(true),
        ..ConnectorAnswer::new(id)
    }))
}

/// Telephony connector: the call ended
///
/// Telephony connector: the call ended (an abandon if never answered; wrap-up if the queue asks for
/// it)
#[utoipa::path(post, path = "/api/telephony/calls/{id}/ended", tag = "telephony",
    operation_id = "call_ended",
    params(("id" = String, Path, description = "The call's id")),
    responses(
        (status = 200, body = ConnectorAnswer, description = "{id, ended: true}"),
        (status = 401, description = "Unknown connector token"),
        (status = 404, description = "Not being routed"),
    ),
    security(("bearer" = [])))]
async fn call_ended(
    State(s): State<RoutingState>,
    _connector: Connector,
    Path(id): Path<String>,
) -> Result<Json<ConnectorAnswer>> {
    s.routing.act(&id, None, Action::End).await?;
    Ok(Json(ConnectorAnswer {
        ended: Some(true),
        ..ConnectorAnswer::new(id)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_media_the_description_names_is_a_media() {
        for name in MEDIA_NAMES {
            assert!(media(Some(name), Media::Call).is_ok(), "{name}");
        }
        assert!(media(Some("fax"), Media::Call).is_err());
    }
}
