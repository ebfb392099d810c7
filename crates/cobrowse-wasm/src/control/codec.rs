//! The frames of the customer's side of control on the wire: a small reader for the kinds the
//! page receives (a dozen lines instead of serde's visitors for every agent frame in the
//! customer's package) and the encoder for the few it sends besides capture's, with what the
//! page makes of a welcome, an error and an end.

use protocol::{
    Click, End, EndReason, ErrorCode, FrameKind, GrantTerms, Hello, Highlight, InputRefused, Key,
    KeyConfirm, KeyReply, KeyShare, ModeReason, Navigate, Pairing, Pointer, Role, ScopeNodes,
    Scroll, SessionMode, SharingPaused, Stroke, TextInput, Welcome, PROTOCOL_VERSION,
};
use serde::Serialize;

/// What the page reads from the relay and the agent. Other kinds are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Welcome(Welcome),
    End(End),
    /// The relay's error: its code (whether resuming could help) and text.
    Error(ErrorCode, String),
    /// The other side connected (`true`) or left.
    Presence(Role, bool),
    /// The console's answer to the page's key exchange.
    KeyReply(KeyReply),
    /// How many people view the page now (the agent and each silent observer).
    Viewers(u32),
    /// The session's mode, and the number of its latest grant.
    Mode(SessionMode, u32),
    /// Why the mode is what it is: while granted, the milliseconds left of a time-boxed grant
    /// and the region's root (`GrantStatus`).
    Status {
        mode: SessionMode,
        reason: ModeReason,
        remaining_ms: Option<u32>,
        scope: Option<u32>,
    },
    /// The agent asks for control of the region under this node.
    AreaRequest(u32),
    AgentPointer(Pointer),
    Highlight(Highlight),
    Stroke(Stroke),
    ClearAnnotations,
    NavigationRequest,
    ResyncRequest,
    Click(Click),
    TextInput(TextInput),
    Key(Key),
    Scroll(Scroll),
    Navigate(Navigate),
}

