//! The customer's side of a co-browse session: the connection to the relay (`hello`, `welcome`,
//! resume across page loads), capture's frames into the socket with a bound on what waits, the
//! consent flow (code and offer prompts, navigation requests, revoke, stop), pausing on URL
//! patterns, and agent frames: show-and-tell drawn by [`super::overlay`], input applied by
//! [`super::apply`] only after [`crate::control::decide`] allows it.
//!
//! One session per page. Its modules import one way, this file on top:
//! - `state`: the page's state in a thread-local, the helpers every part shares, and how a
//!   session ends on the page. It calls no other part.
//! - `grant`: the terms of a grant on the page (the answer's duration and region, countdown,
//!   outline, the region gate, the region's ids for the relay); it calls only `state`.
//! - `input`: agent input through the page's own gate.
//! - `secure`: end-to-end encryption on the page: the typed code split, the keys, frames
//!   sealed and opened, the exchange whenever an agent connects; it calls only `state`.
//! - `flow`: the welcome, modes, pausing, agent frames, and capture's frames into the socket.
//! - this file: the loader's entry points (`initCustomer`, `startSession`, ...), the socket's
//!   life (connect, close, resume), and the customer's answers in the UI, which call those
//!   entry points.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Uint8Array};
use protocol::{Pairing, SessionMode};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, MessageEvent, WebSocket};

use crate::control::{self, Outgoing, Rules};

mod flow;
mod grant;
mod input;
mod secure;
mod state;

use state::{current, get, window, Handler, Opts, Page};

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

/// The numbers in `value` if it is an array (none otherwise).
fn numbers(value: &JsValue) -> Vec<f64> {
    if !Array::is_array(value) {
        return Vec::new();
    }
    Array::from(value)
        .iter()
        .filter_map(|v| v.as_f64())
        .collect()
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
            choices: control::choices(&numbers(&get(&config, "grantSecs"))),
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
        on_frame: Closure::new(flow::on_frame),
        later: Closure::new(flow::after_overflow),
        poll: Closure::new(flow::check_unpause),
        poll_id: Cell::new(0),
        mode: Cell::new(SessionMode::ReadOnly),
        welcomed: Cell::new(false),
        paused: Cell::new(false),
        viewers: Cell::new(1),
        overflow: Cell::new(false),
        settle: RefCell::new(None),
        error: RefCell::new(None),
        refused: Cell::new(false),
        offer: RefCell::new(None),
        retries: Cell::new(0),
        ending: Cell::new(false),
        terms: Cell::new(control::PageGrant::default()),
        area: RefCell::new(None),
        scope_sent: RefCell::new(Vec::new()),
        scope_root: Cell::new(0),
        tick: Closure::new(flow::tick),
        tick_id: Cell::new(0),
        keying: RefCell::new(None),
        security: RefCell::new(None),
        next_seq: Cell::new(0),
    });
    state::install(page);
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
    if page.ws.borrow().is_some() || page.ending.get() {
        fail("a co-browse session is already running on this page");
        return promise;
    }
    if value.trim().is_empty() {
        fail("enter the code your agent gave you");
        return promise;
    }
    let pairing = match kind {
        "key" => match secure::pairing_of_code(&page, value) {
            Ok(pairing) => pairing,
            Err(text) => {
                fail(&text);
                return promise;
            }
        },
        "offer" => secure::pairing_of_offer(&page, value),
        "resume" => Pairing::Resume {
            token: value.to_owned(),
            grant: page.held_grant(),
        },
        _ => {
            fail("unknown pairing kind");
            return promise;
        }
    };
    *page.settle.borrow_mut() = Some((resolve, reject));
    connect(&page, pairing);
    promise
}

