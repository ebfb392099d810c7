//! Serialization of live nodes into wire nodes, with masking applied first: the depth-first
//! walk that a snapshot runs in slices and that every added subtree runs at once. Each visited
//! node gets its id and its slot in the [`Tree`](crate::tree::Tree) before it is emitted.
//!
//! The walk is functions over what it reads and writes: the page, the site [`Config`] and
//! `Known` (what the receiver has). It knows nothing of a capture session (recorded changes,
//! sequence numbers, frames): capture and the flush call it, it calls neither.

use protocol::{
    AdoptedSheets, Attr, FormValue, InputValue, Namespace, Node, NodeData, NodeId, Scroll,
    SheetRef, SheetRules,
};

use crate::config::Config;
use crate::known::Known;
use crate::mask::{self, ElementFacts, MaskState, Verdict};
use crate::page::{Described, Page};
use crate::tree::{Attach, SentAs, Slot, TextMode};
use crate::url;

/// Where a visited node hangs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A child node; `attach` says whether the walk appends it to its parent's children (the
    /// flush places the top node of an added subtree itself).
    Child {
        attach: bool,
    },
    ShadowRoot,
    FrameDocument,
}

/// A node waiting to be visited.
pub(crate) struct Visit<N> {
    pub node: N,
    pub parent: NodeId,
    pub state: MaskState,
    pub text: TextMode,
    pub role: Role,
}

/// What a walk produced besides the tree.
#[derive(Default)]
pub(crate) struct Collected {
    pub nodes: Vec<Node>,
    pub form: Vec<InputValue>,
    pub scrolls: Vec<Scroll>,
    pub sheets: Vec<SheetRules>,
    pub adopted: Vec<AdoptedSheets>,
    /// Whether scroll offsets are read (a snapshot); added nodes have none, and reading them
    /// would force a layout.
    pub with_scroll: bool,
    /// About how many bytes `nodes` take on the wire (names, values and text; a few bytes of
    /// layout each).
    pub bytes: usize,
    /// A snapshot's walk pauses once `nodes` reach this many, or `bytes` this many, so each
    /// part of a large page's snapshot stays well under the frame limit.
    pub limit: Option<(usize, usize)>,
}

impl Collected {
    fn full(&self) -> bool {
        self.limit
            .is_some_and(|(nodes, bytes)| self.nodes.len() >= nodes || self.bytes >= bytes)
    }
}

/// The form controls whose value is tracked.
fn control(ns: Namespace, tag: &str) -> Option<&'static str> {
    match (ns, tag) {
        (Namespace::Html, "input") => Some("input"),
        (Namespace::Html, "textarea") => Some("textarea"),
        (Namespace::Html, "select") => Some("select"),
        // Its `selected` state, read only inside a `<select multiple>` (a single select's
        // value says which option is chosen).
        (Namespace::Html, "option") => Some("option"),
        _ => None,
    }
}

/// The masking facts of an element from its live attributes.
pub(crate) fn sent_as<P: Page>(
    page: &P,
    capture_config: &Config,
    node: &P::Node,
    ns: Namespace,
    tag: &str,
    attrs: &[(String, String)],
    parent: MaskState,
) -> Option<SentAs> {
    let matches = |list: &str| !list.is_empty() && page.matches(node, list);
    let selected = u8::from(matches(&capture_config.mask))
        | u8::from(matches(&capture_config.block)) << 1
        | u8::from(matches(&capture_config.readonly)) << 2;
    let facts = ElementFacts {
        attrs,
        parent,
        private_by_default: capture_config.private_by_default,
        matches_mask: selected & 1 != 0,
        matches_block: selected & 2 != 0,
        matches_readonly: selected & 4 != 0,
    };
    let (state, blocked) = match mask::decide(&facts) {
        Verdict::Skip => return None,
        Verdict::Block(s) => (s, true),
        Verdict::Keep(s) => (s, false),
    };
    let boxed = blocked || (ns == Namespace::Html && matches!(tag, "canvas" | "video"));
    let mut value_masked = mask::value_masked(tag, attrs, state, || page.label_text(node));
    if ns == Namespace::Html && tag == "input" {
        if mask::password_input(tag, attrs) {
            page.mark_secret(node);
        } else if !value_masked {
            value_masked = page.was_secret(node);
        }
    }
    Some(SentAs {
        state,
        boxed,
        value_masked,
        selected,
    })
}

