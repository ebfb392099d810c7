//! One side of a session as the session sees it: a bounded outbound queue, a byte budget, and a
//! one-shot close signal; plus the writer task that drains the queue into the socket in batches.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use axum::{
    body::Bytes,
    extract::ws::{CloseFrame, Message as WsMessage, WebSocket},
};
use futures_util::{stream::SplitSink, SinkExt};
use tokio::sync::{watch, Notify};

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

/// What the session's handle and the writer task share: the queue, its byte count, the close
/// request, and the wake-up. One small allocation per peer; the queue allocates only when frames
/// arrive and gives its memory back once drained, so an idle peer costs a few hundred bytes.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<QueueState>,
    /// Wakes the writer: frames queued or a close requested. Only the writer waits on it.
    wake: Notify,
}

#[derive(Debug, Default)]
struct QueueState {
    items: VecDeque<Outbound>,
    /// Frames queued or being written: the frame bound counts both.
    frames: usize,
    /// Bytes queued or being written: frames may be large, so counting frames alone would not
    /// bound memory.
    bytes: usize,
    /// The close the session asked for, until the writer takes it.
    closing: Option<Closing>,
    /// The writer has stopped; nothing queued will be written.
    gone: bool,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // The lock is held only to push, swap or count; a panic while holding it cannot leave
        // the state half-changed, so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The session's handle on one connected peer.
#[derive(Debug)]
pub struct PeerHandle {
    /// Distinguishes this connection from a later one of the same role (reconnect, reload).
    pub id: u64,
    shared: Arc<Shared>,
    /// The bound on frames queued or being written.
    max_frames: usize,
    /// The bound on bytes queued or being written.
    max_bytes: usize,
    /// Whether `close` was called; only the first call has an effect.
    closed: bool,
}

impl PeerHandle {
    /// Queues `out` without waiting.
    pub fn send(&self, out: Outbound) -> Result<(), QueueFull> {
        let len = out.bytes();
        {
            let mut st = self.shared.lock();
            if st.gone {
                return Err(QueueFull::Gone);
            }
            if st.frames >= self.max_frames || st.bytes + len > self.max_bytes {
                return Err(QueueFull::Full);
            }
            st.frames += 1;
            st.bytes += len;
            st.items.push_back(out);
        }
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Tells the writer to close the connection. Only the first call has an effect.
    pub fn close(&mut self, closing: Closing) {
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        // If the writer has already gone, the connection is closed anyway.
        self.shared.lock().closing = Some(closing);
        self.shared.wake.notify_one();
    }
}

/// The writer's end of a peer.
pub struct PeerQueue {
    shared: Arc<Shared>,
}

impl PeerQueue {
    /// Moves everything queued into `batch` (which must be empty), keeping both buffers'
    /// capacity so a busy peer allocates nothing per frame; returns the close request if any.
    fn take(&self, batch: &mut VecDeque<Outbound>) -> Option<Closing> {
        let mut st = self.shared.lock();
        std::mem::swap(&mut st.items, batch);
        st.closing.take()
    }

    /// Counts a written batch out of the bounds.
    fn written(&self, frames: usize, bytes: usize) {
        let mut st = self.shared.lock();
        st.frames = st.frames.saturating_sub(frames);
        st.bytes = st.bytes.saturating_sub(bytes);
        // Give a burst's memory back once the queue is idle again.
        if st.items.is_empty() && st.items.capacity() > IDLE_QUEUE_CAPACITY {
            st.items = VecDeque::new();
        }
    }

