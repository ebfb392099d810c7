//! Where a connection's session lives ([`home_of`]: asked of every node, or taken over when
//! its home went away), and the messages of a pipe's opening (who is at the client's end,
//! and its hello).

use std::{net::IpAddr, time::Duration};

use axum::body::Bytes;
use protocol::{Hello, Pairing};
use serde::{Deserialize, Serialize};

use super::super::state::{Cobrowse, Side};
pub use super::find::Home;
use super::find::{find, Lookup};
use crate::{
    accounts::Agent,
    cluster::Cluster,
    policy::{Role, Roles},
};

/// How long the home gets to take a piped connection.
pub(super) const OPEN_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest hello carried by an open request.
const MAX_OPEN_BYTES: usize = 64 * 1024;

/// The subject on which `node` of this cluster takes piped connections.
pub fn open_subject(cluster: &Cluster, node: &str) -> String {
    cluster.subject(&format!("relay.cobrowse.open.{node}"))
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
        // Nobody holds it: its home may have gone, leaving it to be taken over.
        [] => super::adopt::adopt(cb, &lookup).await.unwrap_or(Home::Here),
        [node] if node == cb.cluster.node() => Home::Here,
        [node] => Home::Node(node.clone()),
        _ => {
            tracing::warn!(nodes = ?nodes, "a security key held by several nodes was refused");
            Home::Ambiguous
        }
    }
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
