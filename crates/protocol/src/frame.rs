//! Frames on the wire: kinds, the envelope the relay reads, encoding and bounded decoding
//! (sequence tracking is `seq`'s).
//!
//! Layout of one frame (one binary WebSocket message):
//!
//! ```text
//! [kind: u8][seq: varint u32][body: postcard]
//! ```
//!
//! The body layout is fixed by the kind, so a reader that knows only the envelope can forward
//! the frame without looking inside.

use alloc::{string::String, vec::Vec};
use serde::{Deserialize, Serialize};

pub use crate::seq::{SeqCheck, SeqTracker};
use crate::{agent::*, dom::*, grant::*, keys::*, session::*};

/// Who may send a frame of a kind. The relay refuses frames from the wrong side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    Customer,
    Agent,
    /// Only the relay originates these.
    Relay,
    /// Customer, agent or relay.
    Any,
}

/// A body-less frame.
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Empty;

macro_rules! messages {
    ($( $(#[doc = $doc:literal])+ $variant:ident($body:ty) = $code:literal, $sender:ident; )*) => {
        /// The first byte of every frame: what the body is.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum FrameKind {
            $( $(#[doc = $doc])+ $variant = $code, )*
        }

        impl FrameKind {
            /// Every kind, in wire-code order.
            pub const ALL: &'static [FrameKind] = &[$(Self::$variant),*];

            /// The kind of a wire code, if it is one.
            pub fn from_code(code: u8) -> Option<Self> {
                match code {
                    $( $code => Some(Self::$variant), )*
                    _ => None,
                }
            }

            /// Who may send frames of this kind.
            pub fn sender(self) -> Sender {
                match self {
                    $( Self::$variant => Sender::$sender, )*
                }
            }

            /// What a frame of this kind means: the lines of its doc comment in the table below
            /// (every kind must have one), as PROTOCOL.md's frame table shows them.
            pub fn doc_lines(self) -> &'static [&'static str] {
                match self {
                    $( Self::$variant => &[$($doc),+], )*
                }
            }

            /// The Rust name of the body type, as PROTOCOL.md's frame table shows it.
            pub fn body_type(self) -> &'static str {
                match self {
                    $( Self::$variant => stringify!($body), )*
                }
            }
        }

        /// A decoded frame body. Its serde form (`{"Kind": body}`) is the JSON the conformance
        /// vectors show beside the bytes; the wire encoding is [`Frame::encode`], never serde's
        /// encoding of this enum.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(test, derive(proptest_derive::Arbitrary))]
        pub enum Message {
            $( $(#[doc = $doc])+ $variant($body), )*
        }

        impl Message {
            /// The kind byte this body is sent under.
            pub fn kind(&self) -> FrameKind {
                match self {
                    $( Self::$variant(_) => FrameKind::$variant, )*
                }
            }

            fn encode_body(&self, out: Vec<u8>) -> Result<Vec<u8>, postcard::Error> {
                match self {
                    $( Self::$variant(body) => postcard::to_extend(body, out), )*
                }
            }

            fn decode_body(kind: FrameKind, bytes: &[u8]) -> Result<(Self, &[u8]), postcard::Error> {
                match kind {
                    $( FrameKind::$variant => postcard::take_from_bytes::<$body>(bytes)
                        .map(|(body, rest)| (Self::$variant(body), rest)), )*
                }
            }
        }
    };
}

messages! {
    // Session (0x01..): the relay reads these bodies.
    /// First frame of every connection.
    Hello(Hello) = 0x01, Any;
    /// The relay accepted the hello.
    Welcome(Welcome) = 0x02, Relay;
    /// A request to end (from a peer) or the announcement of the end (from the relay).
    End(End) = 0x03, Any;
    /// An error report; the relay closes the connection after a fatal one.
    Error(ErrorReport) = 0x04, Any;
    /// The other side connected or left.
    Presence(Presence) = 0x05, Relay;
    /// The session's mode changed.
    ModeChanged(ModeChanged) = 0x06, Relay;
    /// How many people view the page now (the agent and any observers).
    Viewers(Viewers) = 0x07, Relay;
    // 0x08 stays unassigned: a conformance vector pins it as an unknown kind.
    /// Why the mode last changed and, while granted, how long is left and over which region.
    GrantStatus(GrantStatus) = 0x0a, Relay;
    /// The relay dropped an agent input (outside a scoped grant's region), and says why.
    InputDropped(InputRefused) = 0x0b, Relay;

    // The customer's page (0x10..): opaque to the relay.
    /// The whole page; starts a new name table and resets the receiver's sequence tracking.
    Snapshot(Snapshot) = 0x10, Customer;
    /// The DOM changes of one flush: what one task of the page changed.
    Mutations(MutationBatch) = 0x11, Customer;
    /// The value of a form control changed (masked values arrive masked).
    InputValue(InputValue) = 0x12, Customer;
    /// An element or the window (node 0) scrolled.
    Scroll(Scroll) = 0x13, Customer;
    /// The browser window was resized.
    Viewport(Viewport) = 0x14, Customer;
    /// The customer's pointer.
    Pointer(Pointer) = 0x15, Customer;
    /// Focus moved to a node (0: none).
    Focus(Focus) = 0x16, Customer;
    /// The page navigated within the session (URL and title).
    Navigated(Navigated) = 0x17, Customer;
    /// The page refused an agent input, and says why.
    InputRefused(InputRefused) = 0x18, Customer;
    /// The customer paused or resumed sharing; while paused the page sends nothing of itself.
    SharingPaused(SharingPaused) = 0x19, Customer;
    /// The element under the customer's pointer and the `:target` element changed.
    Pseudo(PseudoClasses) = 0x1a, Customer;
    /// The page starts an end-to-end key exchange with the agent's console.
    KeyStart(KeyShare) = 0x1b, Customer;
    /// The page confirms the exchange and hands the console the content key, sealed.
    KeyConfirm(KeyConfirm) = 0x1c, Customer;
    /// The top of a large page, as a snapshot is (a new name table, sequence reset); the rest
    /// follows in `SnapshotPart` frames.
    SnapshotBegin(Snapshot) = 0x1d, Customer;
    /// More of a large page's snapshot; the one marked `last` completes it.
    SnapshotPart(SnapshotPart) = 0x1e, Customer;

    // The customer's consent (0x30..): the relay acts on the kind, and reads a grant's terms.
    /// The customer accepted the agent's navigation request.
    NavigationAccept(Empty) = 0x30, Customer;
    /// The customer declined the agent's navigation request.
    NavigationDecline(Empty) = 0x31, Customer;
    /// The customer took control back.
    Revoke(Empty) = 0x32, Customer;
    /// The customer accepted the agent's request on terms: for a time, within a region, or both.
    GrantAccept(GrantTerms) = 0x33, Customer;
    /// Node ids of the granted region: added inside it, or all of them anew after a snapshot.
    ScopeUpdate(ScopeNodes) = 0x34, Customer;
    /// The granted region left the page: the grant ends.
    ScopeRemoved(Empty) = 0x35, Customer;

    // The agent's show-and-tell (0x40..): always allowed while the session runs.
    /// The agent's pointer, drawn on the customer's page.
    AgentPointer(Pointer) = 0x40, Agent;
    /// Pulse an element on the customer's page.
    Highlight(Highlight) = 0x41, Agent;
    /// An annotation stroke, or more points of one begun with the same id.
    Stroke(Stroke) = 0x42, Agent;
    /// Remove the agent's strokes and highlights.
    ClearAnnotations(Empty) = 0x43, Agent;
    /// The agent asks the customer for control.
    NavigationRequest(Empty) = 0x44, Agent;
    /// The mirror saw a gap or an inconsistency and needs a fresh snapshot.
    ResyncRequest(Empty) = 0x45, Agent;
    /// The agent asks the customer for control of one region: a node and its subtree.
    AreaRequest(AreaRequest) = 0x46, Agent;
    /// The console answers the page's key exchange, with its confirmation.
    KeyReply(KeyReply) = 0x47, Agent;

    // The agent's input (0x50..): forwarded only while navigation is granted.
    /// Click a node of the customer's page.
    Click(Click) = 0x50, Agent;
    /// Set a form control's text as typed.
    TextInput(TextInput) = 0x51, Agent;
    /// A key press on a node.
    Key(Key) = 0x52, Agent;
    /// Scroll an element or the window of the customer's page.
    AgentScroll(Scroll) = 0x53, Agent;
    /// Go to a same-site URL, back, forward, or reload.
    Navigate(Navigate) = 0x54, Agent;
}

/// The bit a sealed frame sets on its kind byte (end-to-end encryption: see [`crate::keys`]
/// for the layout and [`crate::kind`] for which kinds may be sealed).
pub const SEALED: u8 = 0x80;

/// The largest frame a relay accepts by default, and so the largest a page sends: a larger one
/// would close its connection (`ErrorCode::TooLarge`).
pub const MAX_FRAME_BYTES: usize = 4 << 20;

/// Bounds on what a decoder accepts. The frame size is checked before any decoding, which
/// bounds every allocation; the counts are checked after, to refuse absurd content early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_frame_bytes: usize,
    pub max_string_bytes: usize,
    pub max_nodes: usize,
    pub max_ops: usize,
    pub max_rules: usize,
    pub max_points: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 16 << 20,
            max_string_bytes: 4 << 20,
            max_nodes: 1 << 20,
            max_ops: 1 << 20,
            max_rules: 1 << 17,
            max_points: 1 << 14,
        }
    }
}

