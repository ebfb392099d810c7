//! The co-browse REST endpoints of agents: starting sessions by security key or by offer,
//! reading a session's state, ending sessions and interactions, reading the audit log. The
//! routes of co-browse are gathered here ([`routes`]): the customer's page's endpoints are
//! `public`'s, the sockets `sockets`' and `observe`'s, the audit check `audit_verify`'s.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    Json,
};
use protocol::{EndReason, Interaction};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    audit::{self, AuditEntry, NewSession},
    registry::{display_key, StartError},
    remote,
    session::{sealed::OFFER_REFUSED, SessionView},
    state::Cobrowse,
};
use crate::{
    accounts::AuthAgent,
    error::{ApiError, ErrorBody},
    ids::{now_ms, random_hex},
    policy::{Action, Scope},
};

/// Every co-browse route, with its state applied.
pub fn routes(state: Arc<Cobrowse>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(start_by_key))
        .routes(routes!(session_state))
        .routes(routes!(end_session))
        .routes(routes!(audit))
        .routes(routes!(start_by_offer))
        .routes(routes!(interaction_ended))
        .routes(routes!(interaction_transferred))
        .merge(super::public::routes())
        .merge(super::sockets::routes())
        .merge(super::observe::routes())
        .merge(super::audit_verify::routes())
        .with_state(state)
}

/// The kind of primary interaction, as JSON spells it.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Interaction)]
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

/// A session to start by security key (the call flow).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct StartByKey {
    interaction: InteractionKind,
    /// The primary interaction the session rides on: an id a telephony connector named, or
    /// none, and the relay issues one (128 random bits, so no one can guess another's).
    #[serde(default)]
    interaction_id: Option<String>,
}

/// A session started by security key. The key is the code's *locator*: the console draws
/// `secret_digits` more digits of its own (never sent to the relay) and shows the customer the
/// locator followed by them, one code of `locator_digits + secret_digits` digits.
#[derive(Serialize, utoipa::ToSchema)]
struct KeyStarted {
    session_id: String,
    /// The locator, digits only: what the customer's page sends (`Pairing::SecurityKey`), the
    /// first `locator_digits` digits of the code the customer types.
    security_key: String,
    /// The locator grouped by four.
    security_key_display: String,
    /// Digits of the locator (6 by default, `--key-digits`).
    locator_digits: u32,
    /// Digits the console adds after the locator, drawn by the console and kept from the relay
    /// (6: `e2ee::code::SECRET_DIGITS`).
    secret_digits: u32,
    /// The primary interaction's id (the one named, or the one the relay issued).
    interaction_id: String,
    /// Milliseconds since the Unix epoch.
    expires_at: i64,
    /// How long the key stays valid unused.
    expires_in_secs: u64,
}

/// A session started by offer (the chat and messaging flow).
#[derive(Serialize, utoipa::ToSchema)]
struct OfferStarted {
    session_id: String,
    /// What the customer's page pairs with (the widget's lookup shows it to the guest).
    offer_token: String,
    expires_in_secs: u64,
}

/// A session ended.
#[derive(Serialize, utoipa::ToSchema)]
struct SessionEnded {
    /// Always `true`.
    ended: bool,
}

/// An interaction's co-browse sessions ended.
#[derive(Serialize, utoipa::ToSchema)]
struct InteractionSessionsEnded {
    /// How many of the caller's sessions on the interaction ended.
    ended_sessions: usize,
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
#[utoipa::path(
    post,
    path = "/api/cobrowse/sessions",
    tag = "cobrowse",
    summary = "Start a co-browse session for a call: returns the security key's locator, to \
        which the console adds its own secret digits before reading the code to the customer",
    description = "The customer types the whole code (locator_digits + secret_digits digits); \
        the page sends only the locator (Pairing SecurityKey) before it lapses and keeps the \
        secret for the end-to-end key exchange with the console, which joins on /ws/agent. \
        Needs work.own.",
    request_body = StartByKey,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Started", body = KeyStarted),
        (status = 400, description = "interaction_id not 1 to 128 bytes", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs work.own", body = ErrorBody),
        (status = 429, description = "Too many unused keys of this agent", body = ErrorBody),
        (status = 503, description = "Too many unused keys", body = ErrorBody),
    )
)]
async fn start_by_key(
    State(cb): State<Arc<Cobrowse>>,
    auth: AuthAgent,
    Json(body): Json<StartByKey>,
) -> Result<Json<KeyStarted>, ApiError> {
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
        locator_digits: cb.config.key_digits,
        secret_digits: u32::try_from(e2ee::code::SECRET_DIGITS).unwrap_or(u32::MAX),
        interaction_id,
        expires_at: now_ms() + i64::try_from(ttl.as_millis()).unwrap_or(0),
        expires_in_secs: ttl.as_secs(),
    };
    Ok(Json(started))
}

