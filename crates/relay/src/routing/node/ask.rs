//! Commands across nodes over NATS requests: a node that does not decide asks the owner
//! ([`forward`]); the owner answers ([`answer`]). See the module above for the rules.

use std::sync::{atomic::Ordering, Arc};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::{
    sync::{mpsc, oneshot},
    time::{sleep, Instant},
};

use super::model::PATIENCE;
use super::wire::{self, Answer, Ask};
use crate::cluster::{Cluster, MAX_NEWS_BYTES};
use crate::routing::service::handle::Command;
use crate::routing::service::ServiceError;

/// How long an owner has to answer one command.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);
/// How long a command waits between two askings while no owner answers.
const ASK_AGAIN: std::time::Duration = std::time::Duration::from_millis(100);

/// Asks the owner to carry `command` out and answers its caller. Asked again only while
/// nobody listens (no owner yet), so the command is carried out at most once.
pub(super) async fn forward(client: async_nats::Client, subject: String, command: Command) {
    let (ask, replier) = wire::split(command);
    let Ok(bytes) = serde_json::to_vec(&ask) else {
        replier.answer(Err(ServiceError::Stopped));
        return;
    };
    let bytes = Bytes::from(bytes);
    let give_up = Instant::now() + PATIENCE;
    loop {
        let request = async_nats::Request::new()
            .payload(bytes.clone())
            .timeout(Some(ANSWER_WITHIN));
        match client.send_request(subject.clone(), request).await {
            Ok(message) => {
                let answer = if message.payload.len() > MAX_NEWS_BYTES {
                    Err(ServiceError::Stopped)
                } else {
                    serde_json::from_slice::<Result<Answer, ServiceError>>(&message.payload)
                        .unwrap_or(Err(ServiceError::Stopped))
                };
                replier.answer(answer);
                return;
            }
            Err(e)
                if e.kind() == async_nats::RequestErrorKind::NoResponders
                    && Instant::now() < give_up =>
            {
                sleep(ASK_AGAIN).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "asking the routing owner");
                replier.answer(Err(ServiceError::Stopped));
                return;
            }
        }
    }
}

/// The owner's side: every request is parsed whole or refused, carried out by the engine in
/// the order it came, and answered. On `stop` (the node stops), it unsubscribes and drains:
/// what NATS delivered before is still carried out and answered, and what comes after finds
/// no owner here and waits for the next.
pub(super) async fn answer(
    client: async_nats::Client,
    mut requests: async_nats::Subscriber,
    engine: mpsc::Sender<Command>,
    cluster: Arc<Cluster>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut draining = false;
    loop {
        let message = tokio::select! {
            message = requests.next() => message,
            _ = &mut stop, if !draining => {
                draining = true;
                if let Err(e) = requests.drain().await {
                    tracing::warn!(error = %e, "draining routing's requests");
                    return;
                }
                continue;
            }
        };
        let Some(message) = message else {
            return;
        };
        let Some(reply) = message.reply.clone() else {
            continue;
        };
        let ask = (message.payload.len() <= MAX_NEWS_BYTES)
            .then(|| serde_json::from_slice::<Ask>(&message.payload).ok())
            .flatten();
        let Some(ask) = ask else {
            cluster.refused.fetch_add(1, Ordering::Relaxed);
            respond(&client, reply, &Err(ServiceError::Stopped)).await;
            continue;
        };
        let (command, pending) = wire::join(ask);
        if engine.send(command).await.is_err() {
            return;
        }
        let client = client.clone();
        tokio::spawn(async move {
            respond(&client, reply, &pending.answer().await).await;
        });
    }
}

/// Sends the asking node its answer; an asker that went away is no matter.
async fn respond(
    client: &async_nats::Client,
    reply: async_nats::Subject,
    answer: &Result<Answer, ServiceError>,
) {
    if let Ok(bytes) = serde_json::to_vec(answer) {
        client.publish(reply, bytes.into()).await.ok();
    }
}
