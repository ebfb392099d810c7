//! Prometheus metrics at `GET /metrics` (text exposition format 0.0.4): co-browse sessions and
//! WebSocket connections, relayed frames and dropped peers, routing queue depths, longest waits,
//! agents by status, today's offered and answered, and routing events the writer had to drop.
//!
//! Nobody scrapes without the operator's say: with `--metrics-token` a scrape carries it as a
//! bearer token (compared in constant time), with `--metrics-addr` the route is served only on
//! that address ([`scrape_only`]), and with neither it is refused.
//!
//! Everything is read from the running relay at scrape time into a [`Snapshot`]: gauges from
//! the live state, counters from the ones each domain keeps (co-browse's
//! [`crate::cobrowse::counters::FrameCounters`], the routing event writer's drops). Nothing here
//! is process-global: a second relay in the same process counts on its own.

use std::{
    fmt::Write as _,
    sync::{atomic::Ordering, Arc},
};

use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use subtle::ConstantTimeEq;

use crate::{app::App, clients::bearer, error::ApiError, routing::service::live::Realtime};

/// What a scrape reports, gathered from the running relay.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub cobrowse_sessions: usize,
    pub websocket_connections: usize,
    pub routing: Arc<Realtime>,
    pub routing_events_dropped: u64,
    pub frames_total: u64,
    pub drops_total: u64,
    pub observer_refusals_total: u64,
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    // Writing to a String cannot fail.
    writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}").ok();
}

/// A family with one unlabelled sample.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, kind, help);
    writeln!(out, "{name} {value}").ok();
}

/// A gauge family with one sample per routing queue.
fn per_queue<V: std::fmt::Display>(
    out: &mut String,
    s: &Snapshot,
    name: &str,
    help: &str,
    value: impl Fn(&crate::routing::service::live::QueueLive) -> V,
) {
    family(out, name, "gauge", help);
    for q in &s.routing.queues {
        let label = escape(&q.name);
        writeln!(out, "{name}{{queue=\"{label}\"}} {}", value(q)).ok();
    }
}

/// The exposition text for `s`.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let o = &mut out;
    single(
        o,
        "relay_cobrowse_sessions",
        "gauge",
        "Live co-browse sessions.",
        s.cobrowse_sessions,
    );
    single(
        o,
        "relay_websocket_connections",
        "gauge",
        "Open WebSocket connections.",
        s.websocket_connections,
    );
    single(
        o,
        "relay_frames_total",
        "counter",
        "Frames relayed between peers.",
        s.frames_total,
    );
    single(
        o,
        "relay_drops_total",
        "counter",
        "Peers dropped.",
        s.drops_total,
    );
    single(
        o,
        "relay_observer_refusals_total",
        "counter",
        "Frames from co-browse observers refused (observers never control).",
        s.observer_refusals_total,
    );
    per_queue(
        o,
        s,
        "relay_routing_queue_waiting",
        "Interactions waiting per queue.",
        |q| q.waiting,
    );
    per_queue(
        o,
        s,
        "relay_routing_queue_longest_wait_seconds",
        "Wait of the longest-waiting interaction per queue.",
        |q| q.longest_wait_ms as f64 / 1000.0,
    );
    per_queue(
        o,
        s,
        "relay_routing_offered_today",
        "Arrivals per queue since UTC midnight.",
        |q| q.offered_today,
    );
    per_queue(
        o,
        s,
        "relay_routing_answered_today",
        "Answers per queue since UTC midnight.",
        |q| q.answered_today,
    );
    family(
        o,
        "relay_routing_agents",
        "gauge",
        "Agents known to routing, by status.",
    );
    for status in ["available", "busy", "away", "wrap_up", "offline"] {
        let n = s
            .routing
            .agents
            .iter()
            .filter(|a| a.status == status)
            .count();
        writeln!(o, "relay_routing_agents{{status=\"{status}\"}} {n}").ok();
    }
    single(
        o,
        "relay_routing_events_dropped_total",
        "counter",
        "Routing events not persisted because the writer was behind.",
        s.routing_events_dropped,
    );
    out
}

/// `GET /metrics` on the public address: asks for the token, or is refused when metrics have
/// an address of their own or no token.
pub fn routes(app: Arc<App>) -> Router {
    Router::new().route("/metrics", get(public)).with_state(app)
}

/// `GET /metrics` alone, for the `--metrics-addr` listener.
pub fn scrape_only(app: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", get(private))
        .with_state(app)
}

async fn public(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let access = &app.config.metrics;
    if access.addr.is_some() {
        return ApiError::Unknown("metrics are served on their own address".into()).into_response();
    }
    match &access.token {
        None => ApiError::Forbidden("metrics need --metrics-token or --metrics-addr".into())
            .into_response(),
        Some(token) => guarded(&app, token, &headers),
    }
}

async fn private(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match &app.config.metrics.token {
        None => scrape(&app).into_response(),
        Some(token) => guarded(&app, token, &headers),
    }
}

/// The scrape when `headers` carry `token` as the bearer.
fn guarded(app: &App, token: &str, headers: &HeaderMap) -> Response {
    let given = bearer(headers).unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        scrape(app).into_response()
    } else {
        ApiError::Unauthorized.into_response()
    }
}

fn scrape(app: &App) -> impl IntoResponse {
    let snapshot = Snapshot {
        cobrowse_sessions: app.registry.live_sessions().len(),
        websocket_connections: app.streams.open_now(),
        routing: app.routing.realtime().borrow().clone(),
        routing_events_dropped: app.journal.dropped.load(Ordering::Relaxed),
        frames_total: app.registry.counters.frames_total.load(Ordering::Relaxed),
        drops_total: app.registry.counters.drops_total.load(Ordering::Relaxed),
        observer_refusals_total: app
            .registry
            .counters
            .observer_refusals_total
            .load(Ordering::Relaxed),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&snapshot),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::service::live::{AgentLive, QueueLive};

    #[test]
    fn queue_depths_and_agent_statuses_are_labelled_series() {
        let routing = Realtime {
            at_ms: 0,
            queues: vec![QueueLive {
                id: 1,
                name: "sales \"EU\"".into(),
                waiting: 3,
                longest_wait_ms: 1500,
                agents_available: 0,
                agents_busy: 1,
                offered_today: 7,
                answered_today: 4,
                ..QueueLive::default()
            }],
            agents: vec![AgentLive {
                agent_id: "a".into(),
                name: "alice".into(),
                status: "busy",
                time_in_status_ms: 0,
                active: 1,
                ..AgentLive::default()
            }],
            ..Realtime::default()
        };
        let text = render(&Snapshot {
            cobrowse_sessions: 2,
            routing: Arc::new(routing),
            ..Snapshot::default()
        });
        assert!(text.contains("relay_cobrowse_sessions 2\n"));
        assert!(text.contains("relay_routing_queue_waiting{queue=\"sales \\\"EU\\\"\"} 3\n"));
        assert!(text.contains(
            "relay_routing_queue_longest_wait_seconds{queue=\"sales \\\"EU\\\"\"} 1.5\n"
        ));
        assert!(text.contains("relay_routing_agents{status=\"busy\"} 1\n"));
        assert!(text.contains("# TYPE relay_frames_total counter\n"));
    }
}
