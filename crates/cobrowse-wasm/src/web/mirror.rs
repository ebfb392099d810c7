//! The agent console's `Mirror` class (built only with the `mirror` feature, into the console's
//! package): takes the relay's binary messages, runs them through the pure
//! [`crate::mirror::Mirror`], executes the patches in the sandboxed iframe, reports signals to
//! the console as plain objects, and encodes every frame the agent sends (with its own sequence
//! numbers), handing the bytes to the console's `send(Uint8Array)`.

use e2ee::Code;
use js_sys::{Function, Object, Reflect, Uint8Array};
use protocol::{
    Button, Click, Empty, End, EndReason, Frame, Hello, Highlight, Key, Message, Navigate, Pairing,
    Point, Pointer, Role, Scroll, SessionMode, Stroke, StrokeKind, TextInput, PROTOCOL_VERSION,
};
use wasm_bindgen::prelude::*;
use web_sys::{HtmlIFrameElement, Node};

use super::mirror_dom::{LiveDom, ID_PROPERTY};
use super::mirror_secure::{Inbound, Keyed};
use crate::mirror::{Mirror, Patch, ResyncCause, Signal};

/// A live mirror in one sandboxed iframe (JavaScript: `Mirror`).
#[wasm_bindgen(js_name = Mirror)]
pub struct WebMirror {
    core: Mirror,
    live: LiveDom,
    send: Function,
    on_signal: Function,
    /// The agent's own frame counter.
    seq: u32,
    /// The keys of an end-to-end encrypted session ([`WebMirror::secure`]).
    keyed: Option<Keyed>,
    /// A sealed frame reached a mirror without keys (an observer): said once.
    told_sealed: bool,
}

fn object(entries: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in entries {
        drop(Reflect::set(&o, &JsValue::from_str(k), v));
    }
    o.into()
}

fn mode_name(mode: SessionMode) -> &'static str {
    match mode {
        SessionMode::ReadOnly => "read-only",
        SessionMode::NavigationRequested => "requested",
        SessionMode::NavigationGranted => "granted",
        SessionMode::Ended => "ended",
    }
}

fn signal_object(signal: &Signal) -> JsValue {
    let s = |v: &str| JsValue::from_str(v);
    match signal {
        Signal::Welcome { session_id, mode } => object(&[
            ("type", s("welcome")),
            ("sessionId", s(session_id)),
            ("mode", s(mode_name(*mode))),
        ]),
        Signal::Presence { role, connected } => object(&[
            ("type", s("presence")),
            (
                "role",
                s(if *role == Role::Customer {
                    "customer"
                } else {
                    "agent"
                }),
            ),
            ("connected", JsValue::from_bool(*connected)),
        ]),
        Signal::Mode(mode) => object(&[("type", s("mode")), ("mode", s(mode_name(*mode)))]),
        Signal::End(reason) => object(&[("type", s("end")), ("reason", s(&format!("{reason:?}")))]),
        Signal::Error { code, message } => object(&[
            ("type", s("error")),
            ("code", s(&format!("{code:?}"))),
            ("message", s(message)),
        ]),
        Signal::Pointer { x, y } => object(&[
            ("type", s("pointer")),
            ("x", JsValue::from(*x)),
            ("y", JsValue::from(*y)),
        ]),
        Signal::Navigated { url, title } => object(&[
            ("type", s("navigated")),
            ("url", s(url)),
            ("title", s(title)),
        ]),
        Signal::Paused(paused) => object(&[
            ("type", s("paused")),
            ("paused", JsValue::from_bool(*paused)),
        ]),
        Signal::Refused(r) => object(&[
            ("type", s("refused")),
            ("node", JsValue::from(r.node)),
            ("reason", s(&format!("{:?}", r.reason))),
        ]),
        Signal::Grant(g) => object(&[
            ("type", s("grant")),
            ("mode", s(mode_name(g.mode))),
            ("reason", s(&format!("{:?}", g.reason))),
            (
                "remainingMs",
                g.remaining_ms.map_or(JsValue::NULL, JsValue::from),
            ),
            ("scope", g.scope.map_or(JsValue::NULL, JsValue::from)),
        ]),
        Signal::Resync(cause) => {
            let why = match cause {
                ResyncCause::Gap { .. } => "gap",
                ResyncCause::Inconsistent(_) => "inconsistent",
                ResyncCause::Undecodable => "undecodable",
            };
            object(&[("type", s("resync")), ("cause", s(why))])
        }
        Signal::Synced => object(&[("type", s("synced"))]),
    }
}

#[wasm_bindgen(js_class = Mirror)]
impl WebMirror {
    /// A mirror rendering into `frame` (sandboxed `allow-same-origin` only). `send` gets every
    /// frame to put on the socket; `on_signal` gets `{type, ...}` objects for the console.
    #[wasm_bindgen(constructor)]
    pub fn new(frame: HtmlIFrameElement, send: Function, on_signal: Function) -> WebMirror {
        WebMirror {
            core: Mirror::new(),
            live: LiveDom::new(frame),
            send,
            on_signal,
            seq: 0,
            keyed: None,
            told_sealed: false,
        }
    }