/// A cursor over a postcard body, for the few shapes the page reads: a dozen lines instead of
/// serde's visitors for every agent frame in the customer's package.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    /// An unsigned varint (u16, u32, lengths and enum tags).
    fn var(&mut self) -> Option<u32> {
        let mut value = 0u64;
        for shift in [0, 7, 14, 21, 28] {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return u32::try_from(value).ok();
            }
        }
        None
    }

    /// A zigzag varint i32.
    fn int(&mut self) -> Option<i32> {
        let v = self.var()?;
        Some((v >> 1) as i32 ^ -((v & 1) as i32))
    }

    fn string(&mut self) -> Option<String> {
        let len = usize::try_from(self.var()?).ok()?;
        let (bytes, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        core::str::from_utf8(bytes).ok().map(str::to_owned)
    }

    /// A length-prefixed byte string of at most [`protocol::MAX_KEY_MESSAGE`] bytes.
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let len = usize::try_from(self.var()?).ok()?;
        if len > protocol::MAX_KEY_MESSAGE {
            return None;
        }
        let (bytes, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(bytes.to_vec())
    }

    fn bool(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    fn pick<T: Copy>(&mut self, variants: &[T]) -> Option<T> {
        variants.get(usize::try_from(self.var()?).ok()?).copied()
    }

    fn mode(&mut self) -> Option<SessionMode> {
        use SessionMode::*;
        self.pick(&[ReadOnly, NavigationRequested, NavigationGranted, Ended])
    }
}

/// The mode a page takes from a welcome that announces `mode` with grant number `grant`, when it
/// holds grant `held` (0: none). The relay restores a grant only for the page that still holds
/// it; the page checks again, as it checks every agent input: a grant it does not hold (it
/// revoked while offline) is not its own, and the page stays read-only and says so.
pub fn welcomed_mode(mode: SessionMode, grant: u32, held: u32) -> SessionMode {
    match mode {
        SessionMode::NavigationGranted if grant != held || held == 0 => SessionMode::ReadOnly,
        mode => mode,
    }
}

/// Whether an error after the welcome refused what the page sent, so a resume would only send
/// it again and be refused again: the session ends instead. A slow consumer or an internal
/// error is worth a resume.
pub fn refuses_what_was_sent(code: ErrorCode) -> bool {
    use ErrorCode::*;
    matches!(code, UnsupportedVersion | Malformed | TooLarge | NotAllowed)
}

/// Decodes a frame for the page, only for the kinds it reads (so the wasm build carries no
/// decoders of DOM frames). `None` for malformed frames and kinds the page ignores.
pub fn decode_incoming(bytes: &[u8]) -> Option<Incoming> {
    use protocol::{
        Button, EndReason as E, Interaction, Point, Role, StrokeKind, PROTOCOL_VERSION as V,
    };
    let (&code, rest) = bytes.split_first()?;
    let kind = FrameKind::from_code(code)?;
    let mut r = Reader(rest);
    r.var()?;
    let incoming = match kind {
        FrameKind::Welcome => Incoming::Welcome(Welcome {
            version: u16::try_from(r.var()?).ok().filter(|&v| v == V)?,
            session_id: r.string()?,
            role: r.pick(&[Role::Customer, Role::Agent])?,
            mode: r.mode()?,
            grant: r.var()?,
            interaction: r.pick(&[
                Interaction::Voice,
                Interaction::WebChat,
                Interaction::WebMessaging,
            ])?,
            resume_token: match r.bool()? {
                true => Some(r.string()?),
                false => None,
            },
        }),
        FrameKind::End => Incoming::End(End {
            reason: r.pick(&[
                E::CustomerEnded,
                E::AgentEnded,
                E::InteractionEnded,
                E::InteractionTransferred,
                E::Inactivity,
                E::Error,
                E::KeyExchangeFailed,
            ])?,
        }),
        FrameKind::Error => {
            use ErrorCode::*;
            let code = r.pick(&[
                UnsupportedVersion,
                Malformed,
                TooLarge,
                Unauthorized,
                OriginNotAllowed,
                UnknownKey,
                KeyExpired,
                RateLimited,
                NotAllowed,
                SlowConsumer,
                SessionEnded,
                Internal,
            ])?;
            Incoming::Error(code, r.string()?)
        }
        FrameKind::Presence => {
            let role = r.pick(&[Role::Customer, Role::Agent])?;
            Incoming::Presence(role, r.bool()?)
        }
        FrameKind::KeyReply => {
            let exchange = r.var()?;
            let message = r.bytes()?;
            let mut confirmation = [0u8; 32];
            for b in &mut confirmation {
                *b = r.byte()?;
            }
            Incoming::KeyReply(KeyReply {
                exchange,
                message,
                confirmation,
            })
        }
        FrameKind::ModeChanged => Incoming::Mode(r.mode()?, r.var()?),
        FrameKind::Viewers => Incoming::Viewers(r.var()?),
        FrameKind::GrantStatus => {
            use ModeReason::*;
            let mode = r.mode()?;
            r.var()?;
            let reason = r.pick(&[
                Current,
                Requested,
                Accepted,
                Declined,
                Revoked,
                Expired,
                ScopeRemoved,
                ScopeTooLarge,
                Resumed,
            ])?;
            let remaining_ms = match r.bool()? {
                true => Some(r.var()?),
                false => None,
            };
            let scope = match r.bool()? {
                true => Some(r.var()?),
                false => None,
            };
            Incoming::Status {
                mode,
                reason,
                remaining_ms,
                scope,
            }
        }
        FrameKind::AreaRequest => Incoming::AreaRequest(r.var()?),
        FrameKind::AgentPointer => Incoming::AgentPointer(Pointer {
            x: r.int()?,
            y: r.int()?,
        }),
        FrameKind::Highlight => Incoming::Highlight(Highlight { node: r.var()? }),
        FrameKind::Stroke => {
            let id = r.var()?;
            let kind = r.pick(&[StrokeKind::Freehand, StrokeKind::Arrow])?;
            let count = usize::try_from(r.var()?).ok()?;
            // Each point takes two bytes at least: the count cannot outrun the frame.
            if count > r.0.len() / 2 {
                return None;
            }
            let mut points = Vec::with_capacity(count);
            for _ in 0..count {
                points.push(Point {
                    x: r.int()?,
                    y: r.int()?,
                });
            }
            Incoming::Stroke(Stroke {
                id,
                kind,
                points,
                done: r.bool()?,
            })
        }
        FrameKind::ClearAnnotations => Incoming::ClearAnnotations,
        FrameKind::NavigationRequest => Incoming::NavigationRequest,
        FrameKind::ResyncRequest => Incoming::ResyncRequest,
        FrameKind::Click => Incoming::Click(Click {
            node: r.var()?,
            x: r.int()?,
            y: r.int()?,
            button: r.pick(&[Button::Primary, Button::Secondary, Button::Middle])?,
        }),
        FrameKind::TextInput => Incoming::TextInput(TextInput {
            node: r.var()?,
            value: r.string()?,
        }),
        FrameKind::Key => Incoming::Key(Key {
            node: r.var()?,
            key: r.string()?,
            modifiers: r.byte()?,
        }),
        FrameKind::AgentScroll => Incoming::Scroll(Scroll {
            node: r.var()?,
            x: r.int()?,
            y: r.int()?,
        }),
        FrameKind::Navigate => Incoming::Navigate(match r.var()? {
            0 => Navigate::Url(r.string()?),
            1 => Navigate::Back,
            2 => Navigate::Forward,
            3 => Navigate::Reload,
            _ => return None,
        }),
        _ => return None,
    };
    r.0.is_empty().then_some(incoming)
}

/// The frames the page sends besides capture's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    Hello {
        site: String,
        pairing: Pairing,
    },
    End,
    /// The end after a failed key exchange.
    EndKeyFailed,
    /// The page's half of a key exchange.
    KeyStart(KeyShare),
    /// The page's confirmation and the content key wrapped for the console.
    KeyConfirm(KeyConfirm),
    Accept,
    /// Accept for `duration_secs` (0: until revoked), within `scope` (root first; empty: the
    /// whole page).
    AcceptOn(GrantTerms),
    /// Node ids of the granted region (see [`ScopeNodes`]).
    Scope(ScopeNodes),
    /// The granted region left the page.
    ScopeRemoved,
    Decline,
    Revoke,
    Refused(InputRefused),
    Paused(bool),
}

