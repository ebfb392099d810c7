//! The permission matrix's floor: every route the relay serves is listed here with what guards
//! it, and a route added without an entry fails the test (the relay's sources are scanned for
//! `.route("...")` and for the `path = "..."` of each `#[utoipa::path(...)]`). Against a real
//! relay, a signed-in person who holds no role is refused every route the policy guards (403
//! naming the missing permission, or 404 where the route first finds the resource it names and
//! there is none), and an anonymous caller is refused every signed-in route (401).

use std::collections::BTreeSet;

use anyhow::{ensure, Context, Result};
use e2e::{workspace_root, Relay};
use serde_json::{json, Value};

use super::support::login_answer;

/// Who may reach a route.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Guard {
    /// Any signed-in person (who am I, sign out).
    SignedIn,
    /// The policy decides (`AuthAgent::may`).
    Policy,
    /// Anyone: the internet (customers, the widget, the webhook, health, sign-in).
    Anonymous,
    /// A telephony connector's bearer token.
    Connector,
    /// The operator's metrics token.
    Metrics,
}

use Guard::*;

/// Every route: method, path, guard.
const ROUTES: &[(&str, &str, Guard)] = &[
    ("POST", "/api/login", Anonymous),
    ("POST", "/api/logout", SignedIn),
    ("GET", "/api/me", SignedIn),
    ("GET", "/healthz", Anonymous),
    ("GET", "/readyz", Anonymous),
    ("GET", "/api/openapi.json", Anonymous),
    ("GET", "/metrics", Metrics),
    // Co-browse.
    ("POST", "/api/cobrowse/sessions", Policy),
    ("GET", "/api/cobrowse/sessions/{id}", Policy),
    ("POST", "/api/cobrowse/sessions/{id}/end", Policy),
    ("GET", "/api/cobrowse/sessions/{id}/audit", Policy),
    ("POST", "/api/cobrowse/offers", Policy),
    ("GET", "/api/cobrowse/offers", Anonymous),
    ("POST", "/api/interactions/{id}/end", Policy),
    ("POST", "/api/interactions/{id}/transfer", Policy),
    ("GET", "/api/cobrowse/sites/{key}/config", Anonymous),
    ("GET", "/ws/customer", Anonymous),
    ("GET", "/ws/agent", Policy),
    ("GET", "/api/cobrowse/sessions", Policy),
    ("GET", "/ws/observe", Policy),
    // Messaging.
    ("POST", "/api/messaging/open/{integration}", Anonymous),
    ("POST", "/api/messaging/guest", Anonymous),
    ("GET", "/api/messaging/guest/history", Anonymous),
    ("POST", "/api/messaging/guest/messages", Anonymous),
    ("POST", "/api/messaging/guest/typing", Anonymous),
    ("POST", "/api/messaging/guest/read", Anonymous),
    ("POST", "/api/messaging/guest/attachments", Anonymous),
    ("GET", "/api/messaging/guest/stream", Anonymous),
    ("GET", "/api/messaging/guest/call", Anonymous),
    ("POST", "/api/messaging/guest/call/{call}/answer", Anonymous),
    (
        "POST",
        "/api/messaging/guest/call/{call}/decline",
        Anonymous,
    ),
    ("POST", "/api/messaging/guest/call/{call}/signal", Anonymous),
    ("POST", "/api/messaging/guest/call/{call}/end", Anonymous),
    (
        "GET",
        "/api/messaging/attachments/{contact}/{file}",
        Anonymous,
    ),
    ("GET", "/api/messaging/conversations", Policy),
    ("GET", "/api/messaging/conversations/{id}", Policy),
    ("POST", "/api/messaging/conversations/{id}/messages", Policy),
    ("POST", "/api/messaging/conversations/{id}/read", Policy),
    ("POST", "/api/messaging/conversations/{id}/typing", Policy),
    ("POST", "/api/messaging/conversations/{id}/call", Policy),
    (
        "POST",
        "/api/messaging/conversations/{id}/call/{call}/signal",
        Policy,
    ),
    (
        "POST",
        "/api/messaging/conversations/{id}/call/{call}/end",
        Policy,
    ),
    ("POST", "/api/messaging/conversations/{id}/assign", Policy),
    ("POST", "/api/messaging/conversations/{id}/wrap-up", Policy),
    ("POST", "/api/messaging/conversations/{id}/events", Policy),
    (
        "POST",
        "/api/messaging/conversations/{id}/attachments",
        Policy,
    ),
    ("GET", "/api/messaging/stream", Policy),
    ("GET", "/api/messaging/integrations", Policy),
    ("PUT", "/api/messaging/integrations/{name}", Policy),
    // Routing.
    ("GET", "/api/routing/desk", Policy),
    ("POST", "/api/routing/presence", Policy),
    ("POST", "/api/routing/interactions/{id}/{action}", Policy),
    ("POST", "/api/routing/interactions", Connector),
    ("GET", "/api/routing/queues", Policy),
    ("POST", "/api/routing/queues", Policy),
    ("GET", "/api/routing/agents/{name}/profile", Policy),
    ("PUT", "/api/routing/agents/{name}/profile", Policy),
    ("GET", "/api/routing/realtime", Policy),
    ("GET", "/api/routing/connectors", Policy),
    ("POST", "/api/routing/connectors/{name}", Policy),
    ("DELETE", "/api/routing/connectors/{name}", Policy),
    ("POST", "/api/telephony/calls", Connector),
    ("POST", "/api/telephony/calls/{id}/answered", Connector),
    ("POST", "/api/telephony/calls/{id}/ended", Connector),
    ("GET", "/ws/desk", Policy),
    ("POST", "/api/routing/interactions/{id}/assign", Policy),
    ("PUT", "/api/routing/agents/{name}/state", Policy),
    ("POST", "/api/routing/agents/{name}/sign-out", Policy),
    ("GET", "/api/routing/wallboard/stream", Policy),
    // Admin settings.
    ("GET", "/api/admin/people", Policy),
    ("POST", "/api/admin/people", Policy),
    ("PUT", "/api/admin/people/{name}/roles", Policy),
    ("POST", "/api/admin/people/{name}/{action}", Policy),
    ("GET", "/api/admin/sites", Policy),
    ("GET", "/api/admin/sites/{key}", Policy),
    ("PUT", "/api/admin/sites/{key}", Policy),
    (
        "GET",
        "/api/admin/cobrowse/sessions/{id}/audit/verify",
        Policy,
    ),
    // Reporting.
    ("GET", "/api/reports/queues", Policy),
    ("GET", "/api/reports/queues.csv", Policy),
    ("GET", "/api/reports/agents", Policy),
    ("GET", "/api/reports/agents.csv", Policy),
];

