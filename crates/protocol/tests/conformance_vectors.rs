//! The language-neutral conformance vectors in `crates/protocol/conformance/vectors.json`:
//! frame bytes in hex beside their decoded value as JSON, valid and invalid. Every vector is
//! checked both ways against this crate's codec (decode(hex) == json and encode(json) == hex;
//! an invalid one fails with the named `DecodeError`), so a codec change that breaks them fails
//! here. `UPDATE_VECTORS=1 cargo test -p protocol --test conformance_vectors` rewrites the file
//! from the cases below; review the diff, since any change there is a wire change.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use protocol::*;
use serde_json::{json, Value};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/vectors.json");

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
        .collect()
}

/// `Limits::default()` with the fields a vector's `limits` object names replaced.
fn limits_of(overrides: Option<&Value>) -> Limits {
    let mut limits = Limits::default();
    let Some(overrides) = overrides else {
        return limits;
    };
    for (field, value) in overrides.as_object().expect("limits is an object") {
        let value = usize::try_from(value.as_u64().expect("a limit is a number")).unwrap();
        match field.as_str() {
            "max_frame_bytes" => limits.max_frame_bytes = value,
            "max_string_bytes" => limits.max_string_bytes = value,
            "max_nodes" => limits.max_nodes = value,
            "max_ops" => limits.max_ops = value,
            "max_rules" => limits.max_rules = value,
            "max_points" => limits.max_points = value,
            other => panic!("unknown limit {other}"),
        }
    }
    limits
}

/// A decode error as the vectors write it: its variant and its facts, without the decoder's
/// free text (which is this implementation's, not the protocol's).
fn error_json(e: &DecodeError) -> Value {
    match e {
        DecodeError::Empty => json!({ "error": "Empty" }),
        DecodeError::FrameTooLarge { limit, got } => {
            json!({ "error": "FrameTooLarge", "limit": limit, "got": got })
        }
        DecodeError::UnknownKind { code } => json!({ "error": "UnknownKind", "code": code }),
        DecodeError::BadSequence => json!({ "error": "BadSequence" }),
        DecodeError::Malformed { kind, .. } => {
            json!({ "error": "Malformed", "kind": format!("{kind:?}") })
        }
        DecodeError::Sealed { kind } => {
            json!({ "error": "Sealed", "kind": format!("{kind:?}") })
        }
        DecodeError::TrailingBytes { kind, count } => {
            json!({ "error": "TrailingBytes", "kind": format!("{kind:?}"), "count": count })
        }
        DecodeError::OverLimit { what, limit, got } => {
            json!({ "error": "OverLimit", "what": what, "limit": limit, "got": got })
        }
    }
}

fn s(text: &str) -> String {
    text.to_string()
}

