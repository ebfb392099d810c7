//! A running capture in the page: the `Capture` class the loader uses. It owns the mutation and
//! resize observers, the event listeners and the CSSOM/value/history hooks, batches what they
//! report until the end of the current task (a microtask: right after the mutation observer's
//! callback, or after the event or script that reported), slices snapshots with `setTimeout`, and
//! hands each encoded frame to the loader's `onFrame(Uint8Array)` callback in order. Not at the
//! next animation frame: a hidden or throttled tab runs none.
//!
//! Its modules import one way, this file on top:
//! - `reports`: what each report means to the capture (which node an observer record, an
//!   event or a hook call names, and which `record_*` it is).
//! - `options`: the site configuration the loader passes, read into a `Config`.
//! - this file: the class, what is observed and listened to, on which roots and for how long,
//!   and when the capture slices, flushes and delivers.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    Document, Event, EventTarget, MutationObserver, MutationObserverInit, Node, ResizeObserver,
};

use super::page::{clear_whole, install_hooks, WebPage};
use crate::capture::Capture;
use crate::page::Page as _;

mod options;
mod reports;

use reports::EventReport;

/// `(kind, target, index)` from `hooks.js`.
type HookSink = dyn FnMut(u32, JsValue, u32);

struct Listener {
    target: EventTarget,
    kind: &'static str,
    closure: Closure<dyn FnMut(Event)>,
}

/// Seals a frame in place before it leaves (an encrypted session); `false` drops it.
pub(crate) type SealHook = Rc<dyn Fn(&mut Vec<u8>) -> bool>;

struct Inner {
    core: Capture<Node>,
    page: WebPage,
    on_frame: Function,
    seal: Option<SealHook>,
    observer: Option<MutationObserver>,
    resize: Option<ResizeObserver>,
    listeners: Vec<Listener>,
    /// The flush queued as a microtask, and whether one is queued.
    tick: Option<Closure<dyn FnMut()>>,
    tick_pending: bool,
    slice: Option<Closure<dyn FnMut()>>,
    sink: Option<Closure<HookSink>>,
    hooked: Vec<web_sys::Window>,
    stopped: bool,
    /// The session itself, for listeners created while it is borrowed.
    me: Weak<RefCell<Inner>>,
}

/// A capture session on this page (JavaScript: `Capture`).
#[wasm_bindgen(js_name = Capture)]
pub struct WebCapture {
    inner: Rc<RefCell<Inner>>,
}

/// Logs a capture error once; frames are not lost silently, and nothing here can fail further.
#[inline(never)]
fn report(error: &crate::capture::CaptureError) {
    let kind = match error {
        crate::capture::CaptureError::Encode(k)
        | crate::capture::CaptureError::NotAPageFrame(k) => k.code(),
    };
    web_sys::console::error_2(
        &JsValue::from_str("cobrowse: a frame could not be encoded, kind"),
        &JsValue::from(kind),
    );
}

fn js_error(message: &str) -> JsValue {
    js_sys::Error::new(message).into()
}

#[wasm_bindgen(js_class = Capture)]
impl WebCapture {
    /// Starts capturing this page: observes it, then takes a snapshot in slices. Every frame
    /// (snapshot first) is passed to `on_frame` as a `Uint8Array`, in sequence order.
    pub fn start(config: JsValue, on_frame: Function) -> Result<WebCapture, JsValue> {
        Self::start_with(config, on_frame, 0, None)
    }

