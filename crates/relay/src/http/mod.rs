//! The HTTP front of the relay: merges every domain's routes with the relay's own (health,
//! the API description, metrics, the static site), runs the listener loop (`listener`: request
//! head deadlines, connection caps, the drain), and shuts down gracefully. It owns no domain
//! logic: the composition root ([`App`]) builds what it serves. The API description served is
//! the one the routers gathered from their handlers, under `openapi`'s root.

mod listener;
pub mod openapi;

use std::{future::Future, sync::Arc};

use axum::{
    extract::State,
    http::StatusCode,
    middleware,
    response::{IntoResponse, Response},
    Json, Router,
};
use serde::Serialize;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{app::App, config::Config, store::StoreError};

#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    /// Always `ok`.
    status: &'static str,
    /// The wire protocol version this relay speaks (PROTOCOL.md).
    protocol_version: u16,
}

/// Liveness.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "relay",
    summary = "Liveness: 200 while the relay serves",
    description = "For load balancers and orchestrators; says nothing of the database or of \
        the connection caps",
    security(()),
    responses((status = 200, description = "ok, with the wire protocol version", body = Health))
)]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        protocol_version: protocol::PROTOCOL_VERSION,
    })
}

#[derive(Serialize, utoipa::ToSchema)]
struct Readiness {
    /// `ready`, or why not: `draining` (shutting down), `store unavailable`, `store too slow`.
    status: &'static str,
    /// This node's `--node-id`, if it has one.
    node: Option<String>,
}

/// `GET /readyz`: whether a load balancer should send this node new work.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "relay",
    summary = "Readiness: may a load balancer send this node new work?",
    description = "200 while the node serves and its store answers a read within 2 s; 503 \
                   once it is shutting down (draining) or its store does not answer. \
                   `/healthz` answers whenever the process runs.",
    security(()),
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready, with the reason", body = Readiness),
    )
)]
async fn ready(State(app): State<Arc<App>>) -> Response {
    let node = app.config.node_id.clone();
    match app.ready().await {
        Ok(()) => Json(Readiness {
            status: "ready",
            node,
        })
        .into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Readiness { status: why, node }),
        )
            .into_response(),
    }
}

/// Builds the router: every domain's routes and the relay's own, then the static site as the
/// fallback. The API description served at `/api/openapi.json` is the one their routers
/// gathered, under `openapi`'s root.
pub fn router(app: &Arc<App>) -> Router {
    let www = app.config.www_dir.clone();
    let trusted: Arc<[ipnet::IpNet]> = app.config.trusted_proxies.clone().into();
    let (own, mut doc) = openapi::routes().routes(routes!(health)).split_for_parts();
    let (metrics, metrics_doc) = crate::metrics::routes(app.clone()).split_for_parts();
    doc.merge(metrics_doc);
    let (readiness, readiness_doc) = OpenApiRouter::new()
        .routes(routes!(ready))
        .with_state(app.clone())
        .split_for_parts();
    doc.merge(readiness_doc);
    doc.merge(app.openapi().clone());
    Router::new()
        .merge(own.with_state(Arc::new(openapi::Served::new(&doc))))
        .merge(metrics)
        .merge(readiness)
        .merge(app.routes())
        .fallback_service(ServeDir::new(www).append_index_html_on_directories(true))
        .layer(middleware::from_fn(crate::headers::secure))
        // Last, so it runs first: every handler and limit sees the client's address.
        .layer(middleware::from_fn_with_state(trusted, crate::clients::tag))
}

/// Raises the process's open-file limit (soft, up to the hard limit) to hold `connections`
/// plus what the relay opens itself; a limit it cannot raise far enough is logged, since the
/// connection caps then meet the operating system's first.
fn raise_descriptor_limit(connections: usize) {
    let wanted = u64::try_from(connections)
        .unwrap_or(u64::MAX)
        .saturating_add(256);
    match rlimit::increase_nofile_limit(wanted) {
        Ok(got) if got < wanted => {
            tracing::warn!(
                got,
                wanted,
                "the open-file limit is below the connection caps"
            )
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "raising the open-file limit"),
    }
}

/// Why the relay could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Start(#[from] crate::app::StartError),
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves until `shutdown` completes. Takes a bound listener so tests can bind `127.0.0.1:0`.
///
/// At shutdown every WebSocket is closed with "going away", then queued audit records are
/// written before this returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let metrics_listener = match config.metrics.addr {
        Some(addr) => Some(TcpListener::bind(addr).await?),
        None => None,
    };
    let app = Arc::new(App::start(config).await?);
    // The operator's scrape address: a plain server, since only the operator's network
    // reaches it; it ends with the relay.
    let metrics = metrics_listener.map(|listener| {
        let router = crate::metrics::scrape_only(app.clone());
        tokio::spawn(async move { axum::serve(listener, router).await })
    });
    let bounds = listener::Bounds::from_config(&app.config);
    raise_descriptor_limit(bounds.total);
    let closing = app.clone();
    let served = listener::serve(
        listener,
        router(&app),
        bounds,
        async move {
            shutdown.await;
            // Every connection's writer sends its close frame on this.
            closing.close_connections();
        },
        std::time::Duration::from_secs(5),
    )
    .await;
    if let Some(task) = metrics {
        task.abort();
    }
    app.finish().await;
    Ok(served?)
}
