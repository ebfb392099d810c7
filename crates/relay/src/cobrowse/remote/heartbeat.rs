//! Whether a node is alive, as the store says: each node of a cluster writes that it is
//! alive every [`BEAT`] (`cluster_nodes`). NATS says when a node is gone only once it stops
//! delivering to it, which for a machine that stopped (no TCP reset) and still gets messages
//! waits until NATS's writes to it stall. A home that neither answers within the take-over's
//! probe nor has written for [`STALE`] is taken for gone (`adopt::listens`).

use std::time::Duration;

use tokio::sync::watch;

use crate::{
    cobrowse::state::Cobrowse,
    ids::now_ms,
    store::{Columns, Sql, StoreError},
};

/// How often a node writes that it is alive.
pub const BEAT: Duration = Duration::from_secs(1);
/// A node that has not written for this long is gone (five beats: a slow store or a busy
/// node misses some without being taken for dead).
pub const STALE: Duration = Duration::from_secs(5);

fn beat(db: &mut dyn Sql, node: &str, now_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO cluster_nodes (node, seen_ms) VALUES ($1, $2)
         ON CONFLICT (node) DO UPDATE SET seen_ms = excluded.seen_ms",
        &[node.into(), now_ms.into()],
    )?;
    Ok(())
}

/// When `node` last wrote that it is alive (ms since the Unix epoch), if ever.
fn seen(db: &mut dyn Sql, node: &str) -> Result<Option<i64>, StoreError> {
    db.query_row(
        "SELECT seen_ms FROM cluster_nodes WHERE node = $1",
        &[node.into()],
    )?
    .map(|r| r.int(0))
    .transpose()
}

/// Writes this node's beat until shutdown.
pub async fn run(cb: std::sync::Arc<Cobrowse>, mut shutdown: watch::Receiver<bool>) {
    let me = cb.cluster.node().to_owned();
    let mut ticks = tokio::time::interval(BEAT);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = async { let _ = shutdown.wait_for(|stop| *stop).await; } => return,
            _ = ticks.tick() => {}
        }
        let node = me.clone();
        if let Err(e) = cb.store.write(move |db| beat(db, &node, now_ms())).await {
            tracing::warn!(error = %e, "writing this node's heartbeat");
        }
    }
}

/// Whether the store says `node` stopped beating: it wrote once, and not for [`STALE`]. A node
/// that never wrote (an older version) or a store that cannot answer says nothing.
pub async fn stopped(cb: &Cobrowse, node: &str) -> bool {
    let name = node.to_owned();
    let stale_ms = i64::try_from(STALE.as_millis()).unwrap_or(5_000);
    match cb.store.read(move |db| seen(db, &name)).await {
        Ok(Some(seen_ms)) => now_ms().saturating_sub(seen_ms) > stale_ms,
        Ok(None) => false,
        Err(e) => {
            tracing::warn!(error = %e, "reading a node's heartbeat");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{migrate::migrate, sqlite::Sqlite};

    #[test]
    fn a_beat_is_kept_per_node_and_renewed() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut db = Sqlite::open(&dir.path().join("beats.db"), false).expect("a database");
        migrate(&mut db).expect("migrations");
        assert_eq!(seen(&mut db, "n1").ok(), Some(None), "never beat");
        beat(&mut db, "n1", 1_000).expect("a beat");
        beat(&mut db, "n2", 1_500).expect("a beat");
        beat(&mut db, "n1", 2_000).expect("renewed");
        assert_eq!(seen(&mut db, "n1").ok(), Some(Some(2_000)));
        assert_eq!(seen(&mut db, "n2").ok(), Some(Some(1_500)));
    }
}
