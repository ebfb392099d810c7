//! The co-browse WebSocket upgrades of the customer's page and of the agent's console (the
//! supervisor's observer socket is `observe`'s). Each is refused before it opens when its
//! origin, sign-in or the connection caps say no; once open, `connection` owns it. They are in
//! the API description as GETs whose 101 is the upgrade; what travels on them is PROTOCOL.md's.

use std::sync::Arc;

use axum::{
    extract::{ws::WebSocketUpgrade, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    connection::{serve, Side},
    public::{check_origin, origin, SiteQuery},
    state::Cobrowse,
};
use crate::{
    accounts::AuthAgent,
    clients::ClientIp,
    error::{ApiError, ErrorBody},
    policy::{Action, Scope},
};

/// The socket routes (merged into `api::routes`, which applies the state).
pub fn routes() -> OpenApiRouter<Arc<Cobrowse>> {
    OpenApiRouter::new()
        .routes(routes!(customer_ws))
        .routes(routes!(agent_ws))
}

fn configure(ws: WebSocketUpgrade, cb: &Cobrowse) -> WebSocketUpgrade {
    crate::limits::bounded_websocket(ws, &cb.config)
}

/// `GET /ws/customer?site=KEY`: accepted only from an origin allowed for the site.
#[utoipa::path(
    get,
    path = "/ws/customer",
    tag = "cobrowse",
    summary = "Customer WebSocket (first frame: Hello with role Customer and Pairing \
        SecurityKey, OfferToken or Resume)",
    description = "A WebSocket upgrade, from a page of an origin the site allows. Binary \
        frames of the wire protocol (PROTOCOL.md) follow.",
    params(SiteQuery),
    security(()),
    responses(
        (status = 101, description = "Upgraded"),
        (status = 403, description = "Origin not allowed for the site", body = ErrorBody),
        (status = 503, description = "Connection limit reached", body = ErrorBody),
    )
)]
async fn customer_ws(
    State(cb): State<Arc<Cobrowse>>,
    ClientIp(client): ClientIp,
    Query(q): Query<SiteQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    check_origin(&cb, &q.site, origin(&headers)).await?;
    let permit = cb.streams.open(client)?;
    let side = Side::Customer {
        site: q.site,
        addr: client,
    };
    let shared = cb.clone();
    Ok(configure(ws, &cb)
        .on_upgrade(move |socket| serve(socket, shared, side, permit))
        .into_response())
}

/// `GET /ws/agent`: a signed-in agent's console.
#[utoipa::path(
    get,
    path = "/ws/agent",
    tag = "cobrowse",
    summary = "Agent WebSocket (first frame: Hello with role Agent and Pairing AgentJoin)",
    description = "A WebSocket upgrade for a signed-in agent's console; it joins the agent's \
        own sessions only. Binary frames of the wire protocol (PROTOCOL.md) follow.",
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 101, description = "Upgraded"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs work.own", body = ErrorBody),
        (status = 503, description = "Connection limit reached", body = ErrorBody),
    )
)]
async fn agent_ws(
    State(cb): State<Arc<Cobrowse>>,
    ClientIp(client): ClientIp,
    auth: AuthAgent,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    // The console's socket joins the agent's own sessions only (`Registry::agent_join`).
    auth.may(Action::Act, Scope::Own, "co-browse socket")?;
    let permit = cb.streams.open(client)?;
    let shared = cb.clone();
    Ok(configure(ws, &cb)
        .on_upgrade(move |socket| serve(socket, shared, Side::Agent(auth.agent), permit))
        .into_response())
}
