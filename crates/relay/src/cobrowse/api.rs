//! The co-browse REST endpoints and WebSocket upgrades: starting sessions by security key or by
//! offer, the widget's offer lookup (for the conversation's own customer only), ending sessions
//! and interactions, reading the audit log.

use std::sync::Arc;

use axum::{
    extract::{ws::WebSocketUpgrade, Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use protocol::{EndReason, Interaction};
use serde::{Deserialize, Serialize};

use super::{
    audit::{self, AuditEntry, NewSession},
    connection::{serve, Side},
    registry::{display_key, StartError},
    session::SessionView,
    state::Cobrowse,
};
use crate::{
    accounts::AuthAgent,
    clients::ClientIp,
    error::ApiError,
    ids::{now_ms, random_hex},
    policy::{Action, Scope},
    sites,
};

/// Every co-browse route, with its state applied.
pub fn routes(state: Arc<Cobrowse>) -> Router {
    Router::new()
        .route(
            "/api/cobrowse/sessions",
            post(start_by_key).get(super::observe::live_sessions),
        )
        .route("/api/cobrowse/sessions/{id}", get(session_state))
        .route("/api/cobrowse/sessions/{id}/end", post(end_session))
        .route("/api/cobrowse/sessions/{id}/audit", get(audit))
        .route(
            "/api/cobrowse/offers",
            post(start_by_offer)
                .get(pending_offers)
                .options(offers_preflight),
        )
        .route("/api/interactions/{id}/end", post(interaction_ended))
        .route(
            "/api/interactions/{id}/transfer",
            post(interaction_transferred),
        )
        .route("/api/cobrowse/sites/{key}/config", get(site_config))
        .route("/ws/customer", get(customer_ws))
        .route("/ws/agent", get(agent_ws))
        .merge(super::observe::routes())
        .merge(super::audit_verify::routes())
        .with_state(state)
}

/// The kind of primary interaction, as JSON spells it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    Voice,
    WebChat,
    WebMessaging,
}

impl From<InteractionKind> for Interaction {
    fn from(kind: InteractionKind) -> Self {
        match kind {
            InteractionKind::Voice => Interaction::Voice,
            InteractionKind::WebChat => Interaction::WebChat,
            InteractionKind::WebMessaging => Interaction::WebMessaging,
        }
    }
}

#[derive(Deserialize)]
pub struct StartByKey {
    interaction: InteractionKind,
    /// The primary interaction the session rides on: an id a telephony connector named, or
    /// none, and the relay issues one (128 random bits, so no one can guess another's).
    #[serde(default)]
    interaction_id: Option<String>,
}

#[derive(Serialize)]
struct KeyStarted {
    session_id: String,
    /// Digits only; what the customer's page sends.
    security_key: String,
    /// Grouped by four, for reading aloud.
    security_key_display: String,
    /// The primary interaction's id (the one named, or the one the relay issued).
    interaction_id: String,
    /// Milliseconds since the Unix epoch.
    expires_at: i64,
    expires_in_secs: u64,
}

async fn persist(
    cb: &Cobrowse,
    session: &super::Session,
    pairing: &'static str,
) -> Result<(), ApiError> {
    let row = NewSession {
        id: session.id.clone(),
        agent_id: session.agent_id.clone(),
        interaction: super::registry::interaction_name(session.interaction).to_owned(),
        interaction_id: session.interaction_id.clone(),
        pairing,
    };
    let saved = cb
        .store
        .write(move |db| audit::session_insert(db, &row))
        .await;
    if saved.is_err() {
        cb.registry.end(session, EndReason::Error).await;
    }
    Ok(saved?)
}

/// How long until an unused key lapses at the latest.
fn key_wait(cb: &Cobrowse) -> std::time::Duration {
    cb.config.key_ttl
}

/// `POST /api/cobrowse/sessions`: the call flow.
async fn start_by_key(
    State(cb): State<Arc<Cobrowse>>,
    auth: AuthAgent,
    Json(body): Json<StartByKey>,
) -> Result<Json<serde_json::Value>, ApiError> {
    auth.may(Action::Act, Scope::Own, "co-browse by key")?;
    let interaction_id = match body.interaction_id {
        Some(id) if id.is_empty() || id.len() > 128 => {
            return Err(ApiError::BadRequest(
                "interaction_id must be 1 to 128 bytes".into(),
            ))
        }
        Some(id) => id,
        None => format!("int-{}", random_hex(16)),
    };
    let (session, key, _) = cb
        .registry
        .start_with_key(&auth.agent.id, body.interaction.into(), &interaction_id)
        .map_err(|e: StartError| match e {
            StartError::TooManyOfYourKeys => ApiError::rate_limited(e.to_string(), key_wait(&cb)),
            StartError::TooManyPendingKeys => ApiError::Unavailable(e.to_string()),
        })?;
    persist(&cb, &session, "security_key").await?;
    let ttl = cb.config.key_ttl;
    let started = KeyStarted {
        session_id: session.id.clone(),
        security_key_display: display_key(&key),
        security_key: key,
        interaction_id,
        expires_at: now_ms() + i64::try_from(ttl.as_millis()).unwrap_or(0),
        expires_in_secs: ttl.as_secs(),
    };
    Ok(Json(
        serde_json::to_value(started).map_err(|_| ApiError::Internal)?,
    ))
}

#[derive(Deserialize)]
pub struct StartByOffer {
    conversation_id: String,
    interaction: InteractionKind,
    /// The site whose pages may accept it; if not named, the site the conversation's
    /// customer first looks it up from.
    #[serde(default)]
    site: Option<String>,
}

/// `POST /api/cobrowse/offers`: the chat and messaging flow.
async fn start_by_offer(
    State(cb): State<Arc<Cobrowse>>,
    auth: AuthAgent,
    Json(body): Json<StartByOffer>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if body
        .site
        .as_ref()
        .is_some_and(|s| s.is_empty() || s.len() > 64)
    {
        return Err(ApiError::BadRequest("site must be 1 to 64 bytes".into()));
    }
    // Only the conversation's own agent offers co-browse in it: the customer's "Share my
    // screen" would otherwise go to whoever named the conversation.
    auth.may(Action::Act, Scope::Own, "co-browse by offer")?;
    let resource = format!("conversation {}", body.conversation_id);
    let owner = cb
        .guests
        .agent_of(&body.conversation_id)
        .await?
        .ok_or_else(|| ApiError::Unknown(format!("no conversation {}", body.conversation_id)))?;
    auth.may_on(Action::Act, owner.as_deref(), &resource)?;
    let (session, token) = cb.registry.start_with_offer(
        &auth.agent.id,
        body.interaction.into(),
        &body.conversation_id,
        body.site,
    );
    persist(&cb, &session, "offer").await?;
    Ok(Json(serde_json::json!({
        "session_id": session.id,
        "offer_token": token,
        "expires_in_secs": cb.config.offer_ttl.as_secs(),
    })))
}

#[derive(Deserialize)]
pub struct OfferQuery {
    conversation: String,
    site: String,
}

fn origin(headers: &HeaderMap) -> Option<String> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    match text(header::ORIGIN) {
        Some(origin) => Some(origin.to_owned()),
        // Browsers send no Origin on same-origin GETs (a site served by the relay itself, such
        // as the demo shop); `Sec-Fetch-Site`, which page scripts cannot set, vouches instead.
        None if text(header::HeaderName::from_static("sec-fetch-site")) == Some("same-origin") => {
            text(header::HOST).map(|host| format!("http://{host}"))
        }
        None => None,
    }
}

