//! Sign-in as a service: [`Accounts`] (what every domain's state holds), the [`AuthAgent`]
//! extractor that guards every agent endpoint and WebSocket, and the login, logout and "me"
//! routes. A sign-in passes the console's origin check, the throttle (per account and per
//! client address, growing delays), then the bounded password pool, in the line of known
//! addresses when someone signed in from its address before.

use std::sync::{Arc, Mutex};

use axum::{
    extract::{FromRef, FromRequestParts, State},
    http::{header, request::Parts, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};

use tokio::sync::watch;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use super::disabled::SignedOut;
use super::holds::{Hold, Holds};
use super::origin::ConsoleOrigins;
use super::password::{Hasher, Lane};
use super::queries::{agent_credentials, token_agent, token_delete, token_insert, Agent};
use super::refusals::Refusals;
use super::throttle::Throttle;
use crate::{
    clients::{bearer, ClientIp, Https},
    config::Config,
    error::{ApiError, ErrorBody},
    ids::{now_ms, random_hex, secret_hash},
    policy::{self, Action, Role, Scope},
    store::Store,
};

/// The cookie that carries an agent's token.
pub const COOKIE: &str = "relay_session";

/// Sign-in as a service: what the extractor and the routes need. Cheap to clone; every
/// domain's state holds one (`FromRef`), so [`AuthAgent`] works in every router.
#[derive(Clone)]
pub struct Accounts {
    pub store: Store,
    /// How long a sign-in token stays valid.
    pub token_ttl: std::time::Duration,
    on_sign_out: Arc<dyn SignedOut>,
    /// Where agent requests may come from.
    origins: Arc<ConsoleOrigins>,
    /// The bounded pool password checks run on.
    hasher: Hasher,
    /// Failed sign-ins by account and address.
    throttle: Arc<Mutex<Throttle>>,
    /// Mark the session cookie `Secure` on every answer.
    secure_cookies: bool,
    /// What each agent holds open, taken away when it is disabled.
    pub(super) holds: Holds,
    /// The audit of the policy's refusals.
    pub refusals: Refusals,
}

/// Where a request's token came from: only a cookie is sent by the browser on its own, so
/// only a cookie request can be forged from another site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carried {
    Bearer,
    Cookie,
}

impl Accounts {
    pub fn new(store: Store, config: &Config, on_sign_out: Arc<dyn SignedOut>) -> Accounts {
        Accounts {
            token_ttl: config.agent_token_ttl,
            on_sign_out,
            origins: Arc::new(ConsoleOrigins::new(config.console_origins.clone())),
            hasher: Hasher::per_core(),
            throttle: Arc::new(Mutex::new(Throttle::new(
                config.signin_per_account,
                config.signin_per_address,
            ))),
            secure_cookies: config.secure_cookies,
            holds: Holds::default(),
            refusals: Refusals::new(store.clone()),
            store,
        }
    }

    /// A hold for one long-lived connection of `agent_id`: the connection closes when the
    /// hold is revoked (the agent was disabled).
    pub fn hold(&self, agent_id: &str) -> Hold {
        self.holds.take(agent_id)
    }

    /// Disables the person named `name` at once: its tokens are deleted, every socket and
    /// stream it holds closes now ("signed out"), and routing signs it out (its work is
    /// requeued). `relay user disable`, from another process, is noticed by the sweep instead.
    pub async fn disable(&self, name: &str) -> Result<(), ApiError> {
        let who = name.to_owned();
        let id = self
            .store
            .write(move |db| super::queries::agent_disable(db, &who))
            .await
            .map_err(|e| not_found_as_404(e, name))?;
        self.holds.revoke(&id);
        self.on_sign_out.signed_out(&id).await;
        Ok(())
    }

    /// Closes every socket and stream the person `agent_id` holds now (its tokens are gone:
    /// a password reset).
    pub fn revoke(&self, agent_id: &str) {
        self.holds.revoke(agent_id);
    }

    /// Starts the task that, every `every` until `shutdown`, finds disabled agents among
    /// those who hold a connection or are signed in to routing, revokes their holds and signs
    /// them out (their work is requeued).
    pub fn sweep_disabled(&self, every: std::time::Duration, shutdown: watch::Receiver<bool>) {
        tokio::spawn(super::disabled::sweep(
            self.store.clone(),
            self.holds.clone(),
            self.on_sign_out.clone(),
            every,
            shutdown,
        ));
    }