/// The longest attribute value, text or form value capture sends. Longer ones (an inline
/// `data:` image, a log in a `<pre>`) would make frames past what a relay accepts
/// ([`protocol::MAX_FRAME_BYTES`]): such an attribute value is sent empty (a cut URL would be
/// garbage), a text or a form value cut at a character boundary.
pub const MAX_VALUE_BYTES: usize = 256 << 10;

/// What a CSSOM rule past [`MAX_VALUE_BYTES`] (a multi-megabyte inline font from one
/// `insertRule`) is sent as: a cut rule would not parse, and dropping it would shift the indices
/// later inserts and deletes name. This one parses in any sheet and applies nowhere.
pub const CAPPED_RULE: &str = "@media not all {}";

/// A rule's text as sent: itself, or [`CAPPED_RULE`] when too long.
pub(crate) fn capped_rule(rule: String) -> String {
    if rule.len() > MAX_VALUE_BYTES {
        CAPPED_RULE.into()
    } else {
        rule
    }
}

/// The rules of a sheet as sent: each capped, URLs made absolute against `base` (none for a
/// constructed sheet).
pub(crate) fn sheet_rules(base: Option<&str>, rules: Vec<String>) -> Vec<String> {
    rules
        .into_iter()
        .map(|r| match (capped_rule(r), base) {
            (r, Some(base)) => url::absolutize_css(base, &r).into_owned(),
            (r, None) => r,
        })
        .collect()
}

