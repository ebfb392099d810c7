//! One guessing budget for the whole cluster: each failed security-key guess a node charges
//! is told to the others, which charge it too (the address's, its network's and everyone's
//! buckets), so a guesser who spreads over N nodes gets one budget, not N. The news is as
//! bounded as the guesses: a guess refused by the budget is never charged, so never told.

use std::{net::IpAddr, sync::Arc};

use tokio::sync::watch;

use crate::{cluster::ClusterError, cobrowse::state::Cobrowse};

/// Where the nodes tell each other of a failed guess.
const GUESSED_BASE: &str = "relay.cobrowse.guessed";

/// Joins the registry's budgets to the other nodes' until `shutdown`; at once on a node alone.
pub async fn join(cb: &Arc<Cobrowse>, shutdown: watch::Receiver<bool>) -> Result<(), ClusterError> {
    let subject = cb.cluster.subject(GUESSED_BASE);
    let Some(publisher) = cb.cluster.publisher::<IpAddr>(subject.clone()) else {
        return Ok(());
    };
    let registry = cb.registry.clone();
    (cb.cluster)
        .listen(subject, shutdown, move |from: IpAddr| {
            registry.charge_from_afar(from)
        })
        .await?;
    let _ = cb.registry.guessed.set(publisher);
    Ok(())
}