    /// Takes a fresh snapshot (on start, and when the mirror asks for a resync).
    pub fn snapshot(&self) {
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            let inner = &mut *inner;
            let url = inner.page.document.url().unwrap_or_default();
            let viewport = inner.page.viewport();
            let root: Node = inner.page.document.clone().into();
            inner.core.begin_snapshot(root, url, viewport);
            clear_whole(); // the snapshot reads every sheet afresh
            reports::current_marks(&mut inner.core, &inner.page);
        }
        run_slice(&self.inner);
    }

    /// Sends what changed now instead of at the end of the current task.
    pub fn flush(&self) {
        on_frame_tick(&self.inner);
    }

    /// Stops observing and sending. The page is left as it was.
    pub fn stop(&self) {
        let Ok(mut inner) = self.inner.try_borrow_mut() else {
            return;
        };
        inner.stopped = true;
        if let Some(o) = inner.observer.take() {
            o.disconnect();
        }
        if let Some(r) = inner.resize.take() {
            r.disconnect();
        }
        for l in inner.listeners.drain(..) {
            // Removing a listener that is not there is not an error in the DOM.
            let _ = l.target.remove_event_listener_with_callback_and_bool(
                l.kind,
                l.closure.as_ref().unchecked_ref(),
                true,
            );
        }
        for win in inner.hooked.drain(..) {
            let _ = Reflect::set(&win, &JsValue::from_str("__cobrowseSink"), &JsValue::NULL);
        }
    }

    /// The id the receiver knows a node by (0: not captured).
    #[wasm_bindgen(js_name = nodeId)]
    pub fn node_id(&self, node: &Node) -> u32 {
        self.inner
            .try_borrow()
            .ok()
            .and_then(|i| i.core.id_of(&i.page, node))
            .unwrap_or(0)
    }

    /// The live node of an id (for applying agent input).
    pub fn node(&self, id: u32) -> Option<Node> {
        self.inner
            .try_borrow()
            .ok()
            .and_then(|i| i.core.node(id).cloned())
    }

    /// Whether the agent may never act on this node.
    #[wasm_bindgen(js_name = isReadonly)]
    pub fn is_readonly(&self, id: u32) -> bool {
        self.inner
            .try_borrow()
            .is_ok_and(|i| i.core.is_readonly(id))
    }

    /// Whether this node's text or value is masked.
    #[wasm_bindgen(js_name = isMasked)]
    pub fn is_masked(&self, id: u32) -> bool {
        self.inner.try_borrow().is_ok_and(|i| i.core.is_masked(id))
    }

    /// Whether a snapshot is still being taken.
    #[wasm_bindgen(getter)]
    pub fn snapshotting(&self) -> bool {
        self.inner
            .try_borrow()
            .is_ok_and(|i| i.core.snapshot_in_progress())
    }

    /// Number of nodes the receiver knows.
    #[wasm_bindgen(getter, js_name = nodeCount)]
    pub fn node_count(&self) -> u32 {
        self.inner
            .try_borrow()
            .map_or(0, |i| i.core.node_count() as u32)
    }
}

impl WebCapture {
    /// [`WebCapture::start`] for the customer's session: numbered from `from_seq` (the stream
    /// goes on across captures of one page load), each frame through `seal` before it leaves.
    pub(crate) fn start_with(
        config: JsValue,
        on_frame: Function,
        from_seq: u32,
        seal: Option<SealHook>,
    ) -> Result<WebCapture, JsValue> {
        let config = options::parse_config(&config)?;
        let window = web_sys::window().ok_or_else(|| js_error("no window"))?;
        let document = window.document().ok_or_else(|| js_error("no document"))?;
        let inner = Rc::new(RefCell::new(Inner {
            core: {
                let mut core = Capture::new(config);
                core.outbox().continue_from(from_seq);
                core
            },
            page: WebPage::new(window.clone(), document.clone()),
            on_frame,
            seal,
            observer: None,
            resize: None,
            listeners: Vec::new(),
            tick: None,
            tick_pending: false,
            slice: None,
            sink: None,
            hooked: Vec::new(),
            stopped: false,
            me: Weak::new(),
        }));
        inner.borrow_mut().me = Rc::downgrade(&inner);
        wire(&inner, &window, &document)?;
        let capture = WebCapture { inner };
        capture.snapshot();
        Ok(capture)
    }

    /// The sequence number the next frame would carry.
    pub(crate) fn next_seq(&self) -> Option<u32> {
        let mut inner = self.inner.try_borrow_mut().ok()?;
        Some(inner.core.outbox().next_seq())
    }

    /// Sends a frame that `encode(seq)` builds with the next sequence number, after the frames
    /// capture has queued (for the customer's consent, refusal and pause frames).
    pub(crate) fn send_encoded(&self, encode: impl FnOnce(u32) -> Vec<u8>) {
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            inner.core.outbox().push_encoded(encode);
        }
        deliver(&self.inner);
    }
}

