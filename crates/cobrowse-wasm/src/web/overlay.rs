//! The customer's UI as Rust sees it: bindings to `ui.js` (consent prompts, the session
//! banner, and the overlay that draws the agent's pointer, highlight pulses and strokes), and
//! the drawing of the agent's show-and-tell frames. The overlay lives in one shadow root whose
//! host carries `data-cobrowse-overlay`, which capture skips with its whole subtree.

use protocol::{Pointer, Stroke, StrokeKind};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Element;

#[wasm_bindgen(module = "/src/web/ui.js")]
extern "C" {
    /// The UI object of `ui.js`.
    pub type Ui;
    #[wasm_bindgen(constructor)]
    pub fn new(act: &js_sys::Function) -> Ui;
    #[wasm_bindgen(method)]
    pub fn remove(this: &Ui);
    #[wasm_bindgen(method)]
    pub fn close(this: &Ui);
    #[wasm_bindgen(method, js_name = codePrompt)]
    pub fn code_prompt(this: &Ui);
    #[wasm_bindgen(method, js_name = codeError)]
    pub fn code_error(this: &Ui, text: &str);
    #[wasm_bindgen(method, js_name = offerPrompt)]
    pub fn offer_prompt(this: &Ui);
    #[wasm_bindgen(method, js_name = navPrompt)]
    pub fn nav_prompt(this: &Ui, area: bool, choices: &js_sys::Array);
    #[wasm_bindgen(method)]
    pub fn banner(
        this: &Ui,
        state: Option<String>,
        viewers: u32,
        left: &str,
        scoped: bool,
        secure: &str,
        compare: bool,
    );
    /// Outlines the region of a scoped grant (`[x, y, w, h]` in document pixels), or removes it.
    #[wasm_bindgen(method)]
    pub fn outline(this: &Ui, rect: Option<Vec<f64>>);
    #[wasm_bindgen(method)]
    fn pointer(this: &Ui, x: i32, y: i32);
    #[wasm_bindgen(method)]
    fn highlight(this: &Ui, x: f64, y: f64, w: f64, h: f64);
    #[wasm_bindgen(method)]
    fn stroke(this: &Ui, id: u32, arrow: bool, points: &[i32], done: bool);
    #[wasm_bindgen(method)]
    pub fn clear(this: &Ui);
}

/// Six digits in two groups of three (`123 456`), without `format!`, which the package does
/// not carry.
pub fn safety_text(code: u32) -> String {
    let mut out = String::with_capacity(7);
    for (i, p) in [100_000, 10_000, 1_000, 100, 10, 1].into_iter().enumerate() {
        if i == 3 {
            out.push(' ');
        }
        out.push(char::from(b'0' + ((code / p) % 10) as u8));
    }
    out
}

/// The banner's state for a session mode and pause.
pub fn banner_state(granted: bool, paused: bool) -> &'static str {
    match (paused, granted) {
        (true, _) => "paused",
        (false, true) => "control",
        (false, false) => "viewing",
    }
}

/// Moves the agent's pointer (viewport CSS pixels).
pub fn draw_pointer(ui: &Ui, p: Pointer) {
    ui.pointer(p.x, p.y);
}

/// Pulses the element the agent highlighted, in document coordinates so it scrolls with it.
pub fn draw_highlight(ui: &Ui, node: Option<web_sys::Node>) {
    let Some(el) = node.and_then(|n| n.dyn_into::<Element>().ok()) else {
        return;
    };
    let rect = el.get_bounding_client_rect();
    let (sx, sy) = web_sys::window()
        .map(|w| (w.scroll_x().unwrap_or(0.0), w.scroll_y().unwrap_or(0.0)))
        .unwrap_or_default();
    ui.highlight(
        rect.left() + sx,
        rect.top() + sy,
        rect.width(),
        rect.height(),
    );
}

/// Draws (more of) a stroke, in document CSS pixels.
pub fn draw_stroke(ui: &Ui, s: &Stroke) {
    let points: Vec<i32> = s.points.iter().flat_map(|p| [p.x, p.y]).collect();
    ui.stroke(s.id, s.kind == StrokeKind::Arrow, &points, s.done);
}
