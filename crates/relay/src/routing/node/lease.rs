//! The routing lease in the store: which node owns the routing decisions, until when. A node
//! claims it when it is free or lapsed and renews it while it holds it; one conditional
//! upsert does both, so two nodes racing for a lapsed lease cannot both win (the store's
//! write is atomic on either engine).
//!
//! Times are the nodes' own clocks (ms since the Unix epoch): nodes of one cluster are
//! expected to keep them in step (NTP), to well within the lease's length.

use crate::store::{Columns, Sql, StoreError};

/// The one lease routing uses.
const NAME: &str = "routing";

/// What a claim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// `node` holds the lease until `now + lease_ms`; `epoch` counts the owners so far;
    /// `took_over` is when another node's lease ended, when it was another's until now.
    Held { epoch: i64, took_over: Option<i64> },
    /// Another node holds it.
    Taken,
}

/// Claims or renews the lease for `node` until `now_ms + lease_ms`: granted when it is free,
/// lapsed (`until_ms < now_ms`) or already `node`'s.
pub fn claim(
    db: &mut dyn Sql,
    node: &str,
    now_ms: i64,
    lease_ms: i64,
) -> Result<Claim, StoreError> {
    let before = holder(db)?;
    let changed = db.execute(
        "INSERT INTO routing_lease (name, owner, until_ms, epoch) VALUES ($1, $2, $3, 1)
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms,
             epoch = routing_lease.epoch
                 + CASE WHEN routing_lease.owner = excluded.owner THEN 0 ELSE 1 END
         WHERE routing_lease.owner = excluded.owner OR routing_lease.until_ms < $4",
        &[
            NAME.into(),
            node.into(),
            now_ms.saturating_add(lease_ms).into(),
            now_ms.into(),
        ],
    )?;
    if changed == 0 {
        return Ok(Claim::Taken);
    }
    let epoch = db
        .query_row(
            "SELECT epoch FROM routing_lease WHERE name = $1",
            &[NAME.into()],
        )?
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(1);
    let took_over = before
        .filter(|(owner, _)| owner != node)
        .map(|(_, until)| until);
    Ok(Claim::Held { epoch, took_over })
}

/// Gives the lease up at once if `node` holds it (a node that stops): it lapses at `now_ms`,
/// so the next node need not wait.
pub fn release(db: &mut dyn Sql, node: &str, now_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE routing_lease SET until_ms = $3 WHERE name = $1 AND owner = $2",
        &[NAME.into(), node.into(), now_ms.saturating_sub(1).into()],
    )?;
    Ok(())
}

/// The node holding the lease and until when, if any (for tests and operators).
pub fn holder(db: &mut dyn Sql) -> Result<Option<(String, i64)>, StoreError> {
    db.query_row(
        "SELECT owner, until_ms FROM routing_lease WHERE name = $1",
        &[NAME.into()],
    )?
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{migrate::migrate, sqlite::Sqlite};

    fn db() -> (tempfile::TempDir, Sqlite) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut db = Sqlite::open(&dir.path().join("lease.db"), false).expect("a database");
        migrate(&mut db).expect("migrations");
        (dir, db)
    }

    #[test]
    fn one_node_holds_the_lease_until_it_lapses_or_is_released() {
        let (_dir, mut db) = db();
        assert_eq!(
            claim(&mut db, "n1", 1_000, 3_000).ok(),
            Some(Claim::Held {
                epoch: 1,
                took_over: None
            })
        );
        assert_eq!(claim(&mut db, "n2", 2_000, 3_000).ok(), Some(Claim::Taken));
        // Renewing keeps the epoch; n2 still cannot take it before it lapses.
        assert_eq!(
            claim(&mut db, "n1", 3_500, 3_000).ok(),
            Some(Claim::Held {
                epoch: 1,
                took_over: None
            })
        );
        assert_eq!(claim(&mut db, "n2", 6_000, 3_000).ok(), Some(Claim::Taken));
        // n1 stops renewing: after 6_500 the lease is n2's, and n1's renewal is refused.
        assert_eq!(
            claim(&mut db, "n2", 6_501, 3_000).ok(),
            Some(Claim::Held {
                epoch: 2,
                took_over: Some(6_500)
            })
        );
        assert_eq!(claim(&mut db, "n1", 6_600, 3_000).ok(), Some(Claim::Taken));
        assert_eq!(holder(&mut db).ok(), Some(Some(("n2".into(), 9_501))));
        // A release hands it on at once; a release by a node not holding it does nothing.
        release(&mut db, "n1", 6_900).expect("release");
        assert_eq!(claim(&mut db, "n1", 7_000, 3_000).ok(), Some(Claim::Taken));
        release(&mut db, "n2", 6_900).expect("release");
        assert_eq!(
            claim(&mut db, "n1", 7_000, 3_000).ok(),
            Some(Claim::Held {
                epoch: 3,
                took_over: Some(6_899)
            })
        );
    }
}
