//! Sessions whose node went away and that nobody came back to. A node that dies leaves its
//! sessions' live rows (`cobrowse_live`) for another node to take over; when neither side
//! returns within the session's inactivity timeout (as counted from the row's last change;
//! an hour for an interaction without one), a node ends the session in the store as its
//! home would have: `Inactivity`, an `ended` audit entry chained on, the chain's head and
//! count anchored on its row, and the live row gone. Only rows whose home
//! NATS says no longer listens are touched, and each only if it is still as read (a node
//! taking the session over meanwhile changes its row, and the end is not written).

use std::{sync::Arc, time::Duration};

use protocol::Interaction;
use tokio::sync::watch;

use super::adopt::listens;
use crate::{
    cobrowse::{
        audit::{self, AuditEntry},
        audit_chain,
        pairing::interaction_of,
        state::Cobrowse,
    },
    ids::now_ms,
    store::{Columns, Sql, StoreError},
};

/// How long an orphan of an interaction without an inactivity timeout (a call's sessions end
/// with the call) waits for a side to come back.
const UNTIMED: Duration = Duration::from_secs(3600);

/// How often a node looks at most (and at least, with short timeouts: half the shortest).
const EVERY: Duration = Duration::from_secs(30);

/// One live row of a node that is not this one.
#[derive(Debug)]
struct Orphan {
    session_id: String,
    home: String,
    updated_at: i64,
    interaction: String,
    agent_id: String,
    interaction_id: String,
}

fn orphans(db: &mut dyn Sql, me: &str) -> Result<Vec<Orphan>, StoreError> {
    db.query(
        "SELECT l.session_id, l.home, l.updated_at, s.interaction, s.agent_id, s.interaction_id
         FROM cobrowse_live l JOIN cobrowse_sessions s ON s.id = l.session_id
         WHERE l.home <> $1",
        &[me.into()],
    )?
    .iter()
    .map(|r| {
        Ok(Orphan {
            session_id: r.text(0)?,
            home: r.text(1)?,
            updated_at: r.int(2)?,
            interaction: r.text(3)?,
            agent_id: r.text(4)?,
            interaction_id: r.text(5)?,
        })
    })
    .collect()
}

/// Ends `o` in the store if its row is still as read; whether it did.
fn end(db: &mut dyn Sql, o: &Orphan) -> Result<bool, StoreError> {
    let gone = db.execute(
        "DELETE FROM cobrowse_live WHERE session_id = $1 AND home = $2 AND updated_at = $3",
        &[
            (&o.session_id).into(),
            (&o.home).into(),
            o.updated_at.into(),
        ],
    )?;
    if gone != 1 {
        return Ok(false);
    }
    let (count, head) = audit::last_entry(db, &o.session_id)?.unwrap_or((0, None));
    let genesis = || audit_chain::genesis(&o.session_id, &o.agent_id, &o.interaction_id);
    let prev = head
        .and_then(|h| audit_chain::from_hex(&h))
        .unwrap_or_else(genesis);
    // The end goes on the audit log as the home would have written it, chained.
    let mut entry = AuditEntry {
        session_id: o.session_id.clone(),
        seq: count + 1,
        at_ms: now_ms(),
        event: "ended".into(),
        detail: format!(
            "Inactivity: node {} went away and neither side came back in time",
            o.home
        ),
        hash: None,
    };
    let head = audit_chain::entry_hash(&prev, &entry);
    entry.hash = Some(audit_chain::hex(&head));
    let (head, count) = (audit_chain::hex(&head), entry.seq);
    audit::insert_entry(db, &entry)?;
    db.execute(
        "UPDATE cobrowse_sessions SET ended_at = $2, end_reason = 'Inactivity', audit_head = $3,
            audit_count = $4 WHERE id = $1 AND ended_at IS NULL",
        &[
            (&o.session_id).into(),
            now_ms().into(),
            head.into(),
            count.into(),
        ],
    )?;
    Ok(true)
}

/// Ends, once, the orphans due by now; how many.
async fn sweep(cb: &Cobrowse) -> Result<usize, StoreError> {
    let me = cb.cluster.node().to_owned();
    let rows = cb.store.read(move |db| orphans(db, &me)).await?;
    let now = now_ms();
    let due: Vec<Orphan> = rows
        .into_iter()
        .filter(|o| {
            let timeout = interaction_of(&o.interaction).and_then(|i| cb.config.inactivity(i));
            let t = timeout.unwrap_or(UNTIMED);
            let t = i64::try_from(t.as_millis()).unwrap_or(i64::MAX);
            o.updated_at.saturating_add(t) < now
        })
        .collect();
    let mut homes: Vec<&str> = due.iter().map(|o| o.home.as_str()).collect();
    homes.sort_unstable();
    homes.dedup();
    let mut gone = Vec::new();
    for home in homes {
        if !listens(cb, home).await {
            gone.push(home.to_owned());
        }
    }
    let due: Vec<Orphan> = due.into_iter().filter(|o| gone.contains(&o.home)).collect();
    if due.is_empty() {
        return Ok(0);
    }
    let ended = cb
        .store
        .write(move |db| {
            let mut ended = 0;
            for o in &due {
                ended += usize::from(end(db, o)?);
            }
            Ok(ended)
        })
        .await?;
    if ended > 0 {
        tracing::info!(ended, "ended co-browse sessions whose node went away");
    }
    Ok(ended)
}

/// Sweeps until `shutdown`: every [`EVERY`], or half the shortest inactivity timeout.
pub async fn run(cb: Arc<Cobrowse>, mut shutdown: watch::Receiver<bool>) {
    let shortest = [
        Interaction::Voice,
        Interaction::WebChat,
        Interaction::WebMessaging,
    ]
    .into_iter()
    .filter_map(|i| cb.config.inactivity(i))
    .min();
    let every = shortest.map_or(EVERY, |t| (t / 2).clamp(Duration::from_millis(200), EVERY));
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            () = tokio::time::sleep(every) => {}
        }
        if let Err(e) = sweep(&cb).await {
            tracing::warn!(error = %e, "sweeping co-browse sessions whose node went away");
        }
    }
}
