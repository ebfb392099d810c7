//! An in-memory [`Page`] for native tests: a small DOM that logs mutation records the way a
//! MutationObserver would, and the `check` helper the capture tests share.

use std::cell::{Cell, RefCell};

use protocol::{FormValue, Frame, Limits, Message, Namespace, NodeId};

use crate::capture::Capture;
use crate::config::Config;
use crate::model::Dom;
use crate::page::{NodeKind, Page};

#[derive(Debug, Clone)]
pub struct FakeNode {
    pub kind: NodeKind,
    pub ns: Namespace,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<usize>,
    pub parent: Option<usize>,
    pub shadow: Option<usize>,
    pub value: Option<FormValue>,
    pub cached: Cell<Option<NodeId>>,
    pub secret: Cell<bool>,
}

/// A record as a MutationObserver would deliver it.
#[derive(Debug, Clone)]
pub enum Record {
    Children(usize),
    Attribute(usize, String),
    Text(usize),
}

#[derive(Default)]
pub struct FakePage {
    pub nodes: RefCell<Vec<FakeNode>>,
    pub records: RefCell<Vec<Record>>,
    /// CSSOM rules of `<style>` elements that differ from their markup.
    pub cssom: RefCell<Vec<(usize, Vec<String>)>>,
}

impl FakePage {
    /// A page holding a document with `<!doctype html><html><head></head><body></body></html>`;
    /// returns it with the body's handle.
    pub fn new() -> (Self, usize) {
        let page = FakePage::default();
        let doc = page.make(NodeKind::Document, "", &[], "");
        let doctype = page.make(NodeKind::Doctype, "html", &[], "");
        page.attach(doc, doctype);
        let html = page.el(doc, "html", &[]);
        page.el(html, "head", &[]);
        let body = page.el(html, "body", &[]);
        page.records.borrow_mut().clear();
        (page, body)
    }

    fn make(&self, kind: NodeKind, name: &str, attrs: &[(&str, &str)], text: &str) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(FakeNode {
            kind,
            ns: if name == "svg" || name == "use" {
                Namespace::Svg
            } else {
                Namespace::Html
            },
            name: name.to_owned(),
            attrs: attrs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            text: text.to_owned(),
            children: Vec::new(),
            parent: None,
            shadow: None,
            value: None,
            cached: Cell::new(None),
            secret: Cell::new(false),
        });
        nodes.len() - 1
    }

    /// Creates a detached element.
    pub fn create(&self, tag: &str, attrs: &[(&str, &str)]) -> usize {
        self.make(NodeKind::Element, tag, attrs, "")
    }

    pub fn create_text(&self, text: &str) -> usize {
        self.make(NodeKind::Text, "", &[], text)
    }

    /// Creates an element and appends it to `parent`.
    pub fn el(&self, parent: usize, tag: &str, attrs: &[(&str, &str)]) -> usize {
        let n = self.create(tag, attrs);
        self.attach(parent, n);
        n
    }

    pub fn text_in(&self, parent: usize, text: &str) -> usize {
        let n = self.create_text(text);
        self.attach(parent, n);
        n
    }

    pub fn attach(&self, parent: usize, child: usize) {
        self.insert_before(parent, child, None);
    }

    pub fn insert_before(&self, parent: usize, child: usize, before: Option<usize>) {
        self.detach(child);
        let mut nodes = self.nodes.borrow_mut();
        let at = before
            .and_then(|b| nodes[parent].children.iter().position(|&c| c == b))
            .unwrap_or(nodes[parent].children.len());
        nodes[parent].children.insert(at, child);
        nodes[child].parent = Some(parent);
        self.records.borrow_mut().push(Record::Children(parent));
    }

    pub fn detach(&self, child: usize) {
        let mut nodes = self.nodes.borrow_mut();
        if let Some(p) = nodes[child].parent.take() {
            nodes[p].children.retain(|&c| c != child);
            self.records.borrow_mut().push(Record::Children(p));
        }
    }

    pub fn set_attr(&self, node: usize, name: &str, value: &str) {
        let mut nodes = self.nodes.borrow_mut();
        let attrs = &mut nodes[node].attrs;
        match attrs.iter_mut().find(|(n, _)| n == name) {
            Some(a) => a.1 = value.to_owned(),
            None => attrs.push((name.to_owned(), value.to_owned())),
        }
        self.records
            .borrow_mut()
            .push(Record::Attribute(node, name.to_owned()));
    }

    pub fn remove_attr(&self, node: usize, name: &str) {
        self.nodes.borrow_mut()[node]
            .attrs
            .retain(|(n, _)| n != name);
        self.records
            .borrow_mut()
            .push(Record::Attribute(node, name.to_owned()));
    }

    pub fn set_text(&self, node: usize, text: &str) {
        self.nodes.borrow_mut()[node].text = text.to_owned();
        self.records.borrow_mut().push(Record::Text(node));
    }

    pub fn set_value(&self, node: usize, value: FormValue) {
        self.nodes.borrow_mut()[node].value = Some(value);
    }

    pub fn attach_shadow(&self, host: usize) -> usize {
        let root = self.make(NodeKind::Other, "#shadow", &[], "");
        self.nodes.borrow_mut()[host].shadow = Some(root);
        root
    }

    /// Hands the logged records to a capture, as the observer callback would.
    pub fn deliver(&self, capture: &mut Capture<usize>) {
        let records: Vec<Record> = self.records.borrow_mut().drain(..).collect();
        for r in records {
            match r {
                Record::Children(n) => capture.record_children(self, &n),
                Record::Attribute(n, name) => capture.record_attribute(self, &n, &name),
                Record::Text(n) => capture.record_text(self, &n),
            }
        }
    }
}

