//! Golden frames: one representative frame per kind family, committed in encoded form under
//! `crates/protocol/fixtures/`. The protocol tests check that encoding still yields those bytes
//! and the browser tests decode the same files, so both sides of the wire agree on one layout.

use alloc::{
    string::{String, ToString},
    vec,
    vec::Vec,
};

use crate::*;

/// `(file stem, frame)` pairs; each is stored as `fixtures/<stem>.bin`.
pub fn golden() -> Vec<(&'static str, Frame)> {
    let name = |s: &str| Name::New(s.to_string());
    vec![
        (
            "hello_customer_key",
            Frame::new(
                0,
                Message::Hello(Hello {
                    version: crate::PROTOCOL_VERSION,
                    role: Role::Customer,
                    site: "demo".to_string(),
                    pairing: Pairing::SecurityKey("123456".to_string()),
                }),
            ),
        ),
        (
            "snapshot_small",
            Frame::new(
                1,
                Message::Snapshot(Snapshot {
                    url: "https://shop.example/checkout".to_string(),
                    viewport: Viewport {
                        width: 1280,
                        height: 720,
                    },
                    nodes: vec![
                        Node {
                            id: 1,
                            parent: 0,
                            data: NodeData::Document,
                        },
                        Node {
                            id: 2,
                            parent: 1,
                            data: NodeData::Doctype {
                                name: "html".to_string(),
                                public_id: "".to_string(),
                                system_id: "".to_string(),
                            },
                        },
                        Node {
                            id: 3,
                            parent: 1,
                            data: NodeData::Element {
                                ns: Namespace::Html,
                                tag: name("html"),
                                attrs: vec![Attr {
                                    name: name("lang"),
                                    value: "en".to_string(),
                                }],
                            },
                        },
                        Node {
                            id: 4,
                            parent: 3,
                            data: NodeData::Text("****".to_string()),
                        },
                    ],
                    sheets: vec![SheetRules {
                        sheet: SheetRef::Constructed(1),
                        rules: vec!["p { color: red; }".to_string()],
                    }],
                    adopted: vec![AdoptedSheets {
                        scope: 1,
                        sheets: vec![1],
                    }],
                    form: vec![InputValue {
                        node: 3,
                        value: FormValue::Text("****".to_string()),
                    }],
                    scrolls: vec![Scroll {
                        node: 0,
                        x: 0,
                        y: 240,
                    }],
                    focus: 0,
                }),
            ),
        ),
        (
            "mutations_mixed",
            Frame::new(
                2,
                Message::Mutations(MutationBatch {
                    ops: vec![
                        Mutation::Add {
                            node: Node {
                                id: 5,
                                parent: 3,
                                data: NodeData::Element {
                                    ns: Namespace::Svg,
                                    tag: name("svg"),
                                    attrs: vec![],
                                },
                            },
                            before: 4,
                        },
                        Mutation::Remove { node: 4 },
                        Mutation::Attribute {
                            node: 3,
                            name: Name::Ref(1),
                            value: Some("fr".to_string()),
                        },
                        Mutation::Text {
                            node: 4,
                            text: "hi".to_string(),
                        },
                        Mutation::Sheet {
                            sheet: SheetRef::Owner(3),
                            change: RuleChange::Insert {
                                path: vec![0],
                                rule: "a{}".to_string(),
                            },
                        },
                        Mutation::Resize {
                            node: 5,
                            width: 10,
                            height: 20,
                        },
                    ],
                }),
            ),
        ),
        (
            "pointer",
            Frame::new(3, Message::Pointer(Pointer { x: 640, y: 360 })),
        ),
        (
            "agent_click",
            Frame::new(
                4,
                Message::Click(Click {
                    node: 42,
                    x: 10,
                    y: 20,
                    button: Button::Primary,
                }),
            ),
        ),
        (
            "hello_customer_resume",
            Frame::new(
                0,
                Message::Hello(Hello {
                    version: crate::PROTOCOL_VERSION,
                    role: Role::Customer,
                    site: "demo".to_string(),
                    pairing: Pairing::Resume {
                        token: "0f1e2d3c".to_string(),
                        grant: 2,
                    },
                }),
            ),
        ),
        (
            "mode_granted",
            Frame::new(
                6,
                Message::ModeChanged(ModeChanged {
                    mode: SessionMode::NavigationGranted,
                    grant: 2,
                }),
            ),
        ),
        (
            "viewers_two",
            Frame::new(0, Message::Viewers(Viewers { count: 2 })),
        ),
        (
            "hello_observe",
            Frame::new(
                0,
                Message::Hello(Hello {
                    version: crate::PROTOCOL_VERSION,
                    role: Role::Agent,
                    site: String::new(),
                    pairing: Pairing::Observe {
                        session_id: "5e55".to_string(),
                    },
                }),
            ),
        ),
        (
            "end_inactivity",
            Frame::new(
                5,
                Message::End(End {
                    reason: EndReason::Inactivity,
                }),
            ),
        ),
    ]
}
