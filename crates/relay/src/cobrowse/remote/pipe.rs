//! One co-browse connection carried between two nodes over NATS: the node holding the client's
//! socket publishes what the client sends on the pipe's `up` subject, the session's home
//! publishes what the session sends on its `down` subject. What travels is the protocol's own
//! frames, cut into pieces NATS carries (its payload limit is 1 MiB, a frame may be 4 MiB),
//! plus a close and a heartbeat; nothing here reads a frame's content.
//!
//! At the home, the connection is a [`PipeSocket`]: the same `connection` code that serves a
//! WebSocket serves it, so pairing, the control gate and every bound apply there unchanged.

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::ws::{CloseFrame, Message as WsMessage},
};
use bytes::{BufMut, BytesMut};
use futures_util::{Sink, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

/// The largest piece of a frame in one NATS message.
pub const PIECE: usize = 512 * 1024;
/// Each end says it is alive this often, whether or not it has frames to send.
pub const BEAT: Duration = Duration::from_secs(1);
/// An end that heard nothing for this long takes the other for gone.
pub const SILENCE: Duration = Duration::from_secs(4);
/// Frames waiting between the home's connection and NATS, each way.
const QUEUE: usize = 64;

const LAST: u8 = 0;
const MORE: u8 = 1;
const CLOSE: u8 = 2;
const ALIVE: u8 = 3;

/// Subjects of pipe `conn`: what the client sent, and what goes to it.
pub fn up(conn: &str) -> String {
    format!("relay.cobrowse.pipe.{conn}.up")
}
pub fn down(conn: &str) -> String {
    format!("relay.cobrowse.pipe.{conn}.down")
}

#[derive(Debug, thiserror::Error)]
pub enum PipeError {
    #[error("a frame too big on the pipe (over {0} bytes)")]
    TooBig(usize),
    #[error("a malformed message on the pipe")]
    Malformed,
}

/// What one end publishes.
pub enum Piece<'a> {
    /// A frame (cut into pieces by [`publish`]).
    Frame(&'a [u8]),
    /// The connection closes with this code and reason.
    Close(u16, &'a str),
    /// Still here.
    Alive,
}

fn tagged(tag: u8, rest: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(1 + rest.len());
    b.put_u8(tag);
    b.extend_from_slice(rest);
    b.freeze()
}

/// The NATS messages that carry `frame`: pieces of at most [`PIECE`] bytes, the last one
/// marked so.
fn frame_pieces(frame: &[u8]) -> impl Iterator<Item = Bytes> + '_ {
    let count = frame.len().div_ceil(PIECE).max(1);
    let chunks = frame
        .chunks(PIECE)
        .chain(frame.is_empty().then_some(&[][..]));
    chunks
        .enumerate()
        .map(move |(i, chunk)| tagged(if i + 1 < count { MORE } else { LAST }, chunk))
}

/// Publishes `piece` on `subject`.
pub async fn publish(
    client: &async_nats::Client,
    subject: &str,
    piece: Piece<'_>,
) -> Result<(), async_nats::PublishError> {
    match piece {
        Piece::Frame(frame) => {
            for message in frame_pieces(frame) {
                client.publish(subject.to_owned(), message).await?;
            }
            Ok(())
        }
        Piece::Close(code, reason) => {
            let mut rest = code.to_be_bytes().to_vec();
            rest.extend_from_slice(reason.as_bytes());
            client
                .publish(subject.to_owned(), tagged(CLOSE, &rest))
                .await
        }
        Piece::Alive => client.publish(subject.to_owned(), tagged(ALIVE, &[])).await,
    }
}

/// What arrived, once whole.
#[derive(Debug, PartialEq, Eq)]
pub enum Arrived {
    Frame(Bytes),
    Close(u16, String),
    Alive,
}

/// Puts frames back together from their pieces, refusing one over `max` bytes.
pub struct Assembler {
    partial: BytesMut,
    max: usize,
}

impl Assembler {
    pub fn new(max: usize) -> Assembler {
        Assembler {
            partial: BytesMut::new(),
            max,
        }
    }

    /// Takes one NATS message's payload; `None` while a frame is still in pieces.
    pub fn push(&mut self, payload: &[u8]) -> Result<Option<Arrived>, PipeError> {
        let (&tag, rest) = payload.split_first().ok_or(PipeError::Malformed)?;
        match tag {
            LAST | MORE => {
                if self.partial.len() + rest.len() > self.max {
                    self.partial = BytesMut::new();
                    return Err(PipeError::TooBig(self.max));
                }
                self.partial.extend_from_slice(rest);
                if tag == MORE {
                    return Ok(None);
                }
                Ok(Some(Arrived::Frame(self.partial.split().freeze())))
            }
            CLOSE => {
                let (code, reason) = rest.split_at_checked(2).ok_or(PipeError::Malformed)?;
                let code = u16::from_be_bytes([code[0], code[1]]);
                Ok(Some(Arrived::Close(
                    code,
                    String::from_utf8_lossy(reason).into_owned(),
                )))
            }
            ALIVE => Ok(Some(Arrived::Alive)),
            _ => Err(PipeError::Malformed),
        }
    }
}

/// The home's end of a pipe, as its connection reads and writes it.
pub struct PipeSocket {
    incoming: mpsc::Receiver<Result<WsMessage, axum::Error>>,
    outgoing: PollSender<WsMessage>,
}

impl Stream for PipeSocket {
    type Item = Result<WsMessage, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.incoming.poll_recv(cx)
    }
}

