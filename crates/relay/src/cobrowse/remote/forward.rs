//! The client's node's end of a pipe: the client's socket stays here, its frames go to the
//! session's home and the home's come back, with the bounds a local connection has. What
//! waits for a client that does not read is bounded by the peer queue's frames and bytes;
//! past them, the client is dropped as a slow consumer, as the home's own queue would.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{body::Bytes, extract::ws::Message as WsMessage};
use futures_util::{SinkExt, StreamExt};
use protocol::ErrorCode;
use tokio::sync::{mpsc, Notify};

use super::{
    ask::{open_payload, open_subject, Open, SideWire, OPEN_TIMEOUT},
    pipe::{self, publish, Arrived, Assembler, Piece, BEAT, SILENCE},
};
use crate::{
    cobrowse::{
        peer::{close_code, error_close, Closing},
        state::{Cobrowse, Side},
        wire::{close_message, Socket},
    },
    ids::random_hex,
};

/// How long a closing client gets to take its last frames.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Why the pipe ended.
enum Ended {
    /// The client left (or its socket failed).
    Client,
    /// The home closed the connection; its close is queued for the client.
    Home,
    /// The home went silent, or cannot be reached.
    HomeLost,
    /// The client does not read fast enough.
    Slow,
    /// This node stops, or the agent was signed out here.
    Stop(Closing),
}

