//! Capture tests on the in-memory page: snapshot contents, masking, and the ops one flush
//! produces for a mutation. Every `check` also proves that the snapshot plus the batch rebuild
//! the same tree as a fresh snapshot of the mutated page.

use protocol::{FormValue, Frame, Limits, Message, Mutation, Name, NodeData};

use super::*;

fn render(frames: &[Vec<u8>]) -> String {
    let mut out = Vec::new();
    for bytes in frames {
        match Frame::decode(bytes, &Limits::default()).unwrap().message {
            Message::Mutations(batch) => {
                for op in batch.ops {
                    out.push(match op {
                        Mutation::Add { node, before } => {
                            let what = match node.data {
                                NodeData::Element { tag, .. } | NodeData::Boxed { tag, .. } => {
                                    match tag {
                                        Name::New(s) => format!("<{s}>"),
                                        Name::Ref(i) => format!("<#{i}>"),
                                    }
                                }
                                NodeData::Text(t) => format!("{t:?}"),
                                other => format!("{other:?}"),
                            };
                            format!("+{}{what}@{}^{before}", node.id, node.parent)
                        }
                        Mutation::Remove { node } => format!("-{node}"),
                        Mutation::Attribute { node, name, value } => {
                            let name = match name {
                                Name::New(s) => s,
                                Name::Ref(i) => format!("#{i}"),
                            };
                            format!("{node}.{name}={value:?}")
                        }
                        Mutation::Text { node, text } => format!("{node}:{text:?}"),
                        other => format!("{other:?}"),
                    });
                }
            }
            Message::InputValue(v) => out.push(format!("value {} {:?}", v.node, v.value)),
            other => out.push(format!("{:?}", other.kind())),
        }
    }
    out.join(" ")
}

/// Builds a page (`build` returns handles), snapshots it, runs `mutate`, flushes once, and
/// compares the rendered frames with `want`.
fn check(
    config: Config,
    build: impl Fn(&FakePage, usize) -> Vec<usize>,
    mutate: impl Fn(&FakePage, &[usize]),
    want: &str,
) {
    let (page, body) = FakePage::new();
    let handles = build(&page, body);
    let (mut capture, mut frames) = snapshot(&page, config.clone());
    mutate(&page, &handles);
    page.deliver(&mut capture);
    capture.flush(&page, 0.0).unwrap();
    let batch = capture.take_frames();
    assert_eq!(render(&batch), want);
    frames.extend(batch);
    let mut dom = None;
    rebuild(&frames, &mut dom);
    assert_eq!(dom.unwrap().canonical(), fresh_canonical(&page, config));
}

fn list(page: &FakePage, body: usize) -> Vec<usize> {
    let ul = page.el(body, "ul", &[]);
    (0..3)
        .map(|i| {
            let li = page.el(ul, "li", &[]);
            page.text_in(li, &format!("item {i}"));
            li
        })
        .chain([ul])
        .collect()
}

// Ids of `list` on the base page: 1 document, 2 doctype, 3 html, 4 head, 5 body, 6 ul,
// 7 li, 8 text, 9 li, 10 text, 11 li, 12 text; names: html 0, head 1, body 2, ul 3, li 4.
// Fake handles: 0 document, 1 doctype, 2 html, 3 head, 4 body.

#[test]
fn an_append_names_its_parent_and_appends() {
    check(
        Config::default(),
        list,
        |p, h| {
            let li = p.el(h[3], "li", &[]);
            p.text_in(li, "new");
        },
        r#"+13<#4>@6^0 +14"new"@13^0"#,
    );
}

#[test]
fn an_insert_names_the_next_sibling() {
    check(
        Config::default(),
        list,
        |p, h| {
            let li = p.create("li", &[]);
            p.insert_before(h[3], li, Some(h[1]));
        },
        "+13<#4>@6^9",
    );
}

#[test]
fn a_node_added_and_removed_in_one_frame_is_never_sent() {
    check(
        Config::default(),
        list,
        |p, h| {
            let li = p.el(h[3], "li", &[]);
            p.detach(li);
        },
        "",
    );
}

