//! Time-boxed and scoped grants on the page: the customer's answer (a duration, and the region
//! asked for as node ids), the banner's countdown and the region's outline, ending the grant
//! by the page's own clock, the page's gate over the region (targets inside the region's
//! element only), and keeping the relay's copy of the region current: ids of nodes added
//! inside it, all of them anew after a snapshot, and word when it leaves the page.
//!
//! Decisions are [`crate::control::PageGrant`]'s; this file reads the clock and the DOM. Where
//! the page must change its mode, a function returns it for `flow` to take (this module is
//! below `flow`, and calls it not).

use protocol::{GrantTerms, Refusal, ScopeNodes, SessionMode, MAX_SCOPE_NODES};
use wasm_bindgen::JsCast;
use web_sys::{Element, Node};

use super::state::{window, Page};
use crate::control::{Outgoing, PageGrant};

/// The page's clock, in milliseconds.
pub(super) fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The node ids of `root`'s subtree as capture numbers them, root first; `None` past the bound.
fn region_ids(page: &Page, root: &Node) -> Option<Vec<u32>> {
    let capture = page.capture()?;
    let mut ids = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(node) = stack.pop() {
        let id = capture.node_id(&node);
        if id != 0 {
            if ids.len() == MAX_SCOPE_NODES {
                return None;
            }
            ids.push(id);
        }
        let mut child = node.last_child();
        while let Some(c) = child {
            child = c.previous_sibling();
            stack.push(c);
        }
    }
    Some(ids)
}

/// Adds `ids` to the sorted, duplicate-free `set` (the relay's set, without a tree's or a
/// sort's code in the package; regions hold a thousand ids at most).
fn add_sorted(set: &mut Vec<u32>, ids: &[u32]) {
    for &id in ids {
        if let Err(at) = set.binary_search(&id) {
            set.insert(at, id);
        }
    }
}

/// The agent asks for control of the region under `node`: the prompt names it, outlined.
/// Returns the mode to take.
pub(super) fn on_area_request(page: &Page, node: u32) -> Option<SessionMode> {
    if page.mode.get() != SessionMode::ReadOnly {
        return None;
    }
    let element = page
        .capture()
        .and_then(|c| c.node(node))
        .and_then(|n| n.dyn_into::<Element>().ok());
    let Some(element) = element.filter(|e| e.is_connected()) else {
        // Nothing the customer could be shown: declined at once.
        page.send(Outgoing::Decline);
        return None;
    };
    *page.area.borrow_mut() = Some(element);
    outline(page);
    Some(SessionMode::NavigationRequested)
}

/// The customer allowed control for `secs` seconds (0: until stopped), over the region asked
/// for if there is one. A region too large to name is declined instead (the mode to take).
pub(super) fn answer(page: &Page, secs: u32) -> Option<SessionMode> {
    let area = page.area.borrow().clone();
    let scope = match &area {
        Some(el) => match region_ids(page, el) {
            Some(ids) if !ids.is_empty() => ids,
            _ => {
                page.send(Outgoing::Decline);
                return Some(SessionMode::ReadOnly);
            }
        },
        None => Vec::new(),
    };
    page.terms
        .set(PageGrant::answered(now_ms(), secs, area.is_some()));
    let mut sent = Vec::with_capacity(scope.len());
    add_sorted(&mut sent, &scope);
    *page.scope_sent.borrow_mut() = sent;
    page.scope_root.set(scope.first().copied().unwrap_or(0));
    page.send(Outgoing::AcceptOn(GrantTerms {
        duration_secs: secs,
        scope,
    }));
    None
}

/// The relay said why the mode is what it is, and how long is left. Returns the mode to take.
pub(super) fn on_status(
    page: &Page,
    mode: SessionMode,
    left: Option<u32>,
    scope: Option<u32>,
) -> Option<SessionMode> {
    if mode != SessionMode::NavigationGranted || page.mode.get() != mode {
        return None;
    }
    if scope.is_some() && page.area.borrow().is_none() {
        // A new page load under a scoped grant: the region went with the old page (its ids
        // numbered that page's nodes), so the grant ends, as for any region that leaves.
        page.send(Outgoing::ScopeRemoved);
        return Some(SessionMode::ReadOnly);
    }
    let mut terms = page.terms.get();
    terms.bound_by(now_ms(), left);
    terms.scoped = terms.scoped || scope.is_some();
    page.terms.set(terms);
    tick(page)
}

