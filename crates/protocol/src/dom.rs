//! The customer's page on the wire: full snapshots, mutation batches and the page's other
//! signals (input values, scroll, viewport, pointer, focus, navigation).
//!
//! Nodes carry compact integer ids assigned by the capture side; `0` is never a node id and
//! stands for "none" (no parent, append at the end, the window). Trees travel as flat lists in
//! parent-first order, never as nested values. Tag and attribute names are interned per
//! snapshot: the first use sends [`Name::New`], which takes the next index of the session's
//! table; later uses send [`Name::Ref`]. Every snapshot starts a new table.

use alloc::{string::String, vec::Vec};
use serde::{Deserialize, Serialize};

/// A node id assigned by the capture side. `0` means "none".
pub type NodeId = u32;

/// An interned name (tag or attribute). See the module doc for the table's rules.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Name {
    /// Index into the session's name table.
    Ref(u32),
    /// A name seen for the first time since the last snapshot; it takes the next index.
    New(String),
}

/// The XML namespace of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Namespace {
    Html,
    Svg,
    MathMl,
}

/// One attribute; URL-valued attributes are absolute by the time they are encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Attr {
    pub name: Name,
    pub value: String,
}

/// What a node is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum NodeData {
    Document,
    Doctype {
        name: String,
        public_id: String,
        system_id: String,
    },
    Element {
        ns: Namespace,
        tag: Name,
        attrs: Vec<Attr>,
    },
    Text(String),
    Comment(String),
    /// An open shadow root; its parent is the host element.
    ShadowRoot,
    /// The document of a same-origin iframe; its parent is the `<iframe>` element.
    FrameDocument,
    /// An element sent as an empty box of its size: blocked content, canvas, video. Its subtree
    /// is never sent.
    Boxed {
        ns: Namespace,
        tag: Name,
        attrs: Vec<Attr>,
        width: u32,
        height: u32,
    },
}

/// A node in a snapshot or an add: appended to `parent` (0 for the root document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Node {
    pub id: NodeId,
    pub parent: NodeId,
    pub data: NodeData,
}

/// Which stylesheet a rule change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum SheetRef {
    /// The sheet of a `<style>` or `<link rel=stylesheet>` element.
    Owner(NodeId),
    /// A constructed stylesheet (`new CSSStyleSheet()`), numbered by the capture side.
    Constructed(u32),
}

/// The full rule list of a sheet whose CSSOM differs from its markup, or of a constructed one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SheetRules {
    pub sheet: SheetRef,
    pub rules: Vec<String>,
}

/// The constructed sheets adopted by a document or shadow root, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct AdoptedSheets {
    /// A `Document`, `FrameDocument` or `ShadowRoot` node.
    pub scope: NodeId,
    pub sheets: Vec<u32>,
}

/// A CSSOM rule change. `path` indexes into nested grouping rules (`@media`), outermost first;
/// its last element is the index in the innermost list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum RuleChange {
    Insert {
        path: Vec<u32>,
        rule: String,
    },
    Delete {
        path: Vec<u32>,
    },
    /// `replace`/`replaceSync`: the whole rule list.
    ReplaceAll {
        rules: Vec<String>,
    },
}

/// The value side of a form control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum FormValue {
    /// `value` of an input or textarea, or of a select.
    Text(String),
    /// `checked` of a checkbox or radio.
    Checked(bool),
    /// `selected` of an `<option>`.
    Selected(bool),
}

/// A form control's current state (a snapshot entry or an incremental frame).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct InputValue {
    pub node: NodeId,
    pub value: FormValue,
}

/// A scroll position in CSS pixels; `node` 0 is the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Scroll {
    pub node: NodeId,
    pub x: i32,
    pub y: i32,
}

/// The customer's viewport in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Viewport {
    pub width: u32,
    pub height: u32,
}

/// A pointer position in viewport CSS pixels (customer's or agent's). Small on purpose: it is
/// the most frequent frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Pointer {
    pub x: i32,
    pub y: i32,
}

/// Focus moved to `node` (0: nothing focused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Focus {
    pub node: NodeId,
}

/// The deepest element under the customer's pointer (`:hover` applies to it and its
/// ancestors) and the element `:target` matches after a hash jump; 0 for none. Sent when either
/// changes, at most once per flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PseudoClasses {
    pub hover: NodeId,
    pub target: NodeId,
}

impl NodeData {
    /// About how many bytes this takes on the wire (names, values and text, and a few bytes of
    /// layout): what a page counts to keep each part of a snapshot bounded.
    pub fn approx_wire_bytes(&self) -> usize {
        fn name(n: &Name) -> usize {
            match n {
                Name::New(s) => s.len() + 1,
                Name::Ref(_) => 2,
            }
        }
        4 + match self {
            NodeData::Element { tag, attrs, .. } => {
                let attrs: usize = attrs
                    .iter()
                    .map(|a| name(&a.name) + a.value.len() + 1)
                    .sum();
                name(tag) + attrs
            }
            NodeData::Text(s) | NodeData::Comment(s) => s.len(),
            NodeData::Doctype {
                name,
                public_id,
                system_id,
            } => name.len() + public_id.len() + system_id.len(),
            _ => 0,
        }
    }
}

