//! Signals besides the DOM: pushState routing, scroll, viewport, focus, pointer, and slicing of
//! a large snapshot without losing changes made meanwhile.

use protocol::Message;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use crate::harness::*;
use crate::live::Rules;

#[wasm_bindgen_test]
async fn single_page_app_routing_with_push_state_is_followed() {
    stage(r#"<main id="app"><h1>Home</h1></main>"#);
    let s = start("{}");
    s.snapshot_taken().await;
    let history = window().history().unwrap();
    history
        .push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("orders?view=spa"))
        .unwrap();
    q("#app").set_inner_html("<h1>Orders</h1><ol><li>#1001</li></ol>");
    s.settle().await;
    let navigated = s.messages().into_iter().find_map(|m| match m {
        Message::Navigated(n) => Some(n.url),
        _ => None,
    });
    assert!(navigated.is_some_and(|u| u.ends_with("/orders?view=spa")));
    s.assert_mirrors(&Rules::default());
    history.back().unwrap();
    until("popstate", || {
        s.capture.flush();
        s.messages()
            .iter()
            .filter(|m| matches!(m, Message::Navigated(_)))
            .count()
            >= 2
    })
    .await;
}

#[wasm_bindgen_test]
async fn scroll_focus_and_pointer_are_sent() {
    stage(
        r#"<div id="box" style="height:50px;overflow:auto"><div style="height:500px">tall</div></div><input id="f">"#,
    );
    let s = start(r#"{"pointerIntervalMs": 0}"#);
    s.snapshot_taken().await;
    let b = q("#box");
    b.set_scroll_top(120);
    q("#f")
        .unchecked_into::<web_sys::HtmlElement>()
        .focus()
        .unwrap();
    let init = web_sys::MouseEventInit::new();
    init.set_client_x(33);
    init.set_client_y(44);
    let ev = web_sys::MouseEvent::new_with_mouse_event_init_dict("mousemove", &init).unwrap();
    window().dispatch_event(&ev).unwrap();
    let id = s.capture.node_id(&b);
    until("scroll, focus and pointer", || {
        let m = s.messages();
        m.iter()
            .any(|m| matches!(m, Message::Scroll(x) if x.node == id && x.y == 120))
            && m.iter()
                .any(|m| matches!(m, Message::Focus(f) if f.node != 0))
            && m.iter()
                .any(|m| matches!(m, Message::Pointer(p) if (p.x, p.y) == (33, 44)))
    })
    .await;
    let dom = s.rebuild();
    assert_eq!(dom.focus, s.capture.node_id(&q("#f")));
}

#[wasm_bindgen_test]
async fn a_large_snapshot_is_sliced_and_changes_meanwhile_are_not_lost() {
    let mut html = String::new();
    for i in 0..3000 {
        html.push_str(&format!(
            "<div class=\"row r{}\"><span>row {i}</span><em>x</em></div>",
            i % 7
        ));
    }
    stage(&html);
    let s = start(r#"{"sliceMs": 2}"#);
    assert!(
        s.capture.snapshotting(),
        "a 2 ms budget cannot hold 9,000 nodes"
    );
    let mut longest = 0.0f64;
    let mut touched = 0;
    while s.capture.snapshotting() {
        let before = now();
        frame().await;
        longest = longest.max(now() - before);
        // The page keeps changing while the snapshot is taken.
        let rows = q("#stage");
        if let Some(first) = rows.first_element_child() {
            first.set_attribute("data-n", &touched.to_string()).unwrap();
            rows.append_child(&first).unwrap();
        }
        let extra = document().create_element("p").unwrap();
        extra.set_text_content(Some(&format!("added {touched}")));
        rows.insert_before(&extra, rows.first_child().as_ref())
            .unwrap();
        touched += 1;
    }
    assert!(touched > 1, "the page ran between slices");
    s.settle().await;
    s.assert_mirrors(&Rules::default());
}

#[wasm_bindgen_test]
async fn text_under_an_element_a_script_masks_mid_snapshot_is_never_sent_plain() {
    // The list is visited in the first slice; its last row is not, and waits with the
    // list's verdict as read then. The script masks the list before that row is read.
    let mut html = String::from(r#"<ul id="list">"#);
    for i in 0..3000 {
        html.push_str(&format!("<li><span>row {i}</span></li>"));
    }
    html.push_str("<li>CANARY-MASKED-MIDWAY</li></ul>");
    stage(&html);
    let s = start(r#"{"sliceMs": 2}"#);
    assert!(s.capture.snapshotting(), "the first slice ended early");
    assert!(s.capture.node_id(&q("#list")) != 0, "the list was visited");
    q("#list").set_attribute("data-cobrowse-mask", "").unwrap();
    s.snapshot_taken().await;
    s.settle().await;
    s.assert_no_canary(&["CANARY-MASKED-MIDWAY"]);
    s.assert_mirrors(&Rules::default());
}

#[wasm_bindgen_test]
async fn a_row_a_script_moves_into_a_masked_box_mid_snapshot_is_never_sent_plain() {
    let mut html = String::from(r#"<div id="vault" data-cobrowse-mask></div><ul id="list">"#);
    for i in 0..3000 {
        html.push_str(&format!("<li><span>row {i}</span></li>"));
    }
    html.push_str(r#"<li id="moved"><b>CANARY-MOVED-MIDWAY</b></li></ul>"#);
    stage(&html);
    let s = start(r#"{"sliceMs": 2}"#);
    assert!(s.capture.snapshotting(), "the first slice ended early");
    q("#vault").append_child(&q("#moved")).unwrap();
    s.snapshot_taken().await;
    s.settle().await;
    s.assert_no_canary(&["CANARY-MOVED-MIDWAY"]);
    s.assert_mirrors(&Rules::default());
}

#[wasm_bindgen_test]
async fn attribute_changes_of_many_elements_in_one_frame_arrive_merged_with_their_final_values() {
    let mut html = String::from(r#"<ul id="list">"#);
    for i in 0..300 {
        html.push_str(&format!(r#"<li class="a" title="t{i}">{i}</li>"#));
    }
    html.push_str("</ul>");
    stage(&html);
    let s = start("{}");
    s.snapshot_taken().await;
    let before = s.frames.borrow().len();
    // One task: names interleaved across elements, set twice, one removed, one new.
    let items = document().query_selector_all("#list li").unwrap();
    for round in 0..2 {
        for i in 0..items.length() {
            let li: web_sys::Element = items.item(i).unwrap().unchecked_into();
            li.set_attribute("class", &format!("on{round}")).unwrap();
            li.set_attribute("data-state", &format!("s{round}-{i}"))
                .unwrap();
            if i % 3 == 0 {
                li.remove_attribute("title").unwrap();
            }
        }
    }
    s.settle().await;
    s.assert_mirrors(&Rules::default());
    let mut ops = 0;
    let mut names = std::collections::BTreeSet::new();
    for bytes in &s.frames.borrow()[before..] {
        let message = protocol::Frame::decode(bytes, &protocol::Limits::default())
            .unwrap()
            .message;
        if let Message::Mutations(batch) = message {
            for op in batch.ops {
                if let protocol::Mutation::Attribute { node, name, .. } = op {
                    ops += 1;
                    assert!(names.insert((node, format!("{name:?}"))), "{node} twice");
                }
            }
        }
    }
    // class and data-state on every item, title on every third.
    assert_eq!(ops, 300 * 2 + 100);
}

/// Waits `ms` on a timer (not an animation frame).
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// A hidden or throttled tab runs no animation frames; changes must stream anyway, flushed at
/// the end of the task that made them, with no help from the test.
#[wasm_bindgen_test]
async fn changes_stream_when_no_animation_frame_ever_runs() {
    stage(r#"<ul id="list"><li>first</li></ul><input id="f">"#);
    let s = start("{}");
    s.snapshot_taken().await;
    let win = window();
    let raf = js_sys::Reflect::get(&win, &"requestAnimationFrame".into()).unwrap();
    let never = js_sys::Function::new_no_args("return 1");
    js_sys::Reflect::set(&win, &"requestAnimationFrame".into(), &never).unwrap();
    let before = s.frames.borrow().len();

    let li = document().create_element("li").unwrap();
    li.set_text_content(Some("added while hidden"));
    q("#list").append_child(&li).unwrap();
    let input = q("#f").unchecked_into::<web_sys::HtmlInputElement>();
    input.set_value("typed while hidden");
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    sleep(50).await;
    let streamed = s.frames.borrow().len() - before;
    js_sys::Reflect::set(&win, &"requestAnimationFrame".into(), &raf).unwrap();

    assert!(streamed > 0, "nothing was sent without animation frames");
    let m = s.messages();
    assert!(
        m.iter().any(|m| matches!(m, Message::Mutations(_))),
        "no mutation batch"
    );
    let id = s.capture.node_id(&input);
    assert!(m
        .iter()
        .any(|m| matches!(m, Message::InputValue(v) if v.node == id)));
    // Everything reached the receiver without a flush forced by the test.
    s.assert_mirrors(&Rules::default());
}