    /// Draws the console's secret for the relay's `locator`: the whole code to show the agent
    /// (`1234 5678 9012`), or `undefined` for a locator that is not one.
    #[wasm_bindgen(js_name = drawCode)]
    pub fn draw_code(locator: &str) -> Option<String> {
        let mut rng = crate::web::rng::WebRng::new()?;
        Code::new(locator, &mut rng).ok().map(|c| c.display())
    }

    /// Makes this mirror's session end-to-end encrypted with the code it showed: the page's
    /// content opens only with the keys the exchange gives, and everything the agent sends
    /// is sealed. Returns `false` for a code that is not one.
    pub fn secure(&mut self, session_id: &str, code: &str) -> bool {
        self.keyed = Keyed::new(session_id, code);
        self.keyed.is_some()
    }

    /// Makes this mirror's session, accepted in a chat, end-to-end encrypted without a code:
    /// the page commits to its key message before it sees the console's, and the safety code
    /// both sides then show is what the agent and the customer compare on a call.
    #[wasm_bindgen(js_name = secureByComparison)]
    pub fn secure_by_comparison(&mut self, session_id: &str) {
        self.keyed = Some(Keyed::compare(session_id));
    }

    /// The safety code once keyed (`123 456`), to compare with the customer's banner.
    #[wasm_bindgen(getter, js_name = safetyCode)]
    pub fn safety_code(&self) -> Option<String> {
        let code = self.keyed.as_ref()?.safety()?;
        Some(super::overlay::safety_text(code))
    }

    /// Takes one binary message from the relay.
    pub fn receive(&mut self, bytes: &[u8]) {
        let Some(keyed) = self.keyed.as_mut() else {
            if bytes.first().is_some_and(|&c| c & protocol::SEALED != 0) {
                // Sealed for the console that holds the keys, not for this one.
                if !std::mem::replace(&mut self.told_sealed, true) {
                    self.signal(&object(&[("type", JsValue::from_str("sealed"))]));
                }
                return;
            }
            return self.apply(bytes);
        };
        match keyed.inbound(bytes) {
            Inbound::Apply(frames) => frames.iter().for_each(|f| self.apply(f)),
            Inbound::Reply(reply) => self.emit(Message::KeyReply(reply)),
            Inbound::Keyed {
                safety,
                frames,
                resync,
            } => {
                self.signal(&object(&[
                    ("type", JsValue::from_str("encrypted")),
                    (
                        "safetyCode",
                        JsValue::from_str(&super::overlay::safety_text(safety)),
                    ),
                ]));
                frames.iter().for_each(|f| self.apply(f));
                if resync {
                    self.emit(Message::ResyncRequest(Empty));
                }
            }
            Inbound::Failed => {
                self.emit(Message::End(End {
                    reason: EndReason::KeyExchangeFailed,
                }));
                self.signal(&object(&[
                    ("type", JsValue::from_str("end")),
                    ("reason", JsValue::from_str("KeyExchangeFailed")),
                ]));
            }
            Inbound::Nothing => {}
        }
    }

    fn apply(&mut self, bytes: &[u8]) {
        let step = self.core.receive(bytes);
        let mut scrolled = false;
        for patch in step.patches {
            match &patch {
                Patch::Reset { url, viewport } => self.signal(&object(&[
                    ("type", JsValue::from_str("reset")),
                    ("url", JsValue::from_str(url)),
                    ("width", JsValue::from(viewport.width)),
                    ("height", JsValue::from(viewport.height)),
                ])),
                Patch::Viewport(v) => self.signal(&object(&[
                    ("type", JsValue::from_str("viewport")),
                    ("width", JsValue::from(v.width)),
                    ("height", JsValue::from(v.height)),
                ])),
                Patch::Scroll { id: 0, .. } => scrolled = true,
                Patch::Insert { .. } | Patch::Remove { .. } => scrolled = true,
                _ => {}
            }
            self.live.apply(patch);
        }
        if scrolled {
            self.live.scroll_window();
        }
        for signal in &step.signals {
            if let Signal::Resync(_) = signal {
                self.emit(Message::ResyncRequest(Empty));
            }
            self.signal(&signal_object(signal));
        }
    }

    fn signal(&self, value: &JsValue) {
        if let Err(e) = self.on_signal.call1(&JsValue::NULL, value) {
            web_sys::console::error_2(&"cobrowse mirror: onSignal threw".into(), &e);
        }
    }