/// The page now lives under a grant: the countdown and the outline start.
pub(super) fn started(page: &Page) {
    if page.tick_id.get() == 0 {
        if let Some(w) = window() {
            let id = w.set_interval_with_callback_and_timeout_and_arguments_0(
                page.tick.as_ref().unchecked_ref(),
                250,
            );
            page.tick_id.set(id.unwrap_or(0));
        }
    }
    outline(page);
}

/// The grant (or the request) is over: no countdown, no outline, no terms.
pub(super) fn stopped(page: &Page) {
    let id = page.tick_id.replace(0);
    if id != 0 {
        if let Some(w) = window() {
            w.clear_interval_with_handle(id);
        }
    }
    page.terms.set(PageGrant::default());
    page.area.borrow_mut().take();
    page.scope_sent.borrow_mut().clear();
    page.scope_root.set(0);
    // The UI as it is: a session that finished has none, and gets none back.
    if let Some(ui) = page.ui.borrow().as_ref() {
        ui.outline(None);
    }
}

/// Every quarter second under a grant: the banner's countdown, the outline, and the end of a
/// time-boxed grant by the page's own clock (the relay ends it too, and says so): then the
/// mode to take.
pub(super) fn tick(page: &Page) -> Option<SessionMode> {
    if page.mode.get() != SessionMode::NavigationGranted {
        stopped(page);
        return None;
    }
    if page.terms.get().expired(now_ms()) {
        return Some(SessionMode::ReadOnly);
    }
    page.show_banner();
    outline(page);
    None
}

fn outline(page: &Page) {
    let ui = page.ui.borrow();
    let Some(ui) = ui.as_ref() else { return };
    let area = page.area.borrow();
    let Some(el) = area.as_ref().filter(|e| e.is_connected()) else {
        return ui.outline(None);
    };
    let rect = el.get_bounding_client_rect();
    let (sx, sy) = window()
        .map(|w| (w.scroll_x().unwrap_or(0.0), w.scroll_y().unwrap_or(0.0)))
        .unwrap_or_default();
    let box_ = [
        rect.left() + sx,
        rect.top() + sy,
        rect.width(),
        rect.height(),
    ];
    ui.outline(Some(box_.to_vec()));
}

/// The page's gate over a grant's terms: `target` is the input's element (`None` for the
/// window or a navigation); an input that `navigates` leaves the page.
pub(super) fn allows(page: &Page, navigates: bool, target: Option<&Node>) -> Result<(), Refusal> {
    let terms = page.terms.get();
    let inside = match (page.area.borrow().as_ref(), target) {
        (Some(area), Some(t)) => area.contains(Some(t)),
        _ => false,
    };
    terms.check(now_ms(), navigates, inside)
}

/// After capture sent a snapshot or a batch under a scoped grant: the relay learns the ids of
/// nodes added inside the region (all of them anew after a snapshot, which numbers the page
/// afresh), and that the region left the page, which ends the grant. A region grown past the
/// bound ends it too (the customer's page takes control back).
pub(super) fn sync_scope(page: &Page) -> Option<SessionMode> {
    if page.mode.get() != SessionMode::NavigationGranted || !page.terms.get().scoped {
        return None;
    }
    let area = page.area.borrow().clone();
    let Some(el) = area.filter(|e| e.is_connected()) else {
        page.send(Outgoing::ScopeRemoved);
        return Some(SessionMode::ReadOnly);
    };
    let Some(ids) = region_ids(page, &el) else {
        page.send(Outgoing::Revoke);
        return Some(SessionMode::ReadOnly);
    };
    let &root = ids.first()?;
    let replace = root != page.scope_root.get();
    let mut sent = page.scope_sent.borrow_mut();
    let nodes: Vec<u32> = if replace {
        ids.clone()
    } else {
        ids.iter()
            .copied()
            .filter(|id| sent.binary_search(id).is_err())
            .collect()
    };
    if nodes.is_empty() {
        return None;
    }
    if replace {
        sent.clear();
        page.scope_root.set(root);
    }
    add_sorted(&mut sent, &nodes);
    if sent.len() > MAX_SCOPE_NODES {
        drop(sent);
        page.send(Outgoing::Revoke);
        return Some(SessionMode::ReadOnly);
    }
    drop(sent);
    page.send(Outgoing::Scope(ScopeNodes { replace, nodes }));
    None
}
