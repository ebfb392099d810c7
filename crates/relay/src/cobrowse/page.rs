//! The late-join buffer: the latest snapshot of the customer's page and the page-state frames
//! since, as the original bytes, bounded in total size. Pure: no sockets, no clock.
//!
//! Frames are copied into one growing arena rather than kept as the `Bytes` the socket gave
//! them in: such a `Bytes` shares the connection's whole read allocation, so a kept 60-byte
//! frame would hold a 2 KiB (or, after a snapshot, a snapshot-sized) read buffer alive and
//! make the socket allocate a fresh one. The arena's size is what the bound counts, and the
//! copy is amortised (no allocation per frame). A replay, rare, copies the frames out.

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
    /// The snapshot first, then the page-state frames since, in arrival order, end to end.
    arena: Vec<u8>,
    /// Where each frame in `arena` ends.
    ends: Vec<usize>,
    /// The bound on `bytes`.
    max_bytes: usize,
    /// Whether `frames` starts with a snapshot; without one, later frames mean nothing.
    has_snapshot: bool,
}

impl PageBuffer {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            arena: Vec::new(),
            ends: Vec::new(),
            max_bytes,
            has_snapshot: false,
        }
    }

    /// Offers a frame the customer sent.
    pub fn push(&mut self, kind: FrameKind, frame: &Bytes) -> Buffered {
        if !kind.is_page_state() {
            return Buffered::Kept;
        }
        if kind.starts_snapshot() {
            // Keep the arena's capacity: the new snapshot is likely about the old one's size.
            self.arena.clear();
            self.ends.clear();
            self.has_snapshot = false;
            if frame.len() > self.max_bytes {
                // Too big to keep at all; a late joiner will ask for a fresh one.
                return Buffered::Kept;
            }
            self.has_snapshot = true;
        } else if !self.has_snapshot {
            return Buffered::Kept;
        } else if self.arena.len() + frame.len() > self.max_bytes {
            // A snapshot sent in parts that is too big to keep whole is dropped as a one-frame
            // one would be: a fresh snapshot would be as big, so none is asked for.
            let snapshot_part = kind == FrameKind::SnapshotPart;
            self.clear();
            return match snapshot_part {
                true => Buffered::Kept,
                false => Buffered::Overflowed,
            };
        }
        self.arena.extend_from_slice(frame);
        self.ends.push(self.arena.len());
        Buffered::Kept
    }

    /// Forgets everything (the customer's page is gone, or the bound was passed).
    pub fn clear(&mut self) {
        self.arena = Vec::new();
        self.ends = Vec::new();
        self.has_snapshot = false;
    }

    /// Whether there is a consistent view to replay.
    pub fn has_snapshot(&self) -> bool {
        self.has_snapshot
    }

    /// The frames a joining agent needs, snapshot first.
    pub fn replay(&self) -> Vec<Bytes> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let frame = Bytes::copy_from_slice(&self.arena[start..end]);
                start = end;
                frame
            })
            .collect()
    }

    /// The bytes of the frames kept.
    pub fn bytes(&self) -> usize {
        self.arena.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_in_parts_is_kept_whole_and_one_too_big_is_dropped_without_a_resync() {
        let mut buffer = PageBuffer::new(1000);
        assert_eq!(
            buffer.push(FrameKind::SnapshotBegin, &frame(300)),
            Buffered::Kept
        );
        assert_eq!(
            buffer.push(FrameKind::SnapshotPart, &frame(300)),
            Buffered::Kept
        );
        assert_eq!(
            buffer.push(FrameKind::SnapshotPart, &frame(300)),
            Buffered::Kept
        );
        assert_eq!(buffer.replay().len(), 3);
        // The next part passes the bound: the whole snapshot goes, and asking for a fresh
        // one would only loop.
        assert_eq!(
            buffer.push(FrameKind::SnapshotPart, &frame(300)),
            Buffered::Kept
        );
        assert!(!buffer.has_snapshot());
        assert_eq!(
            buffer.push(FrameKind::SnapshotPart, &frame(10)),
            Buffered::Kept
        );
        assert_eq!(
            buffer.push(FrameKind::Mutations, &frame(10)),
            Buffered::Kept
        );
        assert!(buffer.replay().is_empty());
        // A new snapshot starts over; a change that overflows it still asks for a fresh one.
        assert_eq!(
            buffer.push(FrameKind::SnapshotBegin, &frame(900)),
            Buffered::Kept
        );
        assert_eq!(
            buffer.push(FrameKind::Mutations, &frame(200)),
            Buffered::Overflowed
        );
    }

    fn frame(len: usize) -> Bytes {
        Bytes::from(vec![0u8; len])
    }

    #[test]
    fn replays_the_frames_byte_for_byte_in_order() {
        let mut buffer = PageBuffer::new(1000);
        let frames = [
            (FrameKind::Snapshot, Bytes::from_static(b"snapshot")),
            (FrameKind::Mutations, Bytes::from_static(b"m1")),
            (FrameKind::Scroll, Bytes::from_static(b"")),
            (FrameKind::Mutations, Bytes::from_static(b"mutation two")),
        ];
        for (kind, bytes) in &frames {
            buffer.push(*kind, bytes);
        }
        let want: Vec<Bytes> = frames.iter().map(|(_, b)| b.clone()).collect();
        assert_eq!(buffer.replay(), want);
        assert_eq!(buffer.bytes(), 22);
    }

    #[test]
    fn a_kept_frame_does_not_hold_the_socket_read_buffer_it_came_in() {
        // The socket hands out frames as slices of its read buffer.
        let read_buffer = Bytes::from(vec![7u8; 2048]);
        let mut buffer = PageBuffer::new(10_000);
        buffer.push(FrameKind::Snapshot, &read_buffer.slice(0..100));
        buffer.push(FrameKind::Mutations, &read_buffer.slice(100..160));
        assert!(
            read_buffer.is_unique(),
            "the buffer keeps a reference into the read allocation"
        );
        assert_eq!(buffer.replay()[1], read_buffer.slice(100..160));
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