    /// The agent a request's token belongs to, if any.
    pub async fn agent_for(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<(Agent, String)>, ApiError> {
        let Some((token, _)) = token_from(headers) else {
            return Ok(None);
        };
        let hash = secret_hash(&token);
        let lookup = hash.clone();
        let agent = self.store.read(move |db| token_agent(db, &lookup)).await?;
        Ok(agent.map(|a| (a, hash)))
    }

    /// The routes of sign-in: login, logout, me.
    pub fn routes(self) -> OpenApiRouter {
        let mut routes = OpenApiRouter::new()
            .routes(routes!(login))
            .routes(routes!(logout))
            .routes(routes!(me))
            .with_state(self);
        super::schemes::add_schemes(routes.get_openapi_mut(), COOKIE);
        routes
    }

    fn throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.throttle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `Set-Cookie` value for `token` (or one that clears it).
    fn cookie(&self, token: Option<&str>, https: bool) -> Option<HeaderValue> {
        let secure = if self.secure_cookies || https {
            "; Secure"
        } else {
            ""
        };
        let value = match token {
            Some(t) => format!(
                "{COOKIE}={t}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
                self.token_ttl.as_secs()
            ),
            None => format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}"),
        };
        HeaderValue::from_str(&value).ok()
    }
}

/// A person the request named that does not exist is a 404 naming it; anything else is the
/// store's.
pub fn not_found_as_404(e: crate::store::StoreError, name: &str) -> ApiError {
    match e {
        crate::store::StoreError::NotFound { .. } => {
            ApiError::Unknown(format!("no person is named {name:?}"))
        }
        other => other.into(),
    }
}

fn token_from(headers: &HeaderMap) -> Option<(String, Carried)> {
    if let Some(token) = bearer(headers) {
        return Some((token.to_owned(), Carried::Bearer));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| (v.to_owned(), Carried::Cookie))
}

/// A signed-in person; extracting it refuses the request with 401 otherwise, and with 403 when
/// it comes from another site than the console (see `origin`). Works with any router state
/// that holds [`Accounts`]. Being signed in allows nothing by itself: a handler asks
/// [`AuthAgent::may`] (the policy) before it reads or changes anything.
#[derive(Clone)]
pub struct AuthAgent {
    pub agent: Agent,
    /// The hash of the token used, so logout can revoke exactly it.
    token_hash: String,
    /// The request, as the refusal audit names it (`GET /api/...`).
    request: String,
    refusals: Refusals,
}

impl std::fmt::Debug for AuthAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthAgent")
            .field("agent", &self.agent)
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl AuthAgent {
    /// The person's id.
    pub fn id(&self) -> &str {
        &self.agent.id
    }

    pub fn has(&self, role: Role) -> bool {
        self.agent.roles.has(role)
    }

    /// Where a resource offered or assigned to `owner` (none: waiting, or no one's) stands from
    /// this person.
    pub fn scope_of(&self, owner: Option<&str>) -> Scope {
        match owner {
            Some(o) if o == self.agent.id => Scope::Own,
            _ => Scope::Others,
        }
    }

    /// Asks the policy whether this person may do `action` to `resource` (named for the audit)
    /// in `scope`. A refusal is audited and answered 403 naming the missing permission.
    pub fn may(&self, action: Action, scope: Scope, resource: &str) -> Result<(), ApiError> {
        policy::decide(self.agent.roles, action, scope).map_err(|denied| {
            self.refusals
                .record(&self.agent.id, &self.request, resource, denied);
            ApiError::Denied(denied)
        })
    }

    /// [`AuthAgent::may`] on the resource owned by `owner`.
    pub fn may_on(
        &self,
        action: Action,
        owner: Option<&str>,
        resource: &str,
    ) -> Result<(), ApiError> {
        self.may(action, self.scope_of(owner), resource)
    }

    /// [`AuthAgent::may`] on the platform (configuration, everyone's figures, the wallboard).
    pub fn may_platform(&self, action: Action) -> Result<(), ApiError> {
        self.may(action, Scope::Platform, "platform")
    }
}

impl<S> FromRequestParts<S> for AuthAgent
where
    S: Send + Sync,
    Accounts: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let accounts = Accounts::from_ref(state);
        let carried = token_from(&parts.headers).map(|(_, c)| c);
        accounts
            .origins
            .check(parts, carried == Some(Carried::Cookie))?;
        let (agent, token_hash) = accounts
            .agent_for(&parts.headers)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(AuthAgent {
            agent,
            token_hash,
            request: format!("{} {}", parts.method, parts.uri.path()),
            refusals: accounts.refusals.clone(),
        })
    }
}

/// A sign-in request.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct Login {
    /// The person's name.
    pub name: String,
    pub password: String,
}

/// A sign-in's answer.
#[derive(Serialize, utoipa::ToSchema)]
struct LoginResponse {
    /// The session token: send it as `Authorization: Bearer` (it is also set as the
    /// `relay_session` cookie).
    token: String,
    agent: Agent,
    /// When the token lapses, in milliseconds since the Unix epoch.
    expires_at: i64,
}

/// A sign-out's answer.
#[derive(Serialize, utoipa::ToSchema)]
struct SignOutAnswer {
    /// Always `true`.
    signed_out: bool,
}

/// Facts of a sign-in request besides its body.
struct Caller {
    ip: std::net::IpAddr,
    https: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller
where
    Accounts: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        // No cookie is involved yet, so only a foreign Origin is refused (a script or curl
        // sends none; a browser on another site sends its own).
        Accounts::from_ref(state).origins.check(parts, false)?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let https = parts.extensions.get::<Https>().is_some_and(|h| h.0);
        Ok(Caller { ip, https })
    }
}

