//! One side of a session as the session sees it: a bounded outbound queue, a byte budget, and a
//! one-shot close signal, with the frames the relay itself sends a peer before closing it. The
//! connection's own task drains the queue into its socket (see [`super::wire`]).

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    task::Waker,
};

use axum::body::Bytes;
use futures_util::task::AtomicWaker;
use protocol::{ErrorCode, ErrorReport, Frame, Message};

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

/// What goes into a peer's queue. A clone shares the frames' bytes (observers get the agent's).
#[derive(Debug, Clone)]
pub enum Outbound {
    Frame(Bytes),
    /// Several frames as one queue item: the late-join replay, which may be longer than the
    /// queue.
    Frames(Vec<Bytes>),
}

impl Outbound {
    pub(super) fn bytes(&self) -> usize {
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
    /// Wakes the connection's task: frames queued or a close requested. Only that task waits.
    wake: AtomicWaker,
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
        self.shared.wake.wake();
        Ok(())
    }

    /// Tells the writer to close the connection. Only the first call has an effect.
    pub fn close(&mut self, closing: Closing) {
        if std::mem::replace(&mut self.closed, true) {
            return;
        }
        // If the writer has already gone, the connection is closed anyway.
        self.shared.lock().closing = Some(closing);
        self.shared.wake.wake();
    }
}

/// The writer's end of a peer.
pub struct PeerQueue {
    shared: Arc<Shared>,
}

impl PeerQueue {
    /// Wakes `waker` when frames are queued or a close is requested from now on.
    pub(super) fn register(&self, waker: &Waker) {
        self.shared.wake.register(waker);
    }

    /// Moves everything queued into `batch` (which must be empty), keeping both buffers'
    /// capacity so a busy peer allocates nothing per frame.
    pub(super) fn take(&self, batch: &mut VecDeque<Outbound>) {
        std::mem::swap(&mut self.shared.lock().items, batch);
    }

    /// The close request, if any, leaving the queue alone.
    pub(super) fn closing(&self) -> Option<Closing> {
        self.shared.lock().closing.take()
    }

    /// Counts written frames out of the bounds.
    pub(super) fn written(&self, frames: usize, bytes: usize) {
        let mut st = self.shared.lock();
        st.frames = st.frames.saturating_sub(frames);
        st.bytes = st.bytes.saturating_sub(bytes);
        // Give a burst's memory back once the queue is idle again.
        if st.items.is_empty() && st.items.capacity() > IDLE_QUEUE_CAPACITY {
            st.items = VecDeque::new();
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

/// Encodes a frame the relay originates. Relay frames carry sequence number 0: they are not
/// part of either side's numbered stream.
pub fn relay_frame(message: Message) -> Bytes {
    // Encoding our own small, well-formed values cannot fail; an empty frame would be refused
    // by the peer rather than panic here.
    Bytes::from(Frame::new(0, message).encode().unwrap_or_default())
}

/// An `Error` frame of the relay's.
pub fn error_frame(code: ErrorCode, message: String) -> Bytes {
    relay_frame(Message::Error(ErrorReport { code, message }))
}

/// An `Error` frame and the close that follows it.
pub fn error_close(code: ErrorCode, ws_code: u16, reason: String) -> Closing {
    Closing {
        drain: false,
        last: vec![error_frame(code, reason.clone())],
        code: ws_code,
        reason,
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
        queue2.take(&mut batch);
        assert!(queue2.closing().is_none());
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
        assert_eq!(queue.closing().map(|c| c.code), Some(close_code::NORMAL));
        assert!(queue.closing().is_none());
    }
}
