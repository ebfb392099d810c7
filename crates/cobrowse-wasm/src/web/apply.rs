//! Applying granted agent input to the live page, as a person would: real pointer and mouse
//! events for a click (links and buttons activate), value plus `input`/`change` for typing,
//! key events, scrolling and same-site navigation. What may be applied is decided by
//! [`crate::control::decide`] from the [`Facts`] gathered here; this module only reads the
//! target and acts.

use protocol::{Button, Click, Key, Scroll};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    Element, HtmlElement, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement, Node,
};

use super::session::WebCapture;
use crate::control::{Facts, FormFacts, Reach};

/// Input types that take no text.
const NOT_TEXT: &[&str] = &[
    "button", "submit", "reset", "image", "checkbox", "radio", "file", "hidden", "range", "color",
];

/// The live element of a node id, and what the decision needs to know about it.
pub fn facts(capture: Option<&WebCapture>, id: u32) -> (Option<Element>, Facts) {
    let Some(capture) = capture else {
        return (None, Facts::default());
    };
    let element = capture
        .node(id)
        .and_then(|n: Node| n.dyn_into::<Element>().ok())
        .filter(|e| e.is_connected());
    let Some(el) = element else {
        return (None, Facts::default());
    };
    let facts = Facts {
        known: true,
        readonly: capture.is_readonly(id),
        masked: capture.is_masked(id),
        submit: is_submit(&el),
        editable: is_editable(&el),
        toggles: el.dyn_ref::<HtmlInputElement>().is_some_and(|i| {
            matches!(
                i.type_().to_ascii_lowercase().as_str(),
                "checkbox" | "radio"
            )
        }),
    };
    (Some(el), facts)
}

/// What a click (or, with `enter`, an Enter) on `el` reaches besides it, as the browser
/// resolves it, with what capture knows of each part: the label's control, the form it
/// submits (locked if the form or any of its submit buttons is read-only or masked), the link.
pub fn reach(capture: Option<&WebCapture>, el: &Element, enter: bool) -> Reach {
    let parts = reach_of(el, enter);
    let element = |i: u32| parts.get(i).dyn_into::<Element>().ok();
    let id = |e: &Element| capture.map_or(0, |c| c.node_id(e));
    let guarded = |e: &Element| capture.is_some_and(|c| c.is_readonly(id(e)) || c.is_masked(id(e)));
    let submits = element(1).map(|form| FormFacts {
        locked: capture.is_some_and(|c| c.is_readonly(id(&form)))
            || js_sys::Array::from(&parts.get(4))
                .iter()
                .filter_map(|b| b.dyn_into::<Element>().ok())
                .any(|b| guarded(&b)),
        action: parts.get(2).as_string().unwrap_or_default(),
    });
    Reach {
        label_control: element(0).map(|c| facts(capture, id(&c)).1),
        submits,
        follows: parts.get(3).as_string(),
    }
}

/// The element is, or is inside, a button that submits a form.
fn is_submit(el: &Element) -> bool {
    let Ok(Some(control)) = el.closest("button, input") else {
        return false;
    };
    let kind = control
        .get_attribute("type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    match control.tag_name().to_ascii_lowercase().as_str() {
        "button" => kind.is_empty() || kind == "submit",
        _ => kind == "submit" || kind == "image",
    }
}

fn is_editable(el: &Element) -> bool {
    if let Some(input) = el.dyn_ref::<HtmlInputElement>() {
        let kind = input.type_().to_ascii_lowercase();
        return !NOT_TEXT.contains(&kind.as_str()) && !input.read_only() && !input.disabled();
    }
    if let Some(area) = el.dyn_ref::<HtmlTextAreaElement>() {
        return !area.read_only() && !area.disabled();
    }
    if let Some(select) = el.dyn_ref::<HtmlSelectElement>() {
        return !select.disabled();
    }
    el.dyn_ref::<HtmlElement>()
        .is_some_and(HtmlElement::is_content_editable)
}

#[wasm_bindgen(module = "/src/web/hooks.js")]
extern "C" {
    /// Dispatches a new event on `el` (see `hooks.js` for `kind`); false if cancelled.
    #[wasm_bindgen(js_name = fireEvent)]
    #[allow(clippy::too_many_arguments)]
    fn fire_event(
        el: &Element,
        kind: u32,
        event: &str,
        x: i32,
        y: i32,
        button: i16,
        key: &str,
        modifiers: u8,
    ) -> bool;

    /// What a click or Enter on `el` reaches besides it (see `hooks.js`).
    #[wasm_bindgen(js_name = reachOf)]
    fn reach_of(el: &Element, enter: bool) -> js_sys::Array;

    /// The URL of the history entry `step` leads to, if known; with `go`, goes there.
    #[wasm_bindgen(js_name = historyStep)]
    pub fn history_step(step: i32, go: bool) -> Option<String>;
}

