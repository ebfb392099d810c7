//! `relay serve`: its flags (every bound an operator may change, with the defaults of
//! `relay::Config`) and the start of the relay on them, seeding the demo when asked.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{bail, Context};
use clap::Parser;
use relay::{
    accounts,
    policy::{Role, Roles},
    routing, sites,
    store::Store,
};

use crate::{open, secs, users::add_person, Database};

/// How the relay writes its log lines (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the process's log subscriber: `RUST_LOG` filters (default `info`), `format` shapes.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}

#[derive(Debug, Clone, Parser)]
pub struct Serve {
    /// Address to listen on.
    #[arg(long, env = "RELAY_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Directory of static files (loader, demo site, console).
    #[arg(long, env = "RELAY_WWW", default_value = "www")]
    www: PathBuf,
    /// Create the demo site `demo` and the people `agent`, `supervisor` and `admin` (each with
    /// its name as password) if missing. (Rules of `{www}/sites/KEY.json` are imported at every
    /// start for each site that has none stored, the demo's included.)
    #[arg(long)]
    seed_demo: bool,
    /// Digits of the security key's locator, the part the relay issues (6: the console adds 6
    /// secret digits that never reach the relay, so the customer types 12, which keeps the
    /// guessing bound; fewer weaken it).
    #[arg(long, env = "RELAY_KEY_DIGITS", default_value_t = e2ee::code::LOCATOR_DIGITS as u32)]
    key_digits: u32,
    /// Seconds a security key stays valid.
    #[arg(long, env = "RELAY_KEY_TTL_SECS", default_value_t = 300)]
    key_ttl_secs: u64,
    /// Inactivity timeout for web messaging, seconds (0: never).
    #[arg(long, default_value_t = 120)]
    inactivity_web_messaging_secs: u64,
    /// Inactivity timeout for web chat, seconds (0: never).
    #[arg(long, default_value_t = 900)]
    inactivity_web_chat_secs: u64,
    /// Inactivity timeout for voice, seconds (0: never).
    #[arg(long, default_value_t = 0)]
    inactivity_voice_secs: u64,
    /// Open WebSockets and event streams at most.
    #[arg(long, default_value_t = 20_000)]
    max_connections: usize,
    /// Open WebSockets and event streams one client address may hold.
    #[arg(long, default_value_t = 64)]
    streams_per_client: usize,
    /// TCP connections one peer address may hold (trusted proxies are not counted).
    #[arg(long, default_value_t = 256)]
    tcp_per_address: usize,
    /// TCP connections kept free beyond --max-connections for short requests (health, sign-in).
    #[arg(long, default_value_t = 1_024)]
    connection_reserve: usize,
    /// Seconds a client has to send a request's head before its connection is closed.
    #[arg(long, default_value_t = 10)]
    request_head_timeout_secs: u64,
    /// A telephony connector and its token as NAME=TOKEN (at least 16 characters), stored
    /// hashed at start (repeatable); `relay connector add` makes a random one instead.
    #[arg(long = "connector-token", env = "RELAY_CONNECTOR_TOKEN")]
    connector_tokens: Vec<String>,
    /// Messaging database: a `postgres://` URL; default: the relay's SQLite file.
    #[arg(long, env = "RELAY_DATABASE_URL")]
    database_url: Option<String>,
    /// Hours of inactivity after which a customer message starts a new conversation (≤ 72).
    #[arg(long, default_value_t = 72)]
    threading_window_hours: u64,
    /// Do not fsync each messaging commit: acknowledged messages survive a relay crash, not a
    /// power loss.
    #[arg(long)]
    no_fsync_commits: bool,
    /// The routing queue messaging conversations arrive in (created if missing).
    #[arg(long, default_value = "messaging")]
    messaging_queue: String,
    /// A reverse proxy's network (CIDR, repeatable) whose `X-Forwarded-For` names the client;
    /// from anywhere else that header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "RELAY_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<ipnet::IpNet>,
    /// This node's name when several relays serve together: every metric is labelled
    /// `node="ID"` and `/readyz` names it.
    #[arg(long = "node-id", env = "RELAY_NODE_ID")]
    node_id: Option<String>,
    /// The NATS server several relay nodes share (`nats://HOST:4222`): a message written
    /// through one node reaches the consoles and widgets on the others. Use with `--postgres`
    /// (the state they share) and `--node-id`.
    #[arg(long, env = "RELAY_NATS")]
    nats: Option<String>,
    /// An origin the console is served from (repeatable), such as https://console.example;
    /// agent requests from any other origin are refused. Default: the relay's own.
    #[arg(
        long = "console-origin",
        env = "RELAY_CONSOLE_ORIGIN",
        value_delimiter = ','
    )]
    console_origins: Vec<String>,
    /// Mark the session cookie Secure (it is already when a trusted proxy says the request came
    /// over TLS).
    #[arg(long)]
    secure_cookies: bool,
    /// `/metrics` on the public address asks for this bearer token; without it (or
    /// --metrics-addr) metrics are not served.
    #[arg(long, env = "RELAY_METRICS_TOKEN")]
    metrics_token: Option<String>,
    /// Serve `/metrics` only on this address (such as 127.0.0.1:9090), not the public one.
    #[arg(long, env = "RELAY_METRICS_ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
    /// How log lines are written: `text` for people, or `json`, one object a line with the
    /// fields of the spans it is in (a co-browse connection's `session`, a messaging
    /// `conversation`); with `json`, standard output carries nothing else.
    #[arg(long, env = "RELAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(flatten)]
    guests: GuestLimits,
    #[command(flatten)]
    calls: CallFlags,
}

