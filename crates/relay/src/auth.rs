//! Agent accounts and sign-in: argon2id password hashes, session tokens (an HTTP-only cookie, or
//! `Authorization: Bearer`), the [`AuthAgent`] extractor that guards every agent endpoint and
//! WebSocket, and the login, logout and "me" handlers.
//!
//! Only a SHA-256 of each token is stored, so a copy of the database signs nobody in.

use std::sync::{Arc, LazyLock};

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use axum::{
    extract::{FromRequestParts, State},
    http::{header, request::Parts, HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};

use crate::{
    app::App,
    error::ApiError,
    ids::{now_ms, random_hex, secret_hash},
    store::{self, Agent},
};

/// The cookie that carries an agent's token.
pub const COOKIE: &str = "relay_session";

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("hashing the password: {0}")]
pub struct HashError(String);

/// Hashes a password with argon2id and a fresh salt (PHC string format).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| HashError(e.to_string()))?;
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

fn token_hash(token: &str) -> String {
    secret_hash(token)
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

/// A signed-in agent; extracting it refuses the request with 401 otherwise.
#[derive(Debug, Clone)]
pub struct AuthAgent {
    pub agent: Agent,
    /// The hash of the token used, so logout can revoke exactly it.
    token_hash: String,
}

impl FromRequestParts<Arc<App>> for AuthAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let token = token_from(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let hash = token_hash(&token);
        let lookup = hash.clone();
        let agent = app
            .store
            .call(move |c| store::token_agent(c, &lookup))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(AuthAgent {
            agent,
            token_hash: hash,
        })
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
pub async fn login(
    State(app): State<Arc<App>>,
    Json(login): Json<Login>,
) -> Result<Response, ApiError> {
    let name = login.name.clone();
    let credentials = app
        .store
        .call(move |c| store::agent_credentials(c, &name))
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
    let ttl = app.config.agent_token_ttl;
    let expires_at = now_ms() + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let (hash, agent_id) = (token_hash(&token), agent.id.clone());
    app.store
        .call(move |c| store::token_insert(c, &hash, &agent_id, expires_at))
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
pub async fn logout(State(app): State<Arc<App>>, auth: AuthAgent) -> Result<Response, ApiError> {
    let hash = auth.token_hash;
    app.store
        .call(move |c| store::token_delete(c, &hash))
        .await?;
    // Signing out of the relay signs out of routing too: the agent's work returns to the queues.
    if let Err(e) = app.routing.sign_out(&auth.agent.id).await {
        tracing::error!(error = %e, "signing out of routing");
    }
    let mut response = Json(serde_json::json!({ "signed_out": true })).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("relay_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(response)
}

/// `GET /api/me`: who the token belongs to.
pub async fn me(auth: AuthAgent) -> Json<Agent> {
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