/// `s` cut to at most [`MAX_VALUE_BYTES`], at a character boundary.
fn cut(mut s: String) -> String {
    if s.len() > MAX_VALUE_BYTES {
        let mut end = MAX_VALUE_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The wire form of a text node's data under its parent's text mode.
pub(crate) fn text_value(mode: TextMode, raw: String, base: impl FnOnce() -> String) -> String {
    let raw = cut(raw);
    match mode {
        TextMode::Plain => raw,
        TextMode::Masked => mask::mask_text(&raw),
        TextMode::Css => url::absolutize_css(&base(), &raw).into_owned(),
    }
}

/// The wire value of an attribute: masked, or with URLs made absolute.
pub(crate) fn attr_value(
    name: &str,
    value: String,
    sent: SentAs,
    base: &mut dyn FnMut() -> String,
) -> String {
    if value.len() > MAX_VALUE_BYTES {
        String::new()
    } else if mask::attr_masked(name, &value, sent.value_masked, sent.state) {
        mask::mask_text(&value)
    } else if url::is_url_attr(name) {
        let abs = url::absolutize(&base(), &value).into_owned();
        abs
    } else if name == "srcset" {
        url::absolutize_srcset(&base(), &value)
    } else if name == "style" && url::has_css_url(&value) {
        url::absolutize_css(&base(), &value).into_owned()
    } else {
        value
    }
}

/// Attributes a boxed element keeps (layout only, nothing it contains).
pub(crate) fn boxed_keeps(name: &str) -> bool {
    matches!(name, "class" | "style" | "id")
}

/// The wire form of a form value.
pub(crate) fn masked_value(value: FormValue, masked: bool) -> FormValue {
    match value {
        FormValue::Text(t) if masked => FormValue::Text(mask::mask_text(&cut(t))),
        FormValue::Text(t) => FormValue::Text(cut(t)),
        // A box's state is its answer: masked, every box reads as unticked.
        FormValue::Checked(_) if masked => FormValue::Checked(false),
        FormValue::Selected(_) if masked => FormValue::Selected(false),
        other => other,
    }
}

/// Visits nodes from `stack` until it is empty or `deadline_ms` passes (checked every few
/// nodes). Returns whether the stack is empty.
pub(crate) fn walk<P: Page>(
    page: &P,
    config: &Config,
    known: &mut Known<P::Node>,
    stack: &mut Vec<Visit<P::Node>>,
    out: &mut Collected,
    deadline_ms: Option<f64>,
) -> bool {
    let mut visited = 0u32;
    let mut children = Vec::new();
    while let Some(visit) = stack.pop() {
        visit_one(page, config, known, visit, stack, out, &mut children);
        if out.full() {
            break;
        }
        visited += 1;
        if let Some(deadline) = deadline_ms {
            if visited % 64 == 0 && page.now_ms() >= deadline {
                break;
            }
        }
    }
    stack.is_empty()
}

/// Visits one node: gives it its id and slot, emits it, and pushes its children's visits.
fn visit_one<P: Page>(
    page: &P,
    config: &Config,
    known: &mut Known<P::Node>,
    visit: Visit<P::Node>,
    stack: &mut Vec<Visit<P::Node>>,
    out: &mut Collected,
    children: &mut Vec<P::Node>,
) {
    let Visit {
        node,
        parent,
        state,
        text,
        role,
    } = visit;
    let mut slot = Slot {
        node: node.clone(),
        parent,
        children: Vec::new(),
        inner: 0,
        holds_children: false,
        text_mode: if state.masked {
            TextMode::Masked
        } else {
            TextMode::Plain
        },
        sent_as: None,
        control: None,
        attrs_at: 0,
    };
    let mut scope = false;
    let mut sheet_owner = false;
    let mut scroll = None;
    let mut has_children = true;
    let mut attrs = Vec::new();
    let mut shadow = None;
    let mut frame_doc = None;
    let data = match role {
        Role::ShadowRoot => {
            scope = true;
            NodeData::ShadowRoot
        }
        Role::FrameDocument => {
            scope = true;
            NodeData::FrameDocument
        }
        // The node is given the next id in the same read; alloc_id below takes that id.
        Role::Child { .. } => {
            match page.describe(&node, &mut attrs, out.with_scroll, known.next_id()) {
                Described::Document => {
                    scope = true;
                    NodeData::Document
                }
                Described::Doctype => {
                    let (name, public_id, system_id) = page.doctype(&node);
                    NodeData::Doctype {
                        name,
                        public_id,
                        system_id,
                    }
                }
                Described::Text(t) => NodeData::Text(text_value(text, t, || page.base_url(&node))),
                Described::Comment(t) => NodeData::Comment(if text == TextMode::Masked {
                    mask::mask_text(&cut(t))
                } else {
                    cut(t)
                }),
                Described::Other => return,
                Described::Element(head) => {
                    let (ns, tag) = (head.ns, head.tag);
                    scroll = head.scroll;
                    has_children = head.has_children;
                    let Some(sent) = sent_as(page, config, &node, ns, &tag, &attrs, state) else {
                        // Dropped: the id cached with its description goes to the next node.
                        page.cache_id(&node, 0);
                        return;
                    };
                    // The tag is interned first: it precedes the attributes on the wire.
                    let tag_name = known.names.name(&tag);
                    let mut base: Option<String> = None;
                    let mut base_of = || base.get_or_insert_with(|| page.base_url(&node)).clone();
                    let wire: Vec<Attr> = attrs
                        .into_iter()
                        .filter(|(n, _)| {
                            (!sent.boxed || boxed_keeps(n))
                                && !mask::attr_dropped(n, sent.value_masked)
                        })
                        .map(|(n, v)| {
                            let value = attr_value(&n, v, sent, &mut base_of);
                            Attr {
                                name: known.names.name(&n),
                                value,
                            }
                        })
                        .collect();
                    slot.sent_as = Some(sent);
                    sheet_owner = ns == Namespace::Html && matches!(tag.as_str(), "style" | "link");
                    slot.text_mode = match tag.as_str() {
                        "style" => TextMode::Css,
                        "textarea" if sent.value_masked => TextMode::Masked,
                        _ if sent.state.masked => TextMode::Masked,
                        _ => TextMode::Plain,
                    };
                    if sent.boxed {
                        let (width, height) = page.box_size(&node);
                        known.new_boxed.push(node.clone());
                        NodeData::Boxed {
                            ns,
                            tag: tag_name,
                            attrs: wire,
                            width,
                            height,
                        }
                    } else {
                        slot.holds_children = !(ns == Namespace::Html && tag == "script");
                        slot.control = control(ns, &tag);
                        if slot.holds_children {
                            if head.shadow_host {
                                shadow = page.shadow_root(&node);
                            }
                            if ns == Namespace::Html && tag == "iframe" {
                                frame_doc = page.frame_document(&node);
                                known.new_frames.push(node.clone());
                            }
                        }
                        NodeData::Element {
                            ns,
                            tag: tag_name,
                            attrs: wire,
                        }
                    }
                }
            }
        }
    };
    if scope {
        slot.holds_children = true;
        slot.text_mode = if state.masked {
            TextMode::Masked
        } else {
            TextMode::Plain
        };
    }
    let id = known.alloc_id();
    if !matches!(role, Role::Child { .. }) {
        page.cache_id(&node, id);
    }
    let control = slot.control;
    let sent = slot.sent_as;
    let holds = slot.holds_children;
    let child_state = sent.map_or(state, |s| s.state);
    let child_text = slot.text_mode;
    let attach = match role {
        Role::Child { attach: true } => Attach::Append,
        Role::Child { attach: false } => Attach::Detached,
        Role::ShadowRoot | Role::FrameDocument => Attach::Inner,
    };
    known.tree.insert(id, slot, attach);
    out.bytes += data.approx_wire_bytes();
    out.nodes.push(Node { id, parent, data });
    if let (Some(tag), Some(sent)) = (control, sent) {
        if let Some(value) = page.form_value(&node, tag) {
            out.form.push(InputValue {
                node: id,
                value: masked_value(value, sent.value_masked),
            });
        }
    }
    if sent.is_some_and(|s| !s.boxed) {
        if let Some((x, y)) = scroll {
            out.scrolls.push(Scroll { node: id, x, y });
        }
        let owner = sheet_owner;
        if let Some(rules) = owner.then(|| page.owner_rules(&node)).flatten() {
            known.owner_sheets.insert(id);
            let rules = sheet_rules(Some(&page.base_url(&node)), rules);
            out.sheets.push(SheetRules {
                sheet: SheetRef::Owner(id),
                rules,
            });
        }
    }
    if scope {
        known.scopes.push(id);
        collect_adopted(page, known, id, &node, out);
        if matches!(role, Role::ShadowRoot | Role::FrameDocument) {
            known.new_roots.push(node.clone());
        }
    }
    if !holds {
        return;
    }
    children.clear();
    if has_children {
        page.children(&node, children);
    }
    for child in children.drain(..).rev() {
        stack.push(Visit {
            node: child,
            parent: id,
            state: child_state,
            text: child_text,
            role: Role::Child { attach: true },
        });
    }
    if let Some(root) = shadow {
        stack.push(Visit {
            node: root,
            parent: id,
            state: child_state,
            text: child_text,
            role: Role::ShadowRoot,
        });
    }
    if let Some(doc) = frame_doc {
        stack.push(Visit {
            node: doc,
            parent: id,
            state: child_state,
            text: child_text,
            role: Role::FrameDocument,
        });
    }
}

/// Records the adopted sheets of a scope, sending each constructed sheet's rules once.
pub(crate) fn collect_adopted<P: Page>(
    page: &P,
    known: &mut Known<P::Node>,
    scope: NodeId,
    node: &P::Node,
    out: &mut Collected,
) {
    let sheets = page.adopted(node);
    let sent = known.adopted.iter().position(|(s, _)| *s == scope);
    let previous = sent.and_then(|at| known.adopted.get(at));
    if previous.map_or(&[][..], |(_, p)| &p[..]) == &sheets[..] {
        return;
    }
    for &n in &sheets {
        if known.constructed.insert(n) {
            out.sheets.push(SheetRules {
                sheet: SheetRef::Constructed(n),
                rules: sheet_rules(None, page.constructed_rules(n)),
            });
        }
    }
    match sent.and_then(|at| known.adopted.get_mut(at)) {
        Some((_, previous)) => *previous = sheets.clone(),
        None => known.adopted.push((scope, sheets.clone())),
    }
    out.adopted.push(AdoptedSheets { scope, sheets });
}
