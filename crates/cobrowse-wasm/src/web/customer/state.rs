//! The page's co-browse state and what every part of the session does with it: the one
//! [`Page`] per page in a thread-local, the loader's options, the UI, the socket, the running
//! capture, and how a session ends on this page ([`Page::finish`]). Also the few browser
//! reads they share (the URL, `sessionStorage`).
//!
//! The state is kept in a thread-local, not in closures: every callback (socket, capture, UI)
//! finds it there, so no reference cycle keeps a finished session alive. This module calls no
//! other part of the session; `flow`, `input` and the entry points in `customer.rs` build on it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Object, Reflect, Uint8Array};
use protocol::{Pairing, SessionMode};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::WebSocket;

use crate::control::{self, Outgoing, PageGrant, Rules};
use crate::web::overlay::{self, Ui};
use crate::web::session::WebCapture;

thread_local! {
    static PAGE: RefCell<Option<Rc<Page>>> = const { RefCell::new(None) };
}

/// The page's state, once `initCustomer` set it up.
pub(super) fn current() -> Option<Rc<Page>> {
    PAGE.with(|p| p.borrow().clone())
}

/// Makes `page` the page's state (once, from `initCustomer`).
pub(super) fn install(page: Rc<Page>) {
    PAGE.with(|p| *p.borrow_mut() = Some(page));
}

/// What the loader passes to `initCustomer`.
pub(super) struct Opts {
    pub(super) site: String,
    pub(super) ws_url: String,
    /// The site configuration object (capture's selectors and the rules below).
    pub(super) config: JsValue,
    pub(super) rules: Rules,
    /// The grant durations offered to the customer, in seconds (the site's `grantSecs`).
    pub(super) choices: Vec<u32>,
    /// `emit(name, detail)`: the loader's event dispatch.
    pub(super) emit: Function,
}

pub(super) type Handler = Closure<dyn FnMut(JsValue)>;

/// How a session is keyed end to end.
#[derive(Clone)]
pub(super) enum Keying {
    /// By the code the customer typed: its secret part.
    Code(e2ee::Secret),
    /// Accepted in a chat: by the two people comparing the safety code.
    Compare,
}

/// The page's co-browse state.
pub(super) struct Page {
    pub(super) opts: Opts,
    pub(super) ui: RefCell<Option<Ui>>,
    pub(super) act: Closure<dyn FnMut(String, String)>,
    /// Bumped on every new socket, so events of an old socket are ignored.
    pub(super) gen: Cell<u32>,
    pub(super) ws: RefCell<Option<WebSocket>>,
    pub(super) handlers: RefCell<Vec<Handler>>,
    pub(super) capture: RefCell<Option<Rc<WebCapture>>>,
    pub(super) on_frame: Closure<dyn FnMut(Uint8Array)>,
    pub(super) later: Closure<dyn FnMut()>,
    /// While paused: watches the URL, so routing away from a paused page resumes sharing.
    pub(super) poll: Closure<dyn FnMut()>,
    pub(super) poll_id: Cell<i32>,
    pub(super) mode: Cell<SessionMode>,
    pub(super) welcomed: Cell<bool>,
    pub(super) paused: Cell<bool>,
    /// People viewing the page, as the relay last said (the banner names more than one).
    pub(super) viewers: Cell<u32>,
    /// The socket was full: capture frames are dropped until a fresh snapshot.
    pub(super) overflow: Cell<bool>,
    pub(super) settle: RefCell<Option<(Function, Function)>>,
    pub(super) error: RefCell<Option<String>>,
    /// The last error refused what the page sent (see `flow::on_incoming`).
    pub(super) refused: Cell<bool>,
    /// The offer token waiting for the customer's answer in the Accept prompt.
    pub(super) offer: RefCell<Option<String>>,
    pub(super) retries: Cell<u32>,
    /// The customer pressed Stop while the socket was down: the session ended on the page, and
    /// the current connection only carries the page's End to the relay (see `end_from_page`).
    pub(super) ending: Cell<bool>,
    /// The terms of the grant the page lives under: its own deadline, whether scoped.
    pub(super) terms: Cell<PageGrant>,
    /// The region the agent asked for, then the granted one (outlined on the page).
    pub(super) area: RefCell<Option<web_sys::Element>>,
    /// The region's node ids as the relay knows them, and its root's id.
    pub(super) scope_sent: RefCell<Vec<u32>>,
    pub(super) scope_root: Cell<u32>,
    /// The countdown's timer under a grant (`grant::tick`).
    pub(super) tick: Closure<dyn FnMut()>,
    pub(super) tick_id: Cell<i32>,
    /// How this page load's session is keyed (the secret of the code the customer typed,
    /// never sent; or by comparison), and the session's keys.
    pub(super) keying: RefCell<Option<Keying>>,
    pub(super) security: RefCell<Option<crate::secure::PageSecurity>>,
    /// The sequence number the next capture starts at: the stream goes on across captures.
    pub(super) next_seq: Cell<u32>,
}