/// Every path the relay's sources route: each `.route("...")`, and each `path = "..."` of a
/// handler's `#[utoipa::path(...)]` (the routers built with `routes!` serve exactly those).
fn served_paths() -> Result<BTreeSet<String>> {
    let mut paths = BTreeSet::new();
    let mut dirs = vec![workspace_root().join("crates/relay/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path)?;
                for (call, key) in [(".route(", "\""), ("#[utoipa::path(", "path = \"")] {
                    let mut rest = text.as_str();
                    while let Some(at) = rest.find(call) {
                        rest = &rest[at + call.len()..];
                        let Some(open) = rest.find(key) else { break };
                        let tail = &rest[open + key.len()..];
                        let Some(close) = tail.find('"') else { break };
                        paths.insert(tail[..close].to_owned());
                    }
                }
            }
        }
    }
    Ok(paths)
}

#[test]
fn every_route_the_relay_serves_is_in_the_matrix() -> Result<()> {
    let listed: BTreeSet<String> = ROUTES.iter().map(|(_, p, _)| (*p).to_owned()).collect();
    let served = served_paths()?;
    ensure!(served.len() > 40, "the scan found only {served:?}");
    let missing: Vec<_> = served.difference(&listed).collect();
    ensure!(
        missing.is_empty(),
        "routes with no entry in the permission matrix (say who may reach them): {missing:?}"
    );
    let gone: Vec<_> = listed.difference(&served).collect();
    ensure!(
        gone.is_empty(),
        "the matrix lists routes no longer served: {gone:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_person_without_a_role_and_an_anonymous_caller_are_refused_every_guarded_route(
) -> Result<()> {
    let relay = Relay::start(&[]).await?;
    relay
        .cli(&[
            "user",
            "add",
            "nobody",
            "--role",
            "agent",
            "--password",
            "nobody",
        ])
        .await?;
    relay
        .cli(&["user", "role", "nobody", "--remove", "agent"])
        .await?;
    let http = reqwest::Client::new();
    let answer = login_answer(&relay, &http, "nobody").await?;
    ensure!(answer["agent"]["roles"] == json!([]), "{answer}");
    let token = answer["token"].as_str().context("token")?.to_owned();
    let mut wrong = Vec::new();
    for (method, path, guard) in ROUTES {
        if !matches!(guard, Policy | SignedIn) {
            continue;
        }
        let concrete = path
            .replace("{id}", "x")
            .replace("{name}", "agent")
            .replace("{action}", "accept")
            .replace("{call}", "x");
        let method: reqwest::Method = method.parse()?;
        let body = json!({"interaction": "voice", "conversation_id": "x", "text": "hi",
            "state": "available", "presence": "available", "name": "q", "typing": true, "seq": 1, "kind": "parked"});
        let request = |token: Option<&str>| {
            let mut r = http
                .request(method.clone(), relay.url(&concrete))
                .json(&body);
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            r.send()
        };
        if path.starts_with("/ws/") {
            // A real upgrade, so the refusal comes from the policy, not the handshake.
            for (who, want) in [(None, 401), (Some(token.as_str()), 403)] {
                let status = upgrade_status(&relay, path, who).await?;
                if status != want {
                    wrong.push(format!(
                        "{path}: {who:?} upgraded with {status}, not {want}"
                    ));
                }
            }
            continue;
        }
        let anonymous = request(None).await?.status().as_u16();
        if anonymous != 401 {
            wrong.push(format!("{method} {path}: anonymous got {anonymous}"));
        }
        if *guard == SignedIn {
            continue;
        }
        let answer = request(Some(&token)).await?;
        let status = answer.status().as_u16();
        // Only a refusal's body is read: an event stream opened by mistake never ends.
        let text = match status {
            403 => answer.text().await.unwrap_or_default(),
            _ => String::new(),
        };
        let named = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["permission"].as_str().map(str::to_owned));
        let refused = (status == 403 && named.is_some()) || (status == 404 && path.contains('{'));
        if !refused {
            wrong.push(format!(
                "{method} {path}: a person with no role got {status} {text:.120}"
            ));
        }
    }
    ensure!(wrong.is_empty(), "not refused:\n{}", wrong.join("\n"));
    Ok(())
}

/// The HTTP status a WebSocket upgrade of `path` is answered with (101 when it opens).
async fn upgrade_status(relay: &Relay, path: &str, token: Option<&str>) -> Result<u16> {
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Error};
    let url = relay.url(path).replacen("http", "ws", 1);
    let mut request = url.into_client_request()?;
    if let Some(t) = token {
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {t}"))?,
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => Ok(101),
        Err(Error::Http(response)) => Ok(response.status().as_u16()),
        Err(e) => Err(e.into()),
    }
}
