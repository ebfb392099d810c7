//! The patches the mirror's shell applies to the live DOM, in order: each one already checked
//! against [`crate::model::Dom`] and already sanitised, so the shell only executes.

use protocol::{FormValue, Namespace, NodeId, SheetRef, Viewport};

use super::sanitize::{self, AttrChange};
use crate::model::Content;

/// The attribute every mirrored box carries (the customer's markup for blocked content).
pub const BOX_MARKER: &str = crate::mask::BLOCK_ATTR;

/// A node to create, names resolved, attributes sanitised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewNode {
    /// The mirror's own document (the root of a snapshot): nothing to create.
    Document,
    Doctype {
        name: String,
        public_id: String,
        system_id: String,
    },
    Element {
        ns: Namespace,
        tag: String,
        attrs: Vec<(String, String)>,
    },
    /// Blocked content, canvas or video: a neutral box of this size.
    Boxed {
        ns: Namespace,
        tag: String,
        attrs: Vec<(String, String)>,
        width: u32,
        height: u32,
    },
    Text(String),
    Comment(String),
    /// An open shadow root on the parent element.
    ShadowRoot,
    /// The document of the parent `<iframe>`.
    FrameDocument,
}

impl NewNode {
    pub(crate) fn from_content(content: &Content) -> NewNode {
        match content {
            Content::Document => NewNode::Document,
            Content::Doctype {
                name,
                public_id,
                system_id,
            } => NewNode::Doctype {
                name: name.clone(),
                public_id: public_id.clone(),
                system_id: system_id.clone(),
            },
            Content::Element { ns, tag, attrs } => NewNode::Element {
                ns: *ns,
                tag: tag.clone(),
                attrs: sanitize::element_attrs(*ns, tag, attrs),
            },
            Content::Boxed {
                ns,
                tag,
                attrs,
                width,
                height,
            } => {
                // The box says what it is, in the mirror and in the canonical form.
                let mut attrs = sanitize::element_attrs(*ns, tag, attrs);
                if !attrs.iter().any(|(n, _)| n == BOX_MARKER) {
                    attrs.push((BOX_MARKER.into(), String::new()));
                }
                NewNode::Boxed {
                    ns: *ns,
                    tag: tag.clone(),
                    attrs,
                    width: *width,
                    height: *height,
                }
            }
            Content::Text(t) => NewNode::Text(t.clone()),
            Content::Comment(t) => NewNode::Comment(t.clone()),
            Content::ShadowRoot => NewNode::ShadowRoot,
            Content::FrameDocument => NewNode::FrameDocument,
        }
    }
}

/// One step for the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Patch {
    /// A snapshot starts: empty the mirror's document and forget every id.
    Reset {
        url: String,
        viewport: Viewport,
    },
    /// Create `node` as `id` under `parent` (0: the mirror's document) before `before` (0: at
    /// the end).
    Insert {
        id: NodeId,
        parent: NodeId,
        before: NodeId,
        node: NewNode,
    },
    /// Detach `id`; `forget` lists it and its whole subtree.
    Remove {
        id: NodeId,
        forget: Vec<NodeId>,
    },
    Attr {
        id: NodeId,
        change: AttrChange,
    },
    Text {
        id: NodeId,
        text: String,
    },
    /// Replace the whole rule list of a sheet.
    Rules {
        sheet: SheetRef,
        rules: Vec<String>,
    },
    RuleInsert {
        sheet: SheetRef,
        index: u32,
        rule: String,
    },
    RuleDelete {
        sheet: SheetRef,
        index: u32,
    },
    /// The constructed sheets adopted by a document or shadow root.
    Adopt {
        scope: NodeId,
        sheets: Vec<u32>,
    },
    Form {
        id: NodeId,
        value: FormValue,
    },
    /// Scroll position; `id` 0 is the window.
    Scroll {
        id: NodeId,
        x: i32,
        y: i32,
    },
    Resize {
        id: NodeId,
        width: u32,
        height: u32,
    },
    Viewport(Viewport),
    /// The customer's focus, hover or `:target` is now on `id` (0: nowhere).
    Mark {
        mark: Mark,
        id: NodeId,
    },
}

/// Which interaction state a [`Patch::Mark`] moves (see [`super::pseudo`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Focus,
    Hover,
    Target,
}
