//! A node's answers to the others: which sessions it holds (a find), the connections they
//! pipe here, served by the same connection code as a WebSocket, their REST requests for
//! the sessions it holds, and their asks for its live sessions (`rest`).

use std::sync::Arc;

use axum::body::Bytes;
use futures_util::StreamExt;
use tokio::sync::watch;

use super::{
    ask::{open_subject, read_open},
    find::{find_subject, Found, Lookup},
    pipe,
    rest::{self, rest_subject},
};
use crate::{
    cluster::ClusterError,
    cobrowse::{connection::serve_piped, state::Cobrowse},
};

/// Answers the other nodes: which sessions this node holds, and serves the connections they
/// pipe here, until `shutdown`. Returns at once on a node alone.
pub async fn listen(
    cb: &Arc<Cobrowse>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ClusterError> {
    let Some(client) = cb.cluster.client().cloned() else {
        return Ok(());
    };
    let subscribe = |subject: String| cb.cluster.subscribe(subject);
    let mut finds = subscribe(find_subject(&cb.cluster)).await?;
    let mut opens = subscribe(open_subject(&cb.cluster, cb.cluster.node())).await?;
    let mut rests = subscribe(rest_subject(&cb.cluster, cb.cluster.node())).await?;
    let mut overs = subscribe(rest::interaction_subject(cb)).await?;
    let mut lives = subscribe(rest::live_subject(cb)).await?;
    super::guesses::join(cb, shutdown.clone()).await?;
    tokio::spawn(super::sweep::run(cb.clone(), shutdown.clone()));
    tokio::spawn(super::heartbeat::run(cb.clone(), shutdown.clone()));
    let cb = cb.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                // The watch's guard is not Send: it must not live in the select's output.
                () = async { let _ = shutdown.wait_for(|stop| *stop).await; } => return,
                ask = finds.next() => {
                    let Some(ask) = ask else { return };
                    answer_find(&cb, &client, ask).await;
                }
                open = opens.next() => {
                    let Some(open) = open else { return };
                    take_open(&cb, &client, open).await;
                }
                asked = rests.next() => {
                    let Some(asked) = asked else { return };
                    rest::answer(&cb, &client, asked).await;
                }
                over = overs.next() => {
                    let Some(over) = over else { return };
                    rest::interaction_over(&cb, &client, over).await;
                }
                live = lives.next() => {
                    let Some(live) = live else { return };
                    rest::answer_live(&cb, &client, live).await;
                }
            }
        }
    });
    Ok(())
}

async fn answer_find(cb: &Cobrowse, client: &async_nats::Client, ask: async_nats::Message) {
    let (Some(reply), Ok(lookup)) = (ask.reply, serde_json::from_slice::<Lookup>(&ask.payload))
    else {
        return;
    };
    if !cb.registry.knows(&lookup.pairing()) {
        return;
    }
    let found = Found {
        node: cb.cluster.node().to_owned(),
    };
    if let Ok(body) = serde_json::to_vec(&found) {
        let _ = client.publish(reply, body.into()).await;
    }
}

async fn take_open(cb: &Arc<Cobrowse>, client: &async_nats::Client, open: async_nats::Message) {
    let Some(reply) = open.reply else { return };
    let answer: &'static [u8] = match read_open(&open.payload) {
        None => b"malformed",
        Some((open, hello)) => {
            let max = cb.config.limits.max_frame_bytes;
            match pipe::open_home(client, &open.conn, hello, max).await {
                Ok(socket) => {
                    tokio::spawn(serve_piped(socket, cb.clone(), open.side.side()));
                    b"ok"
                }
                Err(e) => {
                    tracing::warn!(error = %e, "opening a piped co-browse connection");
                    b"unavailable"
                }
            }
        }
    };
    let _ = client.publish(reply, Bytes::from_static(answer)).await;
}
