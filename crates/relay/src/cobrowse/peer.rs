//! One side of a session as the session sees it: a bounded outbound queue, a byte budget, and a
//! one-shot close signal; plus the writer task that drains the queue into the socket in batches.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use axum::{
    body::Bytes,
    extract::ws::{CloseFrame, Message as WsMessage, WebSocket},
};
use futures_util::{stream::SplitSink, SinkExt};
use tokio::sync::{mpsc, oneshot, watch};

/// WebSocket close codes the relay uses.
pub mod close_code {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const UNSUPPORTED_DATA: u16 = 1003;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// What goes into a peer's queue.
#[derive(Debug)]
pub enum Outbound {
    Frame(Bytes),
    /// Several frames as one queue item: the late-join replay, which may be longer than the
    /// queue.
    Frames(Vec<Bytes>),
}

impl Outbound {
    fn bytes(&self) -> usize {
        match self {
            Outbound::Frame(b) => b.len(),
            Outbound::Frames(frames) => frames.iter().map(Bytes::len).sum(),
        }
    }
}

/// How a connection is to be closed.
#[derive(Debug)]
pub struct Closing {
    /// Deliver what is already queued first (an end); a slow consumer's queue is discarded.
    pub drain: bool,
    /// Frames sent last, before the close frame (an `End`, an `Error`).
    pub last: Vec<Bytes>,
    pub code: u16,
    /// Short, never page content (WebSocket close reasons are at most 123 bytes).
    pub reason: String,
}

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueFull {
    /// The peer's queue or byte budget is full: it is a slow consumer.
    Full,
    /// The peer's writer has already gone.
    Gone,
}

/// The session's handle on one connected peer.
#[derive(Debug)]
pub struct PeerHandle {
    /// Distinguishes this connection from a later one of the same role (reconnect, reload).
    pub id: u64,
    /// The bounded queue drained by the writer task.
    tx: mpsc::Sender<Outbound>,
    /// Bytes in the queue: frames may be large, so counting frames alone would not bound memory.
    queued_bytes: Arc<AtomicUsize>,
    /// The bound on `queued_bytes`.
    max_queued_bytes: usize,
    /// Fired once to close the connection; `None` after.
    close: Option<oneshot::Sender<Closing>>,
}

impl PeerHandle {
    /// Queues `out` without waiting.
    pub fn send(&self, out: Outbound) -> Result<(), QueueFull> {
        let len = out.bytes();
        let queued = self.queued_bytes.fetch_add(len, Ordering::Relaxed);
        if queued + len > self.max_queued_bytes {
            self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            return Err(QueueFull::Full);
        }
        self.tx.try_send(out).map_err(|e| {
            self.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            match e {
                mpsc::error::TrySendError::Full(_) => QueueFull::Full,
                mpsc::error::TrySendError::Closed(_) => QueueFull::Gone,
            }
        })
    }

    /// Tells the writer to close the connection. Only the first call has an effect.
    pub fn close(&mut self, closing: Closing) {
        if let Some(close) = self.close.take() {
            // The writer may already have gone; then the connection is closed anyway.
            close.send(closing).ok();
        }
    }
}

/// The writer's ends of a peer.
pub struct PeerQueue {
    rx: mpsc::Receiver<Outbound>,
    queued_bytes: Arc<AtomicUsize>,
    close: oneshot::Receiver<Closing>,
}

/// A new peer: the session's handle and the writer's queue.
pub fn peer(id: u64, frames: usize, max_bytes: usize) -> (PeerHandle, PeerQueue) {
    let (tx, rx) = mpsc::channel(frames.max(1));
    let (close_tx, close_rx) = oneshot::channel();
    let queued_bytes = Arc::new(AtomicUsize::new(0));
    (
        PeerHandle {
            id,
            tx,
            queued_bytes: queued_bytes.clone(),
            max_queued_bytes: max_bytes,
            close: Some(close_tx),
        },
        PeerQueue {
            rx,
            queued_bytes,
            close: close_rx,
        },
    )
}

type Sink = SplitSink<WebSocket, WsMessage>;

/// How long a closing connection gets to take its last frames.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

fn close_message(code: u16, reason: &str) -> WsMessage {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    WsMessage::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }))
}

async fn feed(sink: &mut Sink, out: Outbound, queued: &AtomicUsize) -> Result<(), axum::Error> {
    let len = out.bytes();
    let result = match out {
        Outbound::Frame(b) => sink.feed(WsMessage::Binary(b)).await,
        Outbound::Frames(frames) => {
            let mut result = Ok(());
            for b in frames {
                result = sink.feed(WsMessage::Binary(b)).await;
                if result.is_err() {
                    break;
                }
            }
            result
        }
    };
    queued.fetch_sub(len, Ordering::Relaxed);
    result
}

/// Drains the queue into the socket: feed everything queued, flush when the queue is empty.
/// Stops at a close signal, at shutdown, or when the socket fails.
pub async fn write_loop(mut sink: Sink, queue: PeerQueue, mut shutdown: watch::Receiver<bool>) {
    let PeerQueue {
        mut rx,
        queued_bytes,
        mut close,
    } = queue;
    let closing = loop {
        let batch = async {
            let Some(first) = rx.recv().await else {
                return Ok(false);
            };
            feed(&mut sink, first, &queued_bytes).await?;
            while let Ok(next) = rx.try_recv() {
                feed(&mut sink, next, &queued_bytes).await?;
            }
            sink.flush().await.map(|()| true)
        };
        tokio::select! {
            biased;
            closing = &mut close => match closing {
                Ok(closing) => break Some(closing),
                Err(_) => break None,
            },
            _ = shutdown.wait_for(|stop| *stop) => break Some(Closing {
                drain: false,
                last: Vec::new(),
                code: close_code::GOING_AWAY,
                reason: "relay shutting down".into(),
            }),
            written = batch => match written {
                Ok(true) => {}
                Ok(false) | Err(_) => break None,
            },
        }
    };
    let Some(closing) = closing else {
        return;
    };
    let finish = async {
        if closing.drain {
            while let Ok(next) = rx.try_recv() {
                feed(&mut sink, next, &queued_bytes).await?;
            }
        }
        for b in closing.last {
            sink.feed(WsMessage::Binary(b)).await?;
        }
        sink.send(close_message(closing.code, &closing.reason))
            .await
    };
    // A peer that does not read gets no more than the grace period.
    if let Ok(Err(e)) = tokio::time::timeout(CLOSE_GRACE, finish).await {
        tracing::debug!(error = %e, "closing connection");
    }
}
