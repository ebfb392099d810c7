//! Executes the mirror's [`Patch`]es in the sandboxed iframe: creating nodes in the right
//! document, shadow roots and frame documents, CSSOM rules and constructed sheets, form
//! state, scroll positions and neutral boxes. Nothing here decides; the pure core has.

use js_sys::{Array, Reflect};
use protocol::{FormValue, Namespace, NodeId, SheetRef};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    CssStyleSheet, Document, Element, HtmlIFrameElement, Node, ScrollBehavior, ScrollToOptions,
    ShadowRootInit, ShadowRootMode,
};

use crate::intern::FxMap;
use crate::mirror::pseudo::{
    FOCUS_ATTR, FOCUS_VISIBLE_ATTR, FOCUS_WITHIN_ATTR, HOVER_ATTR, TARGET_ATTR,
};
use crate::mirror::{AttrChange, Mark, NewNode, Patch};

/// The expando property that carries a mirrored node's id, for the console's tools.
pub const ID_PROPERTY: &str = "__cobrowseId";

/// The live side of the mirror: ids to nodes in the iframe.
pub struct LiveDom {
    frame: HtmlIFrameElement,
    nodes: FxMap<NodeId, Node>,
    constructed: FxMap<u32, CssStyleSheet>,
    /// The window scroll last asked for, re-applied after layout-changing patches.
    pub window_scroll: (i32, i32),
    /// The elements carrying a mark attribute, to take it off when the mark moves.
    marked: Vec<(Mark, Element, &'static str)>,
}

fn ns_uri(ns: Namespace) -> &'static str {
    match ns {
        Namespace::Html => "http://www.w3.org/1999/xhtml",
        Namespace::Svg => "http://www.w3.org/2000/svg",
        Namespace::MathMl => "http://www.w3.org/1998/Math/MathML",
    }
}

fn set_attr(el: &Element, name: &str, value: &str) {
    let done = if let Some(local) = name.strip_prefix("xlink:") {
        el.set_attribute_ns(
            Some("http://www.w3.org/1999/xlink"),
            &format!("xlink:{local}"),
            value,
        )
    } else if name.starts_with("xml:") {
        el.set_attribute_ns(Some("http://www.w3.org/XML/1998/namespace"), name, value)
    } else {
        el.set_attribute(name, value)
    };
    // An attribute name the DOM refuses (the capture saw it parsed from markup) is skipped.
    drop(done);
}

// The mirror's nodes live in the iframe's realm, where `instanceof` against this realm's
// constructors fails: node types are read from `nodeType` and `localName` instead.
trait NodeKind {
    fn is_document(&self) -> bool;
}

impl NodeKind for Node {
    fn is_document(&self) -> bool {
        self.node_type() == Node::DOCUMENT_NODE
    }
}

fn as_element(node: &Node) -> Option<&Element> {
    (node.node_type() == Node::ELEMENT_NODE).then(|| node.unchecked_ref::<Element>())
}

fn as_iframe(node: &Node) -> Option<&HtmlIFrameElement> {
    as_element(node)
        .filter(|el| el.local_name() == "iframe")
        .map(|el| el.unchecked_ref::<HtmlIFrameElement>())
}

/// Empties `doc` and puts it in standards mode: a document that starts as `about:blank` is in
/// quirks mode, and a doctype node inserted later does not change that, so the mirror
/// re-opens the document with a doctype before building.
fn empty_standards_document(doc: &Document) {
    let call = |name: &str, arg: Option<&str>| {
        let f = Reflect::get(doc, &name.into())
            .ok()
            .filter(JsValue::is_function);
        if let Some(f) = f.map(|f| f.unchecked_into::<js_sys::Function>()) {
            let done = match arg {
                Some(a) => f.call1(doc, &a.into()),
                None => f.call0(doc),
            };
            if let Err(e) = done {
                web_sys::console::warn_2(&"cobrowse mirror: document.".into(), &e);
            }
        }
    };
    call("open", None);
    call("write", Some("<!DOCTYPE html>"));
    call("close", None);
    while let Some(child) = doc.first_child() {
        drop(doc.remove_child(&child));
    }
}