#[test]
fn attribute_changes_merge_per_node_to_the_final_value() {
    check(
        Config::default(),
        list,
        |p, h| {
            p.set_attr(h[0], "class", "a");
            p.set_attr(h[0], "class", "b");
            p.set_attr(h[1], "href", "../x.html");
        },
        r#"7.class=Some("b") 9.href=Some("https://shop.example/x.html")"#,
    );
}

#[test]
fn a_move_is_a_remove_then_an_add_of_the_subtree() {
    check(
        Config::default(),
        list,
        |p, h| {
            p.attach(h[3], h[0]);
        },
        r#"-7 +13<#4>@6^0 +14"item 0"@13^0"#,
    );
}

#[test]
fn a_node_wrapped_in_a_new_parent_is_removed_then_sent_inside_it() {
    check(
        Config::default(),
        list,
        |p, h| {
            let wrap = p.create("div", &[]);
            p.insert_before(h[3], wrap, Some(h[1]));
            p.attach(wrap, h[1]);
        },
        r#"-9 +13<div>@6^11 +14<#4>@13^0 +15"item 1"@14^0"#,
    );
}

#[test]
fn children_of_a_removed_node_are_not_named() {
    check(
        Config::default(),
        list,
        |p, h| {
            p.set_text(h[0] + 1, "changed");
            p.detach(h[3]);
        },
        "-6",
    );
}

#[test]
fn a_node_moved_out_of_a_removed_parent_survives() {
    check(
        Config::default(),
        list,
        |p, h| {
            p.detach(h[3]);
            p.attach(4, h[2]);
        },
        r#"-6 +13<#4>@5^0 +14"item 2"@13^0"#,
    );
}

#[test]
fn text_changes_are_sent_masked_inside_masked_elements() {
    check(
        Config::default(),
        |p, body| {
            let d = p.el(body, "div", &[("data-cobrowse-mask", "")]);
            vec![p.text_in(d, "1234"), p.text_in(body, "open")]
        },
        |p, h| {
            p.set_text(h[0], "secret 99");
            p.set_text(h[1], "still open");
        },
        r#"7:"****** **" 8:"still open""#,
    );
}

#[test]
fn a_password_shown_as_text_stays_masked() {
    // The "show password" toggle: the field becomes type=text and holds the same password.
    let (page, body) = FakePage::new();
    let input = page.el(body, "input", &[("type", "password")]);
    page.set_value(input, FormValue::Text("hunter2".into()));
    let (mut capture, mut frames) = snapshot(&page, Config::default());
    page.set_attr(input, "type", "text");
    page.set_value(input, FormValue::Text("hunter22".into()));
    capture.record_value(&page, &input);
    page.deliver(&mut capture);
    capture.flush(&page, 0.0).unwrap();
    frames.extend(capture.take_frames());
    let bytes = frames.concat();
    assert!(
        !bytes.windows(6).any(|w| w == b"hunter"),
        "the password left"
    );
}

#[test]
fn an_input_that_becomes_a_password_is_sent_again_masked() {
    check(
        Config::default(),
        |p, body| {
            let input = p.el(body, "input", &[("type", "text"), ("value", "hunter2")]);
            p.set_value(input, FormValue::Text("hunter2".into()));
            vec![input]
        },
        |p, h| p.set_attr(h[0], "type", "password"),
        r#"-6 +7<#3>@5^0 value 7 Text("*******")"#,
    );
}

#[test]
fn our_overlay_is_never_captured() {
    check(
        Config::default(),
        |_, _| vec![],
        |p, _| {
            let overlay = p.el(4, "div", &[("data-cobrowse-overlay", "")]);
            p.text_in(overlay, "An agent is viewing");
        },
        "",
    );
}

#[test]
fn changes_to_our_overlay_are_never_reported_as_the_next_nodes() {
    // A visit gives a node the next id as it reads it; the overlay, dropped after that read,
    // must not keep the id the paragraph after it then takes.
    check(
        Config::default(),
        |p, body| {
            let overlay = p.el(body, "div", &[("data-cobrowse-overlay", "")]);
            p.text_in(overlay, "An agent is viewing");
            let para = p.el(body, "p", &[]);
            p.text_in(para, "page text");
            vec![overlay]
        },
        |p, h| p.set_attr(h[0], "title", "banner"),
        "",
    );
}

