//! The composition root: the one module that knows every domain. It opens the store, builds
//! each domain with what it needs (the store, sign-in, the configuration) and with the hooks
//! through which one domain tells another something (routing's [`Journal`] is reporting's
//! writer, its [`Riders`] end co-browse sessions, sign-out signs out of routing, co-browse's
//! offer lookup asks messaging whose conversation it is), starts the
//! background tasks (routing, messaging's outbox, the bridge), and gathers every domain's
//! routes and their API description. `http` serves what it builds.

use std::{
    path::Path,
    sync::{atomic::AtomicU64, atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use axum::Router;
use protocol::EndReason;
use tokio::sync::watch;
use utoipa_axum::router::OpenApiRouter;

use crate::{
    accounts::{Accounts, SignedOut},
    cluster::{Cluster, ClusterError},
    cobrowse::{
        self,
        audit::Recorder,
        state::{Cobrowse, Guests},
        Registry,
    },
    config::Config,
    limits::Streams,
    messaging,
    reporting::{self, writer::Writer},
    routing::{self, api::RoutingState, service::Handle, service::Riders},
    store::{Options, Store, StoreError, Target},
};

/// Why a relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// A running relay: every domain, started, and their routes.
pub struct App {
    pub config: Arc<Config>,
    /// The relay's store: every table (messaging's too, unless it is on PostgreSQL).
    pub store: Store,
    /// Live co-browse sessions.
    pub registry: Arc<Registry>,
    /// The routing service.
    pub routing: Handle,
    /// The routing journal's writer (its drop counter is a metric).
    pub journal: Arc<Writer>,
    /// This node among the others (`--nats`), or alone.
    pub cluster: Arc<Cluster>,
    /// One permit per open WebSocket or event stream.
    pub streams: Streams,
    /// Messaging's count of customer messages stored, by channel (a metric).
    pub messaging_ingested: messaging::counters::IngestCounters,
    /// Every domain's routes, merged.
    routes: Router,
    /// What those routes' handlers say of themselves: their part of the API description.
    openapi: utoipa::openapi::OpenApi,
    /// Turns `true` once at shutdown; every connection and stream closes on it.
    shutdown: watch::Sender<bool>,
    /// The last store check `/readyz` made and when: an anonymous flood of readiness probes
    /// costs at most one store read per `READY_FOR`, one at a time.
    readiness: tokio::sync::Mutex<Option<(Instant, Result<(), &'static str>)>>,
    /// How many store checks readiness has made (a test reads it).
    pub readiness_checks: AtomicU64,
    /// The routing node's task: at shutdown, an owner answers what it took and gives the
    /// routing lease up before the store is flushed.
    routing_node: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// How long one readiness check of the store stands.
const READY_FOR: Duration = Duration::from_millis(500);

impl App {
    /// Opens the store, joins the other nodes (with `--nats`) and starts every domain.
    pub async fn start(config: Config) -> Result<App, StartError> {
        let config = Arc::new(config);
        let options = Options {
            queue: config.store_queue,
            ..Options::server(config.fsync_commits)
        };
        let store = Store::open_async(store_target(&config), options).await?;
        let (shutdown, stopping) = watch::channel(false);
        let cluster = join_cluster(&config).await?;
        let recorder = Recorder::new(store.clone(), cluster.node());
        let registry = Registry::new(config.clone(), recorder);
        let journal = Arc::new(Writer::new(store.clone()));
        let riders = Arc::new(CobrowseRiders(registry.clone()));
        let (routing, routing_node) = routing::node::start(routing::node::Deps {
            store: store.clone(),
            cluster: cluster.clone(),
            journal: journal.clone(),
            riders,
            config: routing::service::ServiceConfig::default(),
        });
        let accounts = Accounts::new(
            store.clone(),
            &config,
            Arc::new(RoutingSignOut(routing.clone())),
        );
        accounts.sweep_disabled(Duration::from_secs(1), stopping.clone());
        crate::accounts::fanout::join(&accounts, &cluster, stopping.clone()).await?;
        let streams = Streams::new(config.max_connections, config.streams_per_client);
        let (messaging, messaging_routes) = messaging::start(messaging::Deps {
            config: config.messaging.clone(),
            store: messaging_store(&config, &store).await?,
            attachments_dir: attachments_dir(&config),
            accounts: accounts.clone(),
            sites: store.clone(),
            shutdown: stopping.clone(),
            streams: streams.clone(),
        });
        messaging::fanout::join(&messaging, &cluster, stopping.clone()).await?;
        let messaging_ingested = messaging.ingested.clone();
        messaging.calls.seat_with(Arc::new(RoutingSeat {
            routing: routing.clone(),
            queue: config.messaging.routing_queue.clone(),
        }));
        // Alone, routing restores its work here, before the relay serves; in a cluster, the
        // node that holds the lease does.
        let recovered = Arc::new(crate::bridge::recovery::Recovered(messaging.clone()));
        let routing_node = routing_node.run(recovered, stopping.clone()).await;
        crate::bridge::start(routing.clone(), store.clone(), messaging.clone()).await;
        let cobrowse = Arc::new(
            Cobrowse::new(
                config.clone(),
                store.clone(),
                registry.clone(),
                accounts.clone(),
                streams.clone(),
                stopping.clone(),
                Arc::new(MessagingGuests(messaging.clone())),
            )
            .in_cluster(cluster.clone()),
        );
        cobrowse::remote::listen::listen(&cobrowse, stopping.clone()).await?;
        let (routes, openapi) = OpenApiRouter::new()
            .merge(accounts.clone().routes())
            .merge(cobrowse::api::routes(cobrowse))
            .merge(routing::api::routes(RoutingState {
                routing: routing.clone(),
                store: store.clone(),
                accounts: accounts.clone(),
                shutdown: stopping,
                streams: streams.clone(),
                config: config.clone(),
            }))
            .merge(reporting::api::routes(reporting::api::Reports {
                store: store.clone(),
                accounts: accounts.clone(),
            }))
            .merge(crate::admin::routes(crate::admin::Admin {
                store: store.clone(),
                accounts,
            }))
            .merge(messaging_routes)
            .split_for_parts();
        Ok(App {
            config,
            store,
            registry,
            routing,
            journal,
            cluster,
            streams,
            messaging_ingested,
            routes,
            openapi,
            shutdown,
            readiness: tokio::sync::Mutex::new(None),
            readiness_checks: AtomicU64::new(0),
            routing_node: tokio::sync::Mutex::new(Some(routing_node)),
        })
    }

    /// Every domain's routes (without the relay's own: health, metrics, static files).
    pub fn routes(&self) -> Router {
        self.routes.clone()
    }

    /// The API description of [`App::routes`] (`http` adds its own routes' and the root).
    pub fn openapi(&self) -> &utoipa::openapi::OpenApi {
        &self.openapi
    }

    /// Whether this node should be sent new work: not shutting down, and its store answers a
    /// read within two seconds. `Err` says why not.
    pub async fn ready(&self) -> Result<(), &'static str> {
        if *self.shutdown.borrow() {
            return Err("draining");
        }
        let mut last = self.readiness.lock().await;
        if let Some((at, verdict)) = *last {
            if at.elapsed() < READY_FOR {
                return verdict;
            }
        }
        self.readiness_checks.fetch_add(1, Ordering::Relaxed);
        let read = self
            .store
            .read(|sql| sql.query_row("SELECT 1", &[]).map(drop));
        let verdict = match tokio::time::timeout(Duration::from_secs(2), read).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err("store unavailable"),
            Err(_) => Err("store too slow"),
        };
        *last = Some((Instant::now(), verdict));
        verdict
    }

    /// Tells every connection and stream to close ("going away").
    pub fn close_connections(&self) {
        self.shutdown.send_replace(true);
    }

    /// Waits (briefly) for every connection to send its close and give back its permit, then
    /// for every write queued so far (audit records, routing events) to be committed.
    pub async fn finish(&self) {
        if !self.streams.drained(Duration::from_secs(3)).await {
            tracing::warn!("some connections were still closing at shutdown");
        }
        if let Some(routing) = self.routing_node.lock().await.take() {
            if tokio::time::timeout(Duration::from_secs(3), routing)
                .await
                .is_err()
            {
                tracing::warn!("routing had not given its lease up at shutdown");
            }
        }
        if self.store.flush().await.is_err() {
            tracing::error!("the store's writer stopped before shutdown");
        }
    }
}

/// This node among the others on NATS (`--nats`), or alone; named `--node-id`, or at random.
async fn join_cluster(config: &Config) -> Result<Arc<Cluster>, ClusterError> {
    let node = config
        .node_id
        .clone()
        .unwrap_or_else(|| format!("node-{}", crate::ids::random_hex(4)));
    match &config.nats_url {
        Some(url) => {
            // Nodes of one cluster share one store: its schema names the cluster.
            let scope = config.postgres_schema.as_deref().unwrap_or("default");
            let cluster = Cluster::connect(url, &node, scope).await?;
            tracing::info!(node, nats = %url, "joined the cluster");
            Ok(cluster)
        }
        None => Ok(Cluster::single(&node)),
    }
}

/// Where every table is: PostgreSQL with `--postgres`, else the SQLite file.
fn store_target(config: &Config) -> Target {
    match &config.postgres {
        Some(url) => Target::Postgres {
            url: url.clone(),
            schema: config.postgres_schema.clone(),
        },
        None => Target::Sqlite(config.db_path.clone()),
    }
}

/// Messaging's store: the relay's own, unless a `postgres://` URL puts conversations there.
async fn messaging_store(config: &Config, own: &Store) -> Result<Store, StoreError> {
    match &config.messaging.database_url {
        Some(url) => {
            let options = Options::server(config.fsync_commits);
            Store::open_async(Target::from_url(url), options).await
        }
        None => Ok(own.clone()),
    }
}

/// Where attachments are kept: configured, or `attachments/` beside the database.
fn attachments_dir(config: &Config) -> std::path::PathBuf {
    config.messaging.attachments_dir.clone().unwrap_or_else(|| {
        config
            .db_path
            .parent()
            .unwrap_or(Path::new("."))
            .join("attachments")
    })
}

/// Signing out of the relay signs out of routing too: the agent's work returns to the queues.
struct RoutingSignOut(Handle);

impl SignedOut for RoutingSignOut {
    fn signed_out(&self, agent_id: &str) -> futures_util::future::BoxFuture<'static, ()> {
        let (routing, agent_id) = (self.0.clone(), agent_id.to_owned());
        Box::pin(async move {
            if let Err(e) = routing.sign_out(&agent_id).await {
                tracing::error!(error = %e, "signing out of routing");
            }
        })
    }

    fn signed_in(&self) -> Vec<String> {
        let board = self.0.realtime().borrow().clone();
        board
            .agents
            .iter()
            .filter(|a| a.status != "offline")
            .map(|a| a.agent_id.clone())
            .collect()
    }
}

/// A call placed from a conversation occupies its agent in routing as a routed call would
/// (`Handle::engage`, media `call`, under messaging's queue), and frees her when it ends.
struct RoutingSeat {
    routing: Handle,
    queue: String,
}

/// The routing id of a call placed from a conversation.
fn call_interaction(call_id: &str) -> String {
    format!("{}{call_id}", routing::service::PLACED_CALL_PREFIX)
}

impl messaging::call::CallSeat for RoutingSeat {
    fn seat(
        &self,
        agent: &str,
        call_id: &str,
    ) -> futures_util::future::BoxFuture<'static, Result<(), String>> {
        let (routing, agent) = (self.routing.clone(), agent.to_owned());
        let work = routing::service::Held {
            id: call_interaction(call_id),
            media: routing::Media::Call,
            queue: self.queue.clone(),
            parked: false,
        };
        Box::pin(async move {
            match routing.engage(&agent, work).await {
                Ok(()) => Ok(()),
                // Not on the desk: routing offers her nothing anyway, so nothing to hold.
                Err(routing::service::ServiceError::NotSignedIn) => Ok(()),
                Err(routing::service::ServiceError::Routing(
                    routing::RoutingError::AgentUnavailable { .. },
                )) => Err("you are already on a call".to_owned()),
                Err(e) => {
                    tracing::error!(error = %e, "routing could not seat a call");
                    Ok(())
                }
            }
        })
    }

    fn release(&self, agent: &str, call_id: &str) -> futures_util::future::BoxFuture<'static, ()> {
        let (routing, agent, id) = (
            self.routing.clone(),
            agent.to_owned(),
            call_interaction(call_id),
        );
        Box::pin(async move {
            // Not routed (she was not on the desk) is the usual reason this fails.
            if let Err(e) = routing
                .act(&id, Some(&agent), routing::service::Action::End)
                .await
            {
                tracing::debug!(error = %e, "call not released in routing");
            }
        })
    }

    /// The queue the conversation is routed in as the agent's desk shows it (messaging's
    /// queue when it is not on her desk), and what that queue allows.
    fn allowed(
        &self,
        agent: &str,
        conversation: &str,
    ) -> futures_util::future::BoxFuture<'static, Vec<messaging::call::Offered>> {
        use messaging::call::Offered;
        use routing::service::persist::CallsFromChat;
        let (routing, agent, conversation) = (
            self.routing.clone(),
            agent.to_owned(),
            conversation.to_owned(),
        );
        let fallback = self.queue.clone();
        Box::pin(async move {
            let on_desk = routing.desk(&agent).await.ok().and_then(|desk| {
                (desk.work.into_iter())
                    .find(|w| w.interaction == conversation)
                    .map(|w| w.queue)
            });
            let queue = on_desk.unwrap_or(fallback);
            let calls = match routing.queues().await {
                Ok(queues) => queues
                    .into_iter()
                    .find(|(_, spec)| spec.name == queue)
                    .map(|(_, spec)| spec.calls_from_chat)
                    .unwrap_or_default(),
                Err(e) => {
                    tracing::warn!(error = %e, "queues unreadable: every kind of call offered");
                    CallsFromChat::default()
                }
            };
            match calls {
                CallsFromChat::VoiceAndVideo => vec![Offered::Voice, Offered::Video],
                CallsFromChat::Voice => vec![Offered::Voice],
                CallsFromChat::None => Vec::new(),
            }
        })
    }
}