/// Valid frames: the golden fixtures, and one frame of every kind they do not cover.
fn valid_cases() -> Vec<(String, Frame)> {
    let mut cases: Vec<(String, Frame)> = fixtures::golden()
        .into_iter()
        .map(|(name, frame)| (s(name), frame))
        .collect();
    let extra = [
        (
            "hello_customer_offer",
            Message::Hello(Hello {
                version: PROTOCOL_VERSION,
                role: Role::Customer,
                site: s("demo"),
                pairing: Pairing::OfferToken(s("of-1")),
            }),
        ),
        (
            "hello_agent_join",
            Message::Hello(Hello {
                version: PROTOCOL_VERSION,
                role: Role::Agent,
                site: String::new(),
                pairing: Pairing::AgentJoin {
                    session_id: s("5e55"),
                },
            }),
        ),
        (
            "hello_unsupported_version",
            Message::Hello(Hello {
                version: 99,
                role: Role::Customer,
                site: s("demo"),
                pairing: Pairing::SecurityKey(s("123456")),
            }),
        ),
        (
            "welcome_customer",
            Message::Welcome(Welcome {
                version: PROTOCOL_VERSION,
                session_id: s("5e55"),
                role: Role::Customer,
                mode: SessionMode::ReadOnly,
                grant: 0,
                interaction: Interaction::Voice,
                resume_token: Some(s("0f1e2d3c")),
            }),
        ),
        (
            "error_not_allowed",
            Message::Error(ErrorReport {
                code: ErrorCode::NotAllowed,
                message: s("not allowed"),
            }),
        ),
        (
            "presence_agent_left",
            Message::Presence(Presence {
                role: Role::Agent,
                connected: false,
            }),
        ),
        (
            "input_value_checked",
            Message::InputValue(InputValue {
                node: 7,
                value: FormValue::Checked(true),
            }),
        ),
        (
            "scroll_window",
            Message::Scroll(Scroll {
                node: 0,
                x: 0,
                y: -1,
            }),
        ),
        (
            "viewport",
            Message::Viewport(Viewport {
                width: 390,
                height: 844,
            }),
        ),
        ("focus", Message::Focus(Focus { node: 9 })),
        (
            "navigated",
            Message::Navigated(Navigated {
                url: s("https://shop.example/cart"),
                title: s("Cart"),
            }),
        ),
        (
            "input_refused_masked",
            Message::InputRefused(InputRefused {
                node: 12,
                reason: Refusal::Masked,
            }),
        ),
        (
            "sharing_paused",
            Message::SharingPaused(SharingPaused { paused: true }),
        ),
        ("navigation_accept", Message::NavigationAccept(Empty)),
        ("navigation_decline", Message::NavigationDecline(Empty)),
        ("revoke", Message::Revoke(Empty)),
        (
            "agent_pointer",
            Message::AgentPointer(Pointer { x: 300, y: 200 }),
        ),
        ("highlight", Message::Highlight(Highlight { node: 42 })),
        (
            "stroke_arrow_done",
            Message::Stroke(Stroke {
                id: 1,
                kind: StrokeKind::Arrow,
                points: vec![Point { x: 1, y: 2 }, Point { x: -3, y: 400 }],
                done: true,
            }),
        ),
        ("clear_annotations", Message::ClearAnnotations(Empty)),
        ("navigation_request", Message::NavigationRequest(Empty)),
        ("resync_request", Message::ResyncRequest(Empty)),
        (
            "text_input",
            Message::TextInput(TextInput {
                node: 42,
                value: s("héllo"),
            }),
        ),
        (
            "key_ctrl_a",
            Message::Key(Key {
                node: 42,
                key: s("a"),
                modifiers: modifiers::CTRL,
            }),
        ),
        (
            "agent_scroll",
            Message::AgentScroll(Scroll {
                node: 0,
                x: 0,
                y: 600,
            }),
        ),
        (
            "navigate_url",
            Message::Navigate(Navigate::Url(s("https://shop.example/help"))),
        ),
        ("navigate_back", Message::Navigate(Navigate::Back)),
        (
            "end_customer",
            Message::End(End {
                reason: EndReason::CustomerEnded,
            }),
        ),
        // Added after the rest, so their sequence numbers stay as they were.
        (
            "pseudo_classes",
            Message::Pseudo(PseudoClasses {
                hover: 12,
                target: 0,
            }),
        ),
        // Time-boxed and scoped grants.
        (
            "grant_status_timed_scoped",
            Message::GrantStatus(GrantStatus {
                mode: SessionMode::NavigationGranted,
                grant: 2,
                reason: ModeReason::Accepted,
                remaining_ms: Some(299_500),
                scope: Some(40),
            }),
        ),
        (
            "input_dropped_outside_scope",
            Message::InputDropped(InputRefused {
                node: 7,
                reason: Refusal::OutsideScope,
            }),
        ),
        (
            "grant_accept_five_minutes_in_a_region",
            Message::GrantAccept(GrantTerms {
                duration_secs: 300,
                scope: vec![40, 41, 300],
            }),
        ),
        (
            "scope_update_added",
            Message::ScopeUpdate(ScopeNodes {
                replace: false,
                nodes: vec![90, 91],
            }),
        ),
        ("scope_removed", Message::ScopeRemoved(Empty)),
        (
            "area_request",
            Message::AreaRequest(AreaRequest { node: 40 }),
        ),
        (
            "key_start",
            Message::KeyStart(KeyShare {
                exchange: 0x1234_5678,
                message: (0..33).collect(),
            }),
        ),
        (
            "key_reply",
            Message::KeyReply(KeyReply {
                exchange: 0x1234_5678,
                message: (100..133).collect(),
                confirmation: [7; 32],
            }),
        ),
        (
            "key_confirm",
            Message::KeyConfirm(KeyConfirm {
                exchange: 0x1234_5678,
                confirmation: [9; 32],
                content_key: (0..48).collect(),
            }),
        ),
        (
            "end_key_exchange_failed",
            Message::End(End {
                reason: EndReason::KeyExchangeFailed,
            }),
        ),
        (
            "grant_status_expired",
            Message::GrantStatus(GrantStatus {
                mode: SessionMode::ReadOnly,
                grant: 2,
                reason: ModeReason::Expired,
                remaining_ms: None,
                scope: None,
            }),
        ),
        (
            "snapshot_begin",
            Message::SnapshotBegin(Snapshot {
                url: s("https://shop.example/orders"),
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
                        data: NodeData::Element {
                            ns: Namespace::Html,
                            tag: Name::New(s("html")),
                            attrs: Vec::new(),
                        },
                    },
                ],
                sheets: Vec::new(),
                adopted: Vec::new(),
                form: Vec::new(),
                scrolls: Vec::new(),
                focus: 0,
            }),
        ),
        (
            "snapshot_part_last",
            Message::SnapshotPart(SnapshotPart {
                nodes: vec![
                    Node {
                        id: 3,
                        parent: 2,
                        data: NodeData::Element {
                            ns: Namespace::Html,
                            tag: Name::New(s("body")),
                            attrs: Vec::new(),
                        },
                    },
                    Node {
                        id: 4,
                        parent: 3,
                        data: NodeData::Text(s("Order #100000")),
                    },
                ],
                sheets: Vec::new(),
                adopted: Vec::new(),
                form: Vec::new(),
                scrolls: vec![Scroll {
                    node: 0,
                    x: 0,
                    y: 480,
                }],
                last: true,
            }),
        ),
    ];
    for (i, (name, message)) in extra.into_iter().enumerate() {
        // Sequence numbers past one varint byte too, so a reader's varint is exercised.
        let seq = if i % 5 == 4 { 300 + i as u32 } else { i as u32 };
        cases.push((s(name), Frame::new(seq, message)));
    }
    cases
}

