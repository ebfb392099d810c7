//! Which node holds a session: the question every node hears ("who holds this key, offer,
//! resume token or session?"), answered by the holder, and the one way a node asks the others
//! a question and gathers their answers.

use std::time::Duration;

use axum::body::Bytes;
use futures_util::StreamExt;
use protocol::Pairing;
use serde::{Deserialize, Serialize};

use crate::cluster::Cluster;

/// Which node holds what a hello names (scoped to the cluster, as every subject here is).
const FIND_BASE: &str = "relay.cobrowse.find";
/// How long a node waits for the others to say they hold it. A security key is waited for the
/// whole window, so a key two nodes made is seen twice; the rest take the first answer.
const FIND_WINDOW: Duration = Duration::from_millis(150);
/// This cluster's subject for finds.
pub fn find_subject(cluster: &Cluster) -> String {
    cluster.subject(FIND_BASE)
}

/// Where a connection's session lives.
#[derive(Debug, PartialEq, Eq)]
pub enum Home {
    /// This node (or none: pairing here then fails as it would on a node alone).
    Here,
    /// Another node.
    Node(String),
    /// Several nodes hold the same security key: none is used.
    Ambiguous,
}

/// What a find asks.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub(super) enum Lookup {
    Key(String),
    Offer(String),
    Resume(String),
    Session(String),
}

impl Lookup {
    pub(super) fn of(pairing: &Pairing) -> Option<Lookup> {
        Some(match pairing {
            Pairing::SecurityKey(key) => Lookup::Key(crate::cobrowse::pairing::normalize_key(key)),
            Pairing::OfferToken(token) => Lookup::Offer(token.clone()),
            Pairing::Resume { token, .. } => Lookup::Resume(token.clone()),
            Pairing::AgentJoin { session_id } | Pairing::Observe { session_id } => {
                Lookup::Session(session_id.clone())
            }
        })
    }

    pub(super) fn pairing(self) -> Pairing {
        match self {
            Lookup::Key(key) => Pairing::SecurityKey(key),
            Lookup::Offer(token) => Pairing::OfferToken(token),
            Lookup::Resume(token) => Pairing::Resume { token, grant: 0 },
            Lookup::Session(session_id) => Pairing::AgentJoin { session_id },
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Found {
    pub(super) node: String,
}

/// Publishes `body` on `subject` and gathers the answers `keep` reads that come within
/// `window`: all of them, or only the first when `first` (the one way a node asks the others
/// a question).
pub(super) async fn gather<T>(
    client: &async_nats::Client,
    subject: String,
    body: Bytes,
    window: Duration,
    first: bool,
    keep: impl Fn(&[u8]) -> Option<T>,
) -> Vec<T> {
    let inbox = client.new_inbox();
    let Ok(mut answers) = client.subscribe(inbox.clone()).await else {
        return Vec::new();
    };
    if client
        .publish_with_reply(subject, inbox, body)
        .await
        .is_err()
    {
        return Vec::new();
    }
    let deadline = tokio::time::Instant::now() + window;
    let mut got = Vec::new();
    while let Ok(Some(answer)) = tokio::time::timeout_at(deadline, answers.next()).await {
        let Some(kept) = keep(&answer.payload) else {
            continue;
        };
        got.push(kept);
        if first {
            break;
        }
    }
    let _ = answers.unsubscribe().await;
    got
}

/// The nodes that answer a find of `lookup` within [`FIND_WINDOW`]: every one when `all`
/// (a security key, which two nodes might hold), else the first.
pub(super) async fn find(
    cluster: &Cluster,
    client: &async_nats::Client,
    lookup: &Lookup,
    all: bool,
) -> Vec<String> {
    let Ok(ask) = serde_json::to_vec(lookup) else {
        return Vec::new();
    };
    let read = |a: &[u8]| serde_json::from_slice::<Found>(a).ok();
    let answers = gather(
        client,
        find_subject(cluster),
        ask.into(),
        FIND_WINDOW,
        !all,
        read,
    )
    .await;
    let mut nodes: Vec<String> = Vec::new();
    for found in answers {
        if !nodes.contains(&found.node) {
            nodes.push(found.node);
        }
    }
    nodes
}
