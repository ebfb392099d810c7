//! Mirror tests: what the shell is told to do for each frame, and when the mirror refuses to
//! guess and asks for a resync instead.

use protocol::{
    Attr, Empty, Frame, InputValue, Message, Mutation, MutationBatch, Name, Namespace, Node,
    NodeData, Pointer, RuleChange, SheetRef, SheetRules, Snapshot, Viewport,
};

use super::*;

fn el(id: u32, parent: u32, tag: &str, attrs: &[(&str, &str)]) -> Node {
    Node {
        id,
        parent,
        data: NodeData::Element {
            ns: Namespace::Html,
            tag: Name::New(tag.into()),
            attrs: attrs
                .iter()
                .map(|(n, v)| Attr {
                    name: Name::New((*n).into()),
                    value: (*v).into(),
                })
                .collect(),
        },
    }
}

/// Document 1 > html 2 > body 3 > (button 4 onclick, style 5, text 6 "hi").
fn snapshot() -> Snapshot {
    Snapshot {
        url: "https://shop.example/".into(),
        viewport: Viewport {
            width: 800,
            height: 600,
        },
        nodes: vec![
            Node {
                id: 1,
                parent: 0,
                data: NodeData::Document,
            },
            el(2, 1, "html", &[]),
            el(3, 2, "body", &[]),
            el(4, 3, "button", &[("onclick", "steal()"), ("class", "buy")]),
            el(5, 3, "style", &[]),
            Node {
                id: 6,
                parent: 3,
                data: NodeData::Text("hi".into()),
            },
        ],
        sheets: vec![SheetRules {
            sheet: SheetRef::Owner(5),
            rules: vec!["p { color: red; }".into()],
        }],
        adopted: vec![],
        form: vec![],
        scrolls: vec![],
        focus: 0,
    }
}

fn synced() -> Mirror {
    let mut mirror = Mirror::new();
    let step = mirror.on_frame(Frame::new(0, Message::Snapshot(snapshot())));
    assert_eq!(step.signals, vec![Signal::Synced]);
    mirror
}

fn batch(seq: u32, ops: Vec<Mutation>) -> Frame {
    Frame::new(seq, Message::Mutations(MutationBatch { ops }))
}

fn resyncs(step: &Step) -> bool {
    step.signals.iter().any(|s| matches!(s, Signal::Resync(_)))
}

#[test]
fn a_snapshot_resets_then_builds_parent_first_with_handlers_stripped() {
    let mut mirror = Mirror::new();
    let step = mirror.on_frame(Frame::new(0, Message::Snapshot(snapshot())));
    assert!(matches!(step.patches[0], Patch::Reset { .. }));
    let button = step.patches.iter().find_map(|p| match p {
        Patch::Insert {
            id: 4,
            node: NewNode::Element { attrs, .. },
            ..
        } => Some(attrs.clone()),
        _ => None,
    });
    assert_eq!(button, Some(vec![("class".into(), "buy".into())]));
    assert!(step.patches.contains(&Patch::Rules {
        sheet: SheetRef::Owner(5),
        rules: vec!["p { color: red; }".into()],
    }));
}

#[test]
fn an_add_under_an_unknown_parent_asks_for_a_resync_and_later_batches_wait_for_a_snapshot() {
    let mut mirror = synced();
    let step = mirror.on_frame(batch(
        1,
        vec![Mutation::Add {
            node: el(9, 77, "p", &[]),
            before: 0,
        }],
    ));
    assert_eq!(
        step.signals,
        vec![Signal::Resync(ResyncCause::Inconsistent(
            ModelError::UnknownParent { id: 9, parent: 77 }
        ))]
    );
    let later = mirror.on_frame(batch(2, vec![Mutation::Remove { node: 6 }]));
    assert!(
        later.patches.is_empty(),
        "nothing applies while out of sync"
    );
    assert!(!resyncs(&later), "one request is enough");
    let again = mirror.on_frame(Frame::new(0, Message::Snapshot(snapshot())));
    assert_eq!(again.signals, vec![Signal::Synced]);
    assert!(!mirror.awaiting_snapshot());
}

#[test]
fn a_sequence_gap_asks_for_a_resync_instead_of_applying() {
    let mut mirror = synced();
    let step = mirror.on_frame(batch(5, vec![Mutation::Remove { node: 6 }]));
    assert_eq!(
        step.signals,
        vec![Signal::Resync(ResyncCause::Gap {
            expected: 1,
            got: 5
        })]
    );
    assert!(step.patches.is_empty());
}

