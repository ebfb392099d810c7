//! `relay site ...`: site keys, their origins and their co-browse rules. A `www/sites/*.json`
//! file is an import format (`relay site import FILE`); the database is where rules live. At
//! start, `serve` imports each file of `{www}/sites/` whose site has no rules stored yet, so a
//! relay upgraded from the file-based rules keeps them (and the demo gets `demo.json`).

use std::path::Path;

use anyhow::{bail, Context};
use clap::Subcommand;
use relay::{sites, store::Store};

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Add a site key, or add origins to it.
    Add {
        key: String,
        /// An allowed origin, such as https://shop.example (repeatable).
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
    },
    /// Import a site's co-browse rules from a JSON file (the `www/sites/*.json` format, with
    /// optional `"origins"`), replacing its stored rules; a running relay applies them from
    /// each page's next load.
    Import {
        file: std::path::PathBuf,
        /// The site key (default: the file's name without `.json`).
        #[arg(long)]
        key: Option<String>,
    },
}

pub async fn site_command(db: &Store, command: SiteCommand) -> anyhow::Result<()> {
    match command {
        SiteCommand::Add { key, origins } => {
            let origins = sites::checked_origins(&origins)?;
            sites::rules::check_key(&key)?;
            let (site, saved) = (key.clone(), origins.clone());
            db.write(move |c| sites::site_add(c, &site, &saved)).await?;
            println!("site {key} allows {}", origins.join(", "));
        }
        SiteCommand::Import { file, key } => {
            let key = match key {
                Some(key) => key,
                None => key_of(&file)?,
            };
            import(db, &file, &key).await?;
            println!("site {key}: rules imported from {}", file.display());
        }
    }
    Ok(())
}

/// The site key a file names: its name without `.json`.
fn key_of(file: &Path) -> anyhow::Result<String> {
    let Some(stem) = file.file_stem().and_then(|s| s.to_str()) else {
        bail!(
            "{} has no name to take a site key from; give --key",
            file.display()
        );
    };
    Ok(stem.to_owned())
}

/// Reads, checks and stores `file` as the rules of site `key` (and adds its origins).
async fn import(db: &Store, file: &Path, key: &str) -> anyhow::Result<()> {
    sites::rules::check_key(key)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let (rules, origins) =
        sites::import::from_file(&json).with_context(|| format!("importing {}", file.display()))?;
    let key = key.to_owned();
    db.write(move |c| {
        sites::site_add(c, &key, &origins)?;
        sites::rules_save(c, &key, &rules, "relay site import")
    })
    .await?;
    Ok(())
}

/// Imports each `{www}/sites/KEY.json` whose site has no stored rules (a relay upgraded from
/// file-based rules keeps them; the demo gets its rules). A file that does not import is
/// reported and skipped.
pub async fn import_missing(db: &Store, www: &Path) -> anyhow::Result<()> {
    let dir = www.join("sites");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let key = key_of(&path)?;
        if !sites::valid_key(&key) {
            continue;
        }
        let asked = key.clone();
        if db
            .read(move |c| sites::rules_of(c, &asked))
            .await?
            .is_some()
        {
            continue;
        }
        match import(db, &path, &key).await {
            Ok(()) => tracing::info!(site = %key, "site rules imported from {}", path.display()),
            Err(e) => tracing::warn!(site = %key, "site rules not imported: {e:#}"),
        }
    }
    Ok(())
}
