//! What the browser reports to a running capture, as the capture's records: the mutation
//! observer's records (classified in one call, see `classifyRecords` in `hooks.js`), the resize
//! observer's boxes, the calls of the prototype hooks (the kinds `hooks.js` numbers), and each
//! event the session listens to, decoded into the [`Capture`] `record_*` call it means.
//!
//! A report reads only what the change itself carries and cannot be read later: the node an
//! event started at, a box's new size, the viewport, the URL and title a navigation leads to,
//! and an inserted rule's text (its index means nothing once the list changes again). The rest
//! is read at the flush.
//!
//! It deliberately registers nothing: which observers, listeners and hooks exist, on which
//! roots and for how long, is the session's (`session.rs`), which hands each report here.

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CssStyleSheet, Document, Element, Event, MouseEvent, Node};

use crate::capture::{Capture, RawRuleChange, SheetTarget};
use crate::web::page::WebPage;

/// What one event means to the capture (the session listens with these).
pub(super) type EventReport = fn(&mut Capture<Node>, &WebPage, &Event);

/// A DOM node from any realm (same-origin iframes have their own `Node`).
fn as_node(value: JsValue) -> Option<Node> {
    let is_node = value.is_object()
        && Reflect::get(&value, &JsValue::from_str("nodeType"))
            .ok()
            .and_then(|t| t.as_f64())
            .is_some();
    is_node.then(|| value.unchecked_into())
}

/// The node an event started at, inside open shadow roots.
fn origin(event: &Event) -> Option<Node> {
    as_node(event.composed_path().get(0))
}

/// Mutation observer records (only where to look; nothing is read yet).
pub(super) fn mutations(core: &mut Capture<Node>, page: &WebPage, records: Array) {
    let (pairs, names) = page.classify(&records);
    let names: Vec<&str> = names.split('\0').collect();
    for pair in pairs.chunks_exact(2) {
        let (kind, id) = (pair[0] & 3, pair[1]);
        let name = match kind {
            2 => match names.get((pair[0] >> 2) as usize) {
                Some(name) => name,
                None => continue,
            },
            _ => "",
        };
        core.record_by_id(kind, id, name);
    }
}

/// Resize observer entries: the boxed elements' new sizes.
pub(super) fn resized(core: &mut Capture<Node>, page: &WebPage, entries: Array) {
    for entry in entries.iter() {
        if entry.is_object() {
            let entry: web_sys::ResizeObserverEntry = entry.unchecked_into();
            let target: Element = entry.target();
            let rect = target.get_bounding_client_rect();
            let (w, h) = (
                rect.width().round().max(0.0) as u32,
                rect.height().round().max(0.0) as u32,
            );
            core.record_resize(page, &target.into(), w, h);
        }
    }
}

/// The page navigated within its document (`pushState`, `replaceState`, `popstate`,
/// `hashchange`): its URL and title now.
pub(super) fn navigated(core: &mut Capture<Node>, page: &WebPage) {
    let url = page.document.url().unwrap_or_default();
    let title = page.document.title();
    let title_el: Option<Node> = page
        .document
        .query_selector("title")
        .ok()
        .flatten()
        .map(Into::into);
    core.record_navigation(page, url, title, title_el.as_ref());
}

