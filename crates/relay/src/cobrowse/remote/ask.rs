//! Which node holds a session: the find every node answers for what it holds, and the
//! messages of a pipe's opening (who is at the client's end, and its hello).

use std::{net::IpAddr, time::Duration};

use axum::body::Bytes;
use futures_util::StreamExt;
use protocol::{Hello, Pairing};
use serde::{Deserialize, Serialize};

use super::super::state::{Cobrowse, Side};
use crate::{
    accounts::Agent,
    cluster::Cluster,
    policy::{Role, Roles},
};

/// Which node holds what a hello names (scoped to the cluster, as every subject here is).
const FIND_BASE: &str = "relay.cobrowse.find";
/// How long a node waits for the others to say they hold it. A security key is waited for the
/// whole window, so a key two nodes made is seen twice; the rest take the first answer.
const FIND_WINDOW: Duration = Duration::from_millis(150);
/// How long the home gets to take a piped connection.
pub(super) const OPEN_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest hello carried by an open request.
const MAX_OPEN_BYTES: usize = 64 * 1024;

/// This cluster's subject for finds.
pub fn find_subject(cluster: &Cluster) -> String {
    cluster.subject(FIND_BASE)
}

/// The subject on which `node` of this cluster takes piped connections.
pub fn open_subject(cluster: &Cluster, node: &str) -> String {
    cluster.subject(&format!("relay.cobrowse.open.{node}"))
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
    fn of(pairing: &Pairing) -> Option<Lookup> {
        Some(match pairing {
            Pairing::SecurityKey(key) => Lookup::Key(super::super::registry::normalize_key(key)),
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

/// Who is at the client's end, as the client's node established it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum SideWire {
    Customer {
        site: String,
        addr: IpAddr,
    },
    Agent {
        id: String,
        name: String,
        roles: Vec<String>,
    },
    /// A supervisor observing `session` (its permission was asked on the client's node).
    Observer {
        id: String,
        name: String,
        roles: Vec<String>,
        session: String,
    },
}

fn role_names(roles: &Roles) -> Vec<String> {
    roles.iter().map(|r| r.as_str().to_owned()).collect()
}

fn agent_of(id: String, name: String, roles: &[String]) -> Agent {
    let roles: Vec<Role> = roles.iter().filter_map(|r| Role::parse(r)).collect();
    Agent {
        id,
        name,
        roles: Roles::of(&roles),
    }
}

impl SideWire {
    pub(super) fn of(side: &Side) -> Option<SideWire> {
        match side {
            Side::Customer { site, addr } => Some(SideWire::Customer {
                site: site.clone(),
                addr: *addr,
            }),
            Side::Agent(agent) => Some(SideWire::Agent {
                id: agent.id.clone(),
                name: agent.name.clone(),
                roles: role_names(&agent.roles),
            }),
            Side::Observer { agent, session } => Some(SideWire::Observer {
                id: agent.id.clone(),
                name: agent.name.clone(),
                roles: role_names(&agent.roles),
                session: session.clone(),
            }),
        }
    }

    pub(super) fn side(self) -> Side {
        match self {
            SideWire::Customer { site, addr } => Side::Customer { site, addr },
            SideWire::Agent { id, name, roles } => Side::Agent(agent_of(id, name, &roles)),
            SideWire::Observer {
                id,
                name,
                roles,
                session,
            } => Side::Observer {
                agent: agent_of(id, name, &roles),
                session,
            },
        }
    }
}

/// An open request: the pipe's id and its client, then the hello's bytes.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Open {
    pub(super) conn: String,
    pub(super) side: SideWire,
}

pub(super) fn open_payload(open: &Open, hello: &[u8]) -> Option<Bytes> {
    let head = serde_json::to_vec(open).ok()?;
    let len = u32::try_from(head.len()).ok()?;
    let mut out = Vec::with_capacity(4 + head.len() + hello.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(hello);
    Some(out.into())
}

pub(super) fn read_open(payload: &Bytes) -> Option<(Open, Bytes)> {
    if payload.len() > MAX_OPEN_BYTES {
        return None;
    }
    let len = u32::from_be_bytes(payload.get(..4)?.try_into().ok()?) as usize;
    let head = payload.get(4..4 + len)?;
    let open = serde_json::from_slice(head).ok()?;
    Some((open, payload.slice(4 + len..)))
}

/// Where the session `hello` names lives. `piped`: the connection came from another node, so
/// it is served here whatever the answer.
pub async fn home_of(cb: &Cobrowse, side: &Side, hello: &Hello, piped: bool) -> Home {
    let Some(client) = cb.cluster.client() else {
        return Home::Here;
    };
    let key = matches!(hello.pairing, Pairing::SecurityKey(_));
    if piped || SideWire::of(side).is_none() || (!key && cb.registry.knows(&hello.pairing)) {
        return Home::Here;
    }
    // An address out of guesses is refused here, without a word to the other nodes: a flood
    // of hellos costs the cluster nothing past the budget.
    if let (true, Side::Customer { addr, .. }) = (key, side) {
        if !cb.registry.may_guess(*addr) {
            return Home::Here;
        }
    }
    let Some(lookup) = Lookup::of(&hello.pairing) else {
        return Home::Here;
    };
    let nodes = find(&cb.cluster, client, &lookup, key).await;
    match nodes.as_slice() {
        [] => Home::Here,
        [node] if node == cb.cluster.node() => Home::Here,
        [node] => Home::Node(node.clone()),
        _ => {
            tracing::warn!(nodes = ?nodes, "a security key held by several nodes was refused");
            Home::Ambiguous
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_request_reads_back_and_a_truncated_or_oversized_one_is_refused() {
        let open = Open {
            conn: "c1".into(),
            side: SideWire::Agent {
                id: "alice".into(),
                name: "Alice".into(),
                roles: vec!["agent".into(), "admin".into()],
            },
        };
        let payload = open_payload(&open, b"hello bytes").unwrap();
        let (read, hello) = read_open(&payload).unwrap();
        assert_eq!(read.conn, "c1");
        assert_eq!(&hello[..], b"hello bytes");
        let Side::Agent(agent) = read.side.side() else {
            panic!("not an agent")
        };
        assert!(agent.roles.has(Role::Admin) && !agent.roles.has(Role::Supervisor));
        assert!(read_open(&payload.slice(..6)).is_none());
        assert!(read_open(&Bytes::from_static(&[0, 0, 0, 9, b'{'])).is_none());
        let huge = open_payload(&open, &vec![0; MAX_OPEN_BYTES]).unwrap();
        assert!(read_open(&huge).is_none());
    }
}