/// Encodes an [`Outgoing`] frame with sequence number `seq`: the layout of `Frame::encode`.
pub fn encode_outgoing(seq: u32, frame: &Outgoing) -> Vec<u8> {
    fn put<T: Serialize>(kind: FrameKind, seq: u32, body: &T) -> Vec<u8> {
        let out = postcard::to_extend(&seq, vec![kind.code()]).unwrap_or_default();
        // Our own small values always serialize; an empty frame is refused by the relay.
        postcard::to_extend(body, out).unwrap_or_default()
    }
    match frame {
        Outgoing::Hello { site, pairing } => put(
            FrameKind::Hello,
            seq,
            &Hello {
                version: PROTOCOL_VERSION,
                role: Role::Customer,
                site: site.clone(),
                pairing: pairing.clone(),
            },
        ),
        Outgoing::End => put(
            FrameKind::End,
            seq,
            &End {
                reason: EndReason::CustomerEnded,
            },
        ),
        Outgoing::EndKeyFailed => put(
            FrameKind::End,
            seq,
            &End {
                reason: EndReason::KeyExchangeFailed,
            },
        ),
        Outgoing::KeyStart(share) => put(FrameKind::KeyStart, seq, share),
        Outgoing::KeyConfirm(confirm) => put(FrameKind::KeyConfirm, seq, confirm),
        Outgoing::Accept => put(FrameKind::NavigationAccept, seq, &()),
        Outgoing::AcceptOn(terms) => put(FrameKind::GrantAccept, seq, terms),
        Outgoing::Scope(nodes) => put(FrameKind::ScopeUpdate, seq, nodes),
        Outgoing::ScopeRemoved => put(FrameKind::ScopeRemoved, seq, &()),
        Outgoing::Decline => put(FrameKind::NavigationDecline, seq, &()),
        Outgoing::Revoke => put(FrameKind::Revoke, seq, &()),
        Outgoing::Refused(r) => put(FrameKind::InputRefused, seq, r),
        Outgoing::Paused(paused) => put(
            FrameKind::SharingPaused,
            seq,
            &SharingPaused { paused: *paused },
        ),
    }
}

/// The event name and reason text the loader's `Cobrowse.on` listeners get for an end.
pub fn end_reason_name(reason: EndReason) -> &'static str {
    match reason {
        EndReason::CustomerEnded => "customer",
        EndReason::AgentEnded => "agent",
        EndReason::InteractionEnded => "interaction-ended",
        EndReason::InteractionTransferred => "interaction-transferred",
        EndReason::Inactivity => "inactivity",
        EndReason::Error => "error",
        EndReason::KeyExchangeFailed => "key-exchange-failed",
    }
}
