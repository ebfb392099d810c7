//! Browser-test harness: a stage element holding a test page, a capture session that records
//! every frame, waiting on animation frames with a deadline, and rebuilding the page from the
//! recorded frames through the pure model.

use std::cell::RefCell;
use std::rc::Rc;

use cobrowse_wasm::{web::WebCapture, Dom};
use js_sys::{Function, Promise, Uint8Array};
use protocol::{Frame, Limits, Message};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Document, Element, Window};

pub fn window() -> Window {
    web_sys::window().unwrap()
}

pub fn document() -> Document {
    window().document().unwrap()
}

pub fn now() -> f64 {
    window().performance().unwrap().now()
}

/// Replaces the stage (a `<div id="stage">` in the body) with `html`.
pub fn stage(html: &str) -> Element {
    let doc = document();
    if let Some(old) = doc.get_element_by_id("stage") {
        old.remove();
    }
    let stage = doc.create_element("div").unwrap();
    stage.set_id("stage");
    stage.set_inner_html(html);
    doc.body().unwrap().append_child(&stage).unwrap();
    stage
}

pub fn q(selector: &str) -> Element {
    document()
        .query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector}"))
}

/// Resolves on the next animation frame.
pub async fn frame() {
    let promise = Promise::new(&mut |resolve, _| {
        window().request_animation_frame(&resolve).unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

/// Waits, frame by frame, until `cond` holds; fails after five seconds.
pub async fn until(what: &str, cond: impl Fn() -> bool) {
    let start = now();
    while !cond() {
        assert!(now() - start < 5000.0, "timed out waiting for {what}");
        frame().await;
    }
}

pub struct Session {
    pub capture: WebCapture,
    pub frames: Rc<RefCell<Vec<Vec<u8>>>>,
    _on_frame: Closure<dyn FnMut(Uint8Array)>,
}

/// Starts a capture with a JSON config and records its frames.
pub fn start(config: &str) -> Session {
    let frames = Rc::new(RefCell::new(Vec::new()));
    let sink = frames.clone();
    let on_frame = Closure::<dyn FnMut(Uint8Array)>::new(move |a: Uint8Array| {
        sink.borrow_mut().push(a.to_vec())
    });
    let function: Function = on_frame.as_ref().unchecked_ref::<Function>().clone();
    let capture = WebCapture::start(JsValue::from_str(config), function).unwrap();
    Session {
        capture,
        frames,
        _on_frame: on_frame,
    }
}

impl Session {
    pub async fn snapshot_taken(&self) {
        until("the snapshot", || {
            !self.capture.snapshotting() && !self.frames.borrow().is_empty()
        })
        .await;
    }

    /// Lets observers and the animation-frame flush run, then flushes what is left.
    pub async fn settle(&self) {
        frame().await;
        frame().await;
        self.capture.flush();
    }

    pub fn messages(&self) -> Vec<Message> {
        self.frames
            .borrow()
            .iter()
            .map(|b| Frame::decode(b, &Limits::default()).unwrap().message)
            .collect()
    }

    /// The page as the frames describe it (a snapshot whole or in parts, then the rest).
    pub fn rebuild(&self) -> Dom {
        let mut dom: Option<Dom> = None;
        for message in self.messages() {
            match message {
                Message::Snapshot(s) | Message::SnapshotBegin(s) => {
                    dom = Some(Dom::from_snapshot(&s).unwrap())
                }
                Message::SnapshotPart(p) => dom.as_mut().unwrap().extend(&p).unwrap(),
                Message::Mutations(b) => dom.as_mut().unwrap().apply(&b).unwrap(),
                Message::InputValue(v) => dom.as_mut().unwrap().apply_input(&v).unwrap(),
                Message::Scroll(s) => {
                    dom.as_mut().unwrap().scrolls.insert(s.node, (s.x, s.y));
                }
                Message::Focus(f) => dom.as_mut().unwrap().focus = f.node,
                Message::Navigated(n) => dom.as_mut().unwrap().url = n.url,
                _ => {}
            }
        }
        dom.expect("no snapshot")
    }

    /// Every byte sent so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.frames.borrow().concat()
    }

    pub fn assert_no_canary(&self, canaries: &[&str]) {
        let bytes = self.bytes();
        for canary in canaries {
            assert!(
                !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                "{canary} was sent"
            );
        }
    }

    /// The rebuilt page equals the live one with masks applied.
    pub fn assert_mirrors(&self, rules: &crate::live::Rules) {
        let rebuilt = self.rebuild().canonical();
        let live = crate::live::canonical(&document(), rules);
        if rebuilt != live {
            let first = rebuilt.lines().zip(live.lines()).position(|(a, b)| a != b);
            panic!("mirror differs at line {first:?}\n--- rebuilt\n{rebuilt}\n--- live\n{live}");
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.capture.stop();
    }
}
