//! The widget's CORS answers: preflights, and `Access-Control-Allow-Origin` for origins of a
//! registered site (read from the store at most a second ago), on every route of `guest`.

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::state::MsgState;

/// Whether `origin` belongs to a registered site, as read from the store at most a second ago
/// ([`super::service::Messaging::origins`]); a store failure answers no.
async fn origin_allowed(s: &MsgState, origin: &str) -> bool {
    let o = origin.to_owned();
    s.svc
        .origins
        .get_or_read(origin, || {
            s.sites
                .read(move |db| crate::sites::origin_registered(db, &o))
        })
        .await
        .unwrap_or(false)
}

/// Answers preflights and adds `Access-Control-Allow-Origin` for origins of a registered site.
pub async fn cors(State(s): State<MsgState>, req: Request, next: Next) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let allowed = match &origin {
        Some(o) => origin_allowed(&s, o).await,
        None => false,
    };
    let mut response = if req.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    if let (true, Some(origin)) = (allowed, origin) {
        let h = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&origin) {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, x-guest-token"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
    }
    response
}