/// A scroll to `(x, y)` that jumps: `behavior: instant` overrides a page's
/// `scroll-behavior: smooth`, which would make the mirror trail the customer by up to seconds
/// on a long jump.
fn instant(x: i32, y: i32) -> ScrollToOptions {
    let options = ScrollToOptions::new();
    options.set_left(f64::from(x));
    options.set_top(f64::from(y));
    options.set_behavior(ScrollBehavior::Instant);
    options
}

/// The stand-in's style: the customer's box size, striped, as an inline block so the size applies
/// whatever the tag (in the mirror's script-less document a canvas is not a replaced element but
/// its fallback content, which takes no size). A canvas or video keeps its own vertical
/// alignment: an empty inline block sits on the baseline by its bottom edge, as the canvas did on
/// the customer's page; forcing `vertical-align: top` moved everything after it by 6–16 px.
fn box_style(existing: Option<String>, el: &Element, width: u32, height: u32) -> String {
    let replaced = matches!(el.local_name().as_str(), "canvas" | "video");
    let display = if replaced {
        " display: inline-block !important;"
    } else {
        " display: inline-block !important; vertical-align: top !important;"
    };
    format!(
        "{};{display} width: {width}px !important; \
         height: {height}px !important; background: repeating-linear-gradient(45deg, #e2e6ea, \
         #e2e6ea 6px, #eef1f4 6px, #eef1f4 12px) !important; box-sizing: border-box !important;",
        existing.unwrap_or_default()
    )
}

impl LiveDom {
    pub fn new(frame: HtmlIFrameElement) -> Self {
        Self {
            frame,
            nodes: FxMap::default(),
            constructed: FxMap::default(),
            window_scroll: (0, 0),
            marked: Vec::new(),
        }
    }

    pub fn document(&self) -> Option<Document> {
        self.frame.content_document()
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(&id)
    }

    /// Applies one patch. A patch the browser refuses is skipped (the model accepted it, so
    /// the next snapshot repairs whatever the browser would not take).
    pub fn apply(&mut self, patch: Patch) {
        match patch {
            Patch::Reset { .. } => self.reset(),
            Patch::Insert {
                id,
                parent,
                before,
                node,
            } => self.insert(id, parent, before, node),
            Patch::Remove { id, forget } => {
                if let Some(node) = self.nodes.get(&id) {
                    if let Some(parent) = node.parent_node() {
                        drop(parent.remove_child(node));
                    }
                }
                for id in forget {
                    self.nodes.remove(&id);
                }
            }
            Patch::Attr { id, change } => {
                if let Some(el) = self.nodes.get(&id).and_then(as_element) {
                    match change {
                        AttrChange::Set { name, value } => set_attr(el, &name, &value),
                        AttrChange::Remove { name } => drop(el.remove_attribute(&name)),
                    }
                }
            }
            Patch::Text { id, text } => {
                if let Some(node) = self.nodes.get(&id) {
                    node.set_node_value(Some(&text));
                }
            }
            Patch::Rules { sheet, rules } => self.replace_rules(sheet, &rules),
            Patch::RuleInsert { sheet, index, rule } => {
                if let Some(s) = self.sheet(sheet) {
                    drop(s.insert_rule_with_index(&rule, index));
                }
            }
            Patch::RuleDelete { sheet, index } => {
                if let Some(s) = self.sheet(sheet) {
                    drop(s.delete_rule(index));
                }
            }
            Patch::Adopt { scope, sheets } => {
                let list: Array = sheets
                    .iter()
                    .map(|n| JsValue::from(self.constructed_sheet(*n)))
                    .collect();
                if let Some(node) = self.nodes.get(&scope) {
                    drop(Reflect::set(node, &"adoptedStyleSheets".into(), &list));
                }
            }
            Patch::Form { id, value } => {
                if let Some(node) = self.nodes.get(&id) {
                    let (key, v) = match value {
                        FormValue::Text(t) => ("value", JsValue::from_str(&t)),
                        FormValue::Checked(b) => ("checked", JsValue::from_bool(b)),
                        FormValue::Selected(b) => ("selected", JsValue::from_bool(b)),
                    };
                    drop(Reflect::set(node, &key.into(), &v));
                }
            }
            Patch::Scroll { id: 0, x, y } => {
                self.window_scroll = (x, y);
                // Back to the origin too, which `scroll_window` leaves alone.
                if let Some(w) = self.frame.content_window() {
                    w.scroll_to_with_scroll_to_options(&instant(x, y));
                }
            }
            Patch::Scroll { id, x, y } => {
                if let Some(el) = self.nodes.get(&id).and_then(as_element) {
                    el.scroll_to_with_scroll_to_options(&instant(x, y));
                }
            }
            Patch::Resize { id, width, height } => {
                if let Some(el) = self.nodes.get(&id).and_then(as_element) {
                    set_attr(el, "style", &box_style(None, el, width, height));
                }
            }
            Patch::Viewport(_) => {}
            Patch::Mark { mark, id } => self.mark(mark, id),
        }
    }

