//! The page's side of an encrypted session: the secret of the code the customer typed, the
//! content key every content frame is sealed under, and one exchange per agent connection
//! (started when the relay says the agent is there), which wraps the content key for that
//! console and opens that console's frames.
//!
//! The page reveals its confirmation only after the console's has checked, so a relay posing
//! as the console learns nothing it could test guesses against offline; its one online guess
//! fails the exchange and the page ends the session (`failed`).
//!
//! A session accepted in a chat has no code: its exchange is `e2ee::compare`'s (the page
//! commits to its message in `KeyStart`, the console answers, the page reveals in a second
//! `KeyStart` of the same exchange, then the code flow's confirmations), and only the two
//! people comparing the safety code tell a relay in the middle apart.

use e2ee::compare::PageCommitted;
use e2ee::{Confirming, ContentKey, Exchange, Opener, Sealer, Secret, Side};
use protocol::{FrameKind, KeyConfirm, KeyReply, KeyShare};
use rand_core::{CryptoRng, RngCore};

use super::frame::{open_frame, seal_frame, Opened, SecureError};

/// An exchange under way, by its number.
enum Pending {
    /// Code flow: the page's message sent.
    Code(Exchange),
    /// Compare flow: committed, waiting for the console's message.
    Committed(PageCommitted),
    /// Compare flow: revealed, waiting for the console's confirmation.
    Revealed(Confirming),
}

/// What the page sends in answer to a `KeyReply`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageAnswer {
    /// Compare flow: the page's message, revealed (a second `KeyStart` of the exchange).
    Reveal(KeyShare),
    /// The console's confirmation checked: the page's, with the content key.
    Confirm(KeyConfirm),
}

/// One page's keys for one session.
pub struct PageSecurity {
    session: String,
    /// The code's secret; `None` for a session accepted in a chat (compare flow).
    secret: Option<Secret>,
    content: Sealer,
    key: ContentKey,
    pending: Option<(u32, Pending)>,
    /// The confirmed console's frames, and the one before it while the new one has sent none.
    agent: Option<Opener>,
    previous: Option<Opener>,
    safety: Option<u32>,
    failed: bool,
}

impl PageSecurity {
    /// Keys for `session` from the code's `secret`, with a content key drawn here.
    pub fn new(session: &str, secret: Secret, rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self::keyed_by(session, Some(secret), rng)
    }

    /// Keys for `session` accepted in a chat: no code, the safety code compared by people.
    pub fn compare(session: &str, rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Self::keyed_by(session, None, rng)
    }