/// What the page's prototype hooks report (see `hooks.js` for the kinds).
pub(super) fn hook(
    core: &mut Capture<Node>,
    page: &WebPage,
    kind: u32,
    target: &JsValue,
    index: u32,
) {
    match kind {
        1..=3 => {
            if !target.is_object() {
                return;
            }
            let sheet: &CssStyleSheet = target.unchecked_ref();
            page.touched.add(sheet);
            let owner = sheet.owner_node();
            let number = match owner {
                Some(_) => 0,
                None => match page.known_sheet(sheet) {
                    Some(n) => n,
                    None => return,
                },
            };
            let target = || match &owner {
                Some(node) => SheetTarget::Owner(node),
                None => SheetTarget::Constructed(number),
            };
            let change = match kind {
                // A disabled sheet applies no rule: what changes in it goes as the whole
                // (empty) sheet, and all of it again once it is enabled.
                _ if sheet.disabled() => RawRuleChange::Full,
                // A rule's text is read only when it is sent on its own: a sheet that goes
                // whole (a CSS-in-JS library filling a new sheet) is read once, at the flush.
                1 if core.sends_rules_singly(page, target()) => {
                    match sheet.css_rules().ok().and_then(|r| r.item(index)) {
                        Some(rule) => {
                            let base = page.document.base_uri().ok().flatten().unwrap_or_default();
                            let text =
                                crate::url::absolutize_css(&base, &rule.css_text()).into_owned();
                            RawRuleChange::Insert { index, rule: text }
                        }
                        None => RawRuleChange::Full,
                    }
                }
                2 => RawRuleChange::Delete { index },
                _ => RawRuleChange::Full,
            };
            // A sheet that goes whole at the flush is not reported again until then.
            if core.record_sheet(page, target(), change) {
                crate::web::page::mark_whole(sheet);
            }
        }
        4 => core.record_adoption(),
        5 => {
            if let Some(node) = as_node(target.clone()) {
                core.record_value(page, &node);
            }
        }
        6 => navigated(core, page),
        // The host is sent again whole at the next flush, shadow root and all (its content
        // is usually set in the same task, after the attach).
        7 => {
            if let Some(node) = as_node(target.clone()) {
                core.record_resend(page, &node);
            }
        }
        _ => {}
    }
}

/// `popstate` and `hashchange`.
pub(super) fn navigation(core: &mut Capture<Node>, page: &WebPage, _: &Event) {
    navigated(core, page);
    target(core, page);
}

/// The element `:target` matches now (after a hash jump, or when a snapshot starts).
fn target(core: &mut Capture<Node>, page: &WebPage) {
    let found = page.document.query_selector(":target").ok().flatten();
    core.marks().record_target(found.map(Into::into));
}

/// When a snapshot starts: the focused element and the `:target` as they are.
pub(super) fn current_marks(core: &mut Capture<Node>, page: &WebPage) {
    let focused = page.document.active_element();
    let focused = focused.filter(|el| el.local_name() != "body");
    core.marks().record_focus(focused.map(Into::into));
    target(core, page);
}

/// The window's `resize`.
pub(super) fn viewport(core: &mut Capture<Node>, page: &WebPage, _: &Event) {
    let v = page.viewport();
    core.record_viewport(v.width, v.height);
}

/// `mousemove`: the customer's pointer.
pub(super) fn pointer(core: &mut Capture<Node>, _: &WebPage, event: &Event) {
    if let Some(m) = event.dyn_ref::<MouseEvent>() {
        core.record_pointer(m.client_x(), m.client_y());
        core.marks().record_hover(origin(event));
    }
}

/// `mouseout` to nowhere: the pointer left the window, so nothing is hovered.
pub(super) fn pointer_out(core: &mut Capture<Node>, _: &WebPage, event: &Event) {
    if event
        .dyn_ref::<MouseEvent>()
        .is_some_and(|m| m.related_target().is_none())
    {
        core.marks().record_hover(None);
    }
}

/// `input` and `change`: a form control's value.
pub(super) fn value(core: &mut Capture<Node>, page: &WebPage, event: &Event) {
    if let Some(node) = origin(event) {
        core.record_value(page, &node);
    }
}

/// `scroll` in a root: the window when it is the top document, a frame document's scrolling
/// element, or the element that scrolled.
pub(super) fn scroll(core: &mut Capture<Node>, page: &WebPage, event: &Event) {
    let Some(node) = origin(event) else { return };
    match (node.node_type() == Node::DOCUMENT_NODE).then(|| node.unchecked_ref::<Document>()) {
        Some(doc) if *doc == page.document => core.record_scroll(page, None),
        Some(doc) => {
            if let Some(el) = doc.scrolling_element() {
                core.record_scroll(page, Some(&el.into()));
            }
        }
        None => core.record_scroll(page, Some(&node)),
    }
}

/// `focusin`.
pub(super) fn focus_in(core: &mut Capture<Node>, _: &WebPage, event: &Event) {
    core.marks().record_focus(origin(event));
}

/// `focusout`.
pub(super) fn focus_out(core: &mut Capture<Node>, _: &WebPage, _: &Event) {
    core.marks().record_focus(None);
}

/// An `<iframe>`'s `load`: it is sent again whole with its new document.
pub(super) fn frame_loaded(core: &mut Capture<Node>, page: &WebPage, event: &Event) {
    if let Some(frame) = event.current_target().and_then(|t| as_node(t.into())) {
        core.record_resend(page, &frame);
    }
}
