//! The sweep that takes everything away from a disabled person: once a second it asks the
//! store which of the agents holding a connection (or signed in to routing) are disabled,
//! revokes their holds (their sockets and streams close) and signs them out through the hook
//! (routing requeues their work). Each disabled agent is signed out once, and again only if it
//! is seen holding something after that.

use std::{collections::HashSet, sync::Arc, time::Duration};

use tokio::sync::watch;

use super::{holds::Holds, queries::disabled_among};
use crate::store::Store;

/// What happens elsewhere when an agent signs out or is disabled (routing takes its work
/// back).
pub trait SignedOut: Send + Sync {
    /// Called after the token is revoked; failures are the hook's to log.
    fn signed_out(&self, agent_id: &str) -> futures_util::future::BoxFuture<'static, ()>;

    /// Agents signed in elsewhere (routing), so that disabling one is noticed even when it
    /// holds no connection.
    fn signed_in(&self) -> Vec<String> {
        Vec::new()
    }
}

pub(super) async fn sweep(
    store: Store,
    holds: Holds,
    hook: Arc<dyn SignedOut>,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // Disabled agents already signed out, so a disabled agent routing still lists as signed
    // in is not signed out every second.
    let mut handled: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let mut candidates = holds.holders();
        candidates.extend(hook.signed_in());
        candidates.sort();
        candidates.dedup();
        if candidates.is_empty() {
            handled.clear();
            continue;
        }
        let asked = candidates.clone();
        let disabled = match store.read(move |db| disabled_among(db, &asked)).await {
            Ok(disabled) => disabled,
            Err(e) => {
                tracing::warn!(error = %e, "checking for disabled agents");
                continue;
            }
        };
        let disabled: HashSet<String> = disabled.into_iter().collect();
        handled.retain(|id| disabled.contains(id));
        for agent in &disabled {
            // Every node's sweep finds it: each revokes its own.
            let held = holds.revoke_here(agent);
            let first = handled.insert(agent.clone());
            if held || first {
                tracing::info!(agent = %agent, "a disabled agent was signed out");
                hook.signed_out(agent).await;
            }
        }
    }
}
