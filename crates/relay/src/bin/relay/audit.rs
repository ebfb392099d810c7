//! `relay audit verify SESSION`: proves a co-browse session's audit log unbroken, or names its
//! first altered, missing, reordered or inserted entry. Exits non-zero unless the log is
//! intact (broken, unknown session, or written before the chain existed).

use anyhow::bail;
use clap::Subcommand;
use relay::{
    cobrowse::audit_chain::{self, Verdict},
    store::Store,
};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify a co-browse session's hash-chained audit log.
    Verify { session: String },
}

pub async fn audit_command(db: &Store, command: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::Verify { session } = command;
    let id = session.clone();
    match db.read(move |c| audit_chain::verify(c, &id)).await? {
        Verdict::Intact {
            entries,
            head,
            anchored,
        } => {
            let end = if anchored {
                "matching the session's recorded head"
            } else {
                "session not ended: no recorded head to compare"
            };
            println!("session {session}: intact, {entries} entries, head {head} ({end})");
            Ok(())
        }
        Verdict::Broken { seq, why } => {
            let why = serde_json::to_value(why)?;
            let why = why.as_str().unwrap_or("broken");
            bail!("session {session}: broken at entry {seq}: {why}")
        }
        Verdict::NotChained { entries } => bail!(
            "session {session}: not chained (before migration 0009), {entries} entries unverified"
        ),
        Verdict::Unknown => bail!("session {session}: no such session"),
    }
}