/// Why bytes did not decode into a frame. Never carries page content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty frame")]
    Empty,
    #[error("frame of {got} bytes is over the limit of {limit}")]
    FrameTooLarge { limit: usize, got: usize },
    #[error("unknown frame kind {code:#04x}")]
    UnknownKind { code: u8 },
    #[error("malformed sequence number")]
    BadSequence,
    #[error("malformed {kind:?} body: {detail}")]
    Malformed { kind: FrameKind, detail: String },
    #[error("a sealed {kind:?} frame must be opened before it is decoded")]
    Sealed { kind: FrameKind },
    #[error("{count} bytes after the end of a {kind:?} body")]
    TrailingBytes { kind: FrameKind, count: usize },
    #[error("{what}: {got} is over the limit of {limit}")]
    OverLimit {
        what: &'static str,
        limit: usize,
        got: usize,
    },
}

/// Why a frame could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode a {kind:?} frame: {detail}")]
pub struct EncodeError {
    pub kind: FrameKind,
    pub detail: String,
}

/// All the relay needs of a frame: its kind, its sequence number, and whether its body is
/// sealed (end-to-end encrypted, see [`crate::keys`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    pub kind: FrameKind,
    pub seq: u32,
    pub sealed: bool,
}

impl Envelope {
    /// Reads the envelope and returns it with the body bytes, without decoding the body.
    pub fn peek<'a>(bytes: &'a [u8], limits: &Limits) -> Result<(Envelope, &'a [u8]), DecodeError> {
        if bytes.len() > limits.max_frame_bytes {
            return Err(DecodeError::FrameTooLarge {
                limit: limits.max_frame_bytes,
                got: bytes.len(),
            });
        }
        let (&code, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
        let sealed = code & SEALED != 0;
        let kind = FrameKind::from_code(code & !SEALED)
            .filter(|kind| !sealed || kind.is_sealable())
            .ok_or(DecodeError::UnknownKind { code })?;
        let (seq, body) =
            postcard::take_from_bytes::<u32>(rest).map_err(|_| DecodeError::BadSequence)?;
        Ok((Envelope { kind, seq, sealed }, body))
    }
}

