//! The customer's side of a co-browse session: the connection to the relay (`hello`, `welcome`,
//! resume across page loads), capture's frames into the socket with a bound on what waits, the
//! consent flow (code and offer prompts, navigation requests, revoke, stop), pausing on URL
//! patterns, and agent frames: show-and-tell drawn by [`super::overlay`], input applied by
//! [`super::apply`] only after [`crate::control::decide`] allows it.
//!
//! One session per page, held in a thread-local: every callback (socket, capture, UI) finds it
//! there, so no reference cycle keeps a finished session alive.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use protocol::{FrameKind, Pairing, SessionMode};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, MessageEvent, WebSocket};

use super::overlay::{self, Ui};
use super::session::WebCapture;
use crate::control::{self, Outgoing, Rules};

/// Bytes the socket may hold unsent before capture frames are dropped and a fresh snapshot
/// is sent once it drains.
const MAX_BUFFERED: u32 = 4 << 20;

thread_local! {
    static PAGE: RefCell<Option<Rc<Page>>> = const { RefCell::new(None) };
}

fn current() -> Option<Rc<Page>> {
    PAGE.with(|p| p.borrow().clone())
}

/// What the loader passes to [`init`].
struct Opts {
    site: String,
    ws_url: String,
    /// The site configuration object (capture's selectors and the rules below).
    config: JsValue,
    rules: Rules,
    /// `emit(name, detail)`: the loader's event dispatch.
    emit: Function,
}

type Handler = Closure<dyn FnMut(JsValue)>;

/// The page's co-browse state.
struct Page {
    opts: Opts,
    ui: RefCell<Option<Ui>>,
    act: Closure<dyn FnMut(String, String)>,
    /// Bumped on every new socket, so events of an old socket are ignored.
    gen: Cell<u32>,
    ws: RefCell<Option<WebSocket>>,
    handlers: RefCell<Vec<Handler>>,
    capture: RefCell<Option<Rc<WebCapture>>>,
    on_frame: Closure<dyn FnMut(Uint8Array)>,
    later: Closure<dyn FnMut()>,
    /// While paused: watches the URL, so routing away from a paused page resumes sharing.
    poll: Closure<dyn FnMut()>,
    poll_id: Cell<i32>,
    mode: Cell<SessionMode>,
    welcomed: Cell<bool>,
    paused: Cell<bool>,
    /// The socket was full: capture frames are dropped until a fresh snapshot.
    overflow: Cell<bool>,
    settle: RefCell<Option<(Function, Function)>>,
    error: RefCell<Option<String>>,
    /// The last error refused what the page sent (see `flow::on_incoming`).
    refused: Cell<bool>,
    /// The offer token waiting for the customer's answer in the Accept prompt.
    offer: RefCell<Option<String>>,
    retries: Cell<u32>,
}

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

fn storage() -> Option<web_sys::Storage> {
    window().and_then(|w| w.session_storage().ok().flatten())
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn rules_of(config: &JsValue) -> Rules {
    let pause = get(config, "pause");
    Rules {
        agent_types_masked: get(config, "agentTypesMasked").is_truthy(),
        submit_readonly: get(config, "submitReadonly").is_truthy(),
        pause: if Array::is_array(&pause) {
            Array::from(&pause)
                .iter()
                .filter_map(|v| v.as_string())
                .collect()
        } else {
            Vec::new()
        },
    }
}

fn href() -> String {
    window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default()
}

/// Sets up the page's co-browse state once: `{ site, wsUrl, config, emit }`.
#[wasm_bindgen(js_name = initCustomer)]
pub fn init_customer(opts: JsValue) {
    if current().is_some() {
        return;
    }
    let config = get(&opts, "config");
    let page = Rc::new(Page {
        opts: Opts {
            site: get(&opts, "site").as_string().unwrap_or_default(),
            ws_url: get(&opts, "wsUrl").as_string().unwrap_or_default(),
            rules: rules_of(&config),
            config,
            emit: get(&opts, "emit")
                .dyn_into()
                .unwrap_or_else(|_| Function::new_no_args("")),
        },
        ui: RefCell::new(None),
        act: Closure::new(|name: String, value: String| on_ui(&name, &value)),
        gen: Cell::new(0),
        ws: RefCell::new(None),
        handlers: RefCell::new(Vec::new()),
        capture: RefCell::new(None),
        on_frame: Closure::new(on_frame),
        later: Closure::new(after_overflow),
        poll: Closure::new(flow::check_unpause),
        poll_id: Cell::new(0),
        mode: Cell::new(SessionMode::ReadOnly),
        welcomed: Cell::new(false),
        paused: Cell::new(false),
        overflow: Cell::new(false),
        settle: RefCell::new(None),
        error: RefCell::new(None),
        refused: Cell::new(false),
        offer: RefCell::new(None),
        retries: Cell::new(0),
    });
    PAGE.with(|p| *p.borrow_mut() = Some(page));
}

impl Page {
    fn ui(&self) -> Option<std::cell::Ref<'_, Ui>> {
        if self.ui.borrow().is_none() {
            let ui = Ui::new(self.act.as_ref().unchecked_ref());
            *self.ui.borrow_mut() = Some(ui);
        }
        std::cell::Ref::filter_map(self.ui.borrow(), Option::as_ref).ok()
    }

    fn emit(&self, name: &str, detail: &[(&str, JsValue)]) {
        let object = Object::new();
        for (k, v) in detail {
            let _ = Reflect::set(&object, &JsValue::from_str(k), v);
        }
        let _ = self
            .opts
            .emit
            .call2(&JsValue::NULL, &JsValue::from_str(name), &object);
    }

    fn storage_key(&self) -> String {
        crate::url::join(&["cobrowse:", &self.opts.site])
    }

    fn capture(&self) -> Option<Rc<WebCapture>> {
        self.capture.borrow().clone()
    }

    /// Sends one of the page's own frames: in capture's numbered stream while it runs.
    fn send(&self, frame: Outgoing) {
        match self.capture() {
            Some(capture) => capture.send_encoded(|seq| control::encode_outgoing(seq, &frame)),
            None => {
                if let Some(ws) = self.ws.borrow().as_ref() {
                    let _ = ws.send_with_u8_array(&control::encode_outgoing(0, &frame));
                }
            }
        }
    }

    fn granted(&self) -> bool {
        self.mode.get() == SessionMode::NavigationGranted && !self.paused.get()
    }

    fn show_banner(&self) {
        let state = overlay::banner_state(self.granted(), self.paused.get());
        if let Some(ui) = self.ui() {
            ui.banner(Some(state.to_owned()));
        }
    }

    fn stop_capture(&self) {
        if let Some(capture) = self.capture.borrow_mut().take() {
            capture.stop();
        }
    }
}

