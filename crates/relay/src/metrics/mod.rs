//! Prometheus metrics at `GET /metrics` (text exposition format 0.0.4), encoded by the
//! `prometheus-client` crate from a registry of the relay's own: co-browse sessions and
//! WebSocket connections, frames and bytes by frame kind, the relay latency histogram, dropped
//! peers and refused observer frames, routing queue depths, longest waits, agents by status,
//! today's offered and answered, routing events the writer had to drop, and messaging's
//! messages ingested by channel. The README lists the names.
//!
//! Nobody scrapes without the operator's say: with `--metrics-token` a scrape carries it as a
//! bearer token (compared in constant time), with `--metrics-addr` the route is served only on
//! that address ([`scrape_only`]), and with neither it is refused.
//!
//! Counters are kept by the domain that counts ([`crate::cobrowse::counters::FrameCounters`],
//! [`crate::messaging::counters::IngestCounters`]) and registered here ([`registry`]); gauges of
//! live state are read at scrape time ([`live`]). Nothing here is process-global: each relay
//! builds its own [`Registry`], so a second relay in the same process counts on its own.

pub mod live;

use std::sync::{atomic::Ordering, Arc};

use axum::{
    extract::State,
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use prometheus_client::{encoding::prometheus_text, registry::Registry};
use subtle::ConstantTimeEq;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    app::App,
    clients::bearer,
    error::{ApiError, ErrorBody},
};
use live::{Live, Snapshot};

/// What a `/metrics` route serves: the relay and the registry built over it.
struct Scrape {
    app: Arc<App>,
    registry: Registry,
}

/// The relay's registry: every domain's counters (shared with the domain, so counting goes on
/// without the registry) and the live figures read from `app` at each scrape.
pub fn registry(app: &Arc<App>) -> Registry {
    let mut registry = match &app.config.node_id {
        // Every series of this node carries `node="ID"`, so one Prometheus tells nodes apart.
        Some(id) => Registry::with_labels(std::iter::once((
            std::borrow::Cow::Borrowed("node"),
            std::borrow::Cow::Owned(id.clone()),
        ))),
        None => Registry::default(),
    };
    app.registry.counters.register(&mut registry);
    app.messaging_ingested.register(&mut registry);
    let app = app.clone();
    registry.register_collector(Box::new(Live::new(move || Snapshot {
        cobrowse_sessions: app.registry.live_sessions().len(),
        websocket_connections: app.streams.open_now(),
        routing: app.routing.realtime().borrow().clone(),
        routing_events_dropped: app.journal.dropped.load(Ordering::Relaxed),
        cluster_dropped: app.cluster.dropped.load(Ordering::Relaxed),
        cluster_refused: app.cluster.refused.load(Ordering::Relaxed),
        routing_owner: app.cluster.leads_routing.load(Ordering::Relaxed),
    })));
    registry
}

fn scrape_state(app: Arc<App>) -> Arc<Scrape> {
    Arc::new(Scrape {
        registry: registry(&app),
        app,
    })
}

/// `GET /metrics` on the public address: asks for the token, or is refused when metrics have
/// an address of their own or no token.
pub fn routes(app: Arc<App>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(public))
        .with_state(scrape_state(app))
}

/// `GET /metrics` alone, for the `--metrics-addr` listener.
pub fn scrape_only(app: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", get(private))
        .with_state(scrape_state(app))
}

/// The scrape on the relay's own address.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "relay",
    summary = "Prometheus metrics (text format 0.0.4)",
    description = "With --metrics-token, the bearer token it names (not a person's sign-in); \
        with --metrics-addr, served only on that address (and refused here); otherwise \
        refused. The README lists the series.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The scrape", content_type = "text/plain", body = String),
        (status = 401, description = "Missing or wrong metrics token", body = ErrorBody),
        (status = 403, description = "Metrics are not enabled on this relay", body = ErrorBody),
        (status = 404, description = "Metrics are served on their own address", body = ErrorBody),
    )
)]
async fn public(State(s): State<Arc<Scrape>>, headers: HeaderMap) -> Response {
    let access = &s.app.config.metrics;
    if access.addr.is_some() {
        return ApiError::Unknown("metrics are served on their own address".into()).into_response();
    }
    match &access.token {
        None => ApiError::Forbidden("metrics need --metrics-token or --metrics-addr".into())
            .into_response(),
        Some(token) => guarded(&s, token, &headers),
    }
}

async fn private(State(s): State<Arc<Scrape>>, headers: HeaderMap) -> Response {
    match &s.app.config.metrics.token {
        None => scrape(&s),
        Some(token) => guarded(&s, token, &headers),
    }
}

/// The scrape when `headers` carry `token` as the bearer.
fn guarded(s: &Scrape, token: &str, headers: &HeaderMap) -> Response {
    let given = bearer(headers).unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        scrape(s)
    } else {
        ApiError::Unauthorized.into_response()
    }
}

fn scrape(s: &Scrape) -> Response {
    let mut text = String::new();
    if prometheus_text::encode(&mut text, &s.registry).is_err() {
        // Only a failing writer fails encoding, and a String does not fail.
        return ApiError::Internal.into_response();
    }
    (
        [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
        text,
    )
        .into_response()
}
