//! The one REST error of the relay, with its HTTP status and JSON shape
//! (`{"error": "what went wrong"}`). Every handler of every domain answers failures with it;
//! a domain turns its own errors into it (`From` impls beside those errors). Internal details
//! are logged where they happen, never returned.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};

use crate::store::StoreError;

/// A REST failure, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: the request itself is wrong; the text says how.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid sign-in.
    #[error("sign in first")]
    Unauthorized,
    /// 403: signed in (or not needed), but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 403: the policy refused; the answer names the missing permission
    /// (`{"error": ..., "permission": "work.own"}`).
    #[error("{0}")]
    Denied(#[from] crate::policy::Denied),
    /// 404.
    #[error("not found")]
    NotFound,
    /// 404 naming what the request named that does not exist.
    #[error("{0}")]
    Unknown(String),
    /// 409: the request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 413: a body or file over its limit.
    #[error("{0}")]
    TooLarge(String),
    /// 429: slow down; the answer carries `Retry-After` (whole seconds, at least 1).
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// 500: logged where it happened.
    #[error("internal error")]
    Internal,
    /// 503: a bound or a dependency is exhausted for now.
    #[error("{0}")]
    Unavailable(String),
    /// 507: the relay's storage for this kind of thing is full.
    #[error("{0}")]
    InsufficientStorage(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::Denied(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound | ApiError::Unknown(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
        }
    }
}

/// A store failure is the relay's own (logged, 500), except a named row that does not exist,
/// which the request named (400: "agent \"x\" not found").
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ApiError::BadRequest(e.to_string()),
            other => {
                tracing::error!(error = %other, "database");
                ApiError::Internal
            }
        }
    }
}

impl ApiError {
    /// A 429 for `message`, to be tried again after `retry_after`.
    pub fn rate_limited(message: impl Into<String>, retry_after: std::time::Duration) -> ApiError {
        ApiError::RateLimited {
            message: message.into(),
            retry_after_secs: retry_after.as_secs_f64().ceil().max(1.0) as u64,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            ApiError::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        let body = ErrorBody {
            error: self.to_string(),
            permission: match &self {
                ApiError::Denied(d) => Some(d.permission.as_str().to_owned()),
                _ => None,
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

/// The JSON body of every REST failure (the API description's `Error`).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// What went wrong, for a person to read.
    pub error: String,
    /// On a refusal by the policy (403): the permission the caller lacks (`work.own`,
    /// `admin.people`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_error_answers_its_status_with_a_json_error_text() {
        let cases = [
            (ApiError::BadRequest("bad".into()), 400, "bad"),
            (ApiError::Unauthorized, 401, "sign in first"),
            (ApiError::Forbidden("no".into()), 403, "no"),
            (ApiError::NotFound, 404, "not found"),
            (
                ApiError::Unknown("no such queue".into()),
                404,
                "no such queue",
            ),
            (ApiError::Conflict("busy".into()), 409, "busy"),
            (ApiError::TooLarge("big".into()), 413, "big"),
            (
                ApiError::rate_limited("slow", std::time::Duration::from_millis(1500)),
                429,
                "slow",
            ),
            (ApiError::Internal, 500, "internal error"),
            (ApiError::Unavailable("full".into()), 503, "full"),
            (ApiError::InsufficientStorage("disk".into()), 507, "disk"),
        ];
        for (error, status, text) in cases {
            let response = error.into_response();
            assert_eq!(response.status().as_u16(), status);
            let retry = response.headers().get("retry-after").cloned();
            assert_eq!(retry.is_some(), status == 429, "{text}");
            if let Some(retry) = retry {
                assert_eq!(retry, "2");
            }
            let body = axum::body::to_bytes(response.into_body(), 1024)
                .await
                .unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(json["error"], text);
        }
    }

    #[test]
    fn a_missing_named_row_is_the_request_s_fault_and_anything_else_the_relay_s() {
        let missing = StoreError::NotFound {
            what: "agent",
            name: "zoe".into(),
        };
        assert_eq!(
            ApiError::from(missing),
            ApiError::BadRequest("agent \"zoe\" not found".into())
        );
        assert_eq!(ApiError::from(StoreError::WorkerGone), ApiError::Internal);
    }
}
