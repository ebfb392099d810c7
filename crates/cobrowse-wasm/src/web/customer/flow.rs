//! The session's flow on the page: the welcome (start capture, or pause on a configured URL),
//! mode changes and the events they raise, agent frames, and capture's frames into the socket
//! with a bound on what waits unsent.

use std::rc::Rc;

use js_sys::Uint8Array;
use protocol::{FrameKind, Role, SessionMode, Welcome};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::grant;
use super::input::apply_input;
use super::secure;
use super::state::{current, href, storage, window, Page};
use crate::control::{self, end_reason_name, Incoming, Outgoing};
use crate::web::overlay;
use crate::web::session::WebCapture;

/// Bytes the socket may hold unsent before capture frames are dropped and a fresh snapshot
/// is sent once it drains.
const MAX_BUFFERED: u32 = 4 << 20;

/// Capture's frames, in order, into the socket. Past [`MAX_BUFFERED`] unsent bytes, frames are
/// dropped until a fresh snapshot, so nothing waits without bound. A frame the relay would
/// refuse as too large is not sent: a batch is dropped for a fresh snapshot, and a snapshot
/// that large ends the session (`too-large`), since every later one would be refused too.
/// The page's End is always sent, so the agent hears of the end whatever was dropped, and so
/// is every part of a snapshot begun (their total is the page's size, sent once).
pub(super) fn on_frame(bytes: Uint8Array) {
    let Some(page) = current() else { return };
    let kind = kind_of(&bytes);
    let droppable = kind != Some(FrameKind::End);
    {
        let ws = page.ws.borrow();
        let Some(ws) = ws
            .as_ref()
            .filter(|ws| ws.ready_state() == web_sys::WebSocket::OPEN)
        else {
            return;
        };
        // A large page's snapshot goes in parts, each needed: one is never dropped because
        // the socket is busy (its beginning may be, and then the rest go with it).
        let part = kind == Some(FrameKind::SnapshotPart);
        if bytes.length() as usize > protocol::MAX_FRAME_BYTES {
            if part || kind.is_some_and(FrameKind::starts_snapshot) {
                // Not from inside capture's delivery: end in a task of its own.
                // The socket is open here, so the End goes out on it at once.
                later(|p| {
                    p.end_from_page("too-large");
                });
            } else {
                page.overflow.set(true);
                schedule_later(&page, 0);
            }
            return;
        }
        if page.overflow.get() && droppable {
            if !kind.is_some_and(FrameKind::starts_snapshot) {
                return;
            }
            page.overflow.set(false);
        }
        if ws.buffered_amount() > MAX_BUFFERED && droppable && !part {
            page.overflow.set(true);
            schedule_later(&page, 200);
            return;
        }
        let _ = ws.send_with_array_buffer_view(&bytes);
    }
    let adds_nodes = matches!(kind, Some(FrameKind::Mutations | FrameKind::SnapshotPart))
        || kind.is_some_and(FrameKind::starts_snapshot);
    if adds_nodes && page.terms.get().scoped {
        // Not from inside capture's delivery: capture's ids are readable once it returns.
        later(|p| {
            if let Some(mode) = grant::sync_scope(p) {
                set_mode(p, mode);
            }
        });
    }
    if kind == Some(FrameKind::Navigated) && control::is_paused(&href(), &page.opts.rules) {
        // Not from inside capture's delivery: pause in a task of its own.
        later(pause);
    }
}

/// Sends a fresh snapshot once the socket has drained after an overflow.
pub(super) fn after_overflow() {
    let Some(page) = current() else { return };
    let drained = page
        .ws
        .borrow()
        .as_ref()
        .is_some_and(|ws| ws.buffered_amount() < MAX_BUFFERED / 4);
    match (drained, page.capture()) {
        (true, Some(capture)) => capture.snapshot(),
        (false, Some(_)) => schedule_later(&page, 200),
        _ => {}
    }
}

fn schedule_later(page: &Page, ms: i32) {
    if let Some(w) = window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
            page.later.as_ref().unchecked_ref(),
            ms,
        );
    }
}