async fn check_origin(
    cb: &Cobrowse,
    site: &str,
    origin: Option<String>,
) -> Result<String, ApiError> {
    let origin =
        origin.ok_or_else(|| ApiError::Forbidden("an Origin header is required".into()))?;
    let (key, checked) = (site.to_owned(), origin.clone());
    if cb
        .store
        .read(move |db| sites::site_allows(db, &key, &checked))
        .await?
    {
        Ok(origin)
    } else {
        Err(ApiError::Forbidden(
            "origin not allowed for this site".into(),
        ))
    }
}

/// The header that carries the widget's guest token (as messaging's guest API reads it).
const GUEST_TOKEN: &str = "x-guest-token";

/// `GET /api/cobrowse/offers?conversation=..&site=..`: the widget's lookup, from the customer's
/// page (cross-origin, so it answers with CORS for the allowed origin). Only the
/// conversation's own customer, proved by its guest token in `X-Guest-Token`, sees its
/// offers: an `Origin` is no credential (anyone can send any), it only tells the site.
async fn pending_offers(
    State(cb): State<Arc<Cobrowse>>,
    headers: HeaderMap,
    Query(q): Query<OfferQuery>,
) -> Result<Response, ApiError> {
    let origin = check_origin(&cb, &q.site, origin(&headers)).await?;
    let token = headers
        .get(GUEST_TOKEN)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized)?;
    // Not the customer's conversation, or none: the same answer, so nothing is learnt.
    if !cb.guests.is_guest_of(&q.conversation, token).await? {
        return Err(ApiError::NotFound);
    }
    let offers = cb.registry.pending_offers(&q.conversation, &q.site);
    Ok(with_cors(
        Json(serde_json::json!({ "offers": offers })).into_response(),
        &origin,
    ))
}