fn encoded(message: Message, seq: u32) -> Vec<u8> {
    Frame::new(seq, message).encode().unwrap()
}

/// Invalid byte strings, with the limits they are decoded under where not the defaults.
fn invalid_cases() -> Vec<(&'static str, Vec<u8>, Option<Value>)> {
    let pointer = encoded(Message::Pointer(Pointer { x: 1, y: 2 }), 3);
    let hello = encoded(
        Message::Hello(Hello {
            version: PROTOCOL_VERSION,
            role: Role::Customer,
            site: s("demo"),
            pairing: Pairing::SecurityKey(s("123456")),
        }),
        0,
    );
    let with = |mut bytes: Vec<u8>, more: &[u8]| {
        bytes.extend_from_slice(more);
        bytes
    };
    let stroke = encoded(
        Message::Stroke(Stroke {
            id: 1,
            kind: StrokeKind::Freehand,
            points: vec![Point { x: 0, y: 0 }; 3],
            done: false,
        }),
        0,
    );
    let key = encoded(
        Message::Key(Key {
            node: 1,
            key: s("Enter"),
            modifiers: 0,
        }),
        0,
    );
    vec![
        ("empty", vec![], None),
        ("unknown_kind_0xff", vec![0xff, 0x00], None),
        ("unknown_kind_0x08", vec![0x08, 0x00, 0x00], None),
        ("sequence_missing", vec![0x15], None),
        ("sequence_unterminated", vec![0x15, 0x80], None),
        (
            "sequence_over_u32",
            vec![0x32, 0xff, 0xff, 0xff, 0xff, 0x1f],
            None,
        ),
        ("hello_truncated", hello[..hello.len() - 2].to_vec(), None),
        // Role is the second field: variant 7 is no role.
        ("hello_unknown_role", vec![0x01, 0x00, 0x03, 0x07], None),
        (
            "pointer_trailing_byte",
            with(pointer.clone(), &[0x00]),
            None,
        ),
        ("revoke_with_a_body", vec![0x32, 0x00, 0x00], None),
        // TextInput{node: 1, value: one byte 0xff}: not UTF-8.
        (
            "text_input_not_utf8",
            vec![0x51, 0x00, 0x01, 0x01, 0xff],
            None,
        ),
        (
            "frame_over_max_frame_bytes",
            pointer.clone(),
            Some(json!({ "max_frame_bytes": pointer.len() - 1 })),
        ),
        (
            "stroke_over_max_points",
            stroke,
            Some(json!({ "max_points": 2 })),
        ),
        (
            "key_over_max_string_bytes",
            key,
            Some(json!({ "max_string_bytes": 4 })),
        ),
        // GrantAccept{duration: 0, scope: one node id too many}.
        (
            "grant_accept_scope_over_max_scope_nodes",
            {
                let mut bytes = vec![0x33, 0x00, 0x00];
                let count = MAX_SCOPE_NODES as u32 + 1;
                bytes.extend_from_slice(&[(count & 0x7f) as u8 | 0x80, (count >> 7) as u8]);
                bytes.extend((0..count).map(|i| (i % 100) as u8));
                bytes
            },
            None,
        ),
        // GrantAccept{duration: 300 (a varint cut short)}.
        ("grant_accept_truncated", vec![0x33, 0x00, 0xac], None),
        // ScopeUpdate{replace: 2}: not a bool.
        ("scope_update_bad_bool", vec![0x34, 0x00, 0x02, 0x00], None),
        // A sealed Snapshot (0x10 | 0x80): forwarded by a relay, opened before it is decoded.
        (
            "sealed_snapshot_is_not_decoded",
            vec![0x90, 0x00, 0x01, 0x02],
            None,
        ),
        // A sealed Hello (0x01 | 0x80): session frames are never sealed.
        ("sealed_hello_is_no_kind", vec![0x81, 0x00, 0x00], None),
        // KeyStart{exchange: 7, a 65-byte message}.
        (
            "key_start_over_max_key_message",
            {
                let mut bytes = vec![0x1b, 0x00, 0x07, 65];
                bytes.extend([1u8; 65]);
                bytes
            },
            None,
        ),
    ]
}

