//! Messaging's pushes across nodes: what one node's service tells its streams (a message,
//! typing, a read mark, a delivery, a timeline event), the other nodes' streams hear too,
//! over the cluster (`crate::cluster`), so a widget on one node and its agent on another see
//! each other live. A call's news cross too; the call itself lives on the node that placed
//! it, where `call::remote` carries its requests.

use std::sync::Arc;

use tokio::sync::watch;

use super::{Messaging, Push};
use crate::cluster::{Cluster, ClusterError, PUSH_SUBJECT};

/// Joins `svc` to the cluster: its pushes go to the other nodes, theirs come to its streams.
/// Returns once subscribed, so nothing another node says after this is missed.
pub async fn join(
    svc: &Arc<Messaging>,
    cluster: &Arc<Cluster>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ClusterError> {
    let Some(publisher) = cluster.publisher(cluster.subject(PUSH_SUBJECT)) else {
        return Ok(());
    };
    let here = svc.clone();
    let shutdown_calls = shutdown.clone();
    cluster
        .listen(
            cluster.subject(PUSH_SUBJECT),
            shutdown,
            move |mut push: Push| {
                push.from_afar = true;
                here.push_here(push)
            },
        )
        .await?;
    // Set once: a second join is a no-op.
    let _ = svc.fanout.set(publisher);
    super::call::remote::join(svc, cluster, shutdown_calls).await
}

#[cfg(test)]
mod tests {
    use super::super::{
        call::{
            book::{Book, Offered, Rules, Side},
            CallNews, EndReason, Signal,
        },
        model::*,
        rich::*,
        PushKind,
    };
    use super::Push;

    fn push(kind: PushKind) -> Push {
        Push {
            contact_id: "c1".into(),
            conversation_id: "v1".into(),
            agent_id: Some("alice".into()),
            kind,
            from_afar: false,
        }
    }

    /// What another node publishes is read back as it was sent, for every kind.
    #[test]
    fn every_push_that_crosses_to_another_node_reads_back_as_sent() {
        let card = Card {
            image: None,
            title: "Blue shirt".into(),
            text: Some("in stock".into()),
            buttons: vec![Button {
                label: "Buy".into(),
                action: ButtonAction::Postback {
                    payload: "buy:1".into(),
                },
            }],
        };
        let message = Message {
            id: "m1".into(),
            conversation_id: "v1".into(),
            seq: 3,
            author: Author::Agent,
            author_id: Some("alice".into()),
            text: "here".into(),
            attachments: vec![],
            quick_replies: vec!["Yes".into()],
            rich: Some(Rich::Card { card }),
            postback: None,
            delivery: Delivery::Sent,
            created_at: 7,
        };
        let kinds = [
            PushKind::Message { message },
            PushKind::Typing {
                author: Author::Customer,
                typing: true,
            },
            PushKind::Read {
                reader: Author::Agent,
                seq: 3,
            },
            PushKind::Delivery {
                message_id: "m1".into(),
                delivery: Delivery::Read,
            },
            PushKind::Event {
                event: Event {
                    conversation_id: "v1".into(),
                    seq: 2,
                    kind: "assigned".into(),
                    detail: serde_json::json!({"agent": "alice", "n": 2}),
                    created_at: 5,
                },
            },
        ];
        let mut book = Book::default();
        let rules = Rules {
            ring_ms: 30_000,
            redial_ms: 0,
            max_signals_per_side: 100,
        };
        let call = book
            .offer(rules, "k1".into(), "v1", "c1", "alice", Offered::Video, 9)
            .unwrap()
            .clone();
        let calls = [
            CallNews::Ringing { call },
            CallNews::Signal {
                call_id: "k1".into(),
                signal: Signal::Media {
                    audio: true,
                    video: false,
                    screen: false,
                },
            },
            CallNews::Ended {
                call_id: "k1".into(),
                reason: EndReason::Declined,
                by: Some(Side::Customer),
                duration_ms: None,
            },
        ];
        let kinds = kinds
            .into_iter()
            .chain(calls.into_iter().map(|news| PushKind::Call {
                to: Side::Customer,
                news,
            }));
        for kind in kinds {
            let sent = serde_json::to_value(push(kind)).unwrap();
            let read: Push = serde_json::from_value(sent.clone()).unwrap();
            assert_eq!(serde_json::to_value(read).unwrap(), sent);
        }
    }
}