/// `OPTIONS /api/cobrowse/offers?site=..`: the preflight of the widget's lookup, which sends
/// `X-Guest-Token`, answered for the site's own origins.
async fn offers_preflight(
    State(cb): State<Arc<Cobrowse>>,
    headers: HeaderMap,
    Query(q): Query<SiteQuery>,
) -> Result<Response, ApiError> {
    let origin = check_origin(&cb, &q.site, origin(&headers)).await?;
    let mut response = with_cors(StatusCode::NO_CONTENT.into_response(), &origin);
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("x-guest-token"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET"),
    );
    Ok(response)
}

fn with_cors(mut response: Response, origin: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(origin) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// A live session, if the policy lets `auth` do `action` to it (its agent's own; a
/// supervisor reads any).
fn session_for(
    cb: &Cobrowse,
    auth: &AuthAgent,
    id: &str,
    action: Action,
) -> Result<Arc<super::Session>, ApiError> {
    let session = cb.registry.get(id).ok_or(ApiError::NotFound)?;
    auth.may_on(action, Some(&session.agent_id), &format!("co-browse {id}"))?;
    Ok(session)
}

/// `GET /api/cobrowse/sessions/{id}`: the state of a live session.
async fn session_state(
    State(cb): State<Arc<Cobrowse>>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, ApiError> {
    Ok(Json(session_for(&cb, &auth, &id, Action::Read)?.view()))
}

/// `POST /api/cobrowse/sessions/{id}/end`: the agent ends the session from the console.
async fn end_session(
    State(cb): State<Arc<Cobrowse>>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let session = session_for(&cb, &auth, &id, Action::Act)?;
    cb.registry.end(&session, EndReason::AgentEnded).await;
    Ok(Json(serde_json::json!({ "ended": true })))
}

/// `GET /api/cobrowse/sessions/{id}/audit`: everything recorded so far, in order.
async fn audit(
    State(cb): State<Arc<Cobrowse>>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let (owner_check, lookup) = (id.clone(), id.clone());
    let owner = cb
        .store
        .read(move |db| audit::session_owner(db, &owner_check))
        .await?
        .ok_or(ApiError::NotFound)?;
    auth.may_on(Action::Read, Some(&owner), &format!("co-browse {id}"))?;
    cb.registry.recorder.flush().await?;
    Ok(Json(
        cb.store
            .read(move |db| audit::audit_for(db, &lookup))
            .await?,
    ))
}

/// `POST /api/interactions/{id}/end`: the agent's primary interaction ended.
async fn interaction_ended(
    State(cb): State<Arc<Cobrowse>>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    end_own_interaction(&cb, &auth, &id, EndReason::InteractionEnded).await
}

/// `POST /api/interactions/{id}/transfer`: the agent's primary interaction moved to another
/// agent.
async fn interaction_transferred(
    State(cb): State<Arc<Cobrowse>>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    end_own_interaction(&cb, &auth, &id, EndReason::InteractionTransferred).await
}

/// Ends the caller's own co-browse sessions on interaction `id` (another agent's, if the id
/// names one, are not touched).
async fn end_own_interaction(
    cb: &Cobrowse,
    auth: &AuthAgent,
    id: &str,
    reason: EndReason,
) -> Result<Json<serde_json::Value>, ApiError> {
    auth.may(Action::Act, Scope::Own, &format!("interaction {id}"))?;
    let ended = cb
        .registry
        .end_interaction_of(id, Some(auth.id()), reason)
        .await;
    Ok(Json(serde_json::json!({ "ended_sessions": ended })))
}

fn configure(ws: WebSocketUpgrade, cb: &Cobrowse) -> WebSocketUpgrade {
    crate::limits::bounded_websocket(ws, &cb.config)
}

#[derive(Deserialize)]
pub struct SiteQuery {
    site: String,
}

/// `GET /ws/customer?site=KEY`: accepted only from an origin allowed for the site.
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

/// `GET /api/cobrowse/sites/{key}/config`: the co-browse rules the site's pages apply (mask,
/// block and read-only selectors, pause URL patterns, whether agents may type into masked
/// fields, whether submit buttons are read-only), as an admin last saved them
/// (`sites::SiteRules`). Public, as every page of the site reads it, and served to any origin;
/// the defaults when the site has none. `no-cache`, so a change applies from the next page
/// load (and so the next snapshot) on, without a restart.
async fn site_config(
    State(cb): State<Arc<Cobrowse>>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    if !sites::valid_key(&key) {
        return Err(ApiError::NotFound);
    }
    let rules = cb
        .store
        .read(move |db| sites::rules_of(db, &key))
        .await?
        .unwrap_or_default();
    Ok((
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Json(rules),
    )
        .into_response())
}