/// Voice and video calls from a conversation: the ICE servers browsers are told to use.
#[derive(Debug, Clone, clap::Args)]
struct CallFlags {
    /// A STUN server for calls (repeatable), such as stun:stun.example.org:3478.
    #[arg(long = "stun", env = "RELAY_STUN", value_delimiter = ',')]
    stun: Vec<String>,
    /// A TURN server for calls (repeatable), such as turn:turn.example.org:3478; used with
    /// --turn-secret, coturn's static-auth-secret (use-auth-secret).
    #[arg(long = "turn", env = "RELAY_TURN", value_delimiter = ',')]
    turn: Vec<String>,
    /// The secret shared with coturn; each call's TURN credential is made from it.
    #[arg(long, env = "RELAY_TURN_SECRET")]
    turn_secret: Option<String>,
    /// Seconds a TURN credential is valid.
    #[arg(long, default_value_t = 3600)]
    turn_ttl_secs: u64,
    /// Seconds an offered call rings before it ends unanswered.
    #[arg(long, default_value_t = 30)]
    call_ring_secs: u64,
}

/// What anonymous messaging guests may cost. A rate is PER_MINUTE[/BURST] (burst: the rate);
/// a size is bytes, or with K, M or G (binary).
#[derive(Debug, Clone, clap::Args)]
struct GuestLimits {
    /// Guest tokens one client address may mint.
    #[arg(long, default_value = "20/20", value_parser = str::parse::<relay::config::RateBudget>)]
    guest_tokens_per_address: relay::config::RateBudget,
    /// Guest tokens everyone together may mint.
    #[arg(long, default_value = "3000/600", value_parser = str::parse::<relay::config::RateBudget>)]
    guest_tokens_global: relay::config::RateBudget,
    /// Conversations guests of one client address may start.
    #[arg(long, default_value = "10/10", value_parser = str::parse::<relay::config::RateBudget>)]
    conversation_starts_per_address: relay::config::RateBudget,
    /// Conversations all guests together may start.
    #[arg(long, default_value = "1200/200", value_parser = str::parse::<relay::config::RateBudget>)]
    conversation_starts_global: relay::config::RateBudget,
    /// Guest upload MiB one client address may send per minute (PER_MINUTE/BURST).
    #[arg(long, default_value = "10/20", value_parser = str::parse::<relay::config::RateBudget>)]
    upload_mib_per_address: relay::config::RateBudget,
    /// Guest upload MiB everyone together may send per minute.
    #[arg(long, default_value = "100/200", value_parser = str::parse::<relay::config::RateBudget>)]
    upload_mib_global: relay::config::RateBudget,
    /// Where attachments are kept (default: attachments/ beside the database).
    #[arg(long, env = "RELAY_ATTACHMENTS_DIR")]
    attachments_dir: Option<PathBuf>,
    /// Disk one conversation's guest uploads may take.
    #[arg(long, default_value = "25M", value_parser = relay::config::budget::parse_size)]
    attachment_bytes_per_conversation: u64,
    /// Disk one guest's uploads may take.
    #[arg(long, default_value = "50M", value_parser = relay::config::budget::parse_size)]
    attachment_bytes_per_guest: u64,
    /// Disk all attachments together may take (then uploads get 507).
    #[arg(long, default_value = "10G", value_parser = relay::config::budget::parse_size)]
    attachment_store_bytes: u64,
    /// Seconds an upload no message carries is kept.
    #[arg(long, default_value_t = 3600)]
    orphan_upload_grace_secs: u64,
    /// Seconds a conversation without a message is kept.
    #[arg(long, default_value_t = 600)]
    empty_conversation_grace_secs: u64,
}

async fn seed_demo(db: &Store, local: SocketAddr, format: LogFormat) -> anyhow::Result<()> {
    let origins = vec![
        "http://127.0.0.1:8080".to_owned(),
        "http://localhost:8080".to_owned(),
        format!("http://{local}"),
        format!("http://localhost:{}", local.port()),
    ];
    let saved = origins.clone();
    db.write(move |c| sites::site_add(c, "demo", &saved))
        .await?;
    // One person of each role, each with its name as its password.
    for (name, role) in [
        ("agent", Role::Agent),
        ("supervisor", Role::Supervisor),
        ("admin", Role::Admin),
    ] {
        if !db.read(move |c| accounts::agent_exists(c, name)).await? {
            add_person(db, name, name, Some(Roles::of(&[role]))).await?;
        }
    }
    if format == LogFormat::Json {
        let origins = origins.join(" ");
        tracing::info!(site = "demo", %origins, people = "agent supervisor admin", "demo data seeded");
        return Ok(());
    }
    println!(
        "Demo data: site key `demo` (origins {}),",
        origins.join(", ")
    );
    println!("           people `agent`, `supervisor` and `admin`, each with its name as password");
    println!("           (change one: relay user add NAME --role ROLE --password-stdin)");
    Ok(())
}

