//! Security headers on what the relay serves. Every answer says `nosniff` and a strict
//! `Referrer-Policy`; the agent console's pages also carry a Content-Security-Policy (scripts
//! only from the relay, plus `wasm-unsafe-eval` for the mirror's package; never framed by
//! anyone, `frame-ancestors 'none'` and `X-Frame-Options: DENY`); behind a trusted proxy that
//! says the request came over TLS, `Strict-Transport-Security` too.
//!
//! The console's policy allows styles, images, fonts and media from anywhere because the
//! mirror (an `about:blank` frame, which inherits it) shows the customer's page with the
//! customer's own resources; its scripts stay inert (the mirror's sanitiser and its sandbox),
//! and this policy is a third wall: no script from anywhere but the relay runs in the console.
//! Customer-facing pages (the loader, the demo shop, the widget) get no CSP from the relay: they
//! belong to the website that embeds them.

use axum::{
    extract::Request,
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};

use crate::clients::Https;

/// The console pages' policy.
pub const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src * 'unsafe-inline' data: blob:; img-src * data: blob:; font-src * data:; \
     media-src * data: blob:; connect-src 'self'; frame-src 'self' blob: data:; \
     object-src 'none'; form-action 'self'; frame-ancestors 'none'";

/// Middleware: adds the headers above to every answer.
pub async fn secure(request: Request, next: Next) -> Response {
    let console = request.uri().path().starts_with("/console");
    let https = request.extensions().get::<Https>().is_some_and(|h| h.0);
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    if console {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONSOLE_CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}
