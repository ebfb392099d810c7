//! The console's end of an encrypted session, between the socket and the mirror: answers the
//! page's key exchange, keeps the page's sealed frames that arrive before the keys (the relay's
//! late-join replay comes first) and opens them once keyed, and seals the agent's frames.

use e2ee::Code;
use protocol::{Frame, FrameKind, KeyReply, Limits, Message, SEALED};

use crate::secure::{ConsoleSecurity, SecureError};
use crate::web::rng::WebRng;

/// Sealed frames kept until the keys arrive, at most: past it they are dropped and a fresh
/// snapshot is asked for once keyed.
const MAX_HELD_BYTES: usize = 16 << 20;

/// What one message from the relay asks of the mirror.
pub(super) enum Inbound {
    /// Frames to apply, in order (clear, or opened).
    Apply(Vec<Vec<u8>>),
    /// Send this answer to the page's key exchange.
    Reply(KeyReply),
    /// The exchange confirmed: the safety code, the frames held until now, and whether a
    /// snapshot must be asked for (some were dropped).
    Keyed {
        safety: u32,
        frames: Vec<Vec<u8>>,
        resync: bool,
    },
    /// The exchange failed: the session must end.
    Failed,
    /// Nothing to do (a frame refused: replayed, altered, or clear where it must be sealed).
    Nothing,
}

pub(super) struct Keyed {
    security: ConsoleSecurity,
    held: Vec<Vec<u8>>,
    held_bytes: usize,
    dropped: bool,
}

impl Keyed {
    /// Keys for `session_id` from the whole code the console showed (its secret part).
    pub(super) fn new(session_id: &str, code: &str) -> Option<Keyed> {
        let code = Code::parse(code).ok()?;
        Some(Keyed::with(ConsoleSecurity::new(
            session_id,
            code.secret().clone(),
        )))
    }

    /// Keys for `session_id` accepted in a chat: no code; the safety code is compared by the
    /// agent and the customer on a call.
    pub(super) fn compare(session_id: &str) -> Keyed {
        Keyed::with(ConsoleSecurity::compare(session_id))
    }

    fn with(security: ConsoleSecurity) -> Keyed {
        Keyed {
            security,
            held: Vec::new(),
            held_bytes: 0,
            dropped: false,
        }
    }

    pub(super) fn inbound(&mut self, bytes: &[u8]) -> Inbound {
        let kind = bytes
            .first()
            .and_then(|&c| FrameKind::from_code(c & !SEALED));
        match kind {
            Some(FrameKind::KeyStart) => self.on_start(bytes),
            Some(FrameKind::KeyConfirm) => self.on_confirm(bytes),
            _ => {
                let mut frame = bytes.to_vec();
                match self.security.open(&mut frame) {
                    Ok(_) => Inbound::Apply(vec![frame]),
                    // Not yet keyed, or sealed under the content key of a page that
                    // reloaded since (numbered anew): its next confirmation brings the key.
                    Err(SecureError::NoKeys | SecureError::Seal(_)) => {
                        self.hold(frame);
                        Inbound::Nothing
                    }
                    Err(e) => {
                        web_sys::console::warn_1(&e.to_string().into());
                        Inbound::Nothing
                    }
                }
            }
        }
    }

    fn hold(&mut self, frame: Vec<u8>) {
        let begins = [FrameKind::Snapshot, FrameKind::SnapshotBegin];
        if begins
            .iter()
            .any(|k| frame.first() == Some(&(k.code() | SEALED)))
        {
            // A snapshot makes everything before it moot.
            self.held.clear();
            self.held_bytes = 0;
            self.dropped = false;
        }
        if self.held_bytes + frame.len() > MAX_HELD_BYTES {
            self.dropped = true;
            return;
        }
        self.held_bytes += frame.len();
        self.held.push(frame);
    }

    fn on_start(&mut self, bytes: &[u8]) -> Inbound {
        let Ok(Frame {
            message: Message::KeyStart(share),
            ..
        }) = Frame::decode(bytes, &Limits::default())
        else {
            return Inbound::Nothing;
        };
        let Some(mut rng) = WebRng::new() else {
            return Inbound::Nothing;
        };
        match self.security.on_start(&share, &mut rng) {
            Ok(reply) => Inbound::Reply(reply),
            Err(_) => Inbound::Failed,
        }
    }

    fn on_confirm(&mut self, bytes: &[u8]) -> Inbound {
        let Ok(Frame {
            message: Message::KeyConfirm(confirm),
            ..
        }) = Frame::decode(bytes, &Limits::default())
        else {
            return Inbound::Nothing;
        };
        match self.security.on_confirm(&confirm) {
            Ok(safety) => {
                let mut frames = Vec::new();
                for mut frame in std::mem::take(&mut self.held) {
                    if self.security.open(&mut frame).is_ok() {
                        frames.push(frame);
                    }
                }
                self.held_bytes = 0;
                Inbound::Keyed {
                    safety,
                    frames,
                    resync: std::mem::take(&mut self.dropped),
                }
            }
            Err(SecureError::NoKeys) => Inbound::Nothing,
            Err(_) => Inbound::Failed,
        }
    }

    /// Seals one of the agent's frames; `false`: it must not go (no keys yet).
    pub(super) fn seal(&mut self, bytes: &mut Vec<u8>) -> bool {
        self.security.seal(bytes).is_ok()
    }

    pub(super) fn safety(&self) -> Option<u32> {
        self.security.safety()
    }
}
