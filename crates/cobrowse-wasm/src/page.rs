//! [`Page`]: what the capture core needs to read from a live document. The browser shell
//! implements it over web-sys; native tests implement it over a small in-memory page
//! (`fake.rs`), so snapshot, masking and mutation flushing are tested without a browser.

use protocol::{FormValue, Namespace, NodeId};

/// The DOM node types the capture distinguishes; anything else (processing instructions,
/// CDATA, document fragments) is not captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Document,
    Doctype,
    Element,
    Text,
    Comment,
    Other,
}

/// What [`Page::element`] reads of an element in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementHead {
    pub ns: Namespace,
    /// Local name (lower case for HTML).
    pub tag: String,
    /// Scroll offset, when asked for and away from the origin.
    pub scroll: Option<(i32, i32)>,
    /// Whether the element may host an open shadow root; when false, [`Page::shadow_root`]
    /// need not be asked (a snapshot would ask it of every element).
    pub shadow_host: bool,
    /// Whether it has child nodes; when false, [`Page::children`] need not be asked (most
    /// elements a page adds are leaves or hold only text).
    pub has_children: bool,
}

/// What a snapshot visit reads of a node in one go (see [`Page::describe`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Described {
    Document,
    Doctype,
    Element(ElementHead),
    /// A text node's data.
    Text(String),
    /// A comment's data.
    Comment(String),
    Other,
}

/// Read access to the live page. Every method must be cheap to call and must not panic on any
/// page content; a node that vanished reads as empty.
pub trait Page {
    /// A handle on a live node (cheap to clone).
    type Node: Clone;

    fn kind(&self, node: &Self::Node) -> NodeKind;
    /// `(name, publicId, systemId)` of a doctype.
    fn doctype(&self, node: &Self::Node) -> (String, String, String);
    /// Namespace and local name of an element (lower case for HTML).
    fn element_name(&self, node: &Self::Node) -> (Namespace, String);
    /// All attributes, in order, appended to `out`.
    fn attributes(&self, node: &Self::Node, out: &mut Vec<(String, String)>);
    /// Name, attributes, (when `with_scroll`) scroll offset and whether it hosts a shadow root
    /// at once, as a page may read them in one go. Scroll offsets force layout: newly added nodes are not asked.
    fn element(
        &self,
        node: &Self::Node,
        attrs: &mut Vec<(String, String)>,
        with_scroll: bool,
    ) -> ElementHead {
        self.attributes(node, attrs);
        let (ns, tag) = self.element_name(node);
        let scroll = if with_scroll {
            self.scroll_offset(node)
        } else {
            None
        };
        ElementHead {
            ns,
            tag,
            scroll,
            shadow_host: true,
            has_children: true,
        }
    }
    /// A node's kind with, for an element, what [`Page::element`] reads and, for a text or a
    /// comment, its data: what a visit needs first, which a page may read in one go. Unless it
    /// is [`Described::Other`], the node is also given `id` as [`Page::cache_id`] would, in the
    /// same read: the id the visit assigns if it keeps the node (one that drops it caches 0).
    fn describe(
        &self,
        node: &Self::Node,
        attrs: &mut Vec<(String, String)>,
        with_scroll: bool,
        id: NodeId,
    ) -> Described {
        let described = match self.kind(node) {
            NodeKind::Element => Described::Element(self.element(node, attrs, with_scroll)),
            NodeKind::Text => Described::Text(self.text(node)),
            NodeKind::Comment => Described::Comment(self.text(node)),
            NodeKind::Document => Described::Document,
            NodeKind::Doctype => Described::Doctype,
            NodeKind::Other => return Described::Other,
        };
        self.cache_id(node, id);
        described
    }
    fn attribute(&self, node: &Self::Node, name: &str) -> Option<String>;
    /// The current value of each `(node, name)` attribute asked (`None`: absent), appended to
    /// `out` in order. A page may read them all in one go (a flush reads thousands at once).
    fn attribute_values(&self, asked: &[(&Self::Node, &str)], out: &mut Vec<Option<String>>) {
        out.extend(asked.iter().map(|(node, name)| self.attribute(node, name)));
    }
    /// The text of a form control's labels (`<label for>` and an enclosing `<label>`), read
    /// only to decide its masking, at most a few hundred characters.
    fn label_text(&self, _node: &Self::Node) -> String {
        String::new()
    }
    /// Data of a text or comment node.
    fn text(&self, node: &Self::Node) -> String;
    /// The parent node (`None` for a detached node, a document or a shadow root).
    fn parent(&self, node: &Self::Node) -> Option<Self::Node>;
    /// Child nodes in order, appended to `out` (shadow roots are not children).
    fn children(&self, node: &Self::Node, out: &mut Vec<Self::Node>);
    /// The open shadow root of a host element.
    fn shadow_root(&self, node: &Self::Node) -> Option<Self::Node>;
    /// The document of a same-origin `<iframe>`.
    fn frame_document(&self, node: &Self::Node) -> Option<Self::Node>;
    /// Whether an element matches a non-empty CSS selector list (false if it does not parse).
    fn matches(&self, node: &Self::Node, selectors: &str) -> bool;
    /// The cached ids of the elements in `scope` (a document or shadow root) that match a
    /// non-empty selector list, appended to `out`. A page may find them all in one go.
    fn selected_ids(&self, scope: &Self::Node, selectors: &str, out: &mut Vec<NodeId>) {
        let mut stack = Vec::new();
        self.children(scope, &mut stack);
        while let Some(node) = stack.pop() {
            if self.kind(&node) != NodeKind::Element {
                continue;
            }
            if self.matches(&node, selectors) {
                out.extend(self.cached_id(&node));
            }
            self.children(&node, &mut stack);
        }
    }
    /// Rendered size of an element in CSS pixels, rounded.
    fn box_size(&self, node: &Self::Node) -> (u32, u32);
    /// Current value of a form control (`tag` is its local name).
    fn form_value(&self, node: &Self::Node, tag: &str) -> Option<FormValue>;
    /// Scroll offset of an element scrolled away from the origin.
    fn scroll_offset(&self, node: &Self::Node) -> Option<(i32, i32)>;
    /// The window's scroll offset.
    fn window_scroll(&self) -> (i32, i32);
    /// The base URL relative URLs of `node` resolve against.
    fn base_url(&self, node: &Self::Node) -> String;
    /// The id remembered for a node, if any (the core validates it against its tree).
    fn cached_id(&self, node: &Self::Node) -> Option<NodeId>;
    fn cache_id(&self, node: &Self::Node, id: NodeId);
    /// Remembers for the life of the node that it held a password.
    fn mark_secret(&self, node: &Self::Node);
    /// Whether [`Page::mark_secret`] was called for the node.
    fn was_secret(&self, node: &Self::Node) -> bool;
    /// The CSSOM rules of a `<style>`/`<link>` when they must be sent because they differ from
    /// its markup (rules inserted through the CSSOM); `None` when the markup says it all or the
    /// sheet cannot be read (cross-origin: the link is kept instead).
    fn owner_rules(&self, node: &Self::Node) -> Option<Vec<String>>;
    /// The numbers of the constructed sheets a document or shadow root adopts, in order.
    fn adopted(&self, scope: &Self::Node) -> Vec<u32>;
    /// The rules of a constructed sheet.
    fn constructed_rules(&self, sheet: u32) -> Vec<String>;
    /// A monotonic clock in milliseconds, for slicing.
    fn now_ms(&self) -> f64;
}
