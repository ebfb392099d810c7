//! People and sign-in: agent accounts (argon2id password hashes), sign-in tokens (an HTTP-only
//! cookie, or `Authorization: Bearer`), the [`AuthAgent`] extractor that guards every agent
//! endpoint and WebSocket of every domain, and the login, logout and "me" routes.
//!
//! Only a SHA-256 of each token is stored, so a copy of the database signs nobody in.
//!
//! Signing out touches other domains (routing gives the agent's work back to the queues); this
//! module only calls the [`SignedOut`] hook the composition root hands it.

use std::sync::{Arc, LazyLock};

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use axum::{
    extract::{FromRef, FromRequestParts, State},
    http::{header, request::Parts, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::{Deserialize, Serialize};

use crate::{
    error::ApiError,
    ids::{fill_random, now_ms, random_hex, secret_hash},
    store::{Columns, Sql, Store, StoreError},
};

/// The cookie that carries an agent's token.
pub const COOKIE: &str = "relay_session";

/// An agent as the rest of the relay sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
}

/// An agent's stored credentials.
#[derive(Debug, Clone)]
pub struct AgentCredentials {
    pub agent: Agent,
    pub password_hash: String,
    pub disabled: bool,
}

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("hashing the password: {0}")]
pub struct HashError(String);

/// Hashes a password with argon2id and a fresh salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Checks a password against a stored hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash to verify against when the agent does not exist, so timing does not tell.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("not a password").unwrap_or_default());

// Queries. Each runs on the store's threads (`Store::write` / `Store::read`).

/// Creates an agent, or resets its password and enables it.
pub fn agent_upsert(db: &mut dyn Sql, name: &str, password_hash: &str) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO agents (id, name, password_hash, disabled, created_at)
         VALUES ($1, $2, $3, 0, $4)
         ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, disabled = 0",
        &[
            random_hex(16).into(),
            name.into(),
            password_hash.into(),
            now_ms().into(),
        ],
    )?;
    Ok(())
}

pub fn agent_exists(db: &mut dyn Sql, name: &str) -> Result<bool, StoreError> {
    Ok(db
        .query_row("SELECT 1 FROM agents WHERE name = $1", &[name.into()])?
        .is_some())
}

/// Disables an agent and signs it out everywhere.
pub fn agent_disable(db: &mut dyn Sql, name: &str) -> Result<(), StoreError> {
    let changed = db.execute(
        "UPDATE agents SET disabled = 1 WHERE name = $1",
        &[name.into()],
    )?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            what: "agent",
            name: name.to_owned(),
        });
    }
    db.execute(
        "DELETE FROM agent_tokens WHERE agent_id IN (SELECT id FROM agents WHERE name = $1)",
        &[name.into()],
    )?;
    Ok(())
}

pub fn agent_credentials(
    db: &mut dyn Sql,
    name: &str,
) -> Result<Option<AgentCredentials>, StoreError> {
    db.query_row(
        "SELECT id, name, password_hash, disabled FROM agents WHERE name = $1",
        &[name.into()],
    )?
    .map(|r| {
        Ok(AgentCredentials {
            agent: Agent {
                id: r.text(0)?,
                name: r.text(1)?,
            },
            password_hash: r.text(2)?,
            disabled: r.int(3)? != 0,
        })
    })
    .transpose()
}

pub fn token_insert(
    db: &mut dyn Sql,
    token_hash: &str,
    agent_id: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO agent_tokens (token_hash, agent_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4)",
        &[
            token_hash.into(),
            agent_id.into(),
            now_ms().into(),
            expires_at.into(),
        ],
    )?;
    Ok(())
}

/// The enabled agent a live token belongs to.
pub fn token_agent(db: &mut dyn Sql, token_hash: &str) -> Result<Option<Agent>, StoreError> {
    db.query_row(
        "SELECT a.id, a.name FROM agent_tokens t JOIN agents a ON a.id = t.agent_id
         WHERE t.token_hash = $1 AND t.expires_at > $2 AND a.disabled = 0",
        &[token_hash.into(), now_ms().into()],
    )?
    .map(|r| {
        Ok(Agent {
            id: r.text(0)?,
            name: r.text(1)?,
        })
    })
    .transpose()
}

pub fn token_delete(db: &mut dyn Sql, token_hash: &str) -> Result<(), StoreError> {
    db.execute(
        "DELETE FROM agent_tokens WHERE token_hash = $1",
        &[token_hash.into()],
    )?;
    Ok(())
}

