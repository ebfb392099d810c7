//! A session's REST routes through any node: its state and its end, asked of the session's
//! home when this node does not hold it. The asking node checks the caller's permission
//! against the session's owner (so a refusal is audited where the person is), and asks the
//! home to end the session only once it passed.

use serde::{Deserialize, Serialize};

use super::find::{find, gather, Lookup};
use crate::cluster::{Cluster, MAX_NEWS_BYTES};
use crate::cobrowse::{
    live::{self, LiveSession},
    session::SessionView,
    state::Cobrowse,
};
use protocol::EndReason;

/// How long a home has to answer.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Where `node` of this cluster takes REST requests for the sessions it holds.
pub fn rest_subject(cluster: &Cluster, node: &str) -> String {
    cluster.subject(&format!("relay.cobrowse.rest.{node}"))
}

/// Where every node of the cluster hears that an interaction ended or moved.
const INTERACTION_BASE: &str = "relay.cobrowse.interaction";
/// How long the asking node gathers the other nodes' counts.
const GATHER: std::time::Duration = std::time::Duration::from_millis(150);

/// Where every node of the cluster is asked for its live sessions.
const LIVE_BASE: &str = "relay.cobrowse.live";

/// This cluster's subject for the live-session list.
pub fn live_subject(cb: &Cobrowse) -> String {
    cb.cluster.subject(LIVE_BASE)
}

/// The other nodes' live sessions, as each answers within the gather window (a node that
/// does not answer in time is left out of this list, not waited for).
pub async fn live_elsewhere(cb: &Cobrowse) -> Vec<LiveSession> {
    let Some(client) = cb.cluster.client() else {
        return Vec::new();
    };
    let from = cb.cluster.node().to_owned();
    let read = |a: &[u8]| serde_json::from_slice::<Vec<LiveSession>>(a).ok();
    let subject = live_subject(cb);
    let answers = gather(
        client,
        subject,
        from.into_bytes().into(),
        GATHER,
        false,
        read,
    )
    .await;
    answers.into_iter().flatten().collect()
}

/// Another node's ask for the live sessions: this node's, bounded to one news message.
pub(super) async fn answer_live(
    cb: &Cobrowse,
    client: &async_nats::Client,
    message: async_nats::Message,
) {
    let Some(reply) = message.reply else { return };
    if &message.payload[..] == cb.cluster.node().as_bytes() {
        return;
    }
    let (body, whole) = live::bounded_json(&live::here(cb), MAX_NEWS_BYTES);
    if !whole {
        tracing::warn!("this node's live sessions do not fit one answer: the list is cut");
    }
    let _ = client.publish(reply, body.into()).await;
}

/// An agent's interaction ended or moved: every node ends the agent's sessions riding on it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct InteractionOver {
    /// The asking node, which ended its own sessions already.
    pub(super) from: String,
    pub(super) interaction: String,
    pub(super) agent: Option<String>,
    pub(super) reason: EndReason,
}

/// This cluster's subject for [`InteractionOver`].
pub fn interaction_subject(cb: &Cobrowse) -> String {
    cb.cluster.subject(INTERACTION_BASE)
}

/// Ends `agent`'s sessions riding on `interaction` on every other node; how many ended.
pub async fn end_interaction_elsewhere(
    cb: &Cobrowse,
    interaction: &str,
    agent: Option<&str>,
    reason: EndReason,
) -> usize {
    let Some(client) = cb.cluster.client() else {
        return 0;
    };
    let over = InteractionOver {
        from: cb.cluster.node().to_owned(),
        interaction: interaction.to_owned(),
        agent: agent.map(str::to_owned),
        reason,
    };
    let Ok(body) = serde_json::to_vec(&over) else {
        return 0;
    };
    let count = |a: &[u8]| std::str::from_utf8(a).ok()?.parse::<usize>().ok();
    let subject = interaction_subject(cb);
    let ended = gather(client, subject, body.into(), GATHER, false, count).await;
    ended.into_iter().sum()
}