#[test]
fn a_blocked_subtree_is_a_box_and_its_changes_are_ignored() {
    check(
        Config {
            block: "#chat".into(),
            ..Config::default()
        },
        |p, body| {
            let chat = p.el(body, "div", &[("id", "chat"), ("title", "private")]);
            vec![p.text_in(chat, "secret transcript")]
        },
        |p, h| p.set_text(h[0], "more secrets"),
        "",
    );
}

#[test]
fn a_class_change_that_matches_a_mask_selector_sends_the_element_again() {
    check(
        Config {
            mask: ".pii".into(),
            ..Config::default()
        },
        |p, body| {
            let d = p.el(body, "p", &[]);
            vec![d, p.text_in(d, "Jane Doe")]
        },
        |p, h| p.set_attr(h[0], "class", "pii"),
        r#"-6 +8<#3>@5^0 +9"**** ***"@8^0"#,
    );
}

#[test]
fn a_class_that_makes_a_descendant_match_a_mask_selector_sends_the_descendant_again() {
    // The box's own verdict does not change; its field's does.
    check(
        Config {
            mask: ".private span".into(),
            ..Config::default()
        },
        |p, body| {
            let b = p.el(body, "div", &[]);
            let s = p.el(b, "span", &[]);
            vec![b, p.text_in(s, "Jane Doe")]
        },
        |p, h| p.set_attr(h[0], "class", "private"),
        r#"-7 +9<#4>@6^0 +10"**** ***"@9^0 6.class=Some("private")"#,
    );
}

#[test]
fn a_descendant_that_stops_matching_a_mask_selector_is_sent_again_plain() {
    check(
        Config {
            mask: ".private span".into(),
            ..Config::default()
        },
        |p, body| {
            let b = p.el(body, "div", &[("class", "private")]);
            let s = p.el(b, "span", &[]);
            vec![b, p.text_in(s, "Jane Doe")]
        },
        |p, h| p.set_attr(h[0], "class", "public"),
        r#"-7 +9<#5>@6^0 +10"Jane Doe"@9^0 6.#4=Some("public")"#,
    );
}

#[test]
fn boxes_in_masked_content_read_as_unticked() {
    let (page, body) = FakePage::new();
    let form = page.el(body, "div", &[("data-cobrowse-mask", "")]);
    let box_ = page.el(form, "input", &[("type", "checkbox"), ("checked", "")]);
    page.set_value(box_, FormValue::Checked(true));
    let (mut capture, frames) = snapshot(&page, Config::default());
    let Message::Snapshot(s) = Frame::decode(&frames[0], &Limits::default())
        .unwrap()
        .message
    else {
        panic!("no snapshot");
    };
    let input = s
        .nodes
        .iter()
        .find(|n| {
            matches!(&n.data, NodeData::Element { attrs, .. }
        if attrs.iter().any(|a| a.value == "checkbox"))
        })
        .unwrap();
    let NodeData::Element { attrs, .. } = &input.data else {
        unreachable!()
    };
    assert_eq!(attrs.len(), 1, "only the type: {attrs:?}");
    assert_eq!(s.form[0].value, FormValue::Checked(false));
    page.set_value(box_, FormValue::Checked(false));
    capture.record_value(&page, &box_);
    page.set_attr(box_, "checked", "");
    page.deliver(&mut capture);
    capture.flush(&page, 0.0).unwrap();
    assert_eq!(render(&capture.take_frames()), "value 7 Checked(false)");
}