    /// Waits until the session asks to close.
    async fn closing(&self) -> Closing {
        loop {
            let woken = self.shared.wake.notified();
            if let Some(closing) = self.shared.lock().closing.take() {
                return closing;
            }
            woken.await;
        }
    }
}

impl Drop for PeerQueue {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.gone = true;
        st.items.clear();
    }
}

/// Queue slots kept when a peer goes idle; more is released.
const IDLE_QUEUE_CAPACITY: usize = 16;

/// A new peer: the session's handle and the writer's queue.
pub fn peer(id: u64, frames: usize, max_bytes: usize) -> (PeerHandle, PeerQueue) {
    let shared = Arc::new(Shared::default());
    (
        PeerHandle {
            id,
            shared: shared.clone(),
            max_frames: frames.max(1),
            max_bytes,
            closed: false,
        },
        PeerQueue { shared },
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

async fn feed(sink: &mut Sink, out: Outbound) -> Result<(), axum::Error> {
    match out {
        Outbound::Frame(b) => sink.feed(WsMessage::Binary(b)).await,
        Outbound::Frames(frames) => {
            for b in frames {
                sink.feed(WsMessage::Binary(b)).await?;
            }
            Ok(())
        }
    }
}

/// Feeds a batch and flushes it, then counts it out of the queue's bounds.
async fn write_batch(
    sink: &mut Sink,
    queue: &PeerQueue,
    batch: &mut VecDeque<Outbound>,
) -> Result<(), axum::Error> {
    let frames = batch.len();
    let bytes = batch.iter().map(Outbound::bytes).sum();
    let mut result = Ok(());
    while let Some(out) = batch.pop_front() {
        result = feed(sink, out).await;
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = sink.flush().await;
    }
    queue.written(frames, bytes);
    result
}

/// Drains the queue into the socket: take everything queued, feed it, flush once per batch.
/// Stops at a close request, at shutdown, or when the socket fails.
pub async fn write_loop(mut sink: Sink, queue: PeerQueue, mut shutdown: watch::Receiver<bool>) {
    let mut batch = VecDeque::new();
    let closing = loop {
        let woken = queue.shared.wake.notified();
        if let Some(closing) = queue.take(&mut batch) {
            break Some(closing);
        }
        if batch.is_empty() {
            tokio::select! {
                biased;
                _ = shutdown.wait_for(|stop| *stop) => break Some(going_away()),
                () = woken => continue,
            }
        }
        drop(woken);
        // A close request interrupts a write a slow reader has stalled.
        tokio::select! {
            biased;
            closing = queue.closing() => break Some(closing),
            _ = shutdown.wait_for(|stop| *stop) => break Some(going_away()),
            written = write_batch(&mut sink, &queue, &mut batch) => {
                if written.is_err() {
                    break None;
                }
            }
        }
    };
    let Some(closing) = closing else {
        return;
    };
    let finish = async {
        if closing.drain {
            // What an interrupted batch had not yet written, then what was queued since.
            let mut rest = VecDeque::new();
            queue.take(&mut rest);
            batch.append(&mut rest);
            while let Some(out) = batch.pop_front() {
                feed(&mut sink, out).await?;
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

fn going_away() -> Closing {
    Closing {
        drain: false,
        last: Vec::new(),
        code: close_code::GOING_AWAY,
        reason: "relay shutting down".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize) -> Outbound {
        Outbound::Frame(Bytes::from(vec![0u8; len]))
    }

    #[test]
    fn a_full_queue_refuses_by_frames_and_by_bytes_and_a_gone_writer_is_reported() {
        let (handle, queue) = peer(1, 2, 100);
        assert_eq!(handle.send(frame(10)), Ok(()));
        assert_eq!(handle.send(frame(10)), Ok(()));
        assert_eq!(handle.send(frame(1)), Err(QueueFull::Full), "frame bound");

        let (handle, queue2) = peer(2, 10, 100);
        assert_eq!(handle.send(frame(60)), Ok(()));
        assert_eq!(handle.send(frame(41)), Err(QueueFull::Full), "byte bound");
        assert_eq!(handle.send(frame(40)), Ok(()));

        // Taken and written frames leave the bounds; the queue keeps no burst-sized buffer.
        let mut batch = VecDeque::new();
        assert!(queue2.take(&mut batch).is_none());
        assert_eq!(batch.len(), 2);
        batch.clear();
        queue2.written(2, 100);
        assert_eq!(handle.send(frame(100)), Ok(()));

        drop(queue);
        drop(queue2);
        assert_eq!(handle.send(frame(1)), Err(QueueFull::Gone));
    }

    #[test]
    fn only_the_first_close_is_delivered() {
        let (mut handle, queue) = peer(1, 4, 100);
        let closing = |code| Closing {
            drain: true,
            last: Vec::new(),
            code,
            reason: String::new(),
        };
        handle.close(closing(close_code::NORMAL));
        handle.close(closing(close_code::POLICY));
        let mut batch = VecDeque::new();
        assert_eq!(
            queue.take(&mut batch).map(|c| c.code),
            Some(close_code::NORMAL)
        );
        assert!(queue.take(&mut batch).is_none());
    }
}
