//! Session frames: the `hello`/`welcome` exchange, pairing, presence, ending and errors.

use alloc::string::String;
use serde::{Deserialize, Serialize};

/// Which side of a co-browse session a connection speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Role {
    Customer,
    Agent,
}

/// How a connection claims its place in a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Pairing {
    /// Call flow: the short key the agent read to the customer.
    SecurityKey(String),
    /// Chat and messaging flow: the token of an offer the customer accepted in the widget.
    OfferToken(String),
    /// A customer page that reloaded, navigated or lost its connection re-attaches with the
    /// token from `welcome`, naming the control grant it still holds (`grant`, as in
    /// [`ModeChanged::grant`]; 0: none). The relay restores a granted mode only for that very
    /// grant, so a revoke the customer made while the page was offline holds (v3).
    Resume { token: String, grant: u32 },
    /// An agent (already authenticated by the HTTP upgrade) joins the session it started.
    AgentJoin { session_id: String },
    /// A supervisor (authenticated and allowed by the HTTP upgrade of `/ws/observe`) watches a
    /// session as a silent observer: it receives what the agent receives and controls
    /// nothing. Added in v3 after the others, so their encodings are unchanged.
    Observe { session_id: String },
}

impl Pairing {
    /// The control grant the connection says it holds: a resuming page's; 0 for the rest.
    pub fn held_grant(&self) -> u32 {
        match self {
            Pairing::Resume { grant, .. } => *grant,
            _ => 0,
        }
    }
}

/// The first frame on every connection. `version` is the first field on purpose: a relay reads
/// it with [`crate::frame::peek_hello_version`] before trusting the rest of the layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Hello {
    pub version: u16,
    pub role: Role,
    /// The site key of the page's script tag; empty for agents.
    pub site: String,
    pub pairing: Pairing,
}

/// What kind of conversation the co-browse session rides on; it decides the inactivity timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Interaction {
    Voice,
    WebChat,
    WebMessaging,
}

/// Who may act on the customer's page right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum SessionMode {
    /// The agent sees and points; input frames are dropped.
    ReadOnly,
    /// The agent asked for control; still read-only until the customer accepts.
    NavigationRequested,
    /// The customer accepted: the agent may click, type, scroll and navigate.
    NavigationGranted,
    /// Nothing more is forwarded.
    Ended,
}

/// The relay's answer to a valid `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Welcome {
    pub version: u16,
    pub session_id: String,
    pub role: Role,
    pub mode: SessionMode,
    /// The number of the session's latest control grant (see [`ModeChanged::grant`]).
    pub grant: u32,
    pub interaction: Interaction,
    /// For customers: the token to present in [`Pairing::Resume`] after a reload.
    pub resume_token: Option<String>,
}

/// Sent by the relay when the other side connects or goes away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Presence {
    pub role: Role,
    pub connected: bool,
}

/// Sent by the relay to every side whenever the number of people viewing the page changes
/// (the agent and any observers), and to each newly attached connection: the customer's
/// banner says how many people see its screen. Added in v3 after the others under a new kind,
/// which a page of an earlier v3 build ignores (it reads only the kinds it knows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Viewers {
    /// People viewing now: the agent if connected, plus each observer.
    pub count: u32,
}

/// Sent by the relay to both sides whenever the session's mode changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ModeChanged {
    pub mode: SessionMode,
    /// The number of the session's latest control grant: 1 for the first, one more for each
    /// grant after (0: none yet). The page keeps the number of the grant it lives under and
    /// names it when it resumes ([`Pairing::Resume`]), so a grant it revoked offline, or one
    /// it never knew, is not restored (v3).
    pub grant: u32,
}

/// Why a session ended. Both sides are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum EndReason {
    CustomerEnded,
    AgentEnded,
    InteractionEnded,
    InteractionTransferred,
    Inactivity,
    Error,
    /// The end-to-end key exchange failed: a wrong code, or a relay that altered it (added
    /// last in v3, so the others' encodings are unchanged).
    KeyExchangeFailed,
}

/// Ends a session: sent by either side to ask for the end, and by the relay to announce it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct End {
    pub reason: EndReason,
}

/// Machine-readable error classes; the text beside them is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum ErrorCode {
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
}

/// An error report. `message` never carries page content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ErrorReport {
    pub code: ErrorCode,
    pub message: String,
}