/// A session to offer into a conversation.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct StartByOffer {
    /// The chat or messaging conversation.
    conversation_id: String,
    interaction: InteractionKind,
    /// The site whose pages may accept it; if not named, the site the conversation's
    /// customer first looks it up from.
    #[serde(default)]
    site: Option<String>,
}

/// `POST /api/cobrowse/offers`: the chat and messaging flow.
#[utoipa::path(
    post,
    path = "/api/cobrowse/offers",
    tag = "cobrowse",
    summary = "Offer co-browse into a chat or messaging conversation",
    description = "The widget's lookup shows the offer only to the conversation's guest; a \
        chat the relay does not hold delivers offer_token itself. Only pages of `site` may \
        accept it (if not named: the site the guest first looked it up from). Only the \
        conversation's own agent may offer (work.own). A site whose rules require \
        end-to-end encryption refuses offers: named here (409), or when its page looks the \
        offer up or accepts it (the offer is withdrawn and its agent told).",
    request_body = StartByOffer,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Offered", body = OfferStarted),
        (status = 400, description = "site not 1 to 64 bytes", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not the conversation's agent", body = ErrorBody),
        (status = 404, description = "No such conversation", body = ErrorBody),
        (status = 409, description = "The site requires end-to-end encryption, which an \
            offer does not have: start by security key", body = ErrorBody),
    )
)]
async fn start_by_offer(
    State(cb): State<Arc<Cobrowse>>,
    auth: AuthAgent,
    Json(body): Json<StartByOffer>,
) -> Result<Json<OfferStarted>, ApiError> {
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
    if let Some(site) = &body.site {
        if cb.requires_encryption(site).await? {
            return Err(ApiError::Conflict(OFFER_REFUSED.into()));
        }
    }
    let (session, token) = cb.registry.start_with_offer(
        &auth.agent.id,
        body.interaction.into(),
        &body.conversation_id,
        body.site,
    );
    persist(&cb, &session, "offer").await?;
    Ok(Json(OfferStarted {
        session_id: session.id.clone(),
        offer_token: token,
        expires_in_secs: cb.config.offer_ttl.as_secs(),
    }))
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

/// Session `id` another node holds, if `auth` may take `action` on it: its home answers, the
/// permission is checked here, against the owner the home names.
async fn remote_session_for(
    cb: &Cobrowse,
    auth: &AuthAgent,
    id: &str,
    action: Action,
) -> Result<remote::rest::Remote, ApiError> {
    let remote = remote::rest::state(cb, id)
        .await
        .ok_or(ApiError::NotFound)?;
    auth.may_on(action, Some(&remote.owner), &format!("co-browse {id}"))?;
    Ok(remote)
}

/// `GET /api/cobrowse/sessions/{id}`: the state of a live session.
#[utoipa::path(
    get,
    path = "/api/cobrowse/sessions/{id}",
    tag = "cobrowse",
    summary = "State of a live session of this agent",
    description = "Whether it is paired, its control mode, who is connected, how many observe, \
        and why it ended. The agent's own; a supervisor reads any.",
    params(("id" = String, Path, description = "The session's id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The session", body = SessionView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Another agent's session", body = ErrorBody),
        (status = 404, description = "No such live session of this agent", body = ErrorBody),
    )
)]
async fn session_state(
    State(cb): State<Arc<Cobrowse>>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, ApiError> {
    if cb.registry.get(&id).is_none() {
        return Ok(Json(
            remote_session_for(&cb, &auth, &id, Action::Read)
                .await?
                .view,
        ));
    }
    Ok(Json(session_for(&cb, &auth, &id, Action::Read)?.view()))
}

/// `POST /api/cobrowse/sessions/{id}/end`: the agent ends the session from the console.
#[utoipa::path(
    post,
    path = "/api/cobrowse/sessions/{id}/end",
    tag = "cobrowse",
    summary = "End a session (reason AgentEnded)",
    description = "Both sides are told the session ended (End with reason AgentEnded)",
    params(("id" = String, Path, description = "The session's id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Ended", body = SessionEnded),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Another agent's session", body = ErrorBody),
        (status = 404, description = "No such live session of this agent", body = ErrorBody),
    )
)]
async fn end_session(
    State(cb): State<Arc<Cobrowse>>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<Json<SessionEnded>, ApiError> {
    if cb.registry.get(&id).is_none() {
        let remote = remote_session_for(&cb, &auth, &id, Action::Act).await?;
        if !remote::rest::end(&cb, &remote.node, &id).await {
            return Err(ApiError::NotFound);
        }
        return Ok(Json(SessionEnded { ended: true }));
    }
    let session = session_for(&cb, &auth, &id, Action::Act)?;
    cb.registry.end(&session, EndReason::AgentEnded).await;
    Ok(Json(SessionEnded { ended: true }))
}

/// `GET /api/cobrowse/sessions/{id}/audit`: everything recorded so far, in order.
#[utoipa::path(
    get,
    path = "/api/cobrowse/sessions/{id}/audit",
    operation_id = "session_audit",
    tag = "cobrowse",
    summary = "The session's audit log",
    description = "Everything recorded so far, in order, each entry chained to the one before \
        by its hash. The agent's own sessions; a supervisor reads any.",
    params(("id" = String, Path, description = "The session's id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Entries in order", body = Vec<AuditEntry>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Another agent's session", body = ErrorBody),
        (status = 404, description = "No such session of this agent", body = ErrorBody),
    )
)]
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
#[utoipa::path(
    post,
    path = "/api/interactions/{id}/end",
    tag = "cobrowse",
    summary = "The primary interaction ended: end its co-browse sessions (InteractionEnded)",
    description = "Ends the caller's own co-browse sessions riding on the interaction",
    params(("id" = String, Path, description = "The primary interaction's id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The sessions ended", body = InteractionSessionsEnded),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs work.own", body = ErrorBody),
    )
)]
async fn interaction_ended(
    State(cb): State<Arc<Cobrowse>>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<Json<InteractionSessionsEnded>, ApiError> {
    end_own_interaction(&cb, &auth, &id, EndReason::InteractionEnded).await
}

/// `POST /api/interactions/{id}/transfer`: the agent's primary interaction moved to another
/// agent.
#[utoipa::path(
    post,
    path = "/api/interactions/{id}/transfer",
    tag = "cobrowse",
    summary = "The primary interaction was transferred: end its co-browse sessions \
        (InteractionTransferred)",
    description = "Ends the caller's own co-browse sessions riding on the interaction",
    params(("id" = String, Path, description = "The primary interaction's id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The sessions ended", body = InteractionSessionsEnded),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs work.own", body = ErrorBody),
    )
)]
async fn interaction_transferred(
    State(cb): State<Arc<Cobrowse>>,
    auth: AuthAgent,
    Path(id): Path<String>,
) -> Result<Json<InteractionSessionsEnded>, ApiError> {
    end_own_interaction(&cb, &auth, &id, EndReason::InteractionTransferred).await
}

/// Ends the caller's own co-browse sessions on interaction `id` (another agent's, if the id
/// names one, are not touched).
async fn end_own_interaction(
    cb: &Cobrowse,
    auth: &AuthAgent,
    id: &str,
    reason: EndReason,
) -> Result<Json<InteractionSessionsEnded>, ApiError> {
    auth.may(Action::Act, Scope::Own, &format!("interaction {id}"))?;
    let here = cb
        .registry
        .end_interaction_of(id, Some(auth.id()), reason)
        .await;
    // The agent's sessions on this interaction may live on other nodes too.
    let ended =
        here + remote::rest::end_interaction_elsewhere(cb, id, Some(auth.id()), reason).await;
    Ok(Json(InteractionSessionsEnded {
        ended_sessions: ended,
    }))
}