#[utoipa::path(
    post,
    path = "/api/login",
    tag = "sign-in",
    summary = "Sign an agent in",
    description = "Checks the name and password and issues a session token, in the answer and \
        as the HTTP-only relay_session cookie. A request from a browser on another site than \
        the console is refused. An account or address that failed too often waits first.",
    request_body = Login,
    security(()),
    responses(
        (status = 200, description = "Signed in; also sets the HTTP-only relay_session cookie",
            body = LoginResponse),
        (status = 401, description = "Wrong name or password, or a disabled agent",
            body = ErrorBody),
        (status = 403, description = "From another site than the console", body = ErrorBody),
        (status = 429, description = "Too many failed sign-ins: wait Retry-After seconds",
            body = ErrorBody),
        (status = 503, description = "The password checks' line is full", body = ErrorBody),
    )
)]
/// `POST /api/login`: checks the password and issues a token, as JSON and as a cookie. An
/// account or address that failed too often waits first (429 with `Retry-After`), and the
/// check itself runs on the bounded password pool (503 when its line is full).
async fn login(
    State(accounts): State<Accounts>,
    caller: Caller,
    Json(login): Json<Login>,
) -> Result<Response, ApiError> {
    let now = std::time::Instant::now();
    // Every attempt is charged as a failure before it is judged (a success clears it), so
    // concurrent guesses count, and one refused for a full line still marks its address.
    let (waiting, known) = {
        let mut throttle = accounts.throttle();
        let waiting = throttle.wait(&login.name, caller.ip, now);
        let known = throttle.is_known(caller.ip, now);
        if waiting.is_none() {
            throttle.failed(&login.name, caller.ip, now);
        }
        (waiting, known)
    };
    if let Some(wait) = waiting {
        return Err(ApiError::rate_limited(
            "too many failed sign-ins; wait before trying again",
            wait,
        ));
    }
    let name = login.name.clone();
    let credentials = accounts
        .store
        .read(move |db| agent_credentials(db, &name))
        .await?;
    let (hash, agent) = match credentials {
        Some(c) if !c.disabled => (Some(c.password_hash), Some(c.agent)),
        // A disabled agent's password is still checked, so timing does not tell.
        Some(c) => (Some(c.password_hash), None),
        None => (None, None),
    };
    let lane = if known { Lane::Known } else { Lane::Other };
    let right = accounts.hasher.verify(lane, hash, login.password).await?;
    let Some(agent) = agent.filter(|_| right) else {
        return Err(ApiError::Unauthorized);
    };
    accounts
        .throttle()
        .succeeded(&login.name, caller.ip, std::time::Instant::now());
    let token = random_hex(32);
    let ttl = accounts.token_ttl;
    let expires_at = now_ms() + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let (hash, agent_id) = (secret_hash(&token), agent.id.clone());
    accounts
        .store
        .write(move |db| token_insert(db, &hash, &agent_id, expires_at))
        .await?;
    let cookie = accounts.cookie(Some(&token), caller.https);
    let mut response = Json(LoginResponse {
        token,
        agent,
        expires_at,
    })
    .into_response();
    if let Some(value) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[utoipa::path(
    post,
    path = "/api/logout",
    tag = "sign-in",
    summary = "Revoke the token used",
    description = "Revokes the session token the request carries and clears the cookie; the \
        person is signed out of routing too (its work returns to the queues)",
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Signed out", body = SignOutAnswer),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
/// `POST /api/logout`: revokes the token used and clears the cookie.
async fn logout(
    State(accounts): State<Accounts>,
    auth: AuthAgent,
    parts: Parts,
) -> Result<Response, ApiError> {
    let hash = auth.token_hash;
    accounts
        .store
        .write(move |db| token_delete(db, &hash))
        .await?;
    // Signing out of the relay signs out of routing too: the agent's work returns to the queues.
    accounts.on_sign_out.signed_out(&auth.agent.id).await;
    let https = parts.extensions.get::<Https>().is_some_and(|h| h.0);
    let mut response = Json(SignOutAnswer { signed_out: true }).into_response();
    if let Some(value) = accounts.cookie(None, https) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[utoipa::path(
    get,
    path = "/api/me",
    tag = "sign-in",
    summary = "The signed-in agent",
    description = "Who the session token belongs to, with the person's roles",
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The agent", body = Agent),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
/// `GET /api/me`: who the token belongs to.
async fn me(auth: AuthAgent) -> Json<Agent> {
    Json(auth.agent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_from_bearer_or_cookie_and_only_a_cookie_counts_as_sent_by_the_browser() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; relay_session=tok"),
        );
        assert_eq!(token_from(&headers), Some(("tok".into(), Carried::Cookie)));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer xyz"),
        );
        assert_eq!(token_from(&headers), Some(("xyz".into(), Carried::Bearer)));
    }
}
