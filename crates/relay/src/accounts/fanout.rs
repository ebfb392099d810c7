//! Revocations across nodes: a person's sockets and streams close on every node when one node
//! takes them away (a password reset, a disable), not only on the node that did it. A node
//! that misses the news still closes them within a second for a disable (every node's sweep
//! reads the store); for a password reset, the news is the only way.

use std::sync::Arc;

use tokio::sync::watch;

use super::{holds::Revoked, Accounts};
use crate::cluster::{Cluster, ClusterError};

/// Where revocations cross (scoped to the cluster).
const REVOKED_BASE: &str = "relay.accounts.revoked";

/// Joins `accounts` to the cluster: its revocations go to the other nodes, theirs revoke
/// here. Returns once subscribed; a no-op on a node alone.
pub async fn join(
    accounts: &Accounts,
    cluster: &Arc<Cluster>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ClusterError> {
    let subject = cluster.subject(REVOKED_BASE);
    let Some(publisher) = cluster.publisher(subject.clone()) else {
        return Ok(());
    };
    let holds = accounts.holds.clone();
    cluster
        .listen(subject, shutdown, move |revoked: Revoked| {
            holds.revoke_here(&revoked.agent);
        })
        .await?;
    // Set once: a second join is a no-op.
    let _ = accounts.holds.elsewhere.set(publisher);
    Ok(())
}
