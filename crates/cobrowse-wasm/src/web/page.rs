//! [`Page`] over web-sys: how the capture core reads the live document, plus the browser-side
//! tables it needs (the node→id cache, constructed-sheet numbers, sheets touched via the CSSOM).

use std::cell::RefCell;

use js_sys::{Array, WeakMap, WeakSet};
use protocol::{FormValue, Namespace, NodeId, Viewport};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    CssStyleSheet, Document, DocumentType, Element, HtmlIFrameElement, HtmlInputElement,
    HtmlLinkElement, HtmlSelectElement, HtmlStyleElement, HtmlTextAreaElement, Node,
};

use crate::page::{Described, ElementHead, NodeKind, Page};

#[wasm_bindgen(module = "/src/web/hooks.js")]
extern "C" {
    #[wasm_bindgen(js_name = installHooks)]
    pub fn install_hooks(win: &JsValue, sink: &js_sys::Function);
    #[wasm_bindgen(js_name = markWhole)]
    pub fn mark_whole(sheet: &JsValue);
    #[wasm_bindgen(js_name = clearWhole)]
    pub fn clear_whole();
    #[wasm_bindgen(js_name = ruleTexts)]
    fn rule_texts(sheet: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = adoptedOf)]
    fn adopted_of(scope: &JsValue) -> Array;
    #[wasm_bindgen(js_name = describeElement)]
    fn describe_element(el: &Node, with_scroll: bool) -> String;
    #[wasm_bindgen(js_name = describeNode)]
    fn describe_node(node: &Node, with_scroll: bool, ids: &WeakMap, id: NodeId) -> String;
    #[wasm_bindgen(js_name = attributeValues)]
    fn attribute_values_of(nodes: Vec<Node>, names: &str) -> Option<String>;
    #[wasm_bindgen(js_name = classifyRecords)]
    fn classify_records(records: &Array, ids: &WeakMap) -> Array;
    #[wasm_bindgen(js_name = markSecret)]
    fn mark_secret(node: &Node);
    #[wasm_bindgen(js_name = wasSecret)]
    fn was_secret(node: &Node) -> bool;
    #[wasm_bindgen(js_name = labelText)]
    fn label_text_of(el: &Node) -> String;
    #[wasm_bindgen(js_name = selectedIds)]
    fn selected_ids_of(scope: &Node, selectors: &str, ids: &WeakMap) -> Vec<u32>;
}

/// `node` as its type when its node type says so. Nodes of same-origin iframes belong to
/// another realm, where `instanceof` (and so `dyn_ref`) fails: the node type is checked instead.
fn element_like(node: &Node, node_type: u16) -> Option<&Node> {
    (node.node_type() == node_type).then_some(node)
}

/// `node` as an element, whatever realm it comes from.
pub fn as_element(node: &Node) -> Option<&Element> {
    element_like(node, Node::ELEMENT_NODE).map(|n| n.unchecked_ref())
}

