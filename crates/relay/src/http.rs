//! The HTTP front of the relay: merges every domain's routes with the relay's own (health,
//! the API description, metrics, the static site), runs the listener loop, and shuts down
//! gracefully. It owns no domain logic: the composition root ([`App`]) builds what it serves.

use std::{future::Future, net::SocketAddr, sync::Arc};

use axum::{
    middleware,
    response::{IntoResponse, Response},
    routing::get,
    serve::ListenerExt,
    Json, Router,
};
use serde::Serialize;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

use crate::{app::App, config::Config, store::StoreError};

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

/// Builds the router: every domain's routes and the relay's own, then the static site as the
/// fallback.
pub fn router(app: &Arc<App>) -> Router {
    let www = app.config.www_dir.clone();
    let trusted: Arc<[ipnet::IpNet]> = app.config.trusted_proxies.clone().into();
    Router::new()
        .route("/healthz", get(health))
        .route("/api/openapi.json", get(openapi))
        .merge(crate::metrics::routes(app.clone()))
        .merge(app.routes())
        .fallback_service(ServeDir::new(www).append_index_html_on_directories(true))
        .layer(middleware::from_fn(crate::headers::secure))
        // Last, so it runs first: every handler and limit sees the client's address.
        .layer(middleware::from_fn_with_state(trusted, crate::clients::tag))
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
    let app = Arc::new(App::start(config).await?);
    // Frames are small and writes are already batched: Nagle's algorithm would only add delay.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "setting TCP_NODELAY");
        }
    });
    let closing = app.clone();
    let served = axum::serve(
        listener,
        router(&app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        // Every connection's writer sends its close frame on this.
        closing.close_connections();
    })
    .await;
    app.finish().await;
    Ok(served?)
}