const EVENT: u32 = 0;
const MOUSE: u32 = 1;
const POINTER: u32 = 2;
const KEYBOARD: u32 = 3;

/// Clicks `el` with real pointer and mouse events. The final `click` runs the element's
/// activation behaviour (links follow, buttons submit, checkboxes toggle) unless a page
/// handler cancels it, as it would for a person.
pub fn click(el: &Element, c: &Click) {
    let rect = el.get_bounding_client_rect();
    let inside = |v: f64, lo: f64, len: f64| v >= lo && v <= lo + len;
    let (x, y) = if inside(c.x.into(), rect.left(), rect.width())
        && inside(c.y.into(), rect.top(), rect.height())
    {
        (f64::from(c.x), f64::from(c.y))
    } else {
        (
            rect.left() + rect.width() / 2.0,
            rect.top() + rect.height() / 2.0,
        )
    };
    let button = match c.button {
        Button::Primary => 0,
        Button::Middle => 1,
        Button::Secondary => 2,
    };
    let (x, y) = (x as i32, y as i32);
    let pointer = |kind: &str| {
        fire_event(el, POINTER, kind, x, y, button, "", 0);
    };
    let mouse = |kind: &str| {
        fire_event(el, MOUSE, kind, x, y, button, "", 0);
    };
    pointer("pointerdown");
    mouse("mousedown");
    if let Some(h) = el.dyn_ref::<HtmlElement>() {
        let _ = h.focus();
    }
    pointer("pointerup");
    mouse("mouseup");
    match c.button {
        Button::Primary => mouse("click"),
        Button::Secondary => mouse("contextmenu"),
        Button::Middle => mouse("auxclick"),
    }
}

fn fire(el: &Element, kind: &str) {
    fire_event(el, EVENT, kind, 0, 0, 0, "", 0);
}

/// Sets the control's text as typing would, then fires `input` and `change`. The value setter
/// is the page's own (capture's hook sees it and masks as configured).
pub fn type_text(el: &Element, value: &str) {
    if let Some(h) = el.dyn_ref::<HtmlElement>() {
        let _ = h.focus();
    }
    if let Some(input) = el.dyn_ref::<HtmlInputElement>() {
        input.set_value(value);
    } else if let Some(area) = el.dyn_ref::<HtmlTextAreaElement>() {
        area.set_value(value);
    } else if let Some(select) = el.dyn_ref::<HtmlSelectElement>() {
        select.set_value(value);
    } else {
        el.set_text_content(Some(value));
    }
    fire(el, "input");
    fire(el, "change");
}

/// Whether a key press on `el` would submit its form (Enter in a single-line input).
pub fn key_submits(el: &Element, key: &str) -> bool {
    key == "Enter"
        && el
            .dyn_ref::<HtmlInputElement>()
            .is_some_and(|i| i.form().is_some())
}

/// Presses a key on `el`: keydown and keyup; Enter in a form's input submits it.
pub fn key(el: &Element, k: &Key) {
    // `hooks.js` reads the modifier bits as the protocol lays them out.
    const _: () = {
        use protocol::modifiers::{ALT, CTRL, META, SHIFT};
        assert!(SHIFT == 1 && CTRL == 2 && ALT == 4 && META == 8);
    };
    let press = |kind: &str| fire_event(el, KEYBOARD, kind, 0, 0, 0, &k.key, k.modifiers);
    let proceed = press("keydown");
    press("keyup");
    if proceed && key_submits(el, &k.key) {
        if let Some(form) = el.dyn_ref::<HtmlInputElement>().and_then(|i| i.form()) {
            let _ = form.request_submit();
        }
    }
}

/// Scrolls the window (`el` none) or an element to the agent's position.
pub fn scroll(el: Option<&Element>, s: &Scroll) {
    let (x, y) = (f64::from(s.x), f64::from(s.y));
    match el {
        Some(el) => el.scroll_to_with_x_and_y(x, y),
        None => {
            if let Some(w) = web_sys::window() {
                w.scroll_to_with_x_and_y(x, y);
            }
        }
    }
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
