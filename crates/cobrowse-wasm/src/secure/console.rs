//! The console's side of an encrypted session: the secret it drew for the code, the exchange
//! the page starts and the console answers, the content key the page hands it, and its own
//! frames sealed for the page.
//!
//! The console reveals its confirmation when it answers, so each answer is one guess for
//! whoever started the exchange. A page that reloads or navigates before confirming leaves an
//! answer unfinished; the console allows `e2ee::code::MAX_UNFINISHED` of them in a session and
//! fails at the next (`Abandoned`), which keeps a relay posing as the page within the stated
//! bound per pairing (`e2ee::code::RELAY_GUESS_PER_PAIRING`).
//!
//! A session accepted in a chat has no code (`ConsoleSecurity::compare`): the page's first
//! `KeyStart` is a commitment, which the console answers with its message (no confirmation
//! yet), and the second, of the same exchange, the page's message, which must match it; then
//! the code flow's confirmations. Its safety code is what the agent and the customer compare.

use e2ee::compare::ConsoleAnswered;
use e2ee::{Confirming, ContentKey, Exchange, Opener, Sealer, Secret, Side};
use protocol::{FrameKind, KeyConfirm, KeyReply, KeyShare};
use rand_core::{CryptoRng, RngCore};

use super::frame::{open_frame, seal_frame, Opened, SecureError};

/// One console's keys for one session.
pub struct ConsoleSecurity {
    session: String,
    /// The code's secret; `None` in the compare flow.
    secret: Option<Secret>,
    /// Compare flow: the commitment answered, waiting for the page's message.
    committed: Option<(u32, ConsoleAnswered)>,
    answered: Option<(u32, Confirming)>,
    /// Answers left unconfirmed by a later start, so far.
    unfinished: u32,
    sealer: Option<Sealer>,
    content: Option<(ContentKey, Opener)>,
    safety: Option<u32>,
    failed: bool,
}

impl ConsoleSecurity {
    pub fn new(session: &str, secret: Secret) -> Self {
        Self::keyed_by(session, Some(secret))
    }

    /// Keys for a session accepted in a chat: no code, the safety code compared by people.
    pub fn compare(session: &str) -> Self {
        Self::keyed_by(session, None)
    }

    fn keyed_by(session: &str, secret: Option<Secret>) -> Self {
        Self {
            session: session.into(),
            secret,
            committed: None,
            answered: None,
            unfinished: 0,
            sealer: None,
            content: None,
            safety: None,
            failed: false,
        }
    }

