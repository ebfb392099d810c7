//! Sealed frame bodies: ChaCha20-Poly1305, one key per direction, the frame's sequence number as
//! the nonce's counter.
//!
//! The relay still reads the envelope in clear (kind, sequence, length), so it can forward,
//! buffer for a late join and gate agent input by kind; the associated data binds the body to
//! that envelope (session, direction, kind, sequence), so a relay that relabels, moves or alters
//! a frame makes it fail to open. A sealer refuses a sequence that does not grow, so a nonce is
//! never used twice under one key; an opener refuses any sequence at or below the newest it
//! opened (a replay, or a frame moved back), while gaps are allowed (the relay drops agent input
//! it does not forward, and a late join starts at the latest snapshot).

use alloc::vec::Vec;
use chacha20poly1305::{
    aead::{AeadInPlace, KeyInit},
    ChaCha20Poly1305, Nonce, Tag,
};
use thiserror::Error;

/// Bytes a sealed body adds: the Poly1305 tag.
pub const TAG_BYTES: usize = 16;

/// Which way a frame travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    PageToConsole,
    ConsoleToPage,
}

impl Direction {
    fn byte(self) -> u8 {
        match self {
            Self::PageToConsole => 1,
            Self::ConsoleToPage => 2,
        }
    }
}

/// Why a body could not be sealed or opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SealError {
    /// Sealing with a sequence that does not grow would reuse a nonce.
    #[error("sequence {seq} does not follow {last}: a nonce may not be reused")]
    SequenceNotIncreasing { seq: u32, last: u32 },
    /// A frame at or below the newest one opened: replayed, or moved back.
    #[error("frame {seq} is not newer than frame {newest}: replayed or reordered")]
    Stale { seq: u32, newest: u32 },
    /// Too short to hold a tag.
    #[error("a sealed body holds at least a {TAG_BYTES}-byte tag; got {got} bytes")]
    Truncated { got: usize },
    /// The tag does not match: another key, or the body, kind, sequence or session was changed.
    #[error("the frame does not open: wrong key, or altered on the way")]
    Tampered,
}

struct Context {
    cipher: ChaCha20Poly1305,
    direction: Direction,
    session: [u8; 16],
}

impl Context {
    fn new(key: &[u8; 32], direction: Direction, session: [u8; 16]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(key.into()),
            direction,
            session,
        }
    }

    fn nonce(&self, seq: u32) -> Nonce {
        let mut n = [0u8; 12];
        n[0] = self.direction.byte();
        n[8..].copy_from_slice(&seq.to_be_bytes());
        n.into()
    }

    fn aad(&self, kind: u8, seq: u32) -> [u8; 26] {
        let mut a = [0u8; 26];
        a[..4].copy_from_slice(b"ocb1");
        a[4] = self.direction.byte();
        a[5] = kind;
        a[6..10].copy_from_slice(&seq.to_be_bytes());
        a[10..].copy_from_slice(&self.session);
        a
    }
}

/// Seals the bodies one side sends.
pub struct Sealer {
    ctx: Context,
    last: Option<u32>,
}

impl Sealer {
    pub(crate) fn new(key: &[u8; 32], direction: Direction, session: [u8; 16]) -> Self {
        Self {
            ctx: Context::new(key, direction, session),
            last: None,
        }
    }

    /// Seals `buf[from..]` in place (the envelope before `from` stays clear) and appends the
    /// tag. Nothing is allocated unless `buf` must grow by the tag.
    pub fn seal(
        &mut self,
        kind: u8,
        seq: u32,
        buf: &mut Vec<u8>,
        from: usize,
    ) -> Result<(), SealError> {
        if let Some(last) = self.last {
            if seq <= last {
                return Err(SealError::SequenceNotIncreasing { seq, last });
            }
        }
        let from = from.min(buf.len());
        let tag = self
            .ctx
            .cipher
            .encrypt_in_place_detached(
                &self.ctx.nonce(seq),
                &self.ctx.aad(kind, seq),
                &mut buf[from..],
            )
            // ChaCha20-Poly1305 refuses only bodies over 256 GiB.
            .map_err(|_| SealError::Tampered)?;
        buf.extend_from_slice(&tag);
        self.last = Some(seq);
        Ok(())
    }
}

/// Opens the bodies the other side sent.
pub struct Opener {
    ctx: Context,
    newest: Option<u32>,
}

impl Opener {
    pub(crate) fn new(key: &[u8; 32], direction: Direction, session: [u8; 16]) -> Self {
        Self {
            ctx: Context::new(key, direction, session),
            newest: None,
        }
    }

    /// Opens `buf[from..]` in place and drops the tag, leaving the plain body after `from`. A
    /// refused frame leaves the opener as it was, so the next genuine frame still opens.
    pub fn open(
        &mut self,
        kind: u8,
        seq: u32,
        buf: &mut Vec<u8>,
        from: usize,
    ) -> Result<(), SealError> {
        if let Some(newest) = self.newest {
            if seq <= newest {
                return Err(SealError::Stale { seq, newest });
            }
        }
        let from = from.min(buf.len());
        let got = buf.len() - from;
        if got < TAG_BYTES {
            return Err(SealError::Truncated { got });
        }
        let split = buf.len() - TAG_BYTES;
        let tag = *Tag::from_slice(&buf[split..]);
        self.ctx
            .cipher
            .decrypt_in_place_detached(
                &self.ctx.nonce(seq),
                &self.ctx.aad(kind, seq),
                &mut buf[from..split],
                &tag,
            )
            .map_err(|_| SealError::Tampered)?;
        buf.truncate(split);
        self.newest = Some(seq);
        Ok(())
    }

    /// The sequence of the newest frame opened, if any.
    pub fn newest(&self) -> Option<u32> {
        self.newest
    }
}
