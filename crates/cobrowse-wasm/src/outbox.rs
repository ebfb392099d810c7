//! The page's frames on their way to the shell: each numbered with the next session sequence
//! number, encoded, and queued in order until the shell takes them. Capture's frames and the
//! few the page sends besides (consent, refusals, pauses, which the caller encodes) share this
//! one stream, so the receiver sees a single sequence with no gaps.
//!
//! It holds the page's encoder too ([`encode`], and [`CaptureError`] for a frame it cannot
//! encode).
//!
//! It deliberately knows nothing of what the frames say: capture decides what goes out and
//! when; this only numbers, encodes and keeps the order.

use protocol::{FrameKind, Message};

/// Why a capture step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    #[error("a {0:?} frame could not be encoded")]
    Encode(FrameKind),
    #[error("{0:?} is not a frame the page sends")]
    NotAPageFrame(FrameKind),
}

/// Encodes a frame the page sends: the layout of [`Frame::encode`](protocol::Frame::encode)
/// (kind byte, varint sequence number, postcard body), written here for the page's kinds only,
/// so the wasm build does not carry the encoders of every other kind.
pub fn encode(seq: u32, message: &Message) -> Result<Vec<u8>, CaptureError> {
    fn body<T: serde::Serialize>(out: Vec<u8>, body: &T) -> Result<Vec<u8>, postcard::Error> {
        postcard::to_extend(body, out)
    }
    let kind = message.kind();
    let fail = |_| CaptureError::Encode(kind);
    let out = body(vec![kind.code()], &seq).map_err(fail)?;
    match message {
        Message::Snapshot(b) | Message::SnapshotBegin(b) => body(out, b),
        Message::SnapshotPart(b) => body(out, b),
        Message::Mutations(b) => body(out, b),
        Message::InputValue(b) => body(out, b),
        Message::Scroll(b) => body(out, b),
        Message::Viewport(b) => body(out, b),
        Message::Pointer(b) => body(out, b),
        Message::Focus(b) => body(out, b),
        Message::Pseudo(b) => body(out, b),
        Message::Navigated(b) => body(out, b),
        _ => return Err(CaptureError::NotAPageFrame(kind)),
    }
    .map_err(fail)
}

/// Encoded frames for the shell to send, and the sequence number of the next.
pub struct Outbox {
    seq: u32,
    frames: Vec<Vec<u8>>,
}

impl Default for Outbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Outbox {
    pub fn new() -> Self {
        Self {
            seq: 0,
            frames: Vec::new(),
        }
    }

    /// Encodes `message` with the next sequence number and queues it.
    pub fn emit(&mut self, message: Message) -> Result<(), CaptureError> {
        let buf = encode(self.seq, &message)?;
        self.seq = self.seq.wrapping_add(1);
        self.frames.push(buf);
        Ok(())
    }

    /// The sequence number of the next frame.
    pub fn next_seq(&self) -> u32 {
        self.seq
    }

    /// Numbers the frames from `seq` on: a page's next capture continues its last one's
    /// sequence, so a frame sealed under the page's content key never reuses a nonce.
    pub fn continue_from(&mut self, seq: u32) {
        self.seq = seq;
    }

    /// Queues a frame the caller encodes with the next sequence number.
    pub fn push_encoded(&mut self, encode: impl FnOnce(u32) -> Vec<u8>) {
        self.frames.push(encode(self.seq));
        self.seq = self.seq.wrapping_add(1);
    }

    /// The queued frames, in order.
    pub fn take(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.frames)
    }
}