/// Another node's [`InteractionOver`]: ends this node's sessions riding on it, and says how
/// many.
pub(super) async fn interaction_over(
    cb: &Cobrowse,
    client: &async_nats::Client,
    message: async_nats::Message,
) {
    let over = (message.payload.len() <= MAX_NEWS_BYTES)
        .then(|| serde_json::from_slice::<InteractionOver>(&message.payload).ok())
        .flatten();
    let Some(over) = over else {
        cb.cluster
            .refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return;
    };
    if over.from == cb.cluster.node() {
        return;
    }
    let ended = cb
        .registry
        .end_interaction_of(&over.interaction, over.agent.as_deref(), over.reason)
        .await;
    if let Some(reply) = message.reply {
        let _ = client.publish(reply, ended.to_string().into()).await;
    }
}

/// What one node asks a session's home.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(super) enum RestAsk {
    State { session: String },
    End { session: String },
}

/// What the home answers.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub(super) enum RestAnswer {
    State { owner: String, view: SessionView },
    Ended,
    Unknown,
}

/// A session another node holds: its home, the agent who owns it, and its state.
pub struct Remote {
    pub node: String,
    pub owner: String,
    pub view: SessionView,
}

async fn ask(cb: &Cobrowse, node: &str, ask: &RestAsk) -> Option<RestAnswer> {
    let client = cb.cluster.client()?;
    let body = serde_json::to_vec(ask).ok()?;
    let request = async_nats::Request::new()
        .payload(body.into())
        .timeout(Some(ANSWER_WITHIN));
    let answer = client
        .send_request(rest_subject(&cb.cluster, node), request)
        .await
        .ok()?;
    if answer.payload.len() > MAX_NEWS_BYTES {
        return None;
    }
    serde_json::from_slice(&answer.payload).ok()
}

/// Session `id` on another node, if one holds it.
pub async fn state(cb: &Cobrowse, id: &str) -> Option<Remote> {
    let client = cb.cluster.client()?;
    let node = find(&cb.cluster, client, &Lookup::Session(id.to_owned()), false)
        .await
        .into_iter()
        .find(|n| n != cb.cluster.node())?;
    let answer = ask(cb, &node, &RestAsk::State { session: id.into() }).await?;
    match answer {
        RestAnswer::State { owner, view } => Some(Remote { node, owner, view }),
        RestAnswer::Ended | RestAnswer::Unknown => None,
    }
}

/// Ends session `id` on its home `node` (the agent ended it); `false` if it was gone.
pub async fn end(cb: &Cobrowse, node: &str, id: &str) -> bool {
    let answer = ask(cb, node, &RestAsk::End { session: id.into() }).await;
    matches!(answer, Some(RestAnswer::Ended))
}

/// The home's side: answers one request for a session it holds.
pub(super) async fn answer(
    cb: &Cobrowse,
    client: &async_nats::Client,
    message: async_nats::Message,
) {
    let Some(reply) = message.reply else { return };
    let asked = (message.payload.len() <= MAX_NEWS_BYTES)
        .then(|| serde_json::from_slice::<RestAsk>(&message.payload).ok())
        .flatten();
    let answer = match asked {
        None => {
            cb.cluster
                .refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            RestAnswer::Unknown
        }
        Some(RestAsk::State { session }) => match cb.registry.get(&session) {
            Some(s) => RestAnswer::State {
                owner: s.agent_id.clone(),
                view: s.view(),
            },
            None => RestAnswer::Unknown,
        },
        Some(RestAsk::End { session }) => match cb.registry.get(&session) {
            Some(s) => {
                cb.registry.end(&s, EndReason::AgentEnded).await;
                RestAnswer::Ended
            }
            None => RestAnswer::Unknown,
        },
    };
    if let Ok(body) = serde_json::to_vec(&answer) {
        let _ = client.publish(reply, body.into()).await;
    }
}