/// Reads only the protocol version at the start of a `hello` body, so a relay can refuse an
/// unknown version with a clear reason before trusting the rest of the layout.
pub fn peek_hello_version(body: &[u8]) -> Result<u16, DecodeError> {
    postcard::take_from_bytes::<u16>(body)
        .map(|(version, _)| version)
        .map_err(|e| DecodeError::Malformed {
            kind: FrameKind::Hello,
            detail: alloc::format!("{e}"),
        })
}

/// A whole frame: sequence number and decoded body. Its serde form is for the conformance
/// vectors' JSON, as for [`Message`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    pub seq: u32,
    pub message: Message,
}

impl Frame {
    pub fn new(seq: u32, message: Message) -> Self {
        Self { seq, message }
    }

    /// Encodes into a fresh buffer.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the encoding to `out`, so a sender can reuse one buffer for every frame.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let kind = self.message.kind();
        let fail = |e: postcard::Error| EncodeError {
            kind,
            detail: alloc::format!("{e}"),
        };
        out.push(kind.code());
        let buf = postcard::to_extend(&self.seq, core::mem::take(out)).map_err(fail)?;
        *out = self.message.encode_body(buf).map_err(fail)?;
        Ok(())
    }

    /// Decodes untrusted bytes. Never panics; see [`Limits`] for what bounds allocation. A
    /// sealed frame does not decode: it must be opened first.
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Frame, DecodeError> {
        let (envelope, body) = Envelope::peek(bytes, limits)?;
        if envelope.sealed {
            return Err(DecodeError::Sealed {
                kind: envelope.kind,
            });
        }
        let (message, rest) =
            Message::decode_body(envelope.kind, body).map_err(|e| DecodeError::Malformed {
                kind: envelope.kind,
                detail: alloc::format!("{e}"),
            })?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes {
                kind: envelope.kind,
                count: rest.len(),
            });
        }
        crate::frame::check_limits(&message, limits)?;
        Ok(Frame {
            seq: envelope.seq,
            message,
        })
    }
}