/// The kind byte of an encoded frame.
fn kind_of(bytes: &Uint8Array) -> Option<FrameKind> {
    (bytes.length() > 0)
        .then(|| bytes.get_index(0))
        .and_then(|code| FrameKind::from_code(code & !protocol::SEALED))
}

/// Runs `act` on the current page in a task of its own.
fn later(act: impl FnOnce(&Page) + 'static) {
    let task = Closure::once_into_js(move || {
        if let Some(p) = current() {
            act(&p);
        }
    });
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(task.unchecked_ref(), 0);
    }
}

fn paused_key(page: &Page) -> String {
    page.storage_key() + ":paused"
}

/// Stops sharing on a URL the site configured as private; the agent is told.
fn pause(page: &Page) {
    if page.paused.get() {
        return;
    }
    page.stop_capture();
    page.paused.set(true);
    page.send(Outgoing::Paused(true));
    if let Some(s) = storage() {
        let _ = s.set_item(&paused_key(page), "1");
    }
    if let Some(ui) = page.ui() {
        ui.close();
    }
    page.show_banner();
    page.emit("paused", &[]);
    if page.poll_id.get() == 0 {
        if let Some(w) = web_sys::window() {
            let id = w.set_interval_with_callback_and_timeout_and_arguments_0(
                page.poll.as_ref().unchecked_ref(),
                500,
            );
            page.poll_id.set(id.unwrap_or(0));
        }
    }
}

/// While paused: the page routed (`pushState`, hash) to a URL that does not pause.
pub(super) fn check_unpause() {
    let Some(page) = current() else { return };
    if !page.paused.get() || page.ws.borrow().is_none() {
        return page.stop_polling();
    }
    if !control::is_paused(&href(), &page.opts.rules) {
        resume(&page);
        page.show_banner();
    }
}

/// Sharing resumes: "resumed" first, then the fresh snapshot, so the mirror leaves "paused"
/// for the new page.
fn resume(page: &Page) {
    page.stop_polling();
    page.paused.set(false);
    if let Some(s) = storage() {
        let _ = s.remove_item(&paused_key(page));
    }
    page.send(Outgoing::Paused(false));
    page.emit("resumed", &[]);
    start_capture(page);
}

fn start_capture(page: &Page) {
    let Ok(capture) = WebCapture::start_with(
        page.opts.config.clone(),
        page.on_frame
            .as_ref()
            .unchecked_ref::<js_sys::Function>()
            .clone(),
        page.next_seq.get(),
        secure::encrypted(page).then(secure::seal_hook),
    ) else {
        return;
    };
    *page.capture.borrow_mut() = Some(Rc::new(capture));
}

fn welcome(page: &Page, w: Welcome) {
    secure::on_welcome(page, &w.session_id);
    page.welcomed.set(true);
    page.retries.set(0);
    if let (Some(s), Some(token)) = (storage(), &w.resume_token) {
        let _ = s.set_item(&page.storage_key(), token);
    }
    let was_paused = storage()
        .and_then(|s| s.get_item(&paused_key(page)).ok().flatten())
        .is_some();
    page.paused.set(false);
    if control::is_paused(&href(), &page.opts.rules) {
        pause(page);
    } else if was_paused {
        resume(page);
    } else {
        start_capture(page);
    }
    let resumed = page.settle.borrow().is_none();
    page.emit(
        "start",
        &[
            ("sessionId", JsValue::from_str(&w.session_id)),
            ("resumed", JsValue::from_bool(resumed)),
        ],
    );
    // The relay restores a grant only for the page that holds it; the page checks again.
    let mode = control::welcomed_mode(w.mode, w.grant, page.held_grant());
    page.mode.set(SessionMode::ReadOnly);
    follow(page, mode, w.grant);
    if mode != w.mode {
        page.send(Outgoing::Revoke);
    }
    page.show_banner();
    if let Some((resolve, _)) = page.settle.borrow_mut().take() {
        let _ = resolve.call1(&JsValue::NULL, &JsValue::from_str(&w.session_id));
    }
}

