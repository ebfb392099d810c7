//! Messaging's pushes across nodes: what one node's service tells its streams (a message,
//! typing, a read mark, a delivery, a timeline event), the other nodes' streams hear too,
//! over the cluster (`crate::cluster`), so a widget on one node and its agent on another see
//! each other live. Calls' pushes stay on the node that holds the call.

use std::sync::Arc;

use tokio::sync::watch;

use super::{Messaging, Push};
use crate::cluster::{Cluster, ClusterError, PUSH_SUBJECT};

/// Joins `svc` to the cluster: its pushes go to the other nodes, theirs come to its streams.
/// Returns once subscribed, so nothing another node says after this is missed.
pub async fn join(
    svc: &Arc<Messaging>,
    cluster: &Arc<Cluster>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ClusterError> {
    let Some(publisher) = cluster.publisher(PUSH_SUBJECT) else {
        return Ok(());
    };
    let here = svc.clone();
    cluster
        .listen(PUSH_SUBJECT, shutdown, move |push: Push| {
            here.push_here(push)
        })
        .await?;
    // Set once: a second join is a no-op.
    let _ = svc.fanout.set(publisher);
    Ok(())
}
