//! A session whose home went away, taken over. When a side comes back (the page with its
//! resume token, the console joining its session) and no node answers for the session, the
//! node it reached looks for the session's live row (`cobrowse_live`, kept by the home as
//! the customer attached and at every change of mode). If the home named there does not
//! listen on NATS any more (NATS says nobody answers its subject: a process that died or
//! stopped has no subscriptions left), the node claims the row with one conditional update,
//! so of two nodes trying at once one wins, and the other finds the winner. It then restores
//! the session from the row: its ids, its owner and interaction, the site it paired from,
//! its control state as carried, and its audit chain's head; both sides attach to it as to
//! any session, the page with a fresh snapshot.
//!
//! A home that is slow, not gone, still answers: then nothing is taken over. What the home
//! had not yet written when it died (its last audit entries, a mode change in its last
//! moment) is lost with it, and the chain goes on from the last stored entry.

use std::time::Duration;

use protocol::CarriedControl;

use super::{
    find::{find, Home, Lookup},
    rest::{rest_subject, RestAsk},
};
use crate::{
    cobrowse::{audit, audit_chain, pairing::interaction_of, session::Carried, state::Cobrowse},
    ids::now_ms,
    store::{Columns, Sql, StoreError},
};

/// How long a home has to show it still listens before its session is taken over.
const ALIVE_WITHIN: Duration = Duration::from_millis(500);

/// A session's live row, with what its session row says.
#[derive(Debug)]
struct Row {
    session_id: String,
    resume_token: String,
    home: String,
    control: String,
    updated_at: i64,
    agent_id: String,
    interaction: String,
    interaction_id: String,
    site_key: Option<String>,
    audit: Option<(i64, Option<String>)>,
}

fn live_row(db: &mut dyn Sql, lookup: &Lookup) -> Result<Option<Row>, StoreError> {
    let (column, value) = match lookup {
        Lookup::Resume(token) => ("l.resume_token", token),
        Lookup::Session(id) => ("l.session_id", id),
        Lookup::Key(_) | Lookup::Offer(_) => return Ok(None),
    };
    let sql = format!(
        "SELECT l.session_id, l.resume_token, l.home, l.control, l.updated_at, s.agent_id,
            s.interaction, s.interaction_id, s.site_key
         FROM cobrowse_live l JOIN cobrowse_sessions s ON s.id = l.session_id
         WHERE {column} = $1 AND s.ended_at IS NULL"
    );
    let Some(r) = db.query_row(&sql, &[value.into()])? else {
        return Ok(None);
    };
    let session_id = r.text(0)?;
    let audit = audit::last_entry(db, &session_id)?;
    Ok(Some(Row {
        session_id,
        resume_token: r.text(1)?,
        home: r.text(2)?,
        control: r.text(3)?,
        updated_at: r.int(4)?,
        agent_id: r.text(5)?,
        interaction: r.text(6)?,
        interaction_id: r.text(7)?,
        site_key: r.opt_text(8)?,
        audit,
    }))
}

/// Makes `to` the session's home if `from` still is; whether it did.
fn claim(db: &mut dyn Sql, session_id: &str, from: &str, to: &str) -> Result<bool, StoreError> {
    let changed = db.execute(
        "UPDATE cobrowse_live SET home = $3, updated_at = $4 WHERE session_id = $1 AND home = $2",
        &[session_id.into(), from.into(), to.into(), now_ms().into()],
    )?;
    Ok(changed == 1)
}

/// Whether node `home` still listens: it answers, or neither NATS (no responders) nor the
/// store (its heartbeat stopped) says it is gone.
pub(super) async fn listens(cb: &Cobrowse, home: &str) -> bool {
    match answers(cb, home).await {
        Some(answered) => answered,
        // No answer in time: a slow node, or a machine gone that NATS still delivers to.
        None => !super::heartbeat::stopped(cb, home).await,
    }
}

/// Whether `home` answers its probe: `Some(false)` when NATS says nobody listens, `None`
/// when no answer came in time.
async fn answers(cb: &Cobrowse, home: &str) -> Option<bool> {
    let Some(client) = cb.cluster.client() else {
        return Some(true);
    };
    let probe = RestAsk::State {
        session: String::new(),
    };
    let Ok(body) = serde_json::to_vec(&probe) else {
        return Some(true);
    };
    let request = async_nats::Request::new()
        .payload(body.into())
        .timeout(Some(ALIVE_WITHIN));
    match client
        .send_request(rest_subject(&cb.cluster, home), request)
        .await
    {
        Ok(_) => Some(true),
        Err(e) => match e.kind() {
            async_nats::RequestErrorKind::NoResponders => Some(false),
            async_nats::RequestErrorKind::TimedOut => None,
            _ => Some(true),
        },
    }
}

/// Where the session `lookup` names lives once no node answered for it: here, if this node
/// took it over; another node, if that one won the claim; `None` when there is nothing to
/// take over (no live row, or its home still listens).
pub(super) async fn adopt(cb: &Cobrowse, lookup: &Lookup) -> Option<Home> {
    let client = cb.cluster.client()?;
    let query = match lookup {
        Lookup::Resume(token) => Lookup::Resume(token.clone()),
        Lookup::Session(id) => Lookup::Session(id.clone()),
        Lookup::Key(_) | Lookup::Offer(_) => return None,
    };
    let row = match cb.store.read(move |db| live_row(db, &query)).await {
        Ok(row) => row?,
        Err(e) => {
            tracing::warn!(error = %e, "reading a co-browse session's live row");
            return None;
        }
    };
    let me = cb.cluster.node().to_owned();
    if row.home != me && listens(cb, &row.home).await {
        return None;
    }
    let (id, from, to) = (row.session_id.clone(), row.home.clone(), me.clone());
    let claimed = cb.store.write(move |db| claim(db, &id, &from, &to)).await;
    if !matches!(claimed, Ok(true)) {
        // Another node took it first: it answers for it now.
        let nodes = find(&cb.cluster, client, lookup, false).await;
        return nodes.into_iter().next().map(Home::Node);
    }
    restore(cb, row).map(|()| Home::Here)
}

/// Installs the claimed session here.
fn restore(cb: &Cobrowse, row: Row) -> Option<()> {
    let interaction = interaction_of(&row.interaction)?;
    let control: CarriedControl = serde_json::from_str(&row.control).ok()?;
    let audit = match row.audit {
        Some((seq, Some(hash))) => Some((seq, audit_chain::from_hex(&hash)?)),
        // Entries from before the chain, or none at all: the chain starts at its genesis.
        Some((_, None)) | None => None,
    };
    let ids = (row.session_id, row.resume_token);
    let owner = (interaction, row.interaction_id.as_str());
    let session = cb.registry.adopt(ids, &row.agent_id, owner)?;
    let elapsed = u64::try_from(now_ms() - row.updated_at).unwrap_or(0);
    let records = session.take_over(Carried {
        site_key: row.site_key.unwrap_or_default(),
        control,
        elapsed_ms: elapsed,
        audit,
        from: row.home.clone(),
    });
    tracing::info!(session = %session.id, from = %row.home, "took a co-browse session over");
    let recorder = cb.registry.recorder.clone();
    tokio::spawn(async move {
        if let Err(e) = recorder.record_all(records).await {
            tracing::warn!(error = %e, "recording a session taken over");
        }
    });
    Some(())
}
