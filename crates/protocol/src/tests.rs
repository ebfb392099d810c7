//! Round trips, hostile bytes, limits, golden fixtures and encoded sizes.

use alloc::{string::ToString, vec, vec::Vec};
use proptest::prelude::*;
use std::{format, println};

use crate::*;

fn roundtrip(frame: &Frame) -> Frame {
    let bytes = frame.encode().expect("every frame encodes");
    Frame::decode(&bytes, &Limits::default()).expect("own encoding decodes")
}

/// Runs `check` over `strategy` on a thread with a large stack: drawing one of every message
/// kind nests deeply, and a debug build needs more than a test thread's 2 MiB for it.
fn check_deep<S: Strategy>(
    strategy: impl FnOnce() -> S + Send + 'static,
    check: impl Fn(S::Value) -> Result<(), TestCaseError> + Send + 'static,
) where
    S::Value: core::fmt::Debug,
{
    let run = move || {
        let mut runner = proptest::test_runner::TestRunner::default();
        if let Err(e) = runner.run(&strategy(), check) {
            panic!("{e}");
        }
    };
    let thread = std::thread::Builder::new().stack_size(32 << 20).spawn(run);
    if thread.expect("a test thread").join().is_err() {
        panic!("the property failed (see above)");
    }
}

#[test]
fn every_frame_survives_a_round_trip() {
    check_deep(
        || (any::<u32>(), any::<Message>()),
        |(seq, message)| {
            let frame = Frame::new(seq, message);
            prop_assert_eq!(roundtrip(&frame), frame);
            Ok(())
        },
    );
}

#[test]
fn the_envelope_agrees_with_the_full_decode() {
    check_deep(
        || (any::<u32>(), any::<Message>()),
        |(seq, message)| {
            let bytes = Frame::new(seq, message.clone()).encode().unwrap();
            let (envelope, _) = Envelope::peek(&bytes, &Limits::default()).unwrap();
            prop_assert_eq!(
                envelope,
                Envelope {
                    kind: message.kind(),
                    seq,
                    sealed: false
                }
            );
            Ok(())
        },
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Frame::decode(&bytes, &Limits::default());
        let _ = Envelope::peek(&bytes, &Limits::default());
    }
}

#[test]
fn corrupted_frames_never_panic() {
    let strategy = || {
        let flips = proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8);
        (any::<Message>(), flips, any::<prop::sample::Index>())
    };
    check_deep(strategy, |(message, flips, cut)| {
        let mut bytes = Frame::new(7, message).encode().unwrap();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let _ = Frame::decode(&bytes, &Limits::default());
        let _ = Frame::decode(&bytes[..cut.index(bytes.len() + 1)], &Limits::default());
        Ok(())
    });
}

#[test]
fn empty_and_unknown_kinds_are_typed_errors() {
    let limits = Limits::default();
    assert_eq!(Frame::decode(&[], &limits), Err(DecodeError::Empty));
    assert_eq!(
        Frame::decode(&[0xEE, 0], &limits),
        Err(DecodeError::UnknownKind { code: 0xEE })
    );
    assert_eq!(
        Frame::decode(
            &[FrameKind::Pointer.code(), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            &limits
        ),
        Err(DecodeError::BadSequence)
    );
}

#[test]
fn trailing_bytes_are_refused() {
    let mut bytes = Frame::new(1, Message::Pointer(Pointer { x: 1, y: 2 }))
        .encode()
        .unwrap();
    bytes.push(0);
    assert!(matches!(
        Frame::decode(&bytes, &Limits::default()),
        Err(DecodeError::TrailingBytes {
            kind: FrameKind::Pointer,
            count: 1
        })
    ));
}

#[test]
fn oversized_frame_is_refused_before_decoding() {
    let limits = Limits {
        max_frame_bytes: 16,
        ..Limits::default()
    };
    let bytes = vec![FrameKind::Snapshot.code(); 17];
    assert_eq!(
        Frame::decode(&bytes, &limits),
        Err(DecodeError::FrameTooLarge { limit: 16, got: 17 })
    );
}

#[test]
fn a_huge_length_prefix_does_not_allocate_it() {
    // A mutation batch claiming 2^32-1 ops in a 7-byte frame: refused, not allocated.
    let bytes = [FrameKind::Mutations.code(), 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F];
    assert!(matches!(
        Frame::decode(&bytes, &Limits::default()),
        Err(DecodeError::Malformed {
            kind: FrameKind::Mutations,
            ..
        })
    ));
}

#[test]
fn counts_over_the_limits_are_refused() {
    let limits = Limits {
        max_ops: 2,
        max_string_bytes: 8,
        ..Limits::default()
    };
    let remove = |node| Mutation::Remove { node };
    let batch = Frame::new(
        1,
        Message::Mutations(MutationBatch {
            ops: vec![remove(1), remove(2), remove(3)],
        }),
    );
    assert_eq!(
        Frame::decode(&batch.encode().unwrap(), &limits),
        Err(DecodeError::OverLimit {
            what: "ops",
            limit: 2,
            got: 3
        })
    );
    let text = Frame::new(
        1,
        Message::TextInput(TextInput {
            node: 1,
            value: "123456789".to_string(),
        }),
    );
    assert!(matches!(
        Frame::decode(&text.encode().unwrap(), &limits),
        Err(DecodeError::OverLimit {
            what: "string bytes",
            ..
        })
    ));
}

#[test]
fn hello_version_is_readable_before_the_rest() {
    let hello = Frame::new(
        0,
        Message::Hello(Hello {
            version: 9,
            role: Role::Agent,
            site: "".to_string(),
            pairing: Pairing::AgentJoin {
                session_id: "s".to_string(),
            },
        }),
    );
    let bytes = hello.encode().unwrap();
    let (envelope, body) = Envelope::peek(&bytes, &Limits::default()).unwrap();
    assert_eq!(envelope.kind, FrameKind::Hello);
    assert_eq!(peek_hello_version(body), Ok(9));
}

#[test]
fn sequence_gaps_are_detected_and_reset_by_a_snapshot() {
    let mut tracker = SeqTracker::default();
    assert_eq!(tracker.observe(10), SeqCheck::InOrder);
    assert_eq!(tracker.observe(11), SeqCheck::InOrder);
    assert_eq!(
        tracker.observe(13),
        SeqCheck::Gap {
            expected: 12,
            got: 13
        }
    );
    tracker.reset();
    assert_eq!(tracker.observe(100), SeqCheck::InOrder);
    let mut wrap = SeqTracker::default();
    wrap.observe(u32::MAX);
    assert_eq!(wrap.observe(0), SeqCheck::InOrder);
}

#[test]
fn every_kind_code_round_trips_and_codes_are_unique() {
    let mut seen = Vec::new();
    for &kind in FrameKind::ALL {
        assert_eq!(FrameKind::from_code(kind.code()), Some(kind));
        assert!(
            !seen.contains(&kind.code()),
            "duplicate code {:#x}",
            kind.code()
        );
        seen.push(kind.code());
    }
}

fn fixture_path(stem: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(format!("{stem}.bin"))
}

/// The committed encodings are the wire's contract. Set `UPDATE_FIXTURES=1` to rewrite them
/// after a deliberate protocol change (and bump the version if old peers would misread them).
#[test]
fn golden_fixtures_match_the_committed_bytes() {
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    for (stem, frame) in fixtures::golden() {
        let bytes = frame.encode().unwrap();
        let path = fixture_path(stem);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_FIXTURES=1)", path.display()));
        assert_eq!(bytes, committed, "{stem}: encoding changed");
        assert_eq!(
            Frame::decode(&committed, &Limits::default()).unwrap(),
            frame,
            "{stem}"
        );
    }
}