#[test]
fn the_snapshot_masks_sensitive_values_and_drops_script_text() {
    let (page, body) = FakePage::new();
    let script = page.el(body, "script", &[]);
    page.text_in(script, "var token = 'CANARY-SCRIPT';");
    for (ty, ac, secret) in [
        ("password", "", "CANARY-PW"),
        ("text", "cc-number", "CANARY-CC"),
        ("hidden", "", "CANARY-HIDDEN"),
    ] {
        let input = page.el(
            body,
            "input",
            &[("type", ty), ("autocomplete", ac), ("value", secret)],
        );
        page.set_value(input, FormValue::Text(secret.into()));
    }
    let d = page.el(body, "div", &[("data-cobrowse-unmask", "")]);
    let pw = page.el(d, "input", &[("type", "password")]);
    page.set_value(pw, FormValue::Text("CANARY-UNMASKED-PW".into()));
    let (_, frames) = snapshot(
        &page,
        Config {
            private_by_default: true,
            ..Config::default()
        },
    );
    let bytes: Vec<u8> = frames.concat();
    for canary in [
        "CANARY-SCRIPT",
        "CANARY-PW",
        "CANARY-CC",
        "CANARY-HIDDEN",
        "CANARY-UNMASKED-PW",
    ] {
        assert!(
            !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
            "{canary}"
        );
    }
}

#[test]
fn card_named_fields_are_masked_by_default_and_opened_by_unmask() {
    let (page, body) = FakePage::new();
    let fields = [
        ("name", "cardnumber", "CANARY-NUMBER"),
        ("id", "cc-cvv", "CANARY-CVV"),
        ("name", "card_expiry", "CANARY-EXPIRY"),
        ("aria-label", "IBAN", "CANARY-IBAN"),
        ("name", "ssn", "CANARY-SSN"),
    ];
    let mut inputs = Vec::new();
    for (attr, name, secret) in fields {
        let input = page.el(body, "input", &[(attr, name), ("value", secret)]);
        page.set_value(input, FormValue::Text(secret.into()));
        inputs.push((input, secret));
    }
    let shown = page.el(body, "input", &[("name", "discover"), ("value", "SHOWN-1")]);
    page.set_value(shown, FormValue::Text("SHOWN-1".into()));
    let open = page.el(body, "div", &[("data-cobrowse-unmask", "")]);
    let opened = page.el(open, "input", &[("name", "sin"), ("value", "SHOWN-2")]);
    page.set_value(opened, FormValue::Text("SHOWN-2".into()));
    let (mut capture, frames) = snapshot(&page, Config::default());
    // Typed after the snapshot, and a field renamed into a card field.
    for (input, secret) in &inputs {
        let typed = format!("{secret}-TYPED");
        page.set_value(*input, FormValue::Text(typed));
        capture.record_value(&page, input);
    }
    let renamed = page.el(body, "input", &[("name", "notes")]);
    page.deliver(&mut capture);
    capture.flush(&page, 0.0).unwrap();
    page.set_attr(renamed, "name", "cc-number");
    page.set_value(renamed, FormValue::Text("CANARY-RENAMED".into()));
    capture.record_value(&page, &renamed);
    page.deliver(&mut capture);
    capture.flush(&page, 0.0).unwrap();
    let bytes: Vec<u8> = frames
        .into_iter()
        .chain(capture.take_frames())
        .flatten()
        .collect();
    let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
    for (_, _, secret) in fields {
        assert!(!has(secret), "{secret}");
    }
    assert!(!has("CANARY-RENAMED"), "a field renamed into a card field");
    assert!(has("SHOWN-1"), "an ordinary field is not masked");
    assert!(
        has("SHOWN-2"),
        "data-cobrowse-unmask opens a card-named field"
    );
}

#[test]
fn shadow_roots_follow_their_host_and_are_sent_with_it() {
    check(
        Config::default(),
        |_, _| vec![],
        |p, _| {
            let host = p.create("x-card", &[]);
            let root = p.attach_shadow(host);
            p.text_in(root, "inside");
            p.text_in(host, "light");
            p.attach(4, host);
        },
        r#"+6<x-card>@5^0 +7ShadowRoot@6^0 +8"inside"@7^0 +9"light"@6^0"#,
    );
}