impl Sink<WsMessage> for PipeSocket {
    type Error = axum::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.outgoing.poll_reserve(cx).map_err(axum::Error::new)
    }

    fn start_send(mut self: Pin<&mut Self>, item: WsMessage) -> Result<(), Self::Error> {
        self.outgoing.send_item(item).map_err(axum::Error::new)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Handed to the task that publishes: flushed as far as this connection can tell.
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.outgoing.close();
        Poll::Ready(Ok(()))
    }
}

/// Opens the home's end of pipe `conn`, whose first frame (the hello) came with the request:
/// subscribed before it returns, so nothing the other end sends after it is lost.
pub async fn open_home(
    client: &async_nats::Client,
    conn: &str,
    hello: Bytes,
    max_frame: usize,
) -> Result<PipeSocket, async_nats::SubscribeError> {
    let mut sub = client.subscribe(up(conn)).await?;
    let (in_tx, incoming) = mpsc::channel(QUEUE);
    let (out_tx, mut out_rx) = mpsc::channel::<WsMessage>(QUEUE);
    // The channel has room: it was made just now.
    let _ = in_tx.try_send(Ok(WsMessage::Binary(hello)));
    tokio::spawn(async move {
        let mut assembler = Assembler::new(max_frame);
        loop {
            let message = tokio::select! {
                m = tokio::time::timeout(SILENCE, sub.next()) => m,
                () = in_tx.closed() => break,
            };
            let Ok(Some(message)) = message else {
                // Silent too long, or the subscription ended: the client's node is gone.
                break;
            };
            let item = match assembler.push(&message.payload) {
                Ok(None | Some(Arrived::Alive)) => continue,
                Ok(Some(Arrived::Frame(frame))) => Ok(WsMessage::Binary(frame)),
                Ok(Some(Arrived::Close(code, reason))) => Ok(WsMessage::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                }))),
                Err(e) => Err(axum::Error::new(e)),
            };
            let last = !matches!(item, Ok(WsMessage::Binary(_)));
            if in_tx.send(item).await.is_err() || last {
                break;
            }
        }
        let _ = sub.unsubscribe().await;
    });
    let client = client.clone();
    let subject = down(conn);
    tokio::spawn(async move {
        let mut beat = tokio::time::interval(BEAT);
        let mut closed = false;
        loop {
            let message = tokio::select! {
                m = out_rx.recv() => m,
                _ = beat.tick() => {
                    let _ = publish(&client, &subject, Piece::Alive).await;
                    continue;
                }
            };
            let sent = match &message {
                Some(WsMessage::Binary(frame)) => {
                    publish(&client, &subject, Piece::Frame(frame)).await
                }
                Some(WsMessage::Close(frame)) => {
                    closed = true;
                    let (code, reason) = frame
                        .as_ref()
                        .map_or((1000, ""), |f| (f.code, f.reason.as_str()));
                    publish(&client, &subject, Piece::Close(code, reason)).await
                }
                Some(_) => Ok(()),
                None => break,
            };
            if closed || sent.is_err() {
                break;
            }
        }
        if !closed {
            let _ = publish(&client, &subject, Piece::Close(1001, "")).await;
        }
    });
    Ok(PipeSocket {
        incoming,
        outgoing: PollSender::new(out_tx),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(frame: &[u8]) -> Vec<Bytes> {
        frame_pieces(frame).collect()
    }

    #[test]
    fn a_frame_larger_than_a_nats_message_is_whole_again_and_one_too_big_is_refused() {
        let frame: Vec<u8> = (0..(PIECE * 2 + 17)).map(|i| (i % 251) as u8).collect();
        let mut a = Assembler::new(4 << 20);
        let mut got = Vec::new();
        for p in pieces(&frame) {
            if let Some(arrived) = a.push(&p).unwrap() {
                got.push(arrived);
            }
        }
        assert_eq!(got, vec![Arrived::Frame(Bytes::from(frame.clone()))]);
        assert_eq!(pieces(&frame).len(), 3);
        assert!(pieces(&frame).iter().all(|p| p.len() <= PIECE + 1));
        // An empty frame is one message too.
        assert_eq!(
            a.push(&pieces(&[])[0]).unwrap(),
            Some(Arrived::Frame(Bytes::new()))
        );
        let mut small = Assembler::new(PIECE);
        let results: Vec<_> = pieces(&frame).iter().map(|p| small.push(p)).collect();
        assert!(results
            .iter()
            .any(|r| matches!(r, Err(PipeError::TooBig(_)))));
        // After a refusal, the next frame is read on its own.
        assert_eq!(
            small.push(&[LAST, 7]).unwrap(),
            Some(Arrived::Frame(Bytes::from_static(&[7])))
        );
    }

    #[test]
    fn a_close_and_a_heartbeat_read_back_and_garbage_is_refused() {
        let mut a = Assembler::new(1024);
        let mut close = vec![CLOSE];
        close.extend_from_slice(&1013u16.to_be_bytes());
        close.extend_from_slice(b"slow consumer");
        assert_eq!(
            a.push(&close).unwrap(),
            Some(Arrived::Close(1013, "slow consumer".into()))
        );
        assert_eq!(a.push(&[ALIVE]).unwrap(), Some(Arrived::Alive));
        assert!(matches!(a.push(&[]), Err(PipeError::Malformed)));
        assert!(matches!(a.push(&[9, 1, 2]), Err(PipeError::Malformed)));
        assert!(matches!(a.push(&[CLOSE, 1]), Err(PipeError::Malformed)));
    }
}