#[test]
fn relay_frames_do_not_count_toward_the_page_sequence() {
    let mut mirror = synced();
    let step = mirror.on_frame(Frame::new(
        0,
        Message::ModeChanged(protocol::ModeChanged {
            mode: SessionMode::NavigationGranted,
            grant: 1,
        }),
    ));
    assert_eq!(
        step.signals,
        vec![Signal::Mode(SessionMode::NavigationGranted)]
    );
    let step = mirror.on_frame(Frame::new(1, Message::Pointer(Pointer { x: 3, y: 4 })));
    assert_eq!(step.signals, vec![Signal::Pointer { x: 3, y: 4 }]);
}

#[test]
fn a_removal_forgets_the_whole_subtree() {
    let mut mirror = synced();
    let step = mirror.on_frame(batch(1, vec![Mutation::Remove { node: 3 }]));
    let Some(Patch::Remove { id: 3, forget }) = step.patches.first() else {
        panic!("expected a removal, got {:?}", step.patches);
    };
    let mut forget = forget.clone();
    forget.sort();
    assert_eq!(forget, vec![3, 4, 5, 6]);
}

#[test]
fn attribute_changes_are_sanitised_and_resolved_through_the_name_table() {
    let mut mirror = synced();
    // The snapshot's table: html 0, body 1, button 2, onclick 3, class 4, style 5.
    let step = mirror.on_frame(batch(
        1,
        vec![
            Mutation::Attribute {
                node: 4,
                name: Name::Ref(4),
                value: Some("buy now".into()),
            },
            Mutation::Attribute {
                node: 4,
                name: Name::Ref(3),
                value: Some("steal2()".into()),
            },
            Mutation::Attribute {
                node: 4,
                name: Name::New("formaction".into()),
                value: Some("javascript:steal()".into()),
            },
        ],
    ));
    assert_eq!(
        step.patches,
        vec![
            Patch::Attr {
                id: 4,
                change: AttrChange::Set {
                    name: "class".into(),
                    value: "buy now".into()
                }
            },
            Patch::Attr {
                id: 4,
                change: AttrChange::Remove {
                    name: "formaction".into()
                }
            },
        ]
    );
}

#[test]
fn rule_changes_become_cssom_calls_checked_against_the_model() {
    let mut mirror = synced();
    let step = mirror.on_frame(batch(
        1,
        vec![Mutation::Sheet {
            sheet: SheetRef::Owner(5),
            change: RuleChange::Insert {
                path: vec![1],
                rule: ".a { color: blue; }".into(),
            },
        }],
    ));
    assert_eq!(
        step.patches,
        vec![Patch::RuleInsert {
            sheet: SheetRef::Owner(5),
            index: 1,
            rule: ".a { color: blue; }".into()
        }]
    );
    let bad = mirror.on_frame(batch(
        2,
        vec![Mutation::Sheet {
            sheet: SheetRef::Owner(5),
            change: RuleChange::Delete { path: vec![9] },
        }],
    ));
    assert!(resyncs(&bad));
}

#[test]
fn form_values_of_unknown_nodes_ask_for_a_resync() {
    let mut mirror = synced();
    let ok = mirror.on_frame(Frame::new(
        1,
        Message::InputValue(InputValue {
            node: 4,
            value: protocol::FormValue::Text("****".into()),
        }),
    ));
    assert_eq!(ok.patches.len(), 1);
    let bad = mirror.on_frame(Frame::new(
        2,
        Message::InputValue(InputValue {
            node: 99,
            value: protocol::FormValue::Checked(true),
        }),
    ));
    assert!(resyncs(&bad));
}

#[test]
fn undecodable_bytes_ask_for_a_resync_and_never_panic() {
    let mut mirror = synced();
    assert!(resyncs(&mirror.receive(&[0x11, 0x01, 0xff, 0xff])));
    let mut fresh = Mirror::new();
    assert!(resyncs(&fresh.receive(&[])));
    let consent = Frame::new(3, Message::NavigationAccept(Empty))
        .encode()
        .unwrap();
    assert!(fresh.receive(&consent).signals.is_empty());
}