fn generate() -> Value {
    let valid: Vec<Value> = valid_cases()
        .into_iter()
        .map(|(name, frame)| {
            json!({
                "name": name,
                "hex": hex(&frame.encode().unwrap()),
                "frame": serde_json::to_value(&frame).unwrap(),
            })
        })
        .collect();
    let invalid: Vec<Value> = invalid_cases()
        .into_iter()
        .map(|(name, bytes, limits)| {
            let error = Frame::decode(&bytes, &limits_of(limits.as_ref())).expect_err(name);
            let mut case = json!({ "name": name, "hex": hex(&bytes), "error": error_json(&error) });
            if let Some(limits) = limits {
                case["limits"] = limits;
            }
            case
        })
        .collect();
    json!({ "protocol_version": PROTOCOL_VERSION, "valid": valid, "invalid": invalid })
}

fn load() -> Value {
    static WRITE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        // Once, before any test reads: the tests run in parallel.
        WRITE.call_once(|| {
            let text = serde_json::to_string_pretty(&generate()).unwrap() + "\n";
            std::fs::write(VECTORS, text).unwrap();
        });
    }
    let text = std::fs::read_to_string(VECTORS).expect("read conformance/vectors.json");
    serde_json::from_str(&text).expect("vectors.json is JSON")
}

fn cases<'a>(vectors: &'a Value, list: &str) -> &'a [Value] {
    vectors[list].as_array().expect("a list of vectors")
}

#[test]
fn valid_vectors_decode_to_their_json_and_encode_to_their_bytes() {
    let vectors = load();
    assert_eq!(vectors["protocol_version"], json!(PROTOCOL_VERSION));
    for case in cases(&vectors, "valid") {
        let name = case["name"].as_str().unwrap();
        let bytes = unhex(case["hex"].as_str().unwrap());
        let decoded = Frame::decode(&bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: does not decode: {e}"));
        assert_eq!(
            serde_json::to_value(&decoded).unwrap(),
            case["frame"],
            "{name}: decoded frame differs from its JSON"
        );
        let from_json: Frame = serde_json::from_value(case["frame"].clone())
            .unwrap_or_else(|e| panic!("{name}: JSON is no frame: {e}"));
        assert_eq!(
            hex(&from_json.encode().unwrap()),
            case["hex"].as_str().unwrap(),
            "{name}: the JSON's frame encodes to other bytes"
        );
    }
}

#[test]
fn invalid_vectors_fail_with_their_named_error() {
    let vectors = load();
    for case in cases(&vectors, "invalid") {
        let name = case["name"].as_str().unwrap();
        let bytes = unhex(case["hex"].as_str().unwrap());
        let limits = limits_of(case.get("limits"));
        match Frame::decode(&bytes, &limits) {
            Ok(frame) => panic!("{name}: decoded to {frame:?}, expected {}", case["error"]),
            Err(e) => assert_eq!(error_json(&e), case["error"], "{name}: another error"),
        }
    }
}

#[test]
fn every_frame_kind_has_a_valid_vector() {
    let vectors = load();
    let covered: BTreeSet<String> = cases(&vectors, "valid")
        .iter()
        .filter_map(|case| case["frame"]["message"].as_object())
        .flat_map(|message| message.keys().cloned())
        .collect();
    for &kind in FrameKind::ALL {
        assert!(
            covered.contains(&format!("{kind:?}")),
            "no valid vector of {kind:?}"
        );
    }
}

#[test]
fn the_vectors_file_is_what_the_cases_generate() {
    assert_eq!(
        load(),
        generate(),
        "vectors.json differs from the cases in this test: if the change is meant (a wire \
         change), regenerate with UPDATE_VECTORS=1 cargo test -p protocol --test conformance_vectors"
    );
}