/// What sessionStorage keeps of this tab's session between page loads: the resume token, and
/// whether a Stop made while offline still has to reach the relay.
pub(super) struct Stored {
    pub(super) token: String,
    pub(super) ending: bool,
}

/// Marks a stored token whose session the customer stopped while offline.
const ENDING: &str = "end:";

pub(super) fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

pub(super) fn storage() -> Option<web_sys::Storage> {
    window().and_then(|w| w.session_storage().ok().flatten())
}

pub(super) fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `n` in decimal, without the formatting machinery (it costs the package kilobytes).
fn digits(mut n: u32) -> String {
    let mut out = [0u8; 10];
    let mut at = out.len();
    loop {
        at -= 1;
        out[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out[at..].iter().map(|&b| char::from(b)).collect()
}

/// A decimal number, by hand as `digits` writes it: `str::parse` costs the package more.
pub(super) fn digits_value(v: &str) -> Option<u32> {
    if v.is_empty() {
        return None;
    }
    v.bytes().try_fold(0u32, |n, b| {
        let digit = u32::from(b.checked_sub(b'0').filter(|d| *d < 10)?);
        n.checked_mul(10)?.checked_add(digit)
    })
}

pub(super) fn href() -> String {
    window()
        .and_then(|w| w.location().href().ok())
        .unwrap_or_default()
}

impl Page {
    pub(super) fn ui(&self) -> Option<std::cell::Ref<'_, Ui>> {
        if self.ui.borrow().is_none() {
            let ui = Ui::new(self.act.as_ref().unchecked_ref());
            *self.ui.borrow_mut() = Some(ui);
        }
        std::cell::Ref::filter_map(self.ui.borrow(), Option::as_ref).ok()
    }

    pub(super) fn emit(&self, name: &str, detail: &[(&str, JsValue)]) {
        let object = Object::new();
        for (k, v) in detail {
            let _ = Reflect::set(&object, &JsValue::from_str(k), v);
        }
        let _ = self
            .opts
            .emit
            .call2(&JsValue::NULL, &JsValue::from_str(name), &object);
    }

    pub(super) fn storage_key(&self) -> String {
        crate::url::join(&["cobrowse:", &self.opts.site])
    }

    /// The tab's session as stored, if it has one.
    pub(super) fn stored(&self) -> Option<Stored> {
        let value = storage()?.get_item(&self.storage_key()).ok()??;
        Some(match value.strip_prefix(ENDING) {
            Some(token) => Stored {
                token: token.to_owned(),
                ending: true,
            },
            None => Stored {
                token: value,
                ending: false,
            },
        })
    }

    pub(super) fn store(&self, token: &str, ending: bool) {
        if let Some(s) = storage() {
            let value = if ending {
                crate::url::join(&[ENDING, token])
            } else {
                token.to_owned()
            };
            let _ = s.set_item(&self.storage_key(), &value);
        }
    }

    fn grant_key(&self) -> String {
        self.storage_key() + ":grant"
    }

    /// The number of the control grant the page lives under (0: none), kept across page loads
    /// so a resume names it: the relay restores control only for that very grant.
    pub(super) fn held_grant(&self) -> u32 {
        storage()
            .and_then(|s| s.get_item(&self.grant_key()).ok().flatten())
            .and_then(|v| {
                // By hand, as `digits` writes it: `str::parse` costs the package more.
                v.bytes().try_fold(0u32, |n, b| {
                    let digit = u32::from(b.checked_sub(b'0').filter(|d| *d < 10)?);
                    n.checked_mul(10)?.checked_add(digit)
                })
            })
            .unwrap_or(0)
    }

    pub(super) fn hold_grant(&self, grant: u32) {
        if let Some(s) = storage() {
            let _ = match grant {
                0 => s.remove_item(&self.grant_key()),
                n => s.set_item(&self.grant_key(), &digits(n)),
            };
        }
    }

    /// How this tab's stored session re-attaches: by its token, naming the grant it holds (none
    /// when it only has to deliver a Stop).
    pub(super) fn resume_pairing(&self) -> Option<(Pairing, bool)> {
        let Stored { token, ending } = self.stored()?;
        let grant = if ending { 0 } else { self.held_grant() };
        Some((Pairing::Resume { token, grant }, ending))
    }

    pub(super) fn capture(&self) -> Option<Rc<WebCapture>> {
        self.capture.borrow().clone()
    }

    /// Sends one of the page's own frames: in capture's numbered stream while it runs.
    pub(super) fn send(&self, frame: Outgoing) {
        match self.capture() {
            Some(capture) => capture.send_encoded(|seq| control::encode_outgoing(seq, &frame)),
            None => {
                if let Some(ws) = self.ws.borrow().as_ref() {
                    let _ = ws.send_with_u8_array(&control::encode_outgoing(0, &frame));
                }
            }
        }
    }

    /// Whether agent input may act now: granted, not paused, and not past the grant's
    /// deadline by the page's own clock (even if the relay's expiry has not arrived).
    pub(super) fn granted(&self) -> bool {
        self.mode.get() == SessionMode::NavigationGranted
            && !self.paused.get()
            && !self.terms.get().expired(js_sys::Date::now())
    }

    pub(super) fn show_banner(&self) {
        let state = overlay::banner_state(self.granted(), self.paused.get());
        let left = match state {
            "control" => self
                .terms
                .get()
                .seconds_left(js_sys::Date::now())
                .map(control::countdown)
                .unwrap_or_default(),
            _ => String::new(),
        };
        let scoped = self.terms.get().scoped;
        // Encrypted: the safety code once keyed, '…' while the exchange runs; '' in clear.
        let (secure, compare) = match self.security.borrow().as_ref() {
            Some(s) => (
                s.safety()
                    .map(crate::web::overlay::safety_text)
                    .unwrap_or("…".into()),
                s.compares(),
            ),
            None => (String::new(), false),
        };
        if let Some(ui) = self.ui() {
            ui.banner(
                Some(state.to_owned()),
                self.viewers.get(),
                &left,
                scoped,
                &secure,
                compare,
            );
        }
    }

    /// Where the tab keeps the secret of the code across a reload (the page's own origin).
    pub(super) fn code_key(&self) -> String {
        self.storage_key() + ":code"
    }

    pub(super) fn stop_capture(&self) {
        if let Some(capture) = self.capture.borrow_mut().take() {
            if let Some(seq) = capture.next_seq() {
                self.next_seq.set(seq);
            }
            capture.stop();
        }
    }

    /// Stops watching the URL of a paused page.
    pub(super) fn stop_polling(&self) {
        let id = self.poll_id.replace(0);
        if id != 0 {
            if let Some(w) = window() {
                w.clear_interval_with_handle(id);
            }
        }
    }

    /// Rejects the promise of `startSession`, if it still waits.
    pub(super) fn settle_err(&self, text: &str) {
        if let Some((_, reject)) = self.settle.borrow_mut().take() {
            let _ = reject.call1(&JsValue::NULL, &js_sys::Error::new(text));
        }
    }

    /// Closes the socket and ignores whatever it still reports.
    pub(super) fn drop_socket(&self) {
        self.gen.set(self.gen.get().wrapping_add(1));
        if let Some(ws) = self.ws.borrow_mut().take() {
            ws.set_onopen(None);
            ws.set_onmessage(None);
            ws.set_onclose(None);
            let _ = ws.close_with_code(1000);
        }
        self.handlers.borrow_mut().clear();
    }

    /// Ends the session on this page: stops capture, removes the UI, forgets the resume token.
    pub(super) fn finish(&self, reason: &str) {
        self.drop_socket();
        self.stop_capture();
        self.mode.set(SessionMode::ReadOnly);
        // No grant outlives the session: its countdown stops, its terms and area go.
        let tick = self.tick_id.replace(0);
        if let (Some(w), true) = (window(), tick != 0) {
            w.clear_interval_with_handle(tick);
        }
        self.terms.set(PageGrant::default());
        self.area.borrow_mut().take();
        self.paused.set(false);
        self.stop_polling();
        self.retries.set(0);
        if let Some(s) = storage() {
            let _ = s.remove_item(&self.storage_key());
            let _ = s.remove_item(&(self.storage_key() + ":paused"));
            let _ = s.remove_item(&self.grant_key());
            let _ = s.remove_item(&self.code_key());
        }
        // The session's keys and the code's secret go with it.
        self.security.borrow_mut().take();
        self.keying.borrow_mut().take();
        if let Some(ui) = self.ui.borrow_mut().take() {
            ui.remove();
        }
        self.settle_err(&crate::url::join(&[
            "the co-browse session ended (",
            reason,
            ")",
        ]));
        let was = self.welcomed.replace(false);
        if was || reason != "error" {
            self.emit("end", &[("reason", JsValue::from_str(reason))]);
        }
    }

    /// Whether the socket is open (welcomed or not).
    pub(super) fn is_open(&self) -> bool {
        self.ws
            .borrow()
            .as_ref()
            .is_some_and(|ws| ws.ready_state() == WebSocket::OPEN)
    }

    /// Tells the relay the page ends the session, then ends it here with `reason`. With the
    /// socket down (lost, or reconnecting) the session still ends here at once, and the token
    /// is kept marked: the next connection carries only the hello and the End (see
    /// `customer::connect`), this page load or a later one in the tab. Returns whether that
    /// delivery is due.
    pub(super) fn end_from_page(&self, reason: &str) -> bool {
        if self.ending.get() {
            return false;
        }
        if self.is_open() {
            self.send(Outgoing::End);
            self.finish(reason);
            return false;
        }
        let stored = self.stored();
        if self.ws.borrow().is_none() && stored.is_none() {
            return false;
        }
        self.finish(reason);
        let Some(stored) = stored else { return false };
        self.store(&stored.token, true);
        true
    }

    /// The relay heard the page's End (or has nothing to end): forget the session for good.
    pub(super) fn ended_at_relay(&self) {
        self.ending.set(false);
        self.retries.set(0);
        self.drop_socket();
        if let Some(s) = storage() {
            let _ = s.remove_item(&self.storage_key());
        }
    }
}