    /// Moves the customer's focus, hover or `:target` to `id`: the element gets its
    /// attributes, and for hover and focus-within so do its ancestors (through shadow hosts),
    /// as the pseudo-classes match.
    fn mark(&mut self, mark: Mark, id: NodeId) {
        self.marked.retain(|(m, el, attr)| {
            let keep = *m != mark;
            if !keep {
                drop(el.remove_attribute(attr));
            }
            keep
        });
        let Some(el) = self.nodes.get(&id).and_then(as_element).cloned() else {
            return;
        };
        let (own, up): (&[&'static str], Option<&'static str>) = match mark {
            Mark::Focus => (&[FOCUS_ATTR, FOCUS_VISIBLE_ATTR], Some(FOCUS_WITHIN_ATTR)),
            Mark::Hover => (&[], Some(HOVER_ATTR)),
            Mark::Target => (&[TARGET_ATTR], None),
        };
        for attr in own {
            set_attr(&el, attr, "");
            self.marked.push((mark, el.clone(), attr));
        }
        let Some(attr) = up else { return };
        let mut node: Option<Node> = Some(el.into());
        while let Some(n) = node {
            node = if let Some(e) = as_element(&n) {
                set_attr(e, attr, "");
                self.marked.push((mark, e.clone(), attr));
                n.parent_node()
            } else if n.node_type() == Node::DOCUMENT_FRAGMENT_NODE {
                Reflect::get(&n, &"host".into())
                    .ok()
                    .filter(JsValue::is_object)
                    .map(JsCast::unchecked_into)
            } else {
                None
            };
        }
    }

    /// Scrolls the mirror's window to where the customer's is.
    pub fn scroll_window(&self) {
        if self.window_scroll == (0, 0) {
            return;
        }
        if let Some(w) = self.frame.content_window() {
            let (x, y) = self.window_scroll;
            w.scroll_to_with_scroll_to_options(&instant(x, y));
        }
    }

    fn reset(&mut self) {
        self.nodes.clear();
        self.marked.clear();
        self.constructed.clear();
        self.window_scroll = (0, 0);
        if let Some(doc) = self.document() {
            empty_standards_document(&doc);
            drop(Reflect::set(
                &doc,
                &"adoptedStyleSheets".into(),
                &Array::new(),
            ));
        }
    }

    fn insert(&mut self, id: NodeId, parent: NodeId, before: NodeId, node: NewNode) {
        let Some(doc) = self.document() else { return };
        let parent_node: Node = match self.nodes.get(&parent) {
            Some(p) => p.clone(),
            None if parent == 0 => doc.clone().into(),
            None => return,
        };
        let owner: Document = parent_node
            .is_document()
            .then(|| parent_node.clone().unchecked_into::<Document>())
            .or_else(|| parent_node.owner_document())
            .unwrap_or(doc);
        let created: Option<Node> = match node {
            NewNode::Document => {
                self.nodes.insert(id, parent_node);
                return;
            }
            NewNode::ShadowRoot => {
                let Some(host) = as_element(&parent_node) else {
                    return;
                };
                let init = ShadowRootInit::new(ShadowRootMode::Open);
                let root = host
                    .shadow_root()
                    .or_else(|| host.attach_shadow(&init).ok());
                if let Some(root) = root {
                    self.nodes.insert(id, root.into());
                }
                return;
            }
            NewNode::FrameDocument => {
                let Some(frame) = as_iframe(&parent_node) else {
                    return;
                };
                if let Some(inner) = frame.content_document() {
                    empty_standards_document(&inner);
                    self.nodes.insert(id, inner.into());
                }
                return;
            }
            NewNode::Doctype {
                name,
                public_id,
                system_id,
            } => owner
                .implementation()
                .ok()
                .and_then(|i| i.create_document_type(&name, &public_id, &system_id).ok())
                .map(Into::into),
            NewNode::Element { ns, tag, attrs } => owner
                .create_element_ns(Some(ns_uri(ns)), &tag)
                .ok()
                .map(|el| {
                    for (n, v) in &attrs {
                        set_attr(&el, n, v);
                    }
                    el.into()
                }),
            NewNode::Boxed {
                ns,
                tag,
                attrs,
                width,
                height,
            } => owner
                .create_element_ns(Some(ns_uri(ns)), &tag)
                .ok()
                .map(|el| {
                    for (n, v) in &attrs {
                        set_attr(&el, n, v);
                    }
                    set_attr(
                        &el,
                        "style",
                        &box_style(el.get_attribute("style"), &el, width, height),
                    );
                    el.into()
                }),
            NewNode::Text(t) => Some(owner.create_text_node(&t).into()),
            NewNode::Comment(t) => Some(owner.create_comment(&t).into()),
        };
        let Some(created) = created else { return };
        drop(Reflect::set(
            &created,
            &ID_PROPERTY.into(),
            &JsValue::from(id),
        ));
        let before = (before != 0).then(|| self.nodes.get(&before)).flatten();
        if parent_node.insert_before(&created, before).is_ok() {
            self.nodes.insert(id, created);
        }
    }

    fn constructed_sheet(&mut self, n: u32) -> Option<CssStyleSheet> {
        if let Some(s) = self.constructed.get(&n) {
            return Some(s.clone());
        }
        // Built in the mirror's own realm, or its documents refuse to adopt it.
        let window = self.frame.content_window()?;
        let ctor = Reflect::get(&window, &"CSSStyleSheet".into()).ok()?;
        let ctor = ctor
            .is_function()
            .then(|| ctor.unchecked_into::<js_sys::Function>())?;
        let sheet = Reflect::construct(&ctor, &Array::new())
            .ok()?
            .unchecked_into::<CssStyleSheet>();
        self.constructed.insert(n, sheet.clone());
        Some(sheet)
    }

    fn sheet(&mut self, sheet: SheetRef) -> Option<CssStyleSheet> {
        match sheet {
            SheetRef::Constructed(n) => self.constructed_sheet(n),
            SheetRef::Owner(id) => {
                let owner = self.nodes.get(&id)?;
                let sheet = Reflect::get(owner, &"sheet".into()).ok()?;
                (!sheet.is_null() && !sheet.is_undefined())
                    .then(|| sheet.unchecked_into::<CssStyleSheet>())
            }
        }
    }

    fn replace_rules(&mut self, sheet: SheetRef, rules: &[String]) {
        let Some(s) = self.sheet(sheet) else { return };
        if let SheetRef::Constructed(_) = sheet {
            drop(s.replace_sync(&rules.join("\n")));
            return;
        }
        while s.css_rules().map(|r| r.length()).unwrap_or(0) > 0 {
            if s.delete_rule(0).is_err() {
                break;
            }
        }
        for (i, rule) in rules.iter().enumerate() {
            let at = s.css_rules().map(|r| r.length()).unwrap_or(0);
            // A rule this browser cannot parse is skipped, as the customer's browser did.
            drop(s.insert_rule_with_index(rule, at.min(u32::try_from(i).unwrap_or(u32::MAX))));
        }
    }
}