    /// Answers the page's `KeyStart`: the body of the `KeyReply` to send.
    pub fn on_start(
        &mut self,
        share: &KeyShare,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<KeyReply, SecureError> {
        if let Some((number, _)) = &self.committed {
            if *number == share.exchange {
                return self.on_reveal(share);
            }
        }
        // Whatever was under way is dropped (at most one of the two is).
        let (answered, committed) = (self.answered.take(), self.committed.take());
        if answered.is_some() || committed.is_some() {
            self.unfinished += 1;
            if self.unfinished > e2ee::code::MAX_UNFINISHED {
                return Err(self.fail(SecureError::Abandoned));
            }
        }
        let session = self.session.as_bytes();
        let Some(secret) = &self.secret else {
            let (answered, message) = ConsoleAnswered::start(session, &share.message, rng)
                .map_err(|_| self.fail(SecureError::ExchangeFailed))?;
            self.committed = Some((share.exchange, answered));
            return Ok(KeyReply {
                exchange: share.exchange,
                message,
                confirmation: [0; 32],
            });
        };
        let (exchange, message) = Exchange::start(Side::Console, secret, session, rng);
        let confirming = exchange
            .finish(&share.message)
            .map_err(|_| self.fail(SecureError::ExchangeFailed))?;
        let confirmation = confirming.confirmation();
        self.answered = Some((share.exchange, confirming));
        Ok(KeyReply {
            exchange: share.exchange,
            message,
            confirmation,
        })
    }

    /// Compare flow: the page revealed its message; it must be the one it committed to. The
    /// answer carries the console's confirmation (its message went with the first answer).
    fn on_reveal(&mut self, share: &KeyShare) -> Result<KeyReply, SecureError> {
        let (number, committed) = self.committed.take().ok_or(SecureError::NoKeys)?;
        let confirming = committed
            .finish(&share.message)
            .map_err(|_| self.fail(SecureError::ExchangeFailed))?;
        let confirmation = confirming.confirmation();
        self.answered = Some((number, confirming));
        Ok(KeyReply {
            exchange: number,
            message: Vec::new(),
            confirmation,
        })
    }

    /// Whether the session is keyed by the people's comparison (accepted in a chat).
    pub fn compares(&self) -> bool {
        self.secret.is_none()
    }

    /// Takes the page's `KeyConfirm`: when it checks, the session's frames open and seal from
    /// now on, and the safety code is returned. A confirmation of another exchange than the
    /// one answered last is ignored (`NoKeys`); one of it that does not check fails the session.
    pub fn on_confirm(&mut self, confirm: &KeyConfirm) -> Result<u32, SecureError> {
        match &self.answered {
            Some((number, _)) if *number == confirm.exchange => {}
            _ => return Err(SecureError::NoKeys),
        }
        let (_, answered) = self.answered.take().ok_or(SecureError::NoKeys)?;
        let Ok(mut keys) = answered.verify(&confirm.confirmation) else {
            return Err(self.fail(SecureError::ExchangeFailed));
        };
        let kind = FrameKind::KeyConfirm.code();
        let Ok(key) = ContentKey::unwrap(&mut keys.opener, kind, 0, &confirm.content_key) else {
            return Err(self.fail(SecureError::ExchangeFailed));
        };
        // The same key again (the page reconnected): keep the opener, and with it the newest
        // sequence opened, so nothing sealed before can be replayed.
        if self.content.as_ref().is_none_or(|(held, _)| *held != key) {
            let opener = key.opener(self.session.as_bytes());
            self.content = Some((key, opener));
        }
        self.sealer = Some(keys.sealer);
        self.safety = Some(keys.safety);
        Ok(keys.safety)
    }

    fn fail(&mut self, error: SecureError) -> SecureError {
        self.failed = true;
        error
    }

    /// Whether an exchange failed: the session must end.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// The six-digit safety code of the confirmed exchange, if any.
    pub fn safety(&self) -> Option<u32> {
        self.safety
    }

    /// Whether the page's content opens (an exchange confirmed).
    pub fn ready(&self) -> bool {
        self.content.is_some()
    }

    /// Opens a frame from the page. `NoKeys` for a sealed frame before the exchange confirmed
    /// (the caller keeps it for then); a clear frame of a sealable kind is refused. A frame that
    /// does not open (`Seal(Tampered)`) may be sealed under the content key of a page that
    /// reloaded, which its next confirmation brings: the caller keeps it for then too, bounded.
    pub fn open(&mut self, bytes: &mut Vec<u8>) -> Result<Opened, SecureError> {
        match self.content.as_mut() {
            Some((_, opener)) => open_frame(opener, bytes),
            None => match bytes
                .first()
                .and_then(|&c| FrameKind::from_code(c & !protocol::SEALED))
            {
                Some(kind) if kind.is_sealable() => Err(SecureError::NoKeys),
                _ => Ok(Opened::Clear),
            },
        }
    }

    /// Seals an outgoing frame of a sealable kind for the page (`NoKeys` before the exchange
    /// confirmed: the frame must not go); others are left clear (`false`).
    pub fn seal(&mut self, bytes: &mut Vec<u8>) -> Result<bool, SecureError> {
        match bytes.first().and_then(|&c| FrameKind::from_code(c)) {
            Some(kind) if kind.is_sealable() => {
                let sealer = self.sealer.as_mut().ok_or(SecureError::NoKeys)?;
                seal_frame(sealer, bytes).map(|()| true)
            }
            _ => Ok(false),
        }
    }
}
