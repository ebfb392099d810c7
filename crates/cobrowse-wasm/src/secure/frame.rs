//! One encoded frame sealed or opened in place: `[kind][seq][body]` becomes
//! `[kind | SEALED][seq][target?][sealed body + tag]`, where `target` is the clear copy of an
//! agent input's target node (see `protocol::keys`), and back.

use e2ee::{Opener, SealError, Sealer};
use protocol::{FrameKind, SEALED};

/// Why a frame could not be sealed or opened, or why the exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecureError {
    #[error("not a frame: {0}")]
    NotAFrame(&'static str),
    #[error("{0:?} frames are not sealed")]
    NotSealable(FrameKind),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("the clear target of a sealed {0:?} is not the node inside it")]
    TargetMismatch(FrameKind),
    #[error("a clear {0:?} frame in an encrypted session: refused")]
    Clear(FrameKind),
    #[error("no keys yet")]
    NoKeys,
    #[error("the key exchange failed: a wrong code, or a relay that altered it")]
    ExchangeFailed,
    #[error("a second key exchange began before the first was confirmed")]
    Abandoned,
}

/// What opening a frame found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    /// The frame was sealed and now is clear.
    Opened,
    /// A frame of a kind that is never sealed: left as it was.
    Clear,
}

/// Reads an unsigned varint at the start of `bytes`: its value and its length.
fn varint(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().take(5).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((u32::try_from(value).ok()?, i + 1));
        }
    }
    None
}

/// The kind, sealed bit, sequence and body offset of an encoded frame.
fn envelope(bytes: &[u8]) -> Result<(FrameKind, bool, u32, usize), SecureError> {
    let (&code, rest) = bytes.split_first().ok_or(SecureError::NotAFrame("empty"))?;
    let kind = FrameKind::from_code(code & !SEALED).ok_or(SecureError::NotAFrame("kind"))?;
    let (seq, len) = varint(rest).ok_or(SecureError::NotAFrame("sequence"))?;
    Ok((kind, code & SEALED != 0, seq, 1 + len))
}

/// Seals a clear frame of a sealable kind in place.
pub fn seal_frame(sealer: &mut Sealer, bytes: &mut Vec<u8>) -> Result<(), SecureError> {
    let (kind, sealed, seq, from) = envelope(bytes)?;
    if sealed || !kind.is_sealable() {
        return Err(SecureError::NotSealable(kind));
    }
    // The target goes before the sealed body, in clear, for the relay's scope gate; the
    // receiver checks it against the sealed copy.
    let mut target = [0u8; 5];
    let target = if kind.has_clear_target() {
        let body = bytes.get(from..).unwrap_or_default();
        let (_, len) = varint(body).ok_or(SecureError::NotAFrame("target"))?;
        target[..len].copy_from_slice(&body[..len]);
        &target[..len]
    } else {
        &target[..0]
    };
    sealer.seal(kind.code(), seq, bytes, from)?;
    if !target.is_empty() {
        bytes.splice(from..from, target.iter().copied());
    }
    bytes[0] |= SEALED;
    Ok(())
}

/// Opens a sealed frame in place into the clear frame that was sealed. A clear frame of a
/// sealable kind is refused: in an encrypted session only the relay could have sent it.
pub fn open_frame(opener: &mut Opener, bytes: &mut Vec<u8>) -> Result<Opened, SecureError> {
    let (kind, sealed, seq, from) = envelope(bytes)?;
    if !sealed {
        return match kind.is_sealable() {
            true => Err(SecureError::Clear(kind)),
            false => Ok(Opened::Clear),
        };
    }
    let target = match kind.has_clear_target() {
        true => Some(varint(&bytes[from..]).ok_or(SecureError::NotAFrame("target"))?),
        false => None,
    };
    let start = from + target.map_or(0, |(_, len)| len);
    opener.open(kind.code(), seq, bytes, start)?;
    if let Some((node, len)) = target {
        if varint(&bytes[start..]).map(|(inner, _)| inner) != Some(node) {
            return Err(SecureError::TargetMismatch(kind));
        }
        bytes.drain(from..from + len);
    }
    bytes[0] &= !SEALED;
    Ok(Opened::Opened)
}