/// The grant's timer: the countdown, and the end of a time-boxed grant by the page's clock.
pub(super) fn tick() {
    let Some(page) = current() else { return };
    if let Some(mode) = grant::tick(&page) {
        set_mode(&page, mode);
    }
}

/// Follows a mode the relay announced with the number of its latest grant: under a grant, the
/// page keeps the number to name when it resumes.
fn follow(page: &Page, mode: SessionMode, grant: u32) {
    if mode == SessionMode::NavigationGranted {
        page.hold_grant(grant);
    }
    set_mode(page, mode);
}

/// Takes `mode` (the relay's, or the customer's own answer) and raises the loader's events on
/// the way. Any mode but granted forgets the grant the page held.
pub(super) fn set_mode(page: &Page, mode: SessionMode) {
    if mode != SessionMode::NavigationGranted {
        page.hold_grant(0);
    }
    let before = page.mode.replace(mode);
    if before == mode {
        return;
    }
    if let Some(ui) = page.ui() {
        match mode {
            SessionMode::NavigationRequested => {
                let area = page.area.borrow().is_some();
                let choices: js_sys::Array = page
                    .opts
                    .choices
                    .iter()
                    .map(|&s| JsValue::from(s))
                    .collect();
                ui.nav_prompt(area, &choices)
            }
            _ => ui.close(),
        }
    }
    match (before, mode) {
        (_, SessionMode::NavigationGranted) => {
            grant::started(page);
            page.emit("granted", &[]);
        }
        (SessionMode::NavigationGranted, _) => {
            grant::stopped(page);
            page.emit("revoked", &[]);
        }
        (SessionMode::NavigationRequested, _) => grant::stopped(page),
        _ => {}
    }
    page.show_banner();
}

pub(super) fn on_incoming(page: &Rc<Page>, incoming: Incoming) {
    let ui = || page.ui();
    match incoming {
        Incoming::Welcome(w) => welcome(page, w),
        Incoming::End(e) => page.finish(end_reason_name(e.reason)),
        Incoming::Error(code, text) => {
            page.refused.set(control::refuses_what_was_sent(code));
            *page.error.borrow_mut() = Some(text);
        }
        Incoming::Mode(mode, grant) => follow(page, mode, grant),
        Incoming::Status {
            mode,
            remaining_ms,
            scope,
            ..
        } => {
            if let Some(mode) = grant::on_status(page, mode, remaining_ms, scope) {
                set_mode(page, mode);
            }
        }
        Incoming::AreaRequest(node) => {
            if let Some(mode) = grant::on_area_request(page, node) {
                set_mode(page, mode);
            }
        }
        Incoming::Presence(Role::Agent, true) => secure::on_agent_present(page),
        Incoming::Presence(..) => {}
        Incoming::KeyReply(reply) => secure::on_reply(page, &reply),
        Incoming::Viewers(count) => {
            page.viewers.set(count);
            if page.welcomed.get() {
                page.show_banner();
            }
        }
        Incoming::ResyncRequest => {
            if let Some(capture) = page.capture() {
                capture.snapshot();
            }
        }
        Incoming::AgentPointer(p) => {
            if let Some(ui) = ui() {
                overlay::draw_pointer(&ui, p);
            }
        }
        Incoming::Highlight(h) => {
            let node = page.capture().and_then(|c| c.node(h.node));
            if let Some(ui) = ui() {
                overlay::draw_highlight(&ui, node);
            }
        }
        Incoming::Stroke(s) => {
            if let Some(ui) = ui() {
                overlay::draw_stroke(&ui, &s);
            }
        }
        Incoming::ClearAnnotations => {
            if let Some(ui) = ui() {
                ui.clear();
            }
        }
        Incoming::NavigationRequest => {
            if page.mode.get() == SessionMode::ReadOnly {
                page.area.borrow_mut().take();
                set_mode(page, SessionMode::NavigationRequested);
            }
        }
        input => apply_input(page, input),
    }
}
