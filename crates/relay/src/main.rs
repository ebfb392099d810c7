//! The relay binary: parses configuration, sets up logging, binds the listener and serves.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use clap::Parser;

/// The co-browse relay.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "RELAY_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Directory of static files (loader, demo site, console).
    #[arg(long, env = "RELAY_WWW", default_value = "www")]
    www: PathBuf,
    /// Path of the embedded SQLite database.
    #[arg(long, env = "RELAY_DB", default_value = "cobrowse.db")]
    db: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, db = %args.db.display(), "relay listening");
    println!("Relay listening on http://{local}");
    println!("  Demo shop (customer): http://{local}/demo/");
    println!("  Agent console:        http://{local}/console/");
    println!("  Health:               http://{local}/healthz");
    let config = relay::Config { www_dir: args.www };
    relay::run(listener, config, async {
        // Ctrl-C is the only shutdown signal; if it cannot be installed we still serve.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
    .await
    .context("serving")
}
