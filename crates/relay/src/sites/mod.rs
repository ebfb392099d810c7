//! Sites: the site keys a website's script tag names, the origins each may be used from, and
//! each site's co-browse rules. Co-browse checks the origins before a customer's socket or an
//! offer lookup, and serves the rules to the site's pages; messaging checks the origins before
//! it answers the widget's cross-origin requests. Everything lives in the store (`sites`,
//! `site_origins`, `site_rules`), so an admin's change applies at the next read, without a
//! restart; `www/sites/*.json` files are only an import format.
//!
//! # Layout
//!
//! - `selector`: whether a CSS selector is one a browser accepts (pure).
//! - `rules`: [`SiteRules`] and the checks of rules and keys (pure).
//! - `origin`: what an allowed origin looks like (pure).
//! - `import`: an import file's rules and origins (pure).
//! - this module: the queries.

pub mod import;
pub mod origin;
pub mod rules;
pub mod selector;

use serde::Serialize;

pub use origin::checked_origins;
pub use rules::{valid_key, RuleError, SiteRules};

use crate::store::{from_json, to_json, Columns, Sql, StoreError};

/// A site as an admin sees it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Site {
    pub key: String,
    /// The origins its pages may be served from.
    pub origins: Vec<String>,
    /// Its co-browse rules (the defaults when none were stored).
    pub rules: SiteRules,
    /// When, and by whom, the rules were last changed (none: never).
    pub updated_at: Option<i64>,
    pub updated_by: Option<String>,
}

/// Creates the site if needed and adds `origins` to its allowed list.
pub fn site_add(db: &mut dyn Sql, key: &str, origins: &[String]) -> Result<(), StoreError> {
    site_create(db, key)?;
    for origin in origins {
        db.execute(
            "INSERT INTO site_origins (site_key, origin) VALUES ($1, $2)
             ON CONFLICT (site_key, origin) DO NOTHING",
            &[key.into(), origin.trim_end_matches('/').into()],
        )?;
    }
    Ok(())
}

fn site_create(db: &mut dyn Sql, key: &str) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO sites (site_key, created_at) VALUES ($1, $2)
         ON CONFLICT (site_key) DO NOTHING",
        &[key.into(), crate::ids::now_ms().into()],
    )?;
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

/// The stored rules of site `key` (none: never set).
pub fn rules_of(db: &mut dyn Sql, key: &str) -> Result<Option<SiteRules>, StoreError> {
    let Some(row) = db.query_row(
        "SELECT rules_json FROM site_rules WHERE site_key = $1",
        &[key.into()],
    )?
    else {
        return Ok(None);
    };
    from_json(&row.text(0)?).map(Some)
}

/// Saves checked `rules` for site `key` (created if needed), as changed by `by`.
pub fn rules_save(
    db: &mut dyn Sql,
    key: &str,
    rules: &SiteRules,
    by: &str,
) -> Result<(), StoreError> {
    site_create(db, key)?;
    let json = to_json(rules)?;
    db.execute(
        "INSERT INTO site_rules (site_key, rules_json, updated_at, updated_by)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (site_key) DO UPDATE SET rules_json = excluded.rules_json,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        &[
            key.into(),
            json.into(),
            crate::ids::now_ms().into(),
            by.into(),
        ],
    )?;
    Ok(())
}

/// Sets the allowed origins of site `key` (created if needed) to exactly `origins`.
pub fn origins_set(db: &mut dyn Sql, key: &str, origins: &[String]) -> Result<(), StoreError> {
    site_create(db, key)?;
    db.execute(
        "DELETE FROM site_origins WHERE site_key = $1",
        &[key.into()],
    )?;
    site_add(db, key, origins)
}

/// Site `key`, if it exists.
pub fn site_get(db: &mut dyn Sql, key: &str) -> Result<Option<Site>, StoreError> {
    let found = db.query_row(
        "SELECT s.site_key, r.rules_json, r.updated_at, r.updated_by
         FROM sites s LEFT JOIN site_rules r ON r.site_key = s.site_key
         WHERE s.site_key = $1",
        &[key.into()],
    )?;
    let Some(row) = found else {
        return Ok(None);
    };
    let key = row.text(0)?;
    let rules = match row.opt_text(1)? {
        Some(json) => from_json(&json)?,
        None => SiteRules::default(),
    };
    let origins = db
        .query(
            "SELECT origin FROM site_origins WHERE site_key = $1 ORDER BY origin",
            &[key.as_str().into()],
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Site {
        key,
        origins,
        rules,
        updated_at: row.opt_int(2)?,
        updated_by: row.opt_text(3)?,
    }))
}

/// Every site, by key.
pub fn site_list(db: &mut dyn Sql) -> Result<Vec<Site>, StoreError> {
    let keys = db
        .query("SELECT site_key FROM sites ORDER BY site_key", &[])?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?;
    let mut sites = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(site) = site_get(db, &key)? {
            sites.push(site);
        }
    }
    Ok(sites)
}
