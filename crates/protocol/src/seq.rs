//! Sequence tracking: what a receiver learns from each frame's sequence number (in order, or a
//! gap that calls for a resync).

/// What a receiver learns from a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqCheck {
    /// The next expected frame.
    InOrder,
    /// Frames are missing: the mirror must ask for a resync.
    Gap { expected: u32, got: u32 },
}

/// Tracks one direction's sequence numbers. Sequence numbers wrap at `u32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeqTracker {
    next: Option<u32>,
}

impl SeqTracker {
    /// Checks `seq` against the expected one and moves on past it.
    pub fn observe(&mut self, seq: u32) -> SeqCheck {
        let check = match self.next {
            Some(expected) if expected != seq => SeqCheck::Gap { expected, got: seq },
            _ => SeqCheck::InOrder,
        };
        self.next = Some(seq.wrapping_add(1));
        check
    }

    /// Starts over (after a snapshot): the next frame is accepted whatever its number.
    pub fn reset(&mut self) {
        self.next = None;
    }
}