#[test]
fn page_frames_encode_exactly_as_the_protocol_does() {
    for (_, frame) in protocol::fixtures::golden() {
        match crate::outbox::encode(frame.seq, &frame.message) {
            Ok(bytes) => assert_eq!(bytes, frame.encode().unwrap()),
            Err(e) => assert!(matches!(e, crate::CaptureError::NotAPageFrame(_))),
        }
    }
}

/// A snapshot taken in slices reads a node when it visits it, not when it listed its parent:
/// a mask added (or a text edited) between slices, before the node has an id the observer
/// could report it by, is still honoured.
#[test]
fn a_sliced_snapshot_reads_nodes_changed_between_slices_afresh() {
    let (page, body) = FakePage::new();
    for _ in 0..100 {
        page.el(body, "div", &[]);
    }
    let secret = page.el(body, "p", &[]);
    page.text_in(secret, "4111 1111 1111 1111");
    let edited = page.el(body, "p", &[]);
    let note = page.text_in(edited, "before");
    let config = Config {
        // Every check of the clock ends the slice.
        slice_ms: -1.0,
        ..Config::default()
    };
    let mut capture = begun(config);
    assert!(!capture.continue_snapshot(&page).unwrap(), "one slice");
    page.set_attr(secret, "data-cobrowse-mask", "");
    page.set_text(note, "after");
    page.deliver(&mut capture);
    while !capture.continue_snapshot(&page).unwrap() {}
    let frames = capture.take_frames();
    let bytes: Vec<u8> = frames.concat();
    assert!(
        !bytes.windows(4).any(|w| w == b"4111"),
        "the card number left"
    );
    let mut dom = None;
    rebuild(&frames, &mut dom);
    assert_eq!(
        dom.unwrap().canonical(),
        fresh_canonical(&page, Config::default())
    );
}

/// Takes a snapshot of `page` in slices, runs `change` after the first, finishes and flushes:
/// the card number in `card` may have left only if it was read before the change (it is
/// masked after), and the frames rebuild the page.
fn card_safe_across_a_change_mid_snapshot(
    page: &FakePage,
    card: usize,
    change: impl FnOnce(),
    case: &str,
) {
    let config = Config {
        slice_ms: -1.0,
        ..Config::default()
    };
    let mut capture = begun(config);
    assert!(!capture.continue_snapshot(page).unwrap(), "one slice");
    let read_unmasked = capture.id_of(page, &card).is_some();
    change();
    page.deliver(&mut capture);
    while !capture.continue_snapshot(page).unwrap() {}
    capture.flush(page, 0.0).unwrap();
    let frames = capture.take_frames();
    let bytes: Vec<u8> = frames.concat();
    assert!(
        read_unmasked || !bytes.windows(4).any(|w| w == b"4111"),
        "the card number left: {case}"
    );
    let mut dom = None;
    rebuild(&frames, &mut dom);
    assert_eq!(
        dom.unwrap().canonical(),
        fresh_canonical(page, Config::default()),
        "{case}"
    );
}

/// The same, wherever the slice boundary falls: an element already visited when a script masks
/// it, whose text is not yet visited, must not send that text as it was.
#[test]
fn a_mask_added_to_a_visited_element_mid_snapshot_masks_its_unvisited_text() {
    for before in 0..80 {
        let (page, body) = FakePage::new();
        for _ in 0..before {
            page.el(body, "div", &[]);
        }
        let secret = page.el(body, "p", &[]);
        let card = page.text_in(secret, "4111 1111 1111 1111");
        for _ in before..80 {
            page.el(body, "div", &[]);
        }
        let change = || page.set_attr(secret, "data-cobrowse-mask", "");
        let case = format!("{before} elements before it");
        card_safe_across_a_change_mid_snapshot(&page, card, change, &case);
    }
}