impl Page for FakePage {
    type Node = usize;
    fn kind(&self, n: &usize) -> NodeKind {
        self.nodes.borrow()[*n].kind
    }
    fn doctype(&self, n: &usize) -> (String, String, String) {
        (
            self.nodes.borrow()[*n].name.clone(),
            String::new(),
            String::new(),
        )
    }
    fn element_name(&self, n: &usize) -> (Namespace, String) {
        let nodes = self.nodes.borrow();
        (nodes[*n].ns, nodes[*n].name.clone())
    }
    fn attributes(&self, n: &usize, out: &mut Vec<(String, String)>) {
        out.extend(self.nodes.borrow()[*n].attrs.iter().cloned());
    }
    fn attribute(&self, n: &usize, name: &str) -> Option<String> {
        crate::mask::attr(&self.nodes.borrow()[*n].attrs, name).map(str::to_owned)
    }
    fn text(&self, n: &usize) -> String {
        self.nodes.borrow()[*n].text.clone()
    }
    fn parent(&self, n: &usize) -> Option<usize> {
        self.nodes.borrow()[*n].parent
    }
    fn children(&self, n: &usize, out: &mut Vec<usize>) {
        out.extend(self.nodes.borrow()[*n].children.iter().copied());
    }
    fn shadow_root(&self, n: &usize) -> Option<usize> {
        self.nodes.borrow()[*n].shadow
    }
    fn frame_document(&self, _: &usize) -> Option<usize> {
        None
    }
    /// Supports lists of `.class`, `#id`, `[attr]` and `tag`.
    /// Simple selectors (`.class`, `#id`, `[attr]`, `tag`) and one descendant combinator
    /// (`.private input`).
    fn matches(&self, n: &usize, selectors: &str) -> bool {
        let nodes = self.nodes.borrow();
        let simple = |n: usize, s: &str| {
            let node = &nodes[n];
            let attr = |name: &str| crate::mask::attr(&node.attrs, name);
            if let Some(c) = s.strip_prefix('.') {
                attr("class").is_some_and(|v| v.split_whitespace().any(|x| x == c))
            } else if let Some(i) = s.strip_prefix('#') {
                attr("id") == Some(i)
            } else if let Some(a) = s.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                attr(a).is_some()
            } else {
                node.name == s
            }
        };
        selectors
            .split(',')
            .map(str::trim)
            .any(|s| match s.split_once(' ') {
                Some((outer, inner)) => {
                    let mut at = nodes[*n].parent;
                    let mut inside = false;
                    while let Some(p) = at {
                        inside |= simple(p, outer);
                        at = nodes[p].parent;
                    }
                    inside && simple(*n, inner)
                }
                None => simple(*n, s),
            })
    }
    fn box_size(&self, _: &usize) -> (u32, u32) {
        (300, 150)
    }
    fn form_value(&self, n: &usize, _: &str) -> Option<FormValue> {
        self.nodes.borrow()[*n].value.clone()
    }
    fn scroll_offset(&self, _: &usize) -> Option<(i32, i32)> {
        None
    }
    fn window_scroll(&self) -> (i32, i32) {
        (0, 0)
    }
    fn base_url(&self, _: &usize) -> String {
        "https://shop.example/a/b.html".to_owned()
    }
    fn cached_id(&self, n: &usize) -> Option<NodeId> {
        self.nodes.borrow()[*n].cached.get()
    }
    fn mark_secret(&self, n: &usize) {
        self.nodes.borrow()[*n].secret.set(true);
    }
    fn was_secret(&self, n: &usize) -> bool {
        self.nodes.borrow()[*n].secret.get()
    }
    fn cache_id(&self, n: &usize, id: NodeId) {
        self.nodes.borrow()[*n].cached.set(Some(id));
    }
    fn owner_rules(&self, n: &usize) -> Option<Vec<String>> {
        let cssom = self.cssom.borrow();
        cssom.iter().find(|(o, _)| o == n).map(|(_, r)| r.clone())
    }
    fn adopted(&self, _: &usize) -> Vec<u32> {
        Vec::new()
    }
    fn constructed_rules(&self, _: u32) -> Vec<String> {
        Vec::new()
    }
    fn now_ms(&self) -> f64 {
        0.0
    }
}

