//! One connection's socket, driven by the connection's own task: it writes what the session
//! queued (feed every frame, flush once the queue has drained) while it waits for the next
//! incoming frame, so a connection is one task that owns its whole socket. No split halves, no
//! lock between them, no second task per connection: an idle connection costs the socket and
//! this struct. A stalled write (a slow reader) never stops reading, and the session's close
//! request interrupts it.

use std::{
    collections::VecDeque,
    future::poll_fn,
    pin::Pin,
    task::{ready, Context, Poll},
};

use axum::{
    body::Bytes,
    extract::ws::{CloseFrame, Message as WsMessage, WebSocket},
};
use futures_util::{Sink, SinkExt, Stream};

use super::peer::{close_code, Closing, Outbound, PeerQueue};

/// How long a closing connection gets to take its last frames.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Batch slots kept when a connection goes idle; more is released.
const IDLE_BATCH_CAPACITY: usize = 16;

/// What happened on a connection.
#[derive(Debug)]
pub enum Event {
    /// The next incoming message (`None`: the peer has gone).
    Read(Option<Result<WsMessage, axum::Error>>),
    /// The session asked to close the connection.
    Close(Closing),
    /// Writing failed: the connection is gone.
    WriteFailed,
}

/// What a connection reads and writes: a client's WebSocket, or a connection another node
/// pipes here over the cluster (`super::remote`).
pub trait Socket:
    Stream<Item = Result<WsMessage, axum::Error>> + Sink<WsMessage, Error = axum::Error> + Unpin + Send
{
}

impl<S> Socket for S where
    S: Stream<Item = Result<WsMessage, axum::Error>>
        + Sink<WsMessage, Error = axum::Error>
        + Unpin
        + Send
{
}

/// A socket and the queue that feeds it.
pub struct Wire<S = WebSocket> {
    socket: S,
    queue: PeerQueue,
    /// Items taken from the queue and not yet fed to the socket.
    batch: VecDeque<Outbound>,
    /// The rest of a multi-frame item being fed.
    frames: Option<std::vec::IntoIter<Bytes>>,
    /// Frames and bytes fed since the last flush: they leave the queue's bounds once flushed.
    fed: (usize, usize),
}

impl<S: Socket> Wire<S> {
    pub fn new(socket: S, queue: PeerQueue) -> Wire<S> {
        Wire {
            socket,
            queue,
            batch: VecDeque::new(),
            frames: None,
            fed: (0, 0),
        }
    }

    /// Writes what is queued until the next event: an incoming message, a close request, or a
    /// failed write.
    pub async fn next(&mut self) -> Event {
        poll_fn(|cx| self.poll_event(cx)).await
    }

    /// The socket itself, for a connection that goes on elsewhere (`super::remote`), with
    /// nothing queued for it yet.
    pub fn into_socket(self) -> S {
        self.socket
    }

    /// The close the session has asked for, if any.
    pub fn closing(&self) -> Option<Closing> {
        self.queue.closing()
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        // Register before looking, so a frame queued in between still wakes us.
        self.queue.register(cx.waker());
        if let Some(closing) = self.queue.closing() {
            return Poll::Ready(Event::Close(closing));
        }
        if let Poll::Ready(Err(e)) = self.poll_write(cx) {
            tracing::debug!(error = %e, "writing to connection");
            return Poll::Ready(Event::WriteFailed);
        }
        Pin::new(&mut self.socket).poll_next(cx).map(Event::Read)
    }

    fn has_more(&self) -> bool {
        !self.batch.is_empty() || self.frames.as_ref().is_some_and(|f| f.len() > 0)
    }

    /// The next frame to feed, counting each queue item as it is started.
    fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if let Some(frame) = self.frames.as_mut().and_then(Iterator::next) {
                return Some(frame);
            }
            self.frames = None;
            let out = self.batch.pop_front()?;
            self.fed.0 += 1;
            self.fed.1 += out.bytes();
            match out {
                Outbound::Frame(frame) => return Some(frame),
                Outbound::Frames(frames) => self.frames = Some(frames.into_iter()),
            }
        }
    }

    /// Feeds everything queued, then flushes once the queue is empty; what was flushed leaves
    /// the queue's bounds. Ready when all is written.
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), axum::Error>> {
        loop {
            if !self.has_more() {
                self.queue.take(&mut self.batch);
                if !self.has_more() {
                    break;
                }
            }
            ready!(Pin::new(&mut self.socket).poll_ready(cx))?;
            match self.next_frame() {
                Some(frame) => Pin::new(&mut self.socket).start_send(WsMessage::Binary(frame))?,
                None => break,
            }
        }
        if self.fed.0 > 0 {
            ready!(Pin::new(&mut self.socket).poll_flush(cx))?;
            let (frames, bytes) = std::mem::take(&mut self.fed);
            self.queue.written(frames, bytes);
            if self.batch.capacity() > IDLE_BATCH_CAPACITY {
                self.batch = VecDeque::new();
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Closes the connection as the session asked: what is queued first if `closing.drain` (an
    /// end), else it is dropped (a slow consumer); then the last frames and the close frame. A
    /// peer that does not read gets no more than the grace period.
    pub async fn finish(mut self, closing: Closing) {
        let finish = async {
            if closing.drain {
                poll_fn(|cx| self.poll_write(cx)).await?;
            }
            for b in closing.last {
                self.socket.feed(WsMessage::Binary(b)).await?;
            }
            self.socket
                .send(close_message(closing.code, &closing.reason))
                .await
        };
        if let Ok(Err(e)) = tokio::time::timeout(CLOSE_GRACE, finish).await {
            tracing::debug!(error = %e, "closing connection");
        }
    }
}

pub fn close_message(code: u16, reason: &str) -> WsMessage {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    WsMessage::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }))
}

/// The close every connection gets when the relay shuts down.
pub fn going_away() -> Closing {
    Closing {
        drain: false,
        last: Vec::new(),
        code: close_code::GOING_AWAY,
        reason: "relay shutting down".into(),
    }
}