pub async fn serve(db: Database, s: Serve) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(s.addr)
        .await
        .with_context(|| format!("binding {}", s.addr))?;
    let local = listener.local_addr()?;
    if s.seed_demo {
        seed_demo(&open(&db).await?, local, s.log_format).await?;
    }
    crate::sites::import_missing(&open(&db).await?, &s.www).await?;
    for pair in &s.connector_tokens {
        let Some((name, token)) = pair.split_once('=').filter(|(_, t)| t.len() >= 16) else {
            bail!("--connector-token takes NAME=TOKEN with a token of 16 characters or more");
        };
        let (name, token) = (name.to_owned(), token.to_owned());
        open(&db)
            .await?
            .write(move |c| routing::service::persist::connector_set(c, &name, &token))
            .await?;
    }
    let config = relay::Config {
        www_dir: s.www,
        db_path: db.path.clone(),
        postgres: db.postgres.clone(),
        postgres_schema: db.schema.clone(),
        key_digits: s.key_digits,
        key_ttl: Duration::from_secs(s.key_ttl_secs),
        inactivity_voice: secs(s.inactivity_voice_secs),
        inactivity_web_chat: secs(s.inactivity_web_chat_secs),
        inactivity_web_messaging: secs(s.inactivity_web_messaging_secs),
        max_connections: s.max_connections,
        streams_per_client: s.streams_per_client,
        tcp_per_address: s.tcp_per_address,
        connection_reserve: s.connection_reserve,
        request_head_timeout: Duration::from_secs(s.request_head_timeout_secs.max(1)),
        fsync_commits: !s.no_fsync_commits,
        trusted_proxies: s.trusted_proxies,
        node_id: s.node_id,
        nats_url: s.nats,
        console_origins: s.console_origins,
        secure_cookies: s.secure_cookies,
        metrics: relay::config::MetricsAccess {
            token: s.metrics_token,
            addr: s.metrics_addr,
        },
        messaging: relay::messaging::MessagingConfig {
            database_url: s.database_url,
            threading_window: Duration::from_secs(s.threading_window_hours.clamp(1, 72) * 3600),
            routing_queue: s.messaging_queue,
            guest_tokens_per_address: s.guests.guest_tokens_per_address,
            guest_tokens_global: s.guests.guest_tokens_global,
            conversation_starts_per_address: s.guests.conversation_starts_per_address,
            conversation_starts_global: s.guests.conversation_starts_global,
            upload_mib_per_address: s.guests.upload_mib_per_address,
            upload_mib_global: s.guests.upload_mib_global,
            attachments_dir: s.guests.attachments_dir,
            attachment_bytes_per_conversation: s.guests.attachment_bytes_per_conversation,
            attachment_bytes_per_guest: s.guests.attachment_bytes_per_guest,
            attachment_store_bytes: s.guests.attachment_store_bytes,
            orphan_upload_grace: Duration::from_secs(s.guests.orphan_upload_grace_secs.max(1)),
            empty_conversation_grace: Duration::from_secs(
                s.guests.empty_conversation_grace_secs.max(1),
            ),
            calls: relay::config::CallConfig {
                stun: s.calls.stun,
                turn: s.calls.turn,
                turn_secret: s.calls.turn_secret,
                turn_ttl: Duration::from_secs(s.calls.turn_ttl_secs.max(60)),
                ring: Duration::from_secs(s.calls.call_ring_secs.clamp(5, 300)),
                ..Default::default()
            },
            ..Default::default()
        },
        ..relay::Config::default()
    };
    let bound = config.key_guess_bound();
    if bound >= 1e-6 {
        tracing::warn!(
            bound,
            "security keys are short enough to be guessed (bound ≥ 1e-6)"
        );
    }
    tracing::info!(addr = %local, db = %db.describe(), "relay listening");
    // JSON logs go to standard output too, where a log shipper wants nothing but JSON.
    if s.log_format == LogFormat::Text {
        println!("Relay listening on http://{local}");
        println!("  Demo shop (customer): http://{local}/demo/");
        println!("  Agent console:        http://{local}/console/");
        println!("  Health:               http://{local}/healthz");
        println!("  API description:      http://{local}/api/openapi.json");
    }
    relay::run(listener, config, stop_signal())
        .await
        .context("serving")
}

/// Ctrl-C or SIGTERM (what systemd, Kubernetes and `kill` send): the relay stops accepting,
/// tells its clients to go elsewhere and finishes its writes. A signal that cannot be
/// installed is logged and not waited for; the other still stops the relay.
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "Ctrl-C not handled");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "SIGTERM not handled");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: draining"),
        () = term => tracing::info!("SIGTERM: draining"),
    }
}