fn over(what: &'static str, limit: usize, got: usize) -> Result<(), DecodeError> {
    if got > limit {
        Err(DecodeError::OverLimit { what, limit, got })
    } else {
        Ok(())
    }
}

fn check_str(s: &str, limits: &Limits) -> Result<(), DecodeError> {
    over("string bytes", limits.max_string_bytes, s.len())
}

fn check_node(node: &NodeData, limits: &Limits) -> Result<(), DecodeError> {
    match node {
        NodeData::Doctype {
            name,
            public_id,
            system_id,
        } => {
            check_str(name, limits)?;
            check_str(public_id, limits)?;
            check_str(system_id, limits)
        }
        NodeData::Element { tag, attrs, .. } | NodeData::Boxed { tag, attrs, .. } => {
            check_name(tag, limits)?;
            attrs.iter().try_for_each(|a| {
                check_name(&a.name, limits)?;
                check_str(&a.value, limits)
            })
        }
        NodeData::Text(s) | NodeData::Comment(s) => check_str(s, limits),
        NodeData::Document | NodeData::ShadowRoot | NodeData::FrameDocument => Ok(()),
    }
}

fn check_name(name: &Name, limits: &Limits) -> Result<(), DecodeError> {
    match name {
        Name::Ref(_) => Ok(()),
        Name::New(s) => check_str(s, limits),
    }
}

fn check_rules(rules: &[String], limits: &Limits) -> Result<(), DecodeError> {
    over("rules", limits.max_rules, rules.len())?;
    rules.iter().try_for_each(|r| check_str(r, limits))
}

/// A snapshot's (or a part's) nodes and rules.
fn check_snapshot(
    nodes: &[Node],
    sheets: &[SheetRules],
    limits: &Limits,
) -> Result<(), DecodeError> {
    over("nodes", limits.max_nodes, nodes.len())?;
    nodes.iter().try_for_each(|n| check_node(&n.data, limits))?;
    sheets
        .iter()
        .try_for_each(|sheet| check_rules(&sheet.rules, limits))
}

/// Content bounds beyond the frame size: counts and string lengths.
fn check_limits(message: &Message, limits: &Limits) -> Result<(), DecodeError> {
    match message {
        Message::Snapshot(s) | Message::SnapshotBegin(s) => {
            check_str(&s.url, limits)?;
            check_snapshot(&s.nodes, &s.sheets, limits)
        }
        Message::SnapshotPart(p) => check_snapshot(&p.nodes, &p.sheets, limits),
        Message::Mutations(batch) => {
            over("ops", limits.max_ops, batch.ops.len())?;
            batch.ops.iter().try_for_each(|op| match op {
                Mutation::Add { node, .. } => check_node(&node.data, limits),
                Mutation::Attribute { name, value, .. } => {
                    check_name(name, limits)?;
                    value.as_deref().map_or(Ok(()), |v| check_str(v, limits))
                }
                Mutation::Text { text, .. } => check_str(text, limits),
                Mutation::Sheet { change, .. } => match change {
                    RuleChange::Insert { rule, .. } => check_str(rule, limits),
                    RuleChange::ReplaceAll { rules } => check_rules(rules, limits),
                    RuleChange::Delete { .. } => Ok(()),
                },
                Mutation::Remove { .. } | Mutation::Adopted(_) | Mutation::Resize { .. } => Ok(()),
            })
        }
        Message::Stroke(stroke) => over("points", limits.max_points, stroke.points.len()),
        Message::KeyStart(KeyShare { message, .. })
        | Message::KeyReply(KeyReply { message, .. }) => {
            over("key message bytes", MAX_KEY_MESSAGE, message.len())
        }
        Message::KeyConfirm(confirm) => {
            over("key bytes", MAX_KEY_MESSAGE, confirm.content_key.len())
        }
        Message::GrantAccept(terms) => over("scope nodes", MAX_SCOPE_NODES, terms.scope.len()),
        Message::ScopeUpdate(update) => over("scope nodes", MAX_SCOPE_NODES, update.nodes.len()),
        Message::InputValue(InputValue {
            value: FormValue::Text(s),
            ..
        })
        | Message::TextInput(TextInput { value: s, .. })
        | Message::Key(Key { key: s, .. })
        | Message::Navigate(Navigate::Url(s))
        | Message::Error(ErrorReport { message: s, .. }) => check_str(s, limits),
        Message::Navigated(n) => {
            check_str(&n.url, limits)?;
            check_str(&n.title, limits)
        }
        _ => Ok(()),
    }
}
