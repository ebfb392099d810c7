//! The HTTP front of the relay: owns the axum router, the listener loop and graceful shutdown.

use std::{future::Future, path::PathBuf};

use axum::{routing::get, Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;
use tower_http::services::ServeDir;

/// What the relay needs to start serving.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory served as static files at `/` (the loader, the demo site and the agent console).
    pub www_dir: PathBuf,
}

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

/// Builds the router: health first, then the static site as the fallback.
pub fn router(config: &Config) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .fallback_service(ServeDir::new(&config.www_dir).append_index_html_on_directories(true))
}

/// Serves until `shutdown` completes. Takes a bound listener so tests can bind `127.0.0.1:0`.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(&config))
        .with_graceful_shutdown(shutdown)
        .await
}
