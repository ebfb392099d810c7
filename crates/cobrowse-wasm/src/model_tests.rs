//! Model tests: frames that do not apply are refused with a typed error.

use protocol::{
    Attr, Mutation, MutationBatch, Name, Namespace, Node, NodeData, Snapshot, Viewport,
};

use super::*;

fn el(id: NodeId, parent: NodeId, tag: Name) -> Node {
    Node {
        id,
        parent,
        data: NodeData::Element {
            ns: Namespace::Html,
            tag,
            attrs: vec![],
        },
    }
}

fn base() -> Dom {
    Dom::from_snapshot(&Snapshot {
        url: "https://x.example/".into(),
        viewport: Viewport {
            width: 1,
            height: 1,
        },
        nodes: vec![
            Node {
                id: 1,
                parent: 0,
                data: NodeData::Document,
            },
            el(2, 1, Name::New("html".into())),
            Node {
                id: 3,
                parent: 2,
                data: NodeData::Text("hi".into()),
            },
        ],
        sheets: vec![],
        adopted: vec![],
        form: vec![],
        scrolls: vec![],
        focus: 0,
    })
    .unwrap()
}

#[test]
fn inconsistent_batches_are_refused_with_the_reason() {
    let cases: Vec<(Mutation, ModelError)> = vec![
        (
            Mutation::Add {
                node: el(9, 7, Name::Ref(0)),
                before: 0,
            },
            ModelError::UnknownParent { id: 9, parent: 7 },
        ),
        (
            Mutation::Add {
                node: el(2, 1, Name::Ref(0)),
                before: 0,
            },
            ModelError::DuplicateId { id: 2 },
        ),
        (
            Mutation::Add {
                node: el(9, 2, Name::Ref(5)),
                before: 0,
            },
            ModelError::UnknownName { index: 5 },
        ),
        (
            Mutation::Add {
                node: el(9, 2, Name::Ref(0)),
                before: 1,
            },
            ModelError::UnknownBefore {
                id: 9,
                before: 1,
                parent: 2,
            },
        ),
        (
            Mutation::Add {
                node: el(9, 3, Name::Ref(0)),
                before: 0,
            },
            ModelError::NotAContainer { id: 3 },
        ),
        (
            Mutation::Remove { node: 8 },
            ModelError::UnknownNode { id: 8 },
        ),
        (
            Mutation::Text {
                node: 2,
                text: "x".into(),
            },
            ModelError::UnknownNode { id: 2 },
        ),
    ];
    for (op, want) in cases {
        let mut dom = base();
        assert_eq!(
            dom.apply(&MutationBatch {
                ops: vec![op.clone()]
            }),
            Err(want),
            "{op:?}"
        );
    }
}

#[test]
fn canonical_form_sorts_attributes_and_ignores_ids() {
    let mut dom = base();
    dom.apply(&MutationBatch {
        ops: vec![
            Mutation::Add {
                node: Node {
                    id: 40,
                    parent: 2,
                    data: NodeData::Element {
                        ns: Namespace::Svg,
                        tag: Name::New("svg".into()),
                        attrs: vec![
                            Attr {
                                name: Name::New("width".into()),
                                value: "2".into(),
                            },
                            Attr {
                                name: Name::New("class".into()),
                                value: "i".into(),
                            },
                        ],
                    },
                },
                before: 3,
            },
            Mutation::Remove { node: 3 },
        ],
    })
    .unwrap();
    assert_eq!(
        dom.canonical(),
        "#document\n  <html>\n    <svg:svg class=\"i\" width=\"2\">\n"
    );
}
