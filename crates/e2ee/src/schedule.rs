//! The key schedule: from SPAKE2's shared key and the exchange's transcript to the two
//! direction keys, the two confirmation keys and the safety code.
//!
//! `prk = HKDF-Extract(salt = SHA-256(transcript), ikm = shared)`, then one `HKDF-Expand` per
//! label. The transcript names the protocol, the session and both messages in order (page's,
//! console's), each length-prefixed, so keys from one session or one exchange never serve
//! another, and a relay that altered either message leaves the two sides with different keys.

use alloc::vec::Vec;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// What both sides derive; the caller keeps the halves it needs.
pub(crate) struct Schedule {
    pub page_to_console: [u8; 32],
    pub console_to_page: [u8; 32],
    confirm_page: [u8; 32],
    confirm_console: [u8; 32],
    pub safety: u32,
    transcript: [u8; 32],
    pub session: [u8; 16],
}

const PROTOCOL: &[u8] = b"open-cobrowse/e2ee/v1";

fn put(out: &mut Vec<u8>, part: &[u8]) {
    out.extend_from_slice(&(part.len() as u32).to_be_bytes());
    out.extend_from_slice(part);
}

/// The transcript hash of one exchange.
pub(crate) fn transcript(mode: &[u8], session: &[u8], page: &[u8], console: &[u8]) -> [u8; 32] {
    let mut t = Vec::with_capacity(PROTOCOL.len() + mode.len() + session.len() + 160);
    put(&mut t, PROTOCOL);
    put(&mut t, mode);
    put(&mut t, session);
    put(&mut t, page);
    put(&mut t, console);
    Sha256::digest(&t).into()
}

/// A short tag naming the session inside every nonce's associated data.
pub(crate) fn session_tag(session: &[u8]) -> [u8; 16] {
    let mut h = Sha256::new();
    h.update(PROTOCOL);
    h.update(b"/session");
    h.update(session);
    let full: [u8; 32] = h.finalize().into();
    let mut tag = [0u8; 16];
    tag.copy_from_slice(&full[..16]);
    tag
}

impl Schedule {
    pub fn derive(shared: &[u8], transcript: [u8; 32], session: &[u8]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(&transcript), shared);
        let key = |label: &[u8]| {
            let mut k = [0u8; 32];
            // 32 bytes is far below HKDF-SHA256's 8,160-byte limit: this cannot fail.
            let _ = hk.expand(label, &mut k);
            k
        };
        let safety = key(b"safety code");
        Self {
            page_to_console: key(b"page to console"),
            console_to_page: key(b"console to page"),
            confirm_page: key(b"confirm page"),
            confirm_console: key(b"confirm console"),
            safety: u32::from_be_bytes([safety[0], safety[1], safety[2], safety[3]]) % 1_000_000,
            transcript,
            session: session_tag(session),
        }
    }

    /// The confirmation tag the side that holds `key` sends.
    fn tag(key: &[u8; 32], transcript: &[u8; 32]) -> [u8; 32] {
        // HMAC takes keys of any length: this cannot fail.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
            return [0; 32];
        };
        mac.update(b"key confirmation");
        mac.update(transcript);
        mac.finalize().into_bytes().into()
    }

    pub fn page_confirmation(&self) -> [u8; 32] {
        Self::tag(&self.confirm_page, &self.transcript)
    }

    pub fn console_confirmation(&self) -> [u8; 32] {
        Self::tag(&self.confirm_console, &self.transcript)
    }
}