/// A page that changes a verdict between every two slices still gets its snapshot, correct.
#[test]
fn a_snapshot_finishes_even_if_every_slice_sees_a_verdict_change() {
    let (page, body) = FakePage::new();
    let toggled = page.el(body, "p", &[]);
    page.text_in(toggled, "4111 1111 1111 1111");
    for _ in 0..200 {
        page.el(body, "div", &[]);
    }
    let config = Config {
        slice_ms: -1.0,
        ..Config::default()
    };
    let mut capture = begun(config);
    let mut slices = 1;
    while !capture.continue_snapshot(&page).unwrap() {
        slices += 1;
        assert!(slices < 10, "the snapshot never finished");
        if slices % 2 == 0 {
            page.set_attr(toggled, "data-cobrowse-mask", "");
        } else {
            page.remove_attr(toggled, "data-cobrowse-mask");
        }
        page.deliver(&mut capture);
    }
    capture.flush(&page, 0.0).unwrap();
    let mut dom = None;
    rebuild(&capture.take_frames(), &mut dom);
    assert_eq!(
        dom.unwrap().canonical(),
        fresh_canonical(&page, Config::default())
    );
}

/// A node still waiting for its visit that a script moves into a masked element is read as
/// masked, wherever the slice boundary falls.
#[test]
fn a_waiting_node_moved_into_a_masked_element_mid_snapshot_is_read_masked() {
    for before in 0..80 {
        let (page, body) = FakePage::new();
        let vault = page.el(body, "div", &[("data-cobrowse-mask", "")]);
        let list = page.el(body, "ul", &[]);
        for _ in 0..before {
            page.el(list, "li", &[]);
        }
        let item = page.el(list, "li", &[]);
        let card = page.text_in(item, "4111 1111 1111 1111");
        for _ in before..80 {
            page.el(list, "li", &[]);
        }
        let change = || page.insert_before(vault, item, None);
        let case = format!("{before} items before it");
        card_safe_across_a_change_mid_snapshot(&page, card, change, &case);
    }
}

/// Values past what a relay's frame can hold (an inline `data:` image, a log dumped in a
/// `<pre>`) are sent empty or cut, in the snapshot and in mutations alike, so the page stays
/// shareable.
#[test]
fn huge_values_are_sent_empty_or_cut_so_frames_fit_a_relay() {
    use crate::serialize::MAX_VALUE_BYTES;
    let huge_url = format!("data:image/png;base64,{}", "A".repeat(MAX_VALUE_BYTES));
    let huge_text = "é".repeat(MAX_VALUE_BYTES);
    let (page, body) = FakePage::new();
    let img = page.el(body, "img", &[("src", &huge_url), ("alt", "logo")]);
    let pre = page.el(body, "pre", &[]);
    let log = page.text_in(pre, &huge_text);
    let (mut capture, frames) = snapshot(&page, Config::default());
    let snapshot_bytes: usize = frames.iter().map(Vec::len).sum();
    assert!(
        snapshot_bytes < MAX_VALUE_BYTES + 1024,
        "snapshot of {snapshot_bytes} bytes"
    );
    let mut dom = None;
    rebuild(&frames, &mut dom);
    let canonical = dom.as_ref().unwrap().canonical();
    assert!(canonical.contains("src=\"\""), "{}", &canonical[..200]);
    assert!(canonical.contains("alt=\"logo\""));
    // Mutations: the same caps.
    page.set_attr(img, "title", &huge_url);
    page.set_text(log, &format!("{huge_text}{huge_text}"));
    page.deliver(&mut capture);
    capture.flush(&page, 0.0).unwrap();
    let batch = capture.take_frames();
    let batch_bytes: usize = batch.iter().map(Vec::len).sum();
    assert!(
        (MAX_VALUE_BYTES - 1..MAX_VALUE_BYTES + 1024).contains(&batch_bytes),
        "batch of {batch_bytes} bytes"
    );
    let mut frames = frames;
    frames.extend(batch);
    rebuild(&frames, &mut dom);
    assert_eq!(
        dom.unwrap().canonical(),
        fresh_canonical(&page, Config::default())
    );
}

