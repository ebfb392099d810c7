//! The late-join buffer: the latest snapshot of the customer's page and the page-state frames
//! since, as the original bytes, bounded in total size. Pure: no sockets, no clock.

use axum::body::Bytes;
use protocol::FrameKind;

/// What happened to a frame offered to the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buffered {
    /// Kept (or not page state, so nothing to keep).
    Kept,
    /// The buffer went past its bound and was dropped: ask the customer for a fresh snapshot.
    Overflowed,
}

/// The buffer of one session.
#[derive(Debug)]
pub struct PageBuffer {
    /// The snapshot first, then the page-state frames since, in arrival order.
    frames: Vec<Bytes>,
    /// Sum of the lengths of `frames`.
    bytes: usize,
    /// The bound on `bytes`.
    max_bytes: usize,
    /// Whether `frames` starts with a snapshot; without one, later frames mean nothing.
    has_snapshot: bool,
}

impl PageBuffer {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            frames: Vec::new(),
            bytes: 0,
            max_bytes,
            has_snapshot: false,
        }
    }

    /// Offers a frame the customer sent.
    pub fn push(&mut self, kind: FrameKind, frame: &Bytes) -> Buffered {
        if !kind.is_page_state() {
            return Buffered::Kept;
        }
        if kind == FrameKind::Snapshot {
            self.clear();
            if frame.len() > self.max_bytes {
                // Too big to keep at all; a late joiner will ask for a fresh one.
                return Buffered::Kept;
            }
            self.has_snapshot = true;
        } else if !self.has_snapshot {
            return Buffered::Kept;
        } else if self.bytes + frame.len() > self.max_bytes {
            self.clear();
            return Buffered::Overflowed;
        }
        self.bytes += frame.len();
        self.frames.push(frame.clone());
        Buffered::Kept
    }

    /// Forgets everything (the customer's page is gone, or the bound was passed).
    pub fn clear(&mut self) {
        self.frames = Vec::new();
        self.bytes = 0;
        self.has_snapshot = false;
    }

    /// Whether there is a consistent view to replay.
    pub fn has_snapshot(&self) -> bool {
        self.has_snapshot
    }

    /// The frames a joining agent needs, snapshot first.
    pub fn replay(&self) -> Vec<Bytes> {
        self.frames.clone()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize) -> Bytes {
        Bytes::from(vec![0u8; len])
    }

    #[test]
    fn keeps_the_latest_snapshot_and_page_state_since() {
        let mut buffer = PageBuffer::new(1000);
        buffer.push(FrameKind::Mutations, &frame(10));
        assert!(
            !buffer.has_snapshot(),
            "mutations without a base are useless"
        );
        buffer.push(FrameKind::Snapshot, &frame(100));
        buffer.push(FrameKind::Mutations, &frame(10));
        buffer.push(FrameKind::Pointer, &frame(5));
        buffer.push(FrameKind::Scroll, &frame(7));
        assert_eq!(buffer.replay().len(), 3);
        buffer.push(FrameKind::Snapshot, &frame(50));
        assert_eq!(buffer.replay().len(), 1);
        assert_eq!(buffer.bytes(), 50);
    }

    #[test]
    fn past_the_bound_the_buffer_is_dropped_and_a_resync_is_due() {
        let mut buffer = PageBuffer::new(100);
        buffer.push(FrameKind::Snapshot, &frame(60));
        assert_eq!(
            buffer.push(FrameKind::Mutations, &frame(30)),
            Buffered::Kept
        );
        assert_eq!(
            buffer.push(FrameKind::Mutations, &frame(30)),
            Buffered::Overflowed
        );
        assert!(!buffer.has_snapshot());
        assert_eq!(buffer.bytes(), 0);
        assert_eq!(
            buffer.push(FrameKind::Mutations, &frame(30)),
            Buffered::Kept
        );
        assert_eq!(buffer.bytes(), 0, "ignored until the next snapshot");
    }
}
