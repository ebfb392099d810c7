//! Where agent-side requests may come from: the console's own origin (or the configured
//! console origins). A browser on another site can make a signed-in agent's browser send the
//! session cookie (a cross-site request); the `Origin` header it must send says so, and such a
//! request is refused before it reads or changes anything. Requests authenticated by a bearer
//! token cannot be forged that way (a page cannot read another origin's token), so only cookie
//! requests must name an allowed origin when they change something or open a socket.

use axum::http::{header, request::Parts, Method};

use crate::error::ApiError;

/// The console origins agent requests may come from.
#[derive(Debug, Clone, Default)]
pub struct ConsoleOrigins {
    /// Exact origins (`https://console.example`); empty: the relay's own origin, as the
    /// request's `Host` names it (http or https).
    allowed: Vec<String>,
}

impl ConsoleOrigins {
    pub fn new(allowed: Vec<String>) -> ConsoleOrigins {
        ConsoleOrigins {
            allowed: allowed
                .into_iter()
                .map(|o| o.trim_end_matches('/').to_owned())
                .collect(),
        }
    }

    fn allows(&self, origin: &str, host: Option<&str>) -> bool {
        if !self.allowed.is_empty() {
            return self.allowed.iter().any(|a| a == origin);
        }
        host.is_some_and(|h| origin == format!("http://{h}") || origin == format!("https://{h}"))
    }

    /// Refuses a request from a foreign origin; a cookie request that changes something or
    /// opens a socket must name its origin.
    pub fn check(&self, parts: &Parts, by_cookie: bool) -> Result<(), ApiError> {
        let text = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        match text(header::ORIGIN) {
            Some(origin) if self.allows(origin, text(header::HOST)) => Ok(()),
            Some(_) => Err(ApiError::Forbidden(
                "requests from this origin are not allowed".into(),
            )),
            None if by_cookie && changes_something(parts) => {
                Err(ApiError::Forbidden("an Origin header is required".into()))
            }
            None => Ok(()),
        }
    }
}

/// Anything but a plain read: another method, or a WebSocket upgrade (which acts for the
/// agent for as long as it is open).
fn changes_something(parts: &Parts) -> bool {
    let upgrade = parts
        .headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    upgrade || !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS)
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn parts(method: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = Request::builder().method(method).uri("/api/x");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_console_s_own_origin_passes_and_another_site_is_refused() {
        let own = ConsoleOrigins::default();
        let host = ("host", "relay.example:8080");
        let ok = parts("POST", &[host, ("origin", "http://relay.example:8080")]);
        assert!(own.check(&ok, true).is_ok());
        let tls = parts("POST", &[host, ("origin", "https://relay.example:8080")]);
        assert!(own.check(&tls, true).is_ok());
        let evil = parts("POST", &[host, ("origin", "https://evil.example")]);
        assert!(own.check(&evil, true).is_err());
        assert!(own.check(&evil, false).is_err());
        let evil_get = parts("GET", &[host, ("origin", "https://evil.example")]);
        assert!(own.check(&evil_get, true).is_err());
    }

    #[test]
    fn a_cookie_request_that_changes_something_must_name_its_origin() {
        let own = ConsoleOrigins::default();
        let post = parts("POST", &[("host", "r")]);
        assert!(own.check(&post, true).is_err());
        assert!(
            own.check(&post, false).is_ok(),
            "bearer requests cannot be forged"
        );
        let ws = parts("GET", &[("host", "r"), ("upgrade", "websocket")]);
        assert!(own.check(&ws, true).is_err());
        assert!(own.check(&parts("GET", &[("host", "r")]), true).is_ok());
    }

    #[test]
    fn configured_origins_replace_the_relay_s_own() {
        let list = ConsoleOrigins::new(vec!["https://console.example/".into()]);
        let host = ("host", "relay.internal");
        let console = parts("POST", &[host, ("origin", "https://console.example")]);
        assert!(list.check(&console, true).is_ok());
        let own = parts("POST", &[host, ("origin", "http://relay.internal")]);
        assert!(list.check(&own, true).is_err());
    }
}
