//! Calls across nodes. A call lives on the node that placed it: its book entry, its ring
//! timer, its timeline writes. A request for it that reaches another node (the guest's
//! answer through the load balancer, the agent's hang-up from a console on another node) is
//! carried to that home over NATS, after the asking node checked who asks, as it does for a
//! call of its own; the home then decides as if the request had come to it.
//!
//! Finding the home is one question to every node ("who holds this conversation's call?"),
//! answered only by the holder and at once, from memory; the request then goes to the
//! holder's own subject and waits for its answer. A refusal comes back with its kind, so the
//! HTTP status is the same through any node. A node that dies ends its calls, as a restart
//! of a relay alone does: both pages see their streams close and tear the call down.

use std::{sync::Arc, time::Duration};

use axum::body::Bytes;
use futures_util::StreamExt;
use tokio::sync::watch;

use super::refusal::CallRefusal;
use super::wire::{CallAsk, CallReply, Held, Refused};
use super::{Call, Link};
use crate::cluster::{Cluster, ClusterError, MAX_NEWS_BYTES};
use crate::messaging::Messaging;

/// How long a node waits for the holder to say it holds a call: the holder answers from
/// memory, so this is only ever waited in full when no node holds one.
const FIND_WINDOW: Duration = Duration::from_millis(150);
/// How long the home has to carry a request out (a timeline write at most).
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

const UNREACHABLE: &str = "the relay node holding this call cannot be reached";

impl Messaging {
    /// The node holding `conversation`'s call and the call, when another node holds it.
    pub(super) async fn call_elsewhere(&self, conversation: &str) -> Option<(String, Call)> {
        if self.calls.of_conversation(conversation).is_some() {
            return None;
        }
        let link = self.calls.link.get()?;
        let inbox = link.client.new_inbox();
        let mut answers = link.client.subscribe(inbox.clone()).await.ok()?;
        let asked = link.client.publish_with_reply(
            link.find_subject(),
            inbox,
            conversation.to_owned().into(),
        );
        asked.await.ok()?;
        let first = tokio::time::timeout(FIND_WINDOW, answers.next()).await;
        let _ = answers.unsubscribe().await;
        let held: Held = serde_json::from_slice(&first.ok()??.payload).ok()?;
        (held.node != link.cluster.node()).then_some((held.node, held.call))
    }

    /// Carries `ask` to `node` and reads its answer.
    pub(super) async fn ask_home(
        &self,
        node: &str,
        ask: &CallAsk,
    ) -> Result<CallReply, CallRefusal> {
        let unreachable = || CallRefusal::Elsewhere(UNREACHABLE.into());
        let link = self.calls.link.get().ok_or_else(unreachable)?;
        let body = serde_json::to_vec(ask).map_err(|_| unreachable())?;
        let request = async_nats::Request::new()
            .payload(body.into())
            .timeout(Some(ANSWER_WITHIN));
        let answer = (link.client)
            .send_request(link.ask_subject(node), request)
            .await
            .map_err(|_| unreachable())?;
        if answer.payload.len() > MAX_NEWS_BYTES {
            return Err(unreachable());
        }
        serde_json::from_slice(&answer.payload).map_err(|_| unreachable())
    }

    /// Carries out a request another node carried here, for a call this node holds.
    async fn carry(&self, ask: CallAsk) -> CallReply {
        let result = match ask {
            CallAsk::Answer {
                conversation,
                call,
                answer,
            } => self
                .answer_here(&conversation, &call, answer)
                .await
                .map(Some),
            CallAsk::Decline { conversation, call } => {
                self.decline_here(&conversation, &call).await.map(|()| None)
            }
            CallAsk::HangUp {
                conversation,
                call,
                by,
                reason,
            } => (self.hang_up_here(&conversation, &call, by, reason).await).map(|()| None),
            CallAsk::Signal {
                conversation,
                call,
                from,
                signal,
            } => (self.signal_here(&conversation, &call, from, signal)).map(|()| None),
            CallAsk::Moved {
                conversation,
                agent,
                assigned,
            } => {
                self.end_call_here_if_moved(&conversation, agent.as_deref(), assigned)
                    .await;
                Ok(None)
            }
        };
        CallReply::of(result)
    }
}

/// Joins `svc`'s calls to the cluster: this node answers finds for the calls it holds and
/// carries out the requests other nodes bring for them, until `shutdown`. Returns once
/// subscribed; at once on a node alone.
pub async fn join(
    svc: &Arc<Messaging>,
    cluster: &Arc<Cluster>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ClusterError> {
    let Some(client) = cluster.client().cloned() else {
        return Ok(());
    };
    let link = Link::new(client.clone(), cluster.clone());
    let subscribe = |subject: String| cluster.subscribe(subject);
    let mut finds = subscribe(link.find_subject()).await?;
    let mut asks = subscribe(link.ask_subject(cluster.node())).await?;
    let _ = svc.calls.link.set(link);
    let svc = svc.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = async { let _ = shutdown.wait_for(|stop| *stop).await; } => return,
                find = finds.next() => {
                    let Some(find) = find else { return };
                    answer_find(&svc, &client, find).await;
                }
                ask = asks.next() => {
                    let Some(ask) = ask else { return };
                    // Each request on its own task: a timeline write must not hold up the
                    // next signalling message.
                    let (svc, client) = (svc.clone(), client.clone());
                    tokio::spawn(async move { answer_ask(&svc, &client, ask).await });
                }
            }
        }
    });
    Ok(())
}

async fn answer_find(svc: &Messaging, client: &async_nats::Client, find: async_nats::Message) {
    let Some(reply) = find.reply else { return };
    let Ok(conversation) = std::str::from_utf8(&find.payload) else {
        return;
    };
    let Some(call) = svc.calls.of_conversation(conversation) else {
        return;
    };
    let Some(node) = svc.calls.link.get().map(|l| l.cluster.node().to_owned()) else {
        return;
    };
    if let Ok(body) = serde_json::to_vec(&Held { node, call }) {
        let _ = client.publish(reply, body.into()).await;
    }
}

async fn answer_ask(svc: &Messaging, client: &async_nats::Client, ask: async_nats::Message) {
    let Some(reply) = ask.reply else { return };
    let asked = (ask.payload.len() <= MAX_NEWS_BYTES)
        .then(|| serde_json::from_slice::<CallAsk>(&ask.payload).ok())
        .flatten();
    let answer = match asked {
        Some(asked) => svc.carry(asked).await,
        None => {
            if let Some(link) = svc.calls.link.get() {
                link.cluster
                    .refused
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            CallReply::Refused {
                refused: Refused::Failed("not a call request".into()),
            }
        }
    };
    let body = serde_json::to_vec(&answer).unwrap_or_default();
    let _ = client.publish(reply, Bytes::from(body)).await;
}
