//! Browser tests (run by `make test-wasm`): agent input applied to real elements through a real
//! capture session, and refused on read-only and masked ones.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Uint8Array};
use protocol::{Button, Click, Refusal};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlInputElement};

use super::*;
use crate::control::{decide, Action, Rules};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

fn q(selector: &str) -> Element {
    document().query_selector(selector).unwrap().unwrap()
}

/// A page in a fresh stage, captured; returns the capture and every frame it sent.
async fn captured(html: &str, config: &str) -> (WebCapture, Rc<RefCell<Vec<Vec<u8>>>>) {
    if let Some(old) = document().get_element_by_id("apply-stage") {
        old.remove();
    }
    let stage = document().create_element("div").unwrap();
    stage.set_id("apply-stage");
    stage.set_inner_html(html);
    document().body().unwrap().append_child(&stage).unwrap();
    let frames = Rc::new(RefCell::new(Vec::new()));
    let sink = frames.clone();
    let on_frame = Closure::<dyn FnMut(Uint8Array)>::new(move |b: Uint8Array| {
        sink.borrow_mut().push(b.to_vec())
    });
    let f: Function = on_frame.as_ref().unchecked_ref::<Function>().clone();
    on_frame.forget();
    let capture = WebCapture::start(JsValue::from_str(config), f).unwrap();
    while capture.snapshotting() {
        let tick = Promise::new(&mut |resolve, _| {
            web_sys::window()
                .unwrap()
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 5)
                .unwrap();
        });
        JsFuture::from(tick).await.unwrap();
    }
    (capture, frames)
}

fn record(el: &Element, kinds: &[&str]) -> Rc<RefCell<Vec<String>>> {
    let log = Rc::new(RefCell::new(Vec::new()));
    for &kind in kinds {
        let sink = log.clone();
        let cb = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            sink.borrow_mut().push(e.type_())
        });
        el.add_event_listener_with_callback(kind, cb.as_ref().unchecked_ref())
            .unwrap();
        cb.forget();
    }
    log
}

const GRANTED: bool = true;

#[wasm_bindgen_test]
async fn a_click_dispatches_pointer_and_mouse_events_and_activates_the_button() {
    let (capture, _) = captured(r#"<button id="b" type="button">Go</button>"#, "{}").await;
    let button = q("#b");
    let log = record(
        &button,
        &["pointerdown", "mousedown", "pointerup", "mouseup", "click"],
    );
    let id = capture.node_id(&button);
    let (el, facts) = facts(Some(&capture), id);
    assert_eq!(
        decide(GRANTED, Action::Click, &facts, &Rules::default()),
        Ok(())
    );
    let c = Click {
        node: id,
        x: 0,
        y: 0,
        button: Button::Primary,
    };
    click(&el.unwrap(), &c);
    assert_eq!(
        *log.borrow(),
        ["pointerdown", "mousedown", "pointerup", "mouseup", "click"]
    );
    capture.stop();
}

#[wasm_bindgen_test]
async fn a_click_on_a_checkbox_toggles_it_as_a_person_would() {
    let (capture, _) = captured(r#"<input id="c" type="checkbox">"#, "{}").await;
    let el = q("#c");
    let c = Click {
        node: capture.node_id(&el),
        x: 0,
        y: 0,
        button: Button::Primary,
    };
    click(&el, &c);
    assert!(el.unchecked_ref::<HtmlInputElement>().checked());
    capture.stop();
}

#[wasm_bindgen_test]
async fn typing_sets_the_value_and_fires_input_then_change() {
    let (capture, _) = captured(r#"<input id="t" name="city">"#, "{}").await;
    let el = q("#t");
    let log = record(&el, &["input", "change"]);
    let (_, facts) = facts(Some(&capture), capture.node_id(&el));
    assert!(facts.editable);
    assert_eq!(
        decide(GRANTED, Action::Type, &facts, &Rules::default()),
        Ok(())
    );
    type_text(&el, "London");
    assert_eq!(el.unchecked_ref::<HtmlInputElement>().value(), "London");
    assert_eq!(*log.borrow(), ["input", "change"]);
    capture.stop();
}

#[wasm_bindgen_test]
async fn readonly_elements_by_attribute_selector_or_submit_rule_are_refused() {
    let (capture, _) = captured(
        r#"<form><input id="ro" data-cobrowse-readonly><input id="promo" class="promo">
           <button id="pay"><span id="pay-label">Pay</span></button></form>"#,
        r#"{"readonly": [".promo"]}"#,
    )
    .await;
    for id in ["#ro", "#promo"] {
        let (_, f) = facts(Some(&capture), capture.node_id(&q(id)));
        assert!(f.readonly, "{id}");
        assert_eq!(
            decide(GRANTED, Action::Type, &f, &Rules::default()),
            Err(Refusal::ReadOnly)
        );
    }
    // A label inside a submit button counts as the button.
    let (_, f) = facts(Some(&capture), capture.node_id(&q("#pay-label")));
    assert!(f.submit);
    let strict = Rules {
        submit_readonly: true,
        ..Rules::default()
    };
    assert_eq!(
        decide(GRANTED, Action::Click, &f, &strict),
        Err(Refusal::ReadOnly)
    );
    assert_eq!(
        decide(GRANTED, Action::Click, &f, &Rules::default()),
        Ok(())
    );
    capture.stop();
}

#[wasm_bindgen_test]
async fn a_masked_field_takes_agent_typing_only_if_allowed_and_the_value_stays_masked() {
    let (capture, frames) = captured(r#"<input id="card" autocomplete="cc-number">"#, "{}").await;
    let el = q("#card");
    let (_, f) = facts(Some(&capture), capture.node_id(&el));
    assert!(f.masked);
    assert_eq!(
        decide(GRANTED, Action::Type, &f, &Rules::default()),
        Err(Refusal::Masked)
    );
    let allowed = Rules {
        agent_types_masked: true,
        ..Rules::default()
    };
    assert_eq!(decide(GRANTED, Action::Type, &f, &allowed), Ok(()));
    type_text(&el, "4111222233334444");
    capture.flush();
    let sent: Vec<u8> = frames.borrow().concat();
    assert!(!sent.windows(16).any(|w| w == b"4111222233334444"));
    assert!(frames
        .borrow()
        .iter()
        .any(|f| f[0] == protocol::FrameKind::InputValue.code()));
    capture.stop();
}

#[wasm_bindgen_test]
async fn ids_the_page_does_not_know_are_refused() {
    let (capture, _) = captured("<p>hi</p>", "{}").await;
    let (el, f) = facts(Some(&capture), 999_999);
    assert!(el.is_none());
    assert_eq!(
        decide(GRANTED, Action::Click, &f, &Rules::default()),
        Err(Refusal::UnknownNode)
    );
    capture.stop();
}
