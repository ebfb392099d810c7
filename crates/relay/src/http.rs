//! The HTTP front of the relay: owns the axum router, the REST error type, the listener loop
//! and graceful shutdown.

use std::{future::Future, net::SocketAddr, sync::Arc};

use axum::{
    response::{IntoResponse, Response},
    routing::{get, post},
    serve::ListenerExt,
    Json, Router,
};
use serde::Serialize;
use tokio::{net::TcpListener, sync::watch};
use tower_http::services::ServeDir;

use crate::{
    app::App,
    cobrowse::{api, audit::Recorder, Registry},
    config::Config,
    store::{Options, Store, StoreError, Target},
};

#[derive(Serialize)]
struct Health {
    status: &'static str,
    protocol_version: u16,
}

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        protocol_version: protocol::PROTOCOL_VERSION,
    })
}

const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

/// Builds the router: API and WebSockets, then the static site as the fallback.
pub fn router(app: Arc<App>) -> Router {
    let www = app.config.www_dir.clone();
    let accounts = app.accounts.clone();
    Router::new()
        .route("/healthz", get(health))
        .route("/api/openapi.json", get(openapi))
        .route("/api/cobrowse/sessions", post(api::start_by_key))
        .route("/api/cobrowse/sessions/{id}", get(api::session_state))
        .route("/api/cobrowse/sessions/{id}/end", post(api::end_session))
        .route("/api/cobrowse/sessions/{id}/audit", get(api::audit))
        .route(
            "/api/cobrowse/offers",
            post(api::start_by_offer).get(api::pending_offers),
        )
        .route("/api/interactions/{id}/end", post(api::interaction_ended))
        .route(
            "/api/interactions/{id}/transfer",
            post(api::interaction_transferred),
        )
        .route("/api/cobrowse/sites/{key}/config", get(api::site_config))
        .route("/ws/customer", get(api::customer_ws))
        .route("/ws/agent", get(api::agent_ws))
        .route("/metrics", get(crate::metrics::scrape))
        .merge(crate::routing::api::routes())
        .merge(crate::reporting::api::routes())
        .with_state(app)
        .merge(accounts.routes())
        .fallback_service(ServeDir::new(www).append_index_html_on_directories(true))
}

/// Why the relay could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
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
    let config = Arc::new(config);
    let options = Options {
        queue: config.store_queue,
        ..Options::server(config.fsync_commits)
    };
    let store = Store::open_async(Target::Sqlite(config.db_path.clone()), options).await?;
    let registry = Registry::new(config.clone(), Recorder::new(store.clone()));
    let routing = crate::routing::service::start(&store, registry.clone()).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let app = Arc::new(App::new(config, store, registry, routing, stop_rx));
    // Frames are small and writes are already batched: Nagle's algorithm would only add delay.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "setting TCP_NODELAY");
        }
    });
    let (_messaging, messaging_routes) =
        crate::messaging::start(app.clone(), app.shutdown.clone()).await?;
    crate::bridge::start(app.clone(), _messaging.clone()).await;
    let served = axum::serve(
        listener,
        router(app.clone())
            .merge(messaging_routes)
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        // Every connection's writer sends its close frame on this.
        stop_tx.send_replace(true);
    })
    .await;
    // Wait (briefly) for every connection to send its close and give back its permit, then
    // make sure every record queued so far is on disk.
    let all = u32::try_from(app.config.max_connections).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        app.connections.acquire_many(all),
    )
    .await;
    if drained.is_err() {
        tracing::warn!("some connections were still closing at shutdown");
    }
    if app.registry.recorder.flush().await.is_err() {
        tracing::error!("audit writer stopped before shutdown");
    }
    Ok(served?)
}