/// Hot frames must stay small: they are most of the traffic.
#[test]
fn hot_frames_are_small() {
    let payload = |message: Message| {
        let bytes = Frame::new(70_000, message).encode().unwrap();
        let (_, body) = Envelope::peek(&bytes, &Limits::default()).unwrap();
        (bytes.len(), body.len())
    };
    let cases = [
        (
            "pointer move",
            Message::Pointer(Pointer { x: 1919, y: 1079 }),
            8,
        ),
        (
            "agent pointer move",
            Message::AgentPointer(Pointer { x: 1919, y: 1079 }),
            8,
        ),
        (
            "one-attribute change",
            Message::Mutations(MutationBatch {
                ops: vec![Mutation::Attribute {
                    node: 12_345,
                    name: Name::Ref(7),
                    value: Some("active".to_string()),
                }],
            }),
            15,
        ),
        (
            "scroll",
            Message::Scroll(Scroll {
                node: 0,
                x: 0,
                y: 12_000,
            }),
            8,
        ),
        (
            "text change",
            Message::Mutations(MutationBatch {
                ops: vec![Mutation::Text {
                    node: 12_345,
                    text: "42".to_string(),
                }],
            }),
            15,
        ),
    ];
    for (what, message, bound) in cases {
        let (frame_bytes, payload_bytes) = payload(message);
        println!("encoded size: {what}: {payload_bytes} B payload, {frame_bytes} B frame");
        assert!(
            payload_bytes <= bound,
            "{what}: {payload_bytes} B payload over {bound}"
        );
    }
}

/// A snapshot assigns ids in list order: each node's id and parent then cost a byte apiece,
/// whatever the size of the page, and any other order still round-trips.
#[test]
fn snapshot_node_ids_cost_one_byte_each_in_walk_order() {
    let snapshot = |nodes: Vec<Node>| {
        Message::Snapshot(Snapshot {
            url: String::new(),
            viewport: Viewport {
                width: 0,
                height: 0,
            },
            nodes,
            sheets: vec![],
            adopted: vec![],
            form: vec![],
            scrolls: vec![],
            focus: 0,
        })
    };
    // 10,000 leaves of 1,000 parents, in the order a depth-first walk emits them.
    let mut nodes = Vec::new();
    for id in 1..=11_000u32 {
        let parent = if (id - 1) % 11 == 0 {
            0
        } else {
            id - (id - 1) % 11
        };
        nodes.push(Node {
            id,
            parent,
            data: NodeData::Text(String::new()),
        });
    }
    let count = nodes.len();
    let bytes = Frame::new(1, snapshot(nodes)).encode().unwrap();
    // Per node: step, back, the variant and the empty string's length; the 1,000 top-level
    // nodes' parent (0) is a two-byte step back.
    assert!(
        bytes.len() <= count * 4 + 1_000 + 32,
        "{} B for {count} nodes",
        bytes.len()
    );
    let shuffled = vec![
        Node {
            id: 70_000,
            parent: 0,
            data: NodeData::Document,
        },
        Node {
            id: 3,
            parent: 70_000,
            data: NodeData::Comment("x".into()),
        },
        Node {
            id: u32::MAX,
            parent: 3,
            data: NodeData::ShadowRoot,
        },
    ];
    let frame = Frame::new(2, snapshot(shuffled));
    let decoded = Frame::decode(&frame.encode().unwrap(), &Limits::default()).unwrap();
    assert_eq!(decoded, frame);
}