#[test]
fn a_huge_cssom_rule_is_sent_as_a_placeholder_that_keeps_the_indices() {
    use crate::serialize::{CAPPED_RULE, MAX_VALUE_BYTES};
    let font = format!(
        "@font-face {{ font-family: x; src: url(data:font/woff2;base64,{}) }}",
        "A".repeat(3 << 20)
    );
    let (page, body) = FakePage::new();
    let style = page.el(body, "style", &[]);
    let rules = vec!["p { color: red; }".to_string(), font.clone()];
    page.cssom.borrow_mut().push((style, rules));
    let (mut capture, frames) = snapshot(&page, Config::default());
    let snapshot_bytes: usize = frames.iter().map(Vec::len).sum();
    assert!(snapshot_bytes < 4096, "snapshot of {snapshot_bytes} bytes");
    // The same rule inserted through the CSSOM while shared.
    capture.record_sheet(
        &page,
        crate::SheetTarget::Owner(&style),
        crate::RawRuleChange::Insert {
            index: 0,
            rule: font,
        },
    );
    capture.flush(&page, 0.0).unwrap();
    let batch = capture.take_frames();
    let batch_bytes: usize = batch.iter().map(Vec::len).sum();
    assert!(batch_bytes < 1024, "batch of {batch_bytes} bytes");
    let mut dom = None;
    rebuild(
        &frames.into_iter().chain(batch).collect::<Vec<_>>(),
        &mut dom,
    );
    let dom = dom.unwrap();
    let sent = dom.owner_sheets.values().next().unwrap();
    assert_eq!(sent, &[CAPPED_RULE, "p { color: red; }", CAPPED_RULE]);
    assert!(CAPPED_RULE.len() < MAX_VALUE_BYTES);
}

/// A navigation's title is masked as the `<title>` element's text is.
#[test]
fn a_navigation_title_is_masked_as_the_title_element_is() {
    let title = "Inbox - jane@doe.example";
    for (private, attrs, want_masked) in [
        (false, &[][..], false),
        (false, &[("data-cobrowse-mask", "")][..], true),
        (true, &[][..], true),
        (true, &[("data-cobrowse-unmask", "")][..], false),
    ] {
        let (page, _) = FakePage::new();
        let el = page.el(3, "title", attrs);
        page.text_in(el, title);
        let config = Config {
            private_by_default: private,
            ..Config::default()
        };
        let (mut capture, _) = snapshot(&page, config);
        capture.record_navigation(
            &page,
            "https://shop.example/inbox".into(),
            title.into(),
            Some(&el),
        );
        capture.flush(&page, 0.0).unwrap();
        let sent = capture.take_frames().iter().find_map(|f| {
            match Frame::decode(f, &Limits::default()).unwrap().message {
                Message::Navigated(n) => Some(n.title),
                _ => None,
            }
        });
        let want = if want_masked {
            crate::mask::mask_text(title)
        } else {
            title.to_owned()
        };
        assert_eq!(sent, Some(want), "private {private}, {attrs:?}");
    }
}

/// A select's change reports its options' states too, those in groups included.
#[test]
fn a_select_change_sends_its_options_states() {
    let (page, body) = FakePage::new();
    let select = page.el(body, "select", &[("multiple", "")]);
    let a = page.el(select, "option", &[]);
    let group = page.el(select, "optgroup", &[]);
    let b = page.el(group, "option", &[]);
    for (o, on) in [(a, false), (b, true)] {
        page.set_value(o, FormValue::Selected(on));
    }
    let (mut capture, _) = snapshot(&page, Config::default());
    page.set_value(a, FormValue::Selected(true));
    page.set_value(b, FormValue::Selected(false));
    capture.record_value(&page, &select);
    capture.flush(&page, 0.0).unwrap();
    assert_eq!(
        render(&capture.take_frames()),
        "value 9 Selected(false) value 7 Selected(true)"
    );
}

/// A style attribute's `url()` is made absolute in any letter case, as a `<style>`'s is.
#[test]
fn a_style_attribute_url_in_any_case_is_made_absolute() {
    check(
        Config::default(),
        |p, body| vec![p.el(body, "div", &[])],
        |p, h| p.set_attr(h[0], "style", "background: Url(bg.png)"),
        r#"6.style=Some("background: Url(https://shop.example/a/bg.png)")"#,
    );
}