fn observe_options() -> MutationObserverInit {
    let init = MutationObserverInit::new();
    init.set_child_list(true);
    init.set_attributes(true);
    init.set_character_data(true);
    init.set_subtree(true);
    init
}

/// Creates the observers, the hook sink and the document-level listeners.
fn wire(
    rc: &Rc<RefCell<Inner>>,
    window: &web_sys::Window,
    document: &Document,
) -> Result<(), JsValue> {
    let weak = Rc::downgrade(rc);
    let on_records = Closure::<dyn FnMut(Array, MutationObserver)>::new({
        let weak = weak.clone();
        move |records: Array, _| {
            with(&weak, |inner| {
                reports::mutations(&mut inner.core, &inner.page, records)
            })
        }
    });
    let observer = MutationObserver::new(on_records.as_ref().unchecked_ref())?;
    // The observer holds the only JS reference; the callback lives as long as the page.
    on_records.forget();
    observer.observe_with_options(document, &observe_options())?;
    let on_resize = Closure::<dyn FnMut(Array, ResizeObserver)>::new({
        let weak = weak.clone();
        move |entries: Array, _| {
            with(&weak, |inner| {
                reports::resized(&mut inner.core, &inner.page, entries)
            })
        }
    });
    let resize = ResizeObserver::new(on_resize.as_ref().unchecked_ref())?;
    on_resize.forget();
    let tick = Closure::<dyn FnMut()>::new({
        let weak = weak.clone();
        move || {
            if let Some(rc) = weak.upgrade() {
                if let Ok(mut inner) = rc.try_borrow_mut() {
                    inner.tick_pending = false;
                }
                on_frame_tick(&rc);
            }
        }
    });
    let slice = Closure::<dyn FnMut()>::new({
        let weak = weak.clone();
        move || {
            if let Some(rc) = weak.upgrade() {
                run_slice(&rc);
            }
        }
    });
    let sink = Closure::<HookSink>::new({
        let weak = weak.clone();
        move |kind: u32, target: JsValue, index: u32| {
            with(&weak, |inner| {
                reports::hook(&mut inner.core, &inner.page, kind, &target, index)
            })
        }
    });
    {
        let mut inner = rc.borrow_mut();
        inner.observer = Some(observer);
        inner.resize = Some(resize);
        inner.tick = Some(tick);
        inner.slice = Some(slice);
        inner.sink = Some(sink);
        inner.hook_window(window);
    }
    let mut inner = rc.borrow_mut();
    let win: &EventTarget = window.as_ref();
    inner.listen(win, "resize", reports::viewport);
    inner.listen(win, "mousemove", reports::pointer);
    inner.listen(win, "mouseout", reports::pointer_out);
    inner.listen(win, "popstate", reports::navigation);
    inner.listen(win, "hashchange", reports::navigation);
    inner.listen_root(document.as_ref());
    Ok(())
}

/// Runs `f` on the session if it is alive and not busy, then queues a flush.
fn with(weak: &Weak<RefCell<Inner>>, f: impl FnOnce(&mut Inner)) {
    let Some(rc) = weak.upgrade() else { return };
    let Ok(mut inner) = rc.try_borrow_mut() else {
        return;
    };
    if inner.stopped {
        return;
    }
    f(&mut inner);
    inner.schedule();
}

/// The end of a task: drain the observer, flush, deliver.
fn on_frame_tick(rc: &Rc<RefCell<Inner>>) {
    {
        let Ok(mut inner) = rc.try_borrow_mut() else {
            return;
        };
        if inner.stopped {
            return;
        }
        let inner = &mut *inner;
        if let Some(records) = inner.observer.as_ref().map(|o| o.take_records()) {
            reports::mutations(&mut inner.core, &inner.page, records);
        }
        clear_whole(); // what goes whole is read now: later changes are reported again
        if let Err(e) = inner.core.flush(&inner.page, inner.page.now_ms()) {
            report(&e);
        }
        inner.adopt_new();
        if inner.core.has_pending() {
            inner.schedule();
        }
    }
    deliver(rc);
}