/// Decodes frames and applies them to a model (the snapshot first, whole or in parts).
pub fn rebuild(frames: &[Vec<u8>], into: &mut Option<Dom>) {
    for bytes in frames {
        let frame = Frame::decode(bytes, &Limits::default()).unwrap();
        match frame.message {
            Message::Snapshot(s) | Message::SnapshotBegin(s) => {
                *into = Some(Dom::from_snapshot(&s).unwrap())
            }
            Message::SnapshotPart(p) => into.as_mut().unwrap().extend(&p).unwrap(),
            Message::Mutations(b) => into.as_mut().unwrap().apply(&b).unwrap(),
            Message::InputValue(v) => into.as_mut().unwrap().apply_input(&v).unwrap(),
            _ => {}
        }
    }
}

/// A capture with a snapshot of the test page's URL and viewport begun, not yet walked.
pub fn begun(config: Config) -> Capture<usize> {
    let mut capture = Capture::new(config);
    capture.begin_snapshot(
        0,
        "https://shop.example/a/b.html".into(),
        protocol::Viewport {
            width: 800,
            height: 600,
        },
    );
    capture
}

/// Takes a full snapshot of `page` and returns the capture, its frames and the model.
pub fn snapshot(page: &FakePage, config: Config) -> (Capture<usize>, Vec<Vec<u8>>) {
    let mut capture = begun(config);
    assert!(capture.continue_snapshot(page).unwrap());
    let frames = capture.take_frames();
    (capture, frames)
}

/// The canonical form of `page` as a fresh snapshot sees it.
pub fn fresh_canonical(page: &FakePage, config: Config) -> String {
    let saved: Vec<Option<NodeId>> = page.nodes.borrow().iter().map(|n| n.cached.get()).collect();
    let mut capture = begun(config);
    while !capture.continue_snapshot(page).unwrap() {}
    let frames = capture.take_frames();
    for (n, id) in page.nodes.borrow().iter().zip(saved) {
        n.cached.set(id);
    }
    let mut dom = None;
    rebuild(&frames, &mut dom);
    dom.unwrap().canonical()
}

#[cfg(test)]
#[path = "capture_tests.rs"]
mod capture_tests;

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod snapshot_tests;