#[test]
fn a_blocked_element_becomes_a_marked_box_of_its_size() {
    let mut mirror = synced();
    let boxed = Node {
        id: 9,
        parent: 3,
        data: NodeData::Boxed {
            ns: Namespace::Html,
            tag: Name::New("div".into()),
            attrs: vec![],
            width: 300,
            height: 90,
        },
    };
    let step = mirror.on_frame(batch(
        1,
        vec![Mutation::Add {
            node: boxed,
            before: 0,
        }],
    ));
    assert_eq!(
        step.patches,
        vec![Patch::Insert {
            id: 9,
            parent: 3,
            before: 0,
            node: NewNode::Boxed {
                ns: Namespace::Html,
                tag: "div".into(),
                attrs: vec![(patch::BOX_MARKER.into(), String::new())],
                width: 300,
                height: 90,
            },
        }]
    );
}

#[test]
fn focus_hover_and_target_become_marks_on_known_elements_only() {
    let mut mirror = synced();
    let step = mirror.on_frame(Frame::new(1, Message::Focus(protocol::Focus { node: 4 })));
    assert_eq!(
        step.patches,
        vec![Patch::Mark {
            mark: Mark::Focus,
            id: 4
        }]
    );
    let step = mirror.on_frame(Frame::new(
        2,
        Message::Pseudo(protocol::PseudoClasses {
            hover: 6,
            target: 999,
        }),
    ));
    assert_eq!(
        step.patches,
        vec![
            Patch::Mark {
                mark: Mark::Hover,
                id: 6
            },
            Patch::Mark {
                mark: Mark::Target,
                id: 0
            }
        ],
        "an unknown target is nowhere, not a resync"
    );
    assert!(!resyncs(&step));
}

#[test]
fn mirrored_css_styles_the_customers_pseudo_classes_through_attributes() {
    let mut mirror = Mirror::new();
    let mut snap = snapshot();
    snap.nodes.push(Node {
        id: 7,
        parent: 5,
        data: NodeData::Text(".menu:hover .items { display: block }".into()),
    });
    snap.sheets[0].rules = vec!["a:focus { outline: 1px solid red; }".into()];
    let step = mirror.on_frame(Frame::new(0, Message::Snapshot(snap)));
    assert!(step.patches.contains(&Patch::Insert {
        id: 7,
        parent: 5,
        before: 0,
        node: NewNode::Text(".menu[data-cb-hover] .items { display: block }".into()),
    }));
    assert!(step.patches.contains(&Patch::Rules {
        sheet: SheetRef::Owner(5),
        rules: vec!["a[data-cb-focus] { outline: 1px solid red; }".into()],
    }));
    let step = mirror.on_frame(batch(
        1,
        vec![
            Mutation::Text {
                node: 7,
                text: "h2:target { color: red }".into(),
            },
            Mutation::Text {
                node: 6,
                text: "a:hover is prose here".into(),
            },
            Mutation::Sheet {
                sheet: SheetRef::Owner(5),
                change: RuleChange::Insert {
                    path: vec![1],
                    rule: "li:not(:hover) { opacity: .5 }".into(),
                },
            },
        ],
    ));
    assert_eq!(
        step.patches,
        vec![
            Patch::Text {
                id: 7,
                text: "h2[data-cb-target] { color: red }".into()
            },
            Patch::Text {
                id: 6,
                text: "a:hover is prose here".into()
            },
            Patch::RuleInsert {
                sheet: SheetRef::Owner(5),
                index: 1,
                rule: "li:not([data-cb-hover]) { opacity: .5 }".into()
            },
        ]
    );
    let dom = mirror.dom().unwrap();
    assert_eq!(
        dom.owner_sheets.get(&5).map(|r| r[1].as_str()),
        Some("li:not(:hover) { opacity: .5 }"),
        "the model keeps the customer's CSS"
    );
}

#[test]
fn consent_and_refusal_frames_share_the_pages_numbering_without_a_resync() {
    let mut mirror = synced();
    for (seq, message) in [
        (1, Message::NavigationAccept(Empty)),
        (
            2,
            Message::InputRefused(protocol::InputRefused {
                node: 4,
                reason: protocol::Refusal::ReadOnly,
            }),
        ),
        (3, Message::Focus(protocol::Focus { node: 4 })),
        (4, Message::Revoke(Empty)),
        (
            5,
            Message::Scroll(protocol::Scroll {
                node: 0,
                x: 0,
                y: 9,
            }),
        ),
    ] {
        let step = mirror.on_frame(Frame::new(seq, message));
        assert!(!resyncs(&step), "seq {seq}: {step:?}");
    }
    let step = mirror.on_frame(Frame::new(7, Message::Revoke(Empty)));
    assert!(resyncs(&step), "a real gap still asks for a resync");
}