/// An attribute value `describeElement` escaped because it held the `\0` separator.
fn unescape_value(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        if c == '\x02' {
            // `\x020` is `\0`; `\x02\x02` is `\x02`.
            out.push(if chars.next() == Some('0') {
                '\0'
            } else {
                '\x02'
            });
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads what `describeElement` packed (see `hooks.js`) into `attrs` and a head.
fn parse_element(packed: &str, attrs: &mut Vec<(String, String)>) -> ElementHead {
    let mut parts = packed.split('\0');
    let first = parts.next().unwrap_or_default();
    let (head, scroll) = match first.split_once('\x01') {
        Some((head, xy)) => {
            let mut xy = xy.split(',').map(|v| v.parse::<i32>().unwrap_or(0));
            (head, Some((xy.next().unwrap_or(0), xy.next().unwrap_or(0))))
        }
        None => (first, None),
    };
    let ns = match head.as_bytes().first() {
        Some(b's') => Namespace::Svg,
        Some(b'm') => Namespace::MathMl,
        _ => Namespace::Html,
    };
    // Unknown flags read as "may have": the caller then asks, as it would without them.
    let flags = head.as_bytes().get(1).map_or(3, |f| f.wrapping_sub(b'0'));
    while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
        attrs.push(match name.strip_prefix('=') {
            Some(name) => (name.to_owned(), unescape_value(value)),
            None => (name.to_owned(), value.to_owned()),
        });
    }
    ElementHead {
        ns,
        tag: head.get(2..).unwrap_or_default().to_owned(),
        scroll,
        shadow_host: flags & 1 != 0 || flags > 3,
        has_children: flags & 2 != 0 || flags > 3,
    }
}

/// The live page of one capture session.
pub struct WebPage {
    pub window: web_sys::Window,
    pub document: Document,
    performance: Option<web_sys::Performance>,
    ids: WeakMap,
    sheet_numbers: WeakMap,
    sheets: RefCell<Vec<CssStyleSheet>>,
    /// Sheets changed through the CSSOM: their rules differ from their markup.
    pub touched: WeakSet,
    /// The top document's scrolling element: its offset is the window's scroll.
    scrolling: Option<Element>,
}

impl WebPage {
    pub fn new(window: web_sys::Window, document: Document) -> Self {
        Self {
            performance: window.performance(),
            scrolling: document.scrolling_element(),
            window,
            document,
            ids: WeakMap::new(),
            sheet_numbers: WeakMap::new(),
            sheets: RefCell::new(Vec::new()),
            touched: WeakSet::new(),
        }
    }

    /// The number of a constructed sheet, assigned on first sight.
    pub fn sheet_number(&self, sheet: &CssStyleSheet) -> u32 {
        if let Some(n) = self.sheet_numbers.get(sheet).as_f64() {
            return n as u32;
        }
        let mut sheets = self.sheets.borrow_mut();
        sheets.push(sheet.clone());
        let n = sheets.len() as u32;
        self.sheet_numbers.set(sheet, &JsValue::from(n));
        n
    }

    /// The window's inner size.
    pub fn viewport(&self) -> Viewport {
        let dim =
            |v: Result<JsValue, JsValue>| v.ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as u32;
        Viewport {
            width: dim(self.window.inner_width()),
            height: dim(self.window.inner_height()),
        }
    }

    /// The number of a constructed sheet if it has one.
    pub fn known_sheet(&self, sheet: &CssStyleSheet) -> Option<u32> {
        self.sheet_numbers.get(sheet).as_f64().map(|n| n as u32)
    }

    fn texts(sheet: &JsValue) -> Option<Vec<String>> {
        let texts = rule_texts(sheet);
        match texts.as_string() {
            Some(joined) if joined.is_empty() => Some(Vec::new()),
            Some(joined) => Some(joined.split('\0').map(str::to_owned).collect()),
            None if Array::is_array(&texts) => {
                let texts: Array = texts.unchecked_into();
                Some(texts.iter().filter_map(|v| v.as_string()).collect())
            }
            None => None,
        }
    }
}

impl WebPage {
    /// Observer records as `(kind, id)` pairs and the distinct attribute names, read in one
    /// call (see `classifyRecords` in `hooks.js`).
    pub fn classify(&self, records: &Array) -> (Vec<u32>, String) {
        let out = classify_records(records, &self.ids);
        let pairs = js_sys::Uint32Array::from(out.get(0)).to_vec();
        (pairs, out.get(1).as_string().unwrap_or_default())
    }
}

impl Page for WebPage {
    type Node = Node;

    fn kind(&self, node: &Node) -> NodeKind {
        match node.node_type() {
            Node::ELEMENT_NODE => NodeKind::Element,
            Node::TEXT_NODE => NodeKind::Text,
            Node::COMMENT_NODE => NodeKind::Comment,
            Node::DOCUMENT_NODE => NodeKind::Document,
            Node::DOCUMENT_TYPE_NODE => NodeKind::Doctype,
            _ => NodeKind::Other,
        }
    }

    fn doctype(&self, node: &Node) -> (String, String, String) {
        match element_like(node, Node::DOCUMENT_TYPE_NODE) {
            Some(d) => {
                let d: &DocumentType = d.unchecked_ref();
                (d.name(), d.public_id(), d.system_id())
            }
            None => Default::default(),
        }
    }

    fn element_name(&self, node: &Node) -> (Namespace, String) {
        if as_element(node).is_none() {
            return (Namespace::Html, String::new());
        }
        let mut attrs = Vec::new();
        let head = self.element(node, &mut attrs, false);
        (head.ns, head.tag)
    }

    fn attributes(&self, node: &Node, out: &mut Vec<(String, String)>) {
        if as_element(node).is_some() {
            self.element(node, out, false);
        }
    }

    fn element(
        &self,
        node: &Node,
        attrs: &mut Vec<(String, String)>,
        with_scroll: bool,
    ) -> ElementHead {
        parse_element(&describe_element(node, with_scroll), attrs)
    }

    fn describe(
        &self,
        node: &Node,
        attrs: &mut Vec<(String, String)>,
        with_scroll: bool,
        id: NodeId,
    ) -> Described {
        let packed = describe_node(node, with_scroll, &self.ids, id);
        let rest = packed.get(1..).unwrap_or_default();
        match packed.as_bytes().first() {
            Some(b'e') => Described::Element(parse_element(rest, attrs)),
            Some(b't') => Described::Text(rest.to_owned()),
            Some(b'c') => Described::Comment(rest.to_owned()),
            Some(b'D') => Described::Document,
            Some(b'd') => Described::Doctype,
            _ => Described::Other,
        }
    }

    fn attribute(&self, node: &Node, name: &str) -> Option<String> {
        as_element(node)?.get_attribute(name)
    }

    fn attribute_values(&self, asked: &[(&Node, &str)], out: &mut Vec<Option<String>>) {
        if asked.is_empty() {
            return;
        }
        // The nodes go across as one array (one crossing), not one `push` per node: a class
        // change on 10,000 elements spent most of its flush in those crossings.
        let mut nodes = Vec::with_capacity(asked.len());
        let mut names = String::new();
        for (i, (node, name)) in asked.iter().enumerate() {
            nodes.push((*node).clone());
            if i > 0 {
                names.push('\0');
            }
            names.push_str(name);
        }
        let start = out.len();
        if let Some(packed) = attribute_values_of(nodes, &names) {
            out.extend(
                packed
                    .split_terminator('\0')
                    .map(|v| v.strip_prefix('+').map(str::to_owned)),
            );
            if out.len() - start == asked.len() {
                return;
            }
            out.truncate(start);
        }
        out.extend(asked.iter().map(|(node, name)| self.attribute(node, name)));
    }

    fn text(&self, node: &Node) -> String {
        node.node_value().unwrap_or_default()
    }

    fn label_text(&self, node: &Node) -> String {
        label_text_of(node)
    }

    fn parent(&self, node: &Node) -> Option<Node> {
        node.parent_node()
    }

    fn children(&self, node: &Node, out: &mut Vec<Node>) {
        let mut at = node.first_child();
        while let Some(child) = at {
            at = child.next_sibling();
            out.push(child);
        }
    }

    fn shadow_root(&self, node: &Node) -> Option<Node> {
        as_element(node)?.shadow_root().map(Into::into)
    }

    fn frame_document(&self, node: &Node) -> Option<Node> {
        Some(node.unchecked_ref::<HtmlIFrameElement>())?
            .content_document()
            .map(Into::into)
    }

    fn matches(&self, node: &Node, selectors: &str) -> bool {
        as_element(node).is_some_and(|el| el.matches(selectors).unwrap_or(false))
    }

    fn selected_ids(&self, scope: &Node, selectors: &str, out: &mut Vec<NodeId>) {
        out.extend(selected_ids_of(scope, selectors, &self.ids));
    }

    fn box_size(&self, node: &Node) -> (u32, u32) {
        match as_element(node) {
            Some(el) => {
                let rect = el.get_bounding_client_rect();
                (
                    rect.width().round().max(0.0) as u32,
                    rect.height().round().max(0.0) as u32,
                )
            }
            None => (0, 0),
        }
    }

    fn form_value(&self, node: &Node, tag: &str) -> Option<FormValue> {
        match tag {
            "input" => {
                let input: &HtmlInputElement = as_element(node)?.unchecked_ref();
                match input.type_().as_str() {
                    "checkbox" | "radio" => Some(FormValue::Checked(input.checked())),
                    "file" => None,
                    _ => Some(FormValue::Text(input.value())),
                }
            }
            "textarea" => Some(FormValue::Text(
                as_element(node)?
                    .unchecked_ref::<HtmlTextAreaElement>()
                    .value(),
            )),
            "select" => Some(FormValue::Text(
                as_element(node)?
                    .unchecked_ref::<HtmlSelectElement>()
                    .value(),
            )),
            "option" => {
                let el = as_element(node)?;
                let select = el.closest("select").ok().flatten()?;
                select.has_attribute("multiple").then(|| {
                    let selected = js_sys::Reflect::get(el, &JsValue::from_str("selected"));
                    FormValue::Selected(selected.is_ok_and(|v| v.is_truthy()))
                })
            }
            _ => None,
        }
    }

    fn scroll_offset(&self, node: &Node) -> Option<(i32, i32)> {
        let el = as_element(node)?;
        if self.scrolling.as_ref() == Some(el) {
            return None;
        }
        let (x, y) = (el.scroll_left(), el.scroll_top());
        ((x, y) != (0, 0)).then_some((x, y))
    }

    fn window_scroll(&self) -> (i32, i32) {
        let x = self.window.scroll_x().unwrap_or(0.0).round() as i32;
        let y = self.window.scroll_y().unwrap_or(0.0).round() as i32;
        (x, y)
    }

    fn base_url(&self, node: &Node) -> String {
        node.base_uri().ok().flatten().unwrap_or_default()
    }

    fn cached_id(&self, node: &Node) -> Option<NodeId> {
        self.ids.get(node).as_f64().map(|n| n as NodeId)
    }

    fn cache_id(&self, node: &Node, id: NodeId) {
        self.ids.set(node.unchecked_ref(), &JsValue::from(id));
    }

    fn mark_secret(&self, node: &Node) {
        mark_secret(node);
    }

    fn was_secret(&self, node: &Node) -> bool {
        was_secret(node)
    }

    fn owner_rules(&self, node: &Node) -> Option<Vec<String>> {
        let el = as_element(node)?;
        if el.local_name() == "style" {
            let style: &HtmlStyleElement = el.unchecked_ref();
            let sheet = style.sheet()?;
            // A disabled sheet goes as no rules (`ruleTexts`), whatever its markup says.
            let touched = self.touched.has(&sheet) || sheet.disabled();
            let empty_markup = node.text_content().is_none_or(|t| t.trim().is_empty());
            let rules = Self::texts(&sheet)?;
            return (touched || (empty_markup && !rules.is_empty())).then_some(rules);
        }
        let sheet = el.unchecked_ref::<HtmlLinkElement>().sheet()?;
        if !self.touched.has(&sheet) && !sheet.disabled() {
            return None;
        }
        Self::texts(&sheet)
    }

    fn adopted(&self, scope: &Node) -> Vec<u32> {
        adopted_of(scope)
            .iter()
            .filter(|s| s.is_object())
            .map(|s| self.sheet_number(s.unchecked_ref()))
            .collect()
    }

    fn constructed_rules(&self, sheet: u32) -> Vec<String> {
        self.sheets
            .borrow()
            .get((sheet as usize).wrapping_sub(1))
            .and_then(|s| Self::texts(s))
            .unwrap_or_default()
    }

    fn now_ms(&self) -> f64 {
        self.performance.as_ref().map_or(0.0, |p| p.now())
    }
}