    fn emit(&mut self, message: Message) {
        let frame = Frame::new(self.seq, message);
        self.seq = self.seq.wrapping_add(1);
        match frame.encode() {
            Ok(mut bytes) => {
                if let Some(keyed) = self.keyed.as_mut() {
                    if !keyed.seal(&mut bytes) {
                        // Before the keys: nothing of the agent's show-and-tell or input goes.
                        return;
                    }
                }
                let array = Uint8Array::from(bytes.as_slice());
                if let Err(e) = self.send.call1(&JsValue::NULL, &array) {
                    web_sys::console::error_2(&"cobrowse mirror: send threw".into(), &e);
                }
            }
            Err(e) => web_sys::console::error_1(&e.to_string().into()),
        }
    }

    /// The mirrored node's id (0 when the node is not part of the mirror).
    #[wasm_bindgen(js_name = nodeId)]
    pub fn node_id(&self, node: &Node) -> u32 {
        Reflect::get(node, &ID_PROPERTY.into())
            .ok()
            .and_then(|v| v.as_f64())
            .map_or(0, |v| v as u32)
    }

    /// The mirrored node of an id.
    pub fn node(&self, id: u32) -> Option<Node> {
        self.live.node(id).cloned()
    }

    /// Whether the mirror waits for a fresh snapshot.
    #[wasm_bindgen(getter, js_name = awaitingSnapshot)]
    pub fn awaiting_snapshot(&self) -> bool {
        self.core.awaiting_snapshot()
    }

    /// The model's canonical form (tests).
    pub fn canonical(&self) -> String {
        self.core.dom().map(|d| d.canonical()).unwrap_or_default()
    }

    /// The first frame: join the session this agent started.
    pub fn hello(&mut self, session_id: String) {
        self.emit(Message::Hello(Hello {
            version: PROTOCOL_VERSION,
            role: Role::Agent,
            site: String::new(),
            pairing: Pairing::AgentJoin { session_id },
        }));
    }

    /// Joins session `session_id` as a silent observer (a supervisor on `/ws/observe`): the
    /// relay sends the page and refuses everything else this mirror would send.
    pub fn observe(&mut self, session_id: String) {
        self.emit(Message::Hello(Hello {
            version: PROTOCOL_VERSION,
            role: Role::Agent,
            site: String::new(),
            pairing: Pairing::Observe { session_id },
        }));
    }

    /// The agent's pointer, in the customer's viewport CSS pixels.
    pub fn pointer(&mut self, x: i32, y: i32) {
        self.emit(Message::AgentPointer(Pointer { x, y }));
    }

    pub fn highlight(&mut self, node: u32) {
        self.emit(Message::Highlight(Highlight { node }));
    }

    /// Points of a stroke as a flat `[x0, y0, x1, y1, ...]` in document CSS pixels.
    pub fn stroke(&mut self, id: u32, arrow: bool, flat: &[i32], done: bool) {
        let points = flat
            .chunks_exact(2)
            .map(|p| Point { x: p[0], y: p[1] })
            .collect();
        let kind = if arrow {
            StrokeKind::Arrow
        } else {
            StrokeKind::Freehand
        };
        self.emit(Message::Stroke(Stroke {
            id,
            kind,
            points,
            done,
        }));
    }

    #[wasm_bindgen(js_name = clearAnnotations)]
    pub fn clear_annotations(&mut self) {
        self.emit(Message::ClearAnnotations(Empty));
    }

    #[wasm_bindgen(js_name = requestControl)]
    pub fn request_control(&mut self) {
        self.emit(Message::NavigationRequest(Empty));
    }

    /// Asks the customer for control of the region under mirrored node `node` only.
    #[wasm_bindgen(js_name = requestArea)]
    pub fn request_area(&mut self, node: u32) {
        self.emit(Message::AreaRequest(protocol::AreaRequest { node }));
    }

    #[wasm_bindgen(js_name = requestResync)]
    pub fn request_resync(&mut self) {
        self.emit(Message::ResyncRequest(Empty));
    }

    pub fn click(&mut self, node: u32, x: i32, y: i32) {
        self.emit(Message::Click(Click {
            node,
            x,
            y,
            button: Button::Primary,
        }));
    }

    #[wasm_bindgen(js_name = textInput)]
    pub fn text_input(&mut self, node: u32, value: String) {
        self.emit(Message::TextInput(TextInput { node, value }));
    }

    /// A key press on `node` (`key` as in `KeyboardEvent.key`; `modifiers` a bit set of
    /// shift 1, ctrl 2, alt 4, meta 8).
    pub fn key(&mut self, node: u32, key: String, modifiers: u8) {
        self.emit(Message::Key(Key {
            node,
            key,
            modifiers,
        }));
    }

    /// Scroll the customer's page (`node` 0: the window).
    pub fn scroll(&mut self, node: u32, x: i32, y: i32) {
        self.emit(Message::AgentScroll(Scroll { node, x, y }));
    }

    pub fn navigate(&mut self, url: String) {
        self.emit(Message::Navigate(Navigate::Url(url)));
    }

    /// Ask the relay to end the session.
    pub fn end(&mut self) {
        self.emit(Message::End(End {
            reason: EndReason::AgentEnded,
        }));
    }
}
