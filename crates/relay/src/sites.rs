//! Sites: the site keys a website's script tag names, and the origins each may be used from.
//! Co-browse checks them before a customer's socket or an offer lookup; messaging before it
//! answers the widget's cross-origin requests.

use crate::store::{Sql, StoreError};

/// Creates the site if needed and adds `origins` to its allowed list.
pub fn site_add(db: &mut dyn Sql, key: &str, origins: &[String]) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO sites (site_key, created_at) VALUES ($1, $2)
         ON CONFLICT (site_key) DO NOTHING",
        &[key.into(), crate::ids::now_ms().into()],
    )?;
    for origin in origins {
        db.execute(
            "INSERT INTO site_origins (site_key, origin) VALUES ($1, $2)
             ON CONFLICT (site_key, origin) DO NOTHING",
            &[key.into(), origin.trim_end_matches('/').into()],
        )?;
    }
    Ok(())
}

/// Whether `origin` may use site `key`.
pub fn site_allows(db: &mut dyn Sql, key: &str, origin: &str) -> Result<bool, StoreError> {
    Ok(db
        .query_row(
            "SELECT 1 FROM site_origins WHERE site_key = $1 AND origin = $2",
            &[key.into(), origin.into()],
        )?
        .is_some())
}

/// Whether `origin` belongs to any registered site.
pub fn origin_registered(db: &mut dyn Sql, origin: &str) -> Result<bool, StoreError> {
    Ok(db
        .query_row(
            "SELECT 1 FROM site_origins WHERE origin = $1",
            &[origin.into()],
        )?
        .is_some())
}