/// One snapshot slice; continues in a later task until done.
fn run_slice(rc: &Rc<RefCell<Inner>>) {
    {
        let Ok(mut inner) = rc.try_borrow_mut() else {
            return;
        };
        if inner.stopped {
            return;
        }
        let inner = &mut *inner;
        match inner.core.continue_snapshot(&inner.page) {
            Ok(true) => inner.schedule(),
            Ok(false) => {
                if let Some(slice) = &inner.slice {
                    let window = inner.page.window.clone();
                    if let Err(e) = window.set_timeout_with_callback(slice.as_ref().unchecked_ref())
                    {
                        web_sys::console::error_1(&e);
                    }
                }
            }
            Err(e) => report(&e),
        }
        inner.adopt_new();
    }
    deliver(rc);
}

/// Hands waiting frames to the loader, outside any borrow (the callback may call back in).
fn deliver(rc: &Rc<RefCell<Inner>>) {
    let (frames, on_frame, seal) = match rc.try_borrow_mut() {
        Ok(mut inner) => (
            inner.core.take_frames(),
            inner.on_frame.clone(),
            inner.seal.clone(),
        ),
        Err(_) => return,
    };
    for mut bytes in frames {
        if seal.as_ref().is_some_and(|seal| !seal(&mut bytes)) {
            continue;
        }
        let array = Uint8Array::from(bytes.as_slice());
        if let Err(e) = on_frame.call1(&JsValue::NULL, &array) {
            web_sys::console::error_1(&e);
        }
    }
}

impl Inner {
    fn listen(&mut self, target: &EventTarget, kind: &'static str, report: EventReport) {
        let weak = self.me.clone();
        let closure = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            with(&weak, |inner| report(&mut inner.core, &inner.page, &event))
        });
        let options = web_sys::AddEventListenerOptions::new();
        options.set_capture(true);
        options.set_passive(true);
        let added = target.add_event_listener_with_callback_and_add_event_listener_options(
            kind,
            closure.as_ref().unchecked_ref(),
            &options,
        );
        match added {
            Ok(()) => self.listeners.push(Listener {
                target: target.clone(),
                kind,
                closure,
            }),
            Err(e) => web_sys::console::error_1(&e),
        }
    }

    /// Listeners every root (document, shadow root, frame document) needs: events that do not
    /// cross shadow boundaries or documents.
    fn listen_root(&mut self, root: &EventTarget) {
        self.listen(root, "input", reports::value);
        self.listen(root, "change", reports::value);
        self.listen(root, "scroll", reports::scroll);
        self.listen(root, "focusin", reports::focus_in);
        self.listen(root, "focusout", reports::focus_out);
    }

    fn schedule(&mut self) {
        if self.tick_pending || self.stopped || self.core.snapshot_in_progress() {
            return;
        }
        if let Some(tick) = &self.tick {
            // A microtask runs once the observer callback, event or script that reported has
            // returned, before the browser renders: everything one task changed is one flush.
            self.page
                .window
                .queue_microtask(tick.as_ref().unchecked_ref());
            self.tick_pending = true;
        }
    }

    fn hook_window(&mut self, window: &web_sys::Window) {
        if let Some(sink) = &self.sink {
            install_hooks(window, sink.as_ref().unchecked_ref());
            self.hooked.push(window.clone());
        }
    }

    /// Observes what the last snapshot slice or flush found: shadow roots and frame documents,
    /// boxes to keep sized, iframes that may load a new document.
    fn adopt_new(&mut self) {
        let roots = self.core.take_new_roots();
        let boxed = self.core.take_new_boxed();
        let frames = self.core.take_new_frames();
        for root in roots {
            if let Some(observer) = &self.observer {
                if let Err(e) = observer.observe_with_options(&root, &observe_options()) {
                    web_sys::console::error_1(&e);
                }
            }
            if root.node_type() == Node::DOCUMENT_NODE {
                let win = root.unchecked_ref::<Document>().default_view();
                if let Some(win) = win {
                    self.hook_window(&win);
                }
            }
            self.listen_root(root.as_ref());
        }
        for el in boxed {
            if let (Some(resize), Some(el)) = (&self.resize, super::page::as_element(&el)) {
                resize.observe(el);
            }
        }
        for frame in frames {
            self.listen(frame.as_ref(), "load", reports::frame_loaded);
        }
    }
}