/// Connects with `kind` ("key", "offer" or "resume") and `value`. The promise resolves once
/// the relay welcomed the page and the first snapshot is under way.
#[wasm_bindgen(js_name = startSession)]
pub fn start_session(kind: &str, value: &str) -> Promise {
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let Some((resolve, reject)) = settle else {
        return promise;
    };
    let fail = |text: &str| {
        let _ = reject.call1(&JsValue::NULL, &js_sys::Error::new(text));
    };
    let Some(page) = current() else {
        fail("co-browse is not initialised");
        return promise;
    };
    if page.ws.borrow().is_some() {
        fail("a co-browse session is already running on this page");
        return promise;
    }
    let pairing = match kind {
        "key" => Pairing::SecurityKey(value.chars().filter(char::is_ascii_digit).collect()),
        "offer" => Pairing::OfferToken(value.trim().to_owned()),
        "resume" => Pairing::Resume(value.to_owned()),
        _ => {
            fail("unknown pairing kind");
            return promise;
        }
    };
    if value.trim().is_empty() {
        fail("enter the code your agent gave you");
        return promise;
    }
    *page.settle.borrow_mut() = Some((resolve, reject));
    connect(&page, pairing);
    promise
}

fn connect(page: &Rc<Page>, pairing: Pairing) {
    let ws = match WebSocket::new(&page.opts.ws_url) {
        Ok(ws) => ws,
        Err(_) => return settle_err(page, "cannot open a connection to the co-browse relay"),
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let gen = page.gen.get().wrapping_add(1);
    page.gen.set(gen);
    page.welcomed.set(false);
    *page.error.borrow_mut() = None;
    page.refused.set(false);
    let live = move || current().filter(|p| p.gen.get() == gen);
    let hello = control::encode_outgoing(
        0,
        &Outgoing::Hello {
            site: page.opts.site.clone(),
            pairing,
        },
    );
    let on_open: Handler = Closure::new(move |_| {
        if let Some(p) = live() {
            if let Some(ws) = p.ws.borrow().as_ref() {
                let _ = ws.send_with_u8_array(&hello);
            }
        }
    });
    let on_message: Handler = Closure::new(move |e: JsValue| {
        let Some(p) = live() else { return };
        let data = e.unchecked_into::<MessageEvent>().data();
        if let Some(incoming) = control::decode_incoming(&Uint8Array::new(&data).to_vec()) {
            on_incoming(&p, incoming);
        }
    });
    let on_close: Handler = Closure::new(move |_| {
        if let Some(p) = live() {
            on_closed(&p);
        }
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    *page.handlers.borrow_mut() = vec![on_open, on_message, on_close];
    *page.ws.borrow_mut() = Some(ws);
}

fn settle_err(page: &Page, text: &str) {
    if let Some((_, reject)) = page.settle.borrow_mut().take() {
        let _ = reject.call1(&JsValue::NULL, &js_sys::Error::new(text));
    }
}

fn drop_socket(page: &Page) {
    page.gen.set(page.gen.get().wrapping_add(1));
    if let Some(ws) = page.ws.borrow_mut().take() {
        ws.set_onopen(None);
        ws.set_onmessage(None);
        ws.set_onclose(None);
        let _ = ws.close_with_code(1000);
    }
    page.handlers.borrow_mut().clear();
}

/// The socket closed without an end: a refused pairing, or a lost connection to resume.
fn on_closed(page: &Rc<Page>) {
    let was_welcomed = page.welcomed.get();
    let error = page.error.borrow_mut().take();
    drop_socket(page);
    page.stop_capture();
    if !was_welcomed {
        let token = storage().and_then(|s| s.get_item(&page.storage_key()).ok().flatten());
        let resuming = token.is_some() && page.retries.get() > 0;
        if resuming && error.is_none() && page.retries.get() < 5 {
            return retry(page);
        }
        settle_err(
            page,
            error
                .as_deref()
                .unwrap_or("could not reach the co-browse relay"),
        );
        if token.is_some() {
            finish(page, "error");
        }
        return;
    }
    if page.refused.take() {
        // The relay refused what the page sent (a frame too large, say): it would again. Other
        // errors (a slow consumer, an internal one) are worth a resume.
        return finish(page, "error");
    }
    page.retries.set(1);
    retry(page);
}

/// Re-attaches after a lost connection, a second later.
fn retry(page: &Rc<Page>) {
    page.retries.set(page.retries.get() + 1);
    let Some(token) = storage().and_then(|s| s.get_item(&page.storage_key()).ok().flatten()) else {
        return finish(page, "error");
    };
    let again = Closure::once_into_js(move || {
        if let Some(p) = current() {
            if p.ws.borrow().is_none() {
                connect(&p, Pairing::Resume(token));
            }
        }
    });
    if let Some(w) = window() {
        let _ =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(again.unchecked_ref(), 1000);
    }
}

/// Ends the session on this page: stops capture, removes the UI, forgets the resume token.
fn finish(page: &Page, reason: &str) {
    drop_socket(page);
    page.stop_capture();
    page.mode.set(SessionMode::ReadOnly);
    page.paused.set(false);
    flow::stop_polling(page);
    page.retries.set(0);
    if let Some(s) = storage() {
        let _ = s.remove_item(&page.storage_key());
        let _ = s.remove_item(&(page.storage_key() + ":paused"));
    }
    if let Some(ui) = page.ui.borrow_mut().take() {
        ui.remove();
    }
    settle_err(
        page,
        &crate::url::join(&["the co-browse session ended (", reason, ")"]),
    );
    let was = page.welcomed.replace(false);
    if was || reason != "error" {
        page.emit("end", &[("reason", JsValue::from_str(reason))]);
    }
}

/// Ends the session from the page (the loader's `Cobrowse.end()`, or the Stop button).
#[wasm_bindgen(js_name = endSession)]
pub fn end_session() {
    if let Some(page) = current() {
        end_from_page(&page, "customer");
    }
}

/// Tells the relay the page ends the session, then ends it here with `reason`.
fn end_from_page(page: &Page, reason: &str) {
    if page.ws.borrow().is_some() {
        page.send(Outgoing::End);
        finish(page, reason);
    }
}

/// Opens the code prompt; the code is sent as a security key.
#[wasm_bindgen(js_name = enterCode)]
pub fn enter_code() {
    if let Some(page) = current() {
        if page.ws.borrow().is_none() {
            if let Some(ui) = page.ui() {
                ui.code_prompt();
            }
        }
    }
}

/// Shows the Accept prompt for an offer; accepting pairs with its token.
#[wasm_bindgen(js_name = offerPrompt)]
pub fn offer_prompt(token: String) {
    if let Some(page) = current() {
        *page.offer.borrow_mut() = Some(token);
        if let Some(ui) = page.ui() {
            ui.offer_prompt();
        }
    }
}

/// Resumes a session this tab started on an earlier page, if there is one.
#[wasm_bindgen(js_name = resumeSession)]
pub fn resume_session() -> bool {
    let Some(page) = current() else { return false };
    let token = storage().and_then(|s| s.get_item(&page.storage_key()).ok().flatten());
    match token {
        Some(token) if page.ws.borrow().is_none() => {
            page.retries.set(1);
            connect(&page, Pairing::Resume(token));
            true
        }
        _ => false,
    }
}

mod flow;
mod input;
use flow::{on_frame, on_incoming, on_ui};
use input::apply_input;

/// Sends a fresh snapshot once the socket has drained after an overflow.
fn after_overflow() {
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
        .and_then(FrameKind::from_code)
}
