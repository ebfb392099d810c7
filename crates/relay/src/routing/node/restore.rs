//! What a node taking routing over restores from the store: the queues, the work only
//! routing knows of (`routing_live`), and the agents who were signed in
//! (`agent_presence_log`).

use super::model::QueueSpec;
use crate::routing::service::live::parse_presence;
use crate::routing::service::{persist, Arrival, Handle, Held};
use crate::routing::Presence;
use crate::store::Store;

/// The stored queues, after saving those `needed` that are missing.
pub(super) async fn stored_queues(
    store: &Store,
    needed: Vec<QueueSpec>,
) -> Result<Vec<(crate::routing::QueueId, QueueSpec)>, crate::store::StoreError> {
    let mut queues = store.read(|db| persist::queues_load(db)).await?;
    for spec in needed {
        if queues.iter().all(|(_, q)| q.name != spec.name) {
            let saved = spec.clone();
            let id = store
                .write(move |db| persist::queue_save(db, &saved))
                .await?;
            queues.push((id, spec));
        }
    }
    Ok(queues)
}

/// The work only routing knows of (calls and chats from connectors, calls placed from a
/// conversation), as the last owner journaled it: held by agents, and waiting. After a cold
/// start (`recent` false) it is forgotten instead: nobody is on those calls any more.
pub(super) async fn live_work(store: &Store, recent: bool) -> (Vec<(String, Held)>, Vec<Arrival>) {
    if !recent {
        if let Err(e) = store.write(persist::live_clear).await {
            tracing::warn!(error = %e, "forgetting the last run's routed calls");
        }
        return (Vec::new(), Vec::new());
    }
    let rows = match store.read(persist::live_load).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "taking over routing: the routed calls");
            return (Vec::new(), Vec::new());
        }
    };
    let (mut held, mut waiting) = (Vec::new(), Vec::new());
    for row in rows {
        match row.agent {
            Some(agent) => held.push((
                agent,
                Held {
                    id: row.id,
                    media: row.media,
                    queue: row.queue,
                    parked: row.parked,
                },
            )),
            None => waiting.push(Arrival {
                id: row.id,
                media: row.media,
                queue: row.queue,
                priority: row.priority,
                last_agent: None,
            }),
        }
    }
    (held, waiting)
}

/// Signs in again, with their presence and stored profile, the agents whose last logged
/// status says they were signed in when the last owner's lease ended; returns how many.
pub(super) async fn sign_in_again(store: &Store, engine: &Handle) -> usize {
    let agents = match store.read(persist::last_signed_in).await {
        Ok(agents) => agents,
        Err(e) => {
            tracing::warn!(error = %e, "taking over routing: who was signed in");
            return 0;
        }
    };
    let mut signed_in = 0;
    for (agent_id, name, status) in agents {
        // Wrap-up is presence available with work to finish.
        let presence = parse_presence(&status).unwrap_or(Presence::Available);
        let id = agent_id.clone();
        let profile = match store.read(move |db| persist::profile_load(db, &id)).await {
            Ok(profile) => profile,
            Err(e) => {
                tracing::warn!(error = %e, "taking over routing: an agent's profile");
                continue;
            }
        };
        match engine
            .set_presence(&agent_id, &name, profile, presence)
            .await
        {
            Ok(()) => signed_in += 1,
            Err(e) => tracing::warn!(error = %e, "taking over routing: an agent"),
        }
    }
    signed_in
}