/// What happens elsewhere when an agent signs out (routing takes its work back).
pub trait SignedOut: Send + Sync {
    /// Called after the token is revoked; failures are the hook's to log.
    fn signed_out(&self, agent: &Agent) -> futures_util::future::BoxFuture<'static, ()>;
}

/// Sign-in as a service: what the extractor and the routes need. Cheap to clone; every
/// domain's state holds one (`FromRef`), so [`AuthAgent`] works in every router.
#[derive(Clone)]
pub struct Accounts {
    pub store: Store,
    /// How long a sign-in token stays valid.
    pub token_ttl: std::time::Duration,
    on_sign_out: Arc<dyn SignedOut>,
}

impl Accounts {
    pub fn new(
        store: Store,
        token_ttl: std::time::Duration,
        on_sign_out: Arc<dyn SignedOut>,
    ) -> Accounts {
        Accounts {
            store,
            token_ttl,
            on_sign_out,
        }
    }

    /// The agent a request's token belongs to, if any.
    pub async fn agent_for(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<(Agent, String)>, ApiError> {
        let Some(token) = token_from(headers) else {
            return Ok(None);
        };
        let hash = secret_hash(&token);
        let lookup = hash.clone();
        let agent = self.store.read(move |db| token_agent(db, &lookup)).await?;
        Ok(agent.map(|a| (a, hash)))
    }

    /// The routes of sign-in: login, logout, me.
    pub fn routes(self) -> Router {
        Router::new()
            .route("/api/login", post(login))
            .route("/api/logout", post(logout))
            .route("/api/me", get(me))
            .with_state(self)
    }
}

fn token_from(headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_owned());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// A signed-in agent; extracting it refuses the request with 401 otherwise. Works with any
/// router state that holds [`Accounts`].
#[derive(Debug, Clone)]
pub struct AuthAgent {
    pub agent: Agent,
    /// The hash of the token used, so logout can revoke exactly it.
    token_hash: String,
}

impl<S> FromRequestParts<S> for AuthAgent
where
    S: Send + Sync,
    Accounts: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let accounts = Accounts::from_ref(state);
        let (agent, token_hash) = accounts
            .agent_for(&parts.headers)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(AuthAgent { agent, token_hash })
    }
}

#[derive(Deserialize)]
pub struct Login {
    pub name: String,
    pub password: String,
}

#[derive(Serialize)]
struct LoginResponse {
    token: String,
    agent: Agent,
    expires_at: i64,
}

/// `POST /api/login`: checks the password and issues a token, as JSON and as a cookie.
async fn login(
    State(accounts): State<Accounts>,
    Json(login): Json<Login>,
) -> Result<Response, ApiError> {
    let name = login.name.clone();
    let credentials = accounts
        .store
        .read(move |db| agent_credentials(db, &name))
        .await?;
    let password = login.password;
    let agent = tokio::task::spawn_blocking(move || match credentials {
        Some(c) if verify_password(&c.password_hash, &password) && !c.disabled => Some(c.agent),
        Some(_) => None,
        None => {
            verify_password(&DUMMY_HASH, &password);
            None
        }
    })
    .await
    .map_err(|_| ApiError::Internal)?
    .ok_or(ApiError::Unauthorized)?;
    let token = random_hex(32);
    let ttl = accounts.token_ttl;
    let expires_at = now_ms() + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let (hash, agent_id) = (secret_hash(&token), agent.id.clone());
    accounts
        .store
        .write(move |db| token_insert(db, &hash, &agent_id, expires_at))
        .await?;
    let cookie = format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        ttl.as_secs()
    );
    let mut response = Json(LoginResponse {
        token,
        agent,
        expires_at,
    })
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `POST /api/logout`: revokes the token used and clears the cookie.
async fn logout(State(accounts): State<Accounts>, auth: AuthAgent) -> Result<Response, ApiError> {
    let hash = auth.token_hash;
    accounts
        .store
        .write(move |db| token_delete(db, &hash))
        .await?;
    // Signing out of the relay signs out of routing too: the agent's work returns to the queues.
    accounts.on_sign_out.signed_out(&auth.agent).await;
    let mut response = Json(serde_json::json!({ "signed_out": true })).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("relay_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(response)
}

/// `GET /api/me`: who the token belongs to.
async fn me(auth: AuthAgent) -> Json<Agent> {
    Json(auth.agent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_verify_only_the_right_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "wrong"));
    }

    #[test]
    fn tokens_are_read_from_bearer_or_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; relay_session=tok"),
        );
        assert_eq!(token_from(&headers).as_deref(), Some("tok"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer xyz"),
        );
        assert_eq!(token_from(&headers).as_deref(), Some("xyz"));
    }
}