/// Pipes the connection on `socket`, whose hello was `hello`, to the session's home `node`,
/// until either end closes. `stop` is the connection's own stop (shutdown, sign-out).
pub async fn forward<S: Socket + 'static>(
    socket: S,
    cb: &Cobrowse,
    node: &str,
    side: &Side,
    hello: Bytes,
    stop: Pin<&mut impl Future<Output = Closing>>,
) {
    let lost = || {
        error_close(
            ErrorCode::NotAllowed,
            close_code::TRY_AGAIN_LATER,
            "the relay node holding this session cannot be reached; reconnect".into(),
        )
    };
    let (Some(client), Some(side)) = (cb.cluster.client(), SideWire::of(side)) else {
        return close_now(socket, lost()).await;
    };
    let conn = random_hex(16);
    let Ok(mut down) = client.subscribe(pipe::down(&conn)).await else {
        return close_now(socket, lost()).await;
    };
    let open = Open {
        conn: conn.clone(),
        side,
    };
    let Some(payload) = open_payload(&open, &hello) else {
        return close_now(socket, lost()).await;
    };
    let request = async_nats::Request::new()
        .payload(payload)
        .timeout(Some(OPEN_TIMEOUT));
    match client
        .send_request(open_subject(&cb.cluster, node), request)
        .await
    {
        Ok(answer) if &answer.payload[..] == b"ok" => {}
        _ => return close_now(socket, lost()).await,
    }
    tracing::info!(
        home = node,
        "co-browse connection piped to the session's node"
    );
    let up = pipe::up(&conn);
    let (mut sink, mut stream) = socket.split();
    let limits = (cb.config.peer_queue_frames, cb.config.peer_queue_bytes);
    let (tx, mut rx) = mpsc::channel::<WsMessage>(limits.0.max(1));
    let queued = Arc::new(AtomicUsize::new(0));
    let slow = Arc::new(Notify::new());

    // The home's frames to the client, through the bounded queue.
    let from_home = Box::pin({
        let (queued, max_frame) = (queued.clone(), cb.config.limits.max_frame_bytes);
        async move {
            let mut assembler = Assembler::new(max_frame);
            loop {
                let Ok(Some(message)) = tokio::time::timeout(SILENCE, down.next()).await else {
                    return Ended::HomeLost;
                };
                let out = match assembler.push(&message.payload) {
                    Ok(None | Some(Arrived::Alive)) => continue,
                    Ok(Some(Arrived::Frame(frame))) => WsMessage::Binary(frame),
                    Ok(Some(Arrived::Close(code, reason))) => {
                        // The close goes after what is queued (an end drains).
                        let _ = tx.send(close_message(code, &reason)).await;
                        return Ended::Home;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "from the session's node");
                        return Ended::HomeLost;
                    }
                };
                let len = size(&out);
                if queued.fetch_add(len, Ordering::Relaxed) + len > limits.1
                    || tx.try_send(out).is_err()
                {
                    return Ended::Slow;
                }
            }
        }
    });
    // What the client sends, to the home; and a heartbeat.
    let to_home = Box::pin(async {
        let mut beat = tokio::time::interval(BEAT);
        loop {
            let message = tokio::select! {
                m = stream.next() => m,
                _ = beat.tick() => {
                    if publish(client, &up, Piece::Alive).await.is_err() {
                        return Ended::HomeLost;
                    }
                    continue;
                }
            };
            let sent = match message {
                Some(Ok(WsMessage::Binary(frame))) => {
                    publish(client, &up, Piece::Frame(&frame)).await
                }
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                Some(Ok(WsMessage::Text(_))) => {
                    // Not part of the protocol: refused as the home would refuse it.
                    let reason = "text frames are not part of the protocol";
                    let close = Piece::Close(close_code::UNSUPPORTED_DATA, reason);
                    let _ = publish(client, &up, close).await;
                    continue;
                }
                Some(Ok(WsMessage::Close(_)) | Err(_)) | None => return Ended::Client,
            };
            if sent.is_err() {
                return Ended::HomeLost;
            }
        }
    });
    // The client's writer: what is queued, until a close or until told to stop; it hands the
    // socket's sink back for the last frames.
    let mut writer = Box::pin({
        let (queued, slow) = (queued.clone(), slow.clone());
        async move {
            loop {
                let message = tokio::select! {
                    biased;
                    () = slow.notified() => None,
                    m = rx.recv() => m,
                };
                let Some(message) = message else {
                    return Some(sink);
                };
                let len = size(&message);
                let last = matches!(message, WsMessage::Close(_));
                let sent = sink.send(message).await;
                queued.fetch_sub(len, Ordering::Relaxed);
                if last || sent.is_err() {
                    return None;
                }
            }
        }
    });
    let ended = tokio::select! {
        closing = stop => Ended::Stop(closing),
        e = from_home => e,
        e = to_home => e,
        // The writer ended first: the client's socket failed, or took a close.
        _ = &mut writer => Ended::Client,
    };
    // Tell the home the connection is over, unless it said so itself.
    let closing = match ended {
        Ended::Home => None,
        Ended::Client => {
            let _ = publish(client, &up, Piece::Close(close_code::GOING_AWAY, "left")).await;
            return;
        }
        Ended::HomeLost => {
            // What the home sent before it went still reaches the client.
            let mut closing = lost();
            closing.drain = true;
            Some(closing)
        }
        Ended::Slow => {
            let reason = "slow consumer";
            let _ = publish(
                client,
                &up,
                Piece::Close(close_code::TRY_AGAIN_LATER, reason),
            )
            .await;
            // An error close drops what is queued, as the home's slow-consumer close does.
            Some(error_close(
                ErrorCode::SlowConsumer,
                close_code::TRY_AGAIN_LATER,
                "slow consumer: too many frames waiting".into(),
            ))
        }
        Ended::Stop(closing) => {
            let reason = "closed by the client's node";
            let _ = publish(client, &up, Piece::Close(closing.code, reason)).await;
            Some(closing)
        }
    };
    let finish = async {
        // The home's frames already queued go first when the close drains (its own close,
        // an end); the writer stops once the queue is empty (the sender went with `from_home`).
        if closing.as_ref().is_some_and(|c| !c.drain) {
            slow.notify_one();
        }
        let sink = writer.await;
        if let (Some(mut sink), Some(closing)) = (sink, closing) {
            for frame in closing.last {
                let _ = sink.feed(WsMessage::Binary(frame)).await;
            }
            let _ = sink
                .send(close_message(closing.code, &closing.reason))
                .await;
        }
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, finish).await;
}

/// The bytes a queued message holds.
fn size(message: &WsMessage) -> usize {
    match message {
        WsMessage::Binary(frame) => frame.len(),
        _ => 0,
    }
}

/// Closes a socket that was never piped, with `closing`'s last frames first.
async fn close_now<S: Socket>(mut socket: S, closing: Closing) {
    let finish = async {
        for frame in closing.last {
            socket.feed(WsMessage::Binary(frame)).await?;
        }
        socket
            .send(close_message(closing.code, &closing.reason))
            .await
    };
    let _ = tokio::time::timeout(CLOSE_GRACE, finish).await;
}