/// Co-browse sessions ride on the interaction they were started in: they end when routing
/// ends it or moves it to someone else.
struct CobrowseRiders(Arc<Registry>);

impl CobrowseRiders {
    fn end(&self, interaction: String, reason: EndReason) {
        let registry = self.0.clone();
        tokio::spawn(async move {
            registry.end_interaction(&interaction, reason).await;
        });
    }
}

impl Riders for CobrowseRiders {
    fn interaction_ended(&self, interaction: String) {
        self.end(interaction, EndReason::InteractionEnded);
    }

    fn interaction_transferred(&self, interaction: String) {
        self.end(interaction, EndReason::InteractionTransferred);
    }
}

/// Co-browse offers go to the conversation's customer: messaging knows a widget conversation's
/// guest by its token.
struct MessagingGuests(Arc<messaging::Messaging>);

impl Guests for MessagingGuests {
    fn is_guest_of(
        &self,
        conversation_id: &str,
        guest_token: &str,
    ) -> futures_util::future::BoxFuture<'static, Result<bool, StoreError>> {
        let (svc, conversation, token) = (
            self.0.clone(),
            conversation_id.to_owned(),
            guest_token.to_owned(),
        );
        Box::pin(async move {
            match messaging::guest::is_guest_of(&svc, &token, &conversation).await {
                Ok(yes) => Ok(yes),
                Err(messaging::MessagingError::Store(e)) => Err(e),
                Err(_) => Ok(false),
            }
        })
    }

    fn agent_of(
        &self,
        conversation_id: &str,
    ) -> futures_util::future::BoxFuture<'static, Result<Option<Option<String>>, StoreError>> {
        let (svc, conversation) = (self.0.clone(), conversation_id.to_owned());
        Box::pin(async move {
            match svc.conversation(&conversation).await {
                Ok(found) => Ok(found.map(|c| c.agent_id)),
                Err(messaging::MessagingError::Store(e)) => Err(e),
                Err(_) => Ok(None),
            }
        })
    }
}