/// The page's URL changed (a load, or `pushState` routing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Navigated {
    pub url: String,
    pub title: String,
}

/// The customer's whole page at one moment. Starts a new name table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Snapshot {
    pub url: String,
    pub viewport: Viewport,
    /// Parent-first, each appended to its parent in order. Encoded with ids as deltas (see
    /// [`delta_nodes`]).
    #[serde(with = "delta_nodes")]
    pub nodes: Vec<Node>,
    pub sheets: Vec<SheetRules>,
    pub adopted: Vec<AdoptedSheets>,
    pub form: Vec<InputValue>,
    pub scrolls: Vec<Scroll>,
    pub focus: NodeId,
}

/// The rest of a large page's snapshot, after a [`Message::SnapshotBegin`](crate::Message):
/// more nodes (parent-first, each appended to its parent in order, its parent sent before it
/// in this or an earlier part), the rules, adopted sheets, form values and scroll offsets found
/// with them. The part marked `last` completes the snapshot; the page's changes since follow
/// as usual. A page sends parts so that no frame is near the size limit and the top of the
/// page (what the viewport shows first) arrives, and is shown, first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SnapshotPart {
    /// Encoded as a snapshot's are ([`delta_nodes`]).
    #[serde(with = "delta_nodes")]
    pub nodes: Vec<Node>,
    pub sheets: Vec<SheetRules>,
    pub adopted: Vec<AdoptedSheets>,
    pub form: Vec<InputValue>,
    pub scrolls: Vec<Scroll>,
    pub last: bool,
}

/// One change in a [`MutationBatch`]; ops apply in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Mutation {
    /// Insert `node` into its parent before `before` (0: append). Subtrees follow parent-first.
    Add { node: Node, before: NodeId },
    /// Detach a node and forget its subtree.
    Remove { node: NodeId },
    /// Set (`Some`) or remove (`None`) an attribute.
    Attribute {
        node: NodeId,
        name: Name,
        value: Option<String>,
    },
    /// Replace a text or comment node's data.
    Text { node: NodeId, text: String },
    /// A CSSOM change to one sheet.
    Sheet { sheet: SheetRef, change: RuleChange },
    /// The adopted sheets of a scope changed.
    Adopted(AdoptedSheets),
    /// A boxed element changed size.
    Resize {
        node: NodeId,
        width: u32,
        height: u32,
    },
}

/// The changes of one flush: what one task of the page changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct MutationBatch {
    pub ops: Vec<Mutation>,
}

/// Why the customer's page refused an agent's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub enum Refusal {
    NotGranted,
    ReadOnly,
    Masked,
    UnknownNode,
    /// The act would take the page to another site (a link, a form's action, a URL).
    CrossSite,
    /// A submission of a form only the customer may send: marked read-only itself, or holding
    /// a read-only or masked submit button, whichever button or key would send it (v3).
    FormReadOnly,
    /// History back or forward to an entry not known to be on the site (v3).
    History,
    /// The target is outside the region a scoped grant covers, or the input would leave it
    /// (a navigation under a scoped grant). Appended in v3.
    OutsideScope,
    /// The time-boxed grant ran out by the page's clock. Appended in v3.
    Expired,
}

/// The page tells the agent it did not act, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct InputRefused {
    pub node: NodeId,
    pub reason: Refusal,
}

/// Sharing is paused (a URL pattern of the site configuration matched) or resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SharingPaused {
    pub paused: bool,
}

/// The wire layout of a snapshot's node list: each node's id as its step from the previous
/// node's id (from 0 for the first) and its parent as the distance back from its own id, both
/// wrapping `u32`s. A snapshot assigns ids in list order and parents come shortly before their
/// children, so both are one-byte varints for almost every node instead of two or three; any
/// list still round-trips, as the arithmetic wraps.
pub mod delta_nodes {
    use alloc::vec::Vec;
    use core::fmt;

    use serde::de::{SeqAccess, Visitor};
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Node, NodeData, NodeId};

    #[derive(Serialize)]
    struct Packed<'a> {
        step: u32,
        back: u32,
        data: &'a NodeData,
    }

    #[derive(Deserialize)]
    struct Unpacked {
        step: u32,
        back: u32,
        data: NodeData,
    }

    pub fn serialize<S: Serializer>(nodes: &[Node], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(nodes.len()))?;
        let mut prev: NodeId = 0;
        for node in nodes {
            seq.serialize_element(&Packed {
                step: node.id.wrapping_sub(prev),
                back: node.id.wrapping_sub(node.parent),
                data: &node.data,
            })?;
            prev = node.id;
        }
        seq.end()
    }

    struct NodesVisitor;

    impl<'de> Visitor<'de> for NodesVisitor {
        type Value = Vec<Node>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a delta-encoded node list")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Node>, A::Error> {
            // The length comes from the peer: do not let it reserve memory up front.
            let mut nodes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            let mut prev: NodeId = 0;
            while let Some(Unpacked { step, back, data }) = seq.next_element()? {
                let id = prev.wrapping_add(step);
                nodes.push(Node {
                    id,
                    parent: id.wrapping_sub(back),
                    data,
                });
                prev = id;
            }
            Ok(nodes)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Node>, D::Error> {
        deserializer.deserialize_seq(NodesVisitor)
    }
}