fn connect(page: &Rc<Page>, pairing: Pairing) {
    let ws = match WebSocket::new(&page.opts.ws_url) {
        Ok(ws) => ws,
        Err(_) => return page.settle_err("cannot open a connection to the co-browse relay"),
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
                if p.ending.get() {
                    // A Stop pressed while offline: the first thing the relay hears after the
                    // hello, before it can forward anything to this page.
                    let _ = ws.send_with_u8_array(&control::encode_outgoing(0, &Outgoing::End));
                }
            }
        }
    });
    let on_message: Handler = Closure::new(move |e: JsValue| {
        let Some(p) = live() else { return };
        let data = e.unchecked_into::<MessageEvent>().data();
        let mut bytes = Uint8Array::new(&data).to_vec();
        if !secure::open(&p, &mut bytes) {
            return;
        }
        let Some(incoming) = control::decode_incoming(&bytes) else {
            return;
        };
        if !p.ending.get() {
            flow::on_incoming(&p, incoming);
        } else if matches!(
            incoming,
            control::Incoming::End(_) | control::Incoming::Error(..)
        ) {
            // Ended by our End, or there was nothing left to end: either way, done. Nothing
            // else is read: the session is over on this page.
            p.ended_at_relay();
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

/// The socket closed without an end: a refused pairing, or a lost connection to resume.
fn on_closed(page: &Rc<Page>) {
    let was_welcomed = page.welcomed.get();
    let error = page.error.borrow_mut().take();
    page.drop_socket();
    page.stop_capture();
    if page.ending.get() {
        // The Stop has not reached the relay yet: try again, and after a few failures leave
        // it marked for the tab's next page load.
        if page.retries.get() < 5 {
            return retry(page);
        }
        page.ending.set(false);
        page.retries.set(0);
        return;
    }
    if !was_welcomed {
        let token = page.stored();
        let resuming = token.is_some() && page.retries.get() > 0;
        if resuming && error.is_none() && page.retries.get() < 5 {
            return retry(page);
        }
        page.settle_err(
            error
                .as_deref()
                .unwrap_or("could not reach the co-browse relay"),
        );
        if token.is_some() {
            page.finish("error");
        }
        return;
    }
    if page.refused.take() {
        // The relay refused what the page sent (a frame too large, say): it would again. Other
        // errors (a slow consumer, an internal one) are worth a resume.
        return page.finish("error");
    }
    page.retries.set(1);
    retry(page);
}

/// Re-attaches after a lost connection, a second later. What to present is read when the
/// time comes: a Stop meanwhile ended the session (nothing to resume) or left an End to
/// deliver, and a Revoke meanwhile left no grant to name.
fn retry(page: &Rc<Page>) {
    page.retries.set(page.retries.get() + 1);
    if page.stored().is_none() {
        return page.finish("error");
    }
    let again = Closure::once_into_js(move || {
        if let Some(p) = current() {
            if p.ws.borrow().is_none() && p.retries.get() > 0 {
                reconnect(&p);
            }
        }
    });
    if let Some(w) = window() {
        let _ =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(again.unchecked_ref(), 1000);
    }
}

/// Connects again as the stored session says: to resume it, or only to deliver its End.
fn reconnect(page: &Rc<Page>) -> bool {
    let Some((pairing, ending)) = page.resume_pairing() else {
        return false;
    };
    page.ending.set(ending);
    connect(page, pairing);
    true
}

/// Ends the session from the page (the loader's `Cobrowse.end()`, or the Stop button). It ends
/// here at once whatever the network does; with the socket down the End goes out first on
/// the next connection.
#[wasm_bindgen(js_name = endSession)]
pub fn end_session() {
    if let Some(page) = current() {
        if page.end_from_page("customer") {
            page.retries.set(1);
            reconnect(&page);
        }
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
    if page.ws.borrow().is_some() {
        return false;
    }
    page.retries.set(1);
    reconnect(&page)
}

/// What the customer did in the UI.
fn on_ui(name: &str, value: &str) {
    let Some(page) = current() else { return };
    match name {
        "code" => {
            let promise = start_session("key", value);
            let ok = Closure::once_into_js(|_: JsValue| {
                if let Some(ui) = current().as_ref().and_then(|p| p.ui()) {
                    ui.close();
                }
            });
            let err = Closure::once_into_js(|e: JsValue| {
                let text = js_sys::Reflect::get(&e, &JsValue::from_str("message"))
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or_default();
                if let Some(p) = current() {
                    if let Some(ui) = p.ui() {
                        ui.code_error(&text);
                    }
                }
            });
            // Through `then` as a plain function: both callbacks free themselves once called.
            if let Ok(then) = js_sys::Reflect::get(&promise, &JsValue::from_str("then")) {
                let _ = then
                    .unchecked_into::<js_sys::Function>()
                    .call2(&promise, &ok, &err);
            }
        }
        "cancel" => {
            page.offer.borrow_mut().take();
            if let Some(ui) = page.ui() {
                ui.close();
            }
            if page.ws.borrow().is_none() {
                if let Some(ui) = page.ui.borrow_mut().take() {
                    ui.remove();
                }
            }
        }
        "accept" => {
            if let Some(token) = page.offer.borrow_mut().take() {
                if let Some(ui) = page.ui() {
                    ui.close();
                }
                let _ = start_session("offer", &token);
            }
        }
        "allow" | "deny" if page.mode.get() == SessionMode::NavigationRequested => {
            if name == "allow" {
                // The button's value is the duration in seconds ("0": until stopped).
                let secs = state::digits_value(value.trim()).unwrap_or(0);
                if let Some(mode) = grant::answer(&page, secs) {
                    flow::set_mode(&page, mode);
                }
            } else {
                page.send(Outgoing::Decline);
                flow::set_mode(&page, SessionMode::ReadOnly);
            }
            if let Some(ui) = page.ui() {
                ui.close();
            }
        }
        "revoke" => {
            if matches!(
                page.mode.get(),
                SessionMode::NavigationGranted | SessionMode::NavigationRequested
            ) {
                // Local first: input already on its way is refused from this moment, and the
                // grant is forgotten, so a resume (the socket may be down and this frame lost)
                // names none and the relay does not restore it.
                flow::set_mode(&page, SessionMode::ReadOnly);
                page.send(Outgoing::Revoke);
            }
        }
        "stop" => end_session(),
        _ => {}
    }
}
