//! The schema: one list of numbered migrations for every table of the relay, applied once each
//! and recorded in `schema_migrations`. The files use portable SQL only (TEXT, BIGINT,
//! INTEGER), so the same files build SQLite and PostgreSQL.

use super::error::StoreError;
use super::sql::{Sql, Val};

/// The migrations, in order. Each runs once, in its own transaction.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_init.sql")),
    (2, include_str!("../../migrations/0002_messaging.sql")),
    (3, include_str!("../../migrations/0003_routing.sql")),
    (4, include_str!("../../migrations/0004_delivery_prune.sql")),
    (
        5,
        include_str!("../../migrations/0005_latest_conversation.sql"),
    ),
    (6, include_str!("../../migrations/0006_webhook_replay.sql")),
    (7, include_str!("../../migrations/0007_roles.sql")),
    (8, include_str!("../../migrations/0008_site_rules.sql")),
    (9, include_str!("../../migrations/0009_audit_chain.sql")),
    (10, include_str!("../../migrations/0010_rich_messages.sql")),
    (11, include_str!("../../migrations/0011_routing_lease.sql")),
    (12, include_str!("../../migrations/0012_cobrowse_live.sql")),
    (13, include_str!("../../migrations/0013_cluster_nodes.sql")),
];

/// Applies the [`MIGRATIONS`] not yet recorded. Several processes may open one fresh database
/// at once (relay nodes starting together): each migration's check and apply share one
/// transaction that first takes the engine's migration lock ([`Sql::lock_migrations`]), so
/// each is applied exactly once.
pub fn migrate(db: &mut dyn Sql) -> Result<(), StoreError> {
    db.batch("BEGIN")?;
    let made = db.lock_migrations().and_then(|()| {
        db.batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY,
                applied_at BIGINT NOT NULL
            )",
        )
    });
    match made {
        Ok(()) => db.batch("COMMIT")?,
        Err(e) => {
            db.batch("ROLLBACK")?;
            return Err(e);
        }
    }
    for &(version, sql) in MIGRATIONS {
        db.batch("BEGIN")?;
        if let Err(e) = db.lock_migrations() {
            db.batch("ROLLBACK")?;
            return Err(e);
        }
        let done = db.query(
            "SELECT applied_at FROM schema_migrations WHERE version = $1",
            &[Val::Int(Some(version))],
        );
        let result = match done {
            Ok(rows) if !rows.is_empty() => Ok(()),
            Ok(_) => db.batch(sql).and_then(|()| {
                db.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    &[version.into(), crate::ids::now_ms().into()],
                )
                .map(drop)
            }),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => db.batch("COMMIT")?,
            Err(e) => {
                db.batch("ROLLBACK")?;
                return Err(e);
            }
        }
    }
    Ok(())
}
