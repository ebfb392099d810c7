//! The cluster: what one relay node tells the others, over NATS (`--nats URL`). A node alone
//! has a [`Cluster`] without a connection, and everything here is then a no-op.
//!
//! A node publishes through a [`Publisher`]: a bounded queue in front of the NATS client, so
//! a slow or lost NATS server never holds up a request; past the bound, news is dropped and
//! counted (a stream that misses news re-reads its history, as after a lag on one node).
//! Every message carries the node it came from, and a node ignores its own.
//!
//! What crosses today is messaging's push stream (subject [`PUSH_SUBJECT`]); the state itself
//! lives in the shared PostgreSQL store (`--postgres`), so any node answers any request.
//!
//! **Invariant:** nothing received here is trusted further than the store's own rows: a
//! message that does not parse is dropped and counted, never applied in part.

use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Arc,
};

use bytes::Bytes;
use futures_util::StreamExt;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

/// Messaging's pushes (a message, typing, a read mark, a delivery, a timeline event).
pub const PUSH_SUBJECT: &str = "relay.messaging.push";
/// News waiting for the NATS client at most, per publisher.
const PUBLISH_QUEUE: usize = 4096;
/// The largest message a node publishes or accepts (NATS's default payload limit is 1 MiB).
pub const MAX_NEWS_BYTES: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("connecting to NATS at {url}: {why}")]
    Connect { url: String, why: String },
    #[error("subscribing to {subject}: {why}")]
    Subscribe { subject: String, why: String },
}

/// This node, and its connection to the others when there are any.
pub struct Cluster {
    node: String,
    /// What tells this cluster's subjects from another's on the same NATS server (the
    /// nodes' shared store: its PostgreSQL schema), for what must not cross clusters.
    scope: String,
    client: Option<async_nats::Client>,
    /// News dropped because a publisher's queue was full, and news received that did not
    /// parse (for `/metrics`).
    pub dropped: AtomicU64,
    pub refused: AtomicU64,
    /// This node decides routing now (`routing::node`), for `/metrics`.
    pub leads_routing: AtomicBool,
}

/// What goes on the wire: the news and the node it came from.
#[derive(Serialize)]
struct Outgoing<'a, T> {
    node: &'a str,
    news: &'a T,
}

/// [`Outgoing`] as another node reads it.
#[derive(Deserialize)]
struct Incoming<T> {
    node: String,
    news: T,
}

/// How often a node pings its NATS server (two unanswered: the connection is lost).
const PING_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

impl Cluster {
    /// A node on its own.
    pub fn single(node: &str) -> Arc<Cluster> {
        Arc::new(Cluster {
            node: node.to_owned(),
            scope: String::from("default"),
            client: None,
            dropped: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            leads_routing: AtomicBool::new(false),
        })
    }

    /// Joins the nodes on the NATS server at `url`, as `node`, in the cluster named `scope`
    /// (letters, digits, `_` and `-` are kept; anything else becomes `_`).
    pub async fn connect(url: &str, node: &str, scope: &str) -> Result<Arc<Cluster>, ClusterError> {
        let client = async_nats::ConnectOptions::new()
            .name(format!("relay {node}"))
            // So a node notices within seconds that its NATS server's machine is gone (no TCP
            // reset comes), and reconnects; `ops/nats.conf` does the same the other way.
            .ping_interval(PING_EVERY)
            .connect(url)
            .await
            .map_err(|e| ClusterError::Connect {
                url: url.to_owned(),
                why: e.to_string(),
            })?;
        let scope = scope
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>();
        Ok(Arc::new(Cluster {
            node: node.to_owned(),
            scope: if scope.is_empty() {
                "default".into()
            } else {
                scope
            },
            client: Some(client),
            dropped: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            leads_routing: AtomicBool::new(false),
        }))
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// The NATS client, for what talks to one node rather than to all (co-browse's pipes,
    /// `cobrowse::remote`); `None` on a node alone.
    pub fn client(&self) -> Option<&async_nats::Client> {
        self.client.as_ref()
    }

    /// `base` as this cluster's own subject (`base.scope`), for what another cluster on the
    /// same NATS server must never hear.
    pub fn subject(&self, base: &str) -> String {
        format!("{base}.{}", self.scope)
    }

    /// Subscribes this node to `subject` (a node alone has nothing to subscribe to).
    pub async fn subscribe(&self, subject: String) -> Result<async_nats::Subscriber, ClusterError> {
        let Some(client) = &self.client else {
            return Err(ClusterError::Subscribe {
                subject,
                why: "this node is not in a cluster".into(),
            });
        };
        (client.subscribe(subject.clone()).await).map_err(|e| ClusterError::Subscribe {
            subject,
            why: e.to_string(),
        })
    }

    /// Whether other nodes may be listening.
    pub fn is_clustered(&self) -> bool {
        self.client.is_some()
    }

    /// A publisher of `T` on `subject`; `None` on a node alone.
    pub fn publisher<T: Serialize + Send + 'static>(
        self: &Arc<Self>,
        subject: impl Into<String>,
    ) -> Option<Publisher<T>> {
        let client = self.client.clone()?;
        let subject: String = subject.into();
        let (tx, mut rx) = mpsc::channel::<Bytes>(PUBLISH_QUEUE);
        tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if let Err(e) = client.publish(subject.clone(), bytes).await {
                    tracing::warn!(error = %e, %subject, "publishing to the cluster");
                }
            }
        });
        Some(Publisher {
            tx,
            cluster: self.clone(),
            _news: std::marker::PhantomData,
        })
    }

    /// Calls `apply` with every `T` another node publishes on `subject`, until `shutdown`;
    /// returns at once on a node alone.
    pub async fn listen<T: DeserializeOwned + Send + 'static>(
        self: &Arc<Self>,
        subject: impl Into<String>,
        mut shutdown: watch::Receiver<bool>,
        apply: impl Fn(T) + Send + 'static,
    ) -> Result<(), ClusterError> {
        if self.client.is_none() {
            return Ok(());
        }
        let subject: String = subject.into();
        let mut sub = self.subscribe(subject.clone()).await?;
        let cluster = self.clone();
        tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    m = sub.next() => m,
                    _ = shutdown.wait_for(|stop| *stop) => None,
                };
                let Some(message) = message else { return };
                if message.payload.len() > MAX_NEWS_BYTES {
                    cluster.refused.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                match serde_json::from_slice::<Incoming<T>>(&message.payload) {
                    Ok(envelope) if envelope.node == cluster.node => {}
                    Ok(envelope) => apply(envelope.news),
                    Err(e) => {
                        cluster.refused.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, %subject, "news from the cluster refused");
                    }
                }
            }
        });
        Ok(())
    }
}

/// Publishes `T`s to the other nodes without waiting (see the module's doc).
pub struct Publisher<T> {
    tx: mpsc::Sender<Bytes>,
    cluster: Arc<Cluster>,
    _news: std::marker::PhantomData<fn(T)>,
}

impl<T: Serialize> Publisher<T> {
    /// Queues `news` for the other nodes; `false` when it was dropped (queue full, too big).
    pub fn send(&self, news: &T) -> bool {
        let envelope = Outgoing {
            node: self.cluster.node.as_str(),
            news,
        };
        let queued = serde_json::to_vec(&envelope)
            .ok()
            .filter(|bytes| bytes.len() <= MAX_NEWS_BYTES)
            .is_some_and(|bytes| self.tx.try_send(Bytes::from(bytes)).is_ok());
        if !queued {
            self.cluster.dropped.fetch_add(1, Ordering::Relaxed);
        }
        queued
    }
}