    fn keyed_by(
        session: &str,
        secret: Option<Secret>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Self {
        let key = ContentKey::draw(rng);
        Self {
            session: session.into(),
            secret,
            content: key.sealer(session.as_bytes()),
            key,
            pending: None,
            agent: None,
            previous: None,
            safety: None,
            failed: false,
        }
    }

    /// The session these keys are for.
    pub fn session(&self) -> &str {
        &self.session
    }

    /// Whether the session is keyed by the people's comparison (accepted in a chat).
    pub fn compares(&self) -> bool {
        self.secret.is_none()
    }

    /// Starts an exchange with the console now connected: the body of the `KeyStart` to send.
    /// An exchange still under way is dropped (its console is gone).
    /// In the compare flow the message is the page's commitment.
    pub fn start(&mut self, rng: &mut (impl RngCore + CryptoRng)) -> KeyShare {
        let session = self.session.as_bytes();
        let (pending, message) = match &self.secret {
            Some(secret) => {
                let (exchange, message) = Exchange::start(Side::Page, secret, session, rng);
                (Pending::Code(exchange), message)
            }
            None => {
                let (committed, commitment) = PageCommitted::start(session, rng);
                (Pending::Committed(committed), commitment.to_vec())
            }
        };
        let number = rng.next_u32();
        self.pending = Some((number, pending));
        KeyShare {
            exchange: number,
            message,
        }
    }

    /// Takes the console's answer in either flow: in the compare flow the first is the
    /// console's message (answered with the page's, revealed), the second its confirmation.
    /// Otherwise as [`PageSecurity::on_reply`].
    pub fn answer(&mut self, reply: &KeyReply) -> Result<PageAnswer, SecureError> {
        match &self.pending {
            Some((number, Pending::Committed(_))) if *number == reply.exchange => {}
            _ => return self.on_reply(reply).map(PageAnswer::Confirm),
        }
        let Some((number, Pending::Committed(committed))) = self.pending.take() else {
            return Err(SecureError::NoKeys);
        };
        let (confirming, message) = committed.reveal(&reply.message).map_err(|_| self.fail())?;
        self.pending = Some((number, Pending::Revealed(confirming)));
        Ok(PageAnswer::Reveal(KeyShare {
            exchange: number,
            message,
        }))
    }

    /// Takes the console's answer: when its confirmation checks, the body of the `KeyConfirm`
    /// to send (the page's confirmation and the content key wrapped for that console). A reply
    /// to another exchange than the one under way (one this page load never started, or an
    /// earlier one) is ignored (`NoKeys`); a reply to it that does not check fails the session.
    /// Callers take replies through [`PageSecurity::answer`], which knows the flow.
    pub(super) fn on_reply(&mut self, reply: &KeyReply) -> Result<KeyConfirm, SecureError> {
        match &self.pending {
            Some((number, Pending::Code(_) | Pending::Revealed(_)))
                if *number == reply.exchange => {}
            _ => return Err(SecureError::NoKeys),
        }
        let (number, pending) = self.pending.take().ok_or(SecureError::NoKeys)?;
        let confirming = match pending {
            Pending::Code(exchange) => exchange.finish(&reply.message),
            Pending::Revealed(confirming) => Ok(confirming),
            Pending::Committed(_) => return Err(SecureError::NoKeys),
        };
        let confirmed = confirming.map_err(|_| self.fail()).and_then(|c| {
            let mine = c.confirmation();
            c.verify(&reply.confirmation)
                .map(|keys| (mine, keys))
                .map_err(|_| self.fail())
        });
        let (confirmation, mut keys) = confirmed?;
        let content_key = self
            .key
            .wrap(&mut keys.sealer, FrameKind::KeyConfirm.code(), 0)?;
        self.previous = self.agent.replace(keys.opener);
        self.safety = Some(keys.safety);
        Ok(KeyConfirm {
            exchange: number,
            confirmation,
            content_key,
        })
    }

    fn fail(&mut self) -> SecureError {
        self.failed = true;
        SecureError::ExchangeFailed
    }

    /// Whether an exchange failed: the session must end.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// The six-digit safety code of the confirmed exchange, if any.
    pub fn safety(&self) -> Option<u32> {
        self.safety
    }

    /// Seals an outgoing frame of a sealable kind under the content key; others are left
    /// clear (`false`).
    pub fn seal(&mut self, bytes: &mut Vec<u8>) -> Result<bool, SecureError> {
        match bytes.first().and_then(|&c| FrameKind::from_code(c)) {
            Some(kind) if kind.is_sealable() => seal_frame(&mut self.content, bytes).map(|()| true),
            _ => Ok(false),
        }
    }

    /// Opens a frame from the agent's side. A clear frame of a sealable kind is refused, as is
    /// any sealed frame before an exchange confirmed.
    pub fn open(&mut self, bytes: &mut Vec<u8>) -> Result<Opened, SecureError> {
        let Some(agent) = self.agent.as_mut() else {
            return match open_frame_kind(bytes) {
                Some(kind) if kind.is_sealable() => Err(SecureError::NoKeys),
                _ => Ok(Opened::Clear),
            };
        };
        let mut copy = None;
        if self.previous.is_some() {
            copy = Some(bytes.clone());
        }
        match open_frame(agent, bytes) {
            Err(SecureError::Seal(e)) => {
                // Frames the last console sealed before the new one's keys took over.
                let (Some(previous), Some(mut old)) = (self.previous.as_mut(), copy) else {
                    return Err(SecureError::Seal(e));
                };
                let opened = open_frame(previous, &mut old)?;
                *bytes = old;
                Ok(opened)
            }
            Ok(opened) => {
                if opened == Opened::Opened {
                    self.previous = None;
                }
                Ok(opened)
            }
            other => other,
        }
    }
}

/// The kind of an encoded frame, sealed or not.
fn open_frame_kind(bytes: &[u8]) -> Option<FrameKind> {
    FrameKind::from_code(bytes.first()? & !protocol::SEALED)
}
