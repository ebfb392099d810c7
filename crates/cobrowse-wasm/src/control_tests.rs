//! Tests of the page's control decisions, navigation checks, pause patterns and frame codec.

use super::*;
use protocol::{
    Click, Empty, End, EndReason, Frame, Hello, InputRefused, Limits, Message, ModeChanged,
    Pairing, Refusal, Role, SessionMode, SharingPaused, PROTOCOL_VERSION,
};

fn facts() -> Facts {
    Facts {
        known: true,
        editable: true,
        ..Facts::default()
    }
}

#[test]
fn nothing_applies_unless_granted() {
    for action in [Action::Click, Action::Type, Action::Key, Action::Scroll] {
        assert_eq!(
            decide(false, action, &facts(), &Rules::default()),
            Err(Refusal::NotGranted)
        );
    }
}

#[test]
fn readonly_targets_refuse_clicks_and_typing_but_not_scrolling() {
    let ro = Facts {
        readonly: true,
        ..facts()
    };
    let rules = Rules::default();
    assert_eq!(
        decide(true, Action::Click, &ro, &rules),
        Err(Refusal::ReadOnly)
    );
    assert_eq!(
        decide(true, Action::Type, &ro, &rules),
        Err(Refusal::ReadOnly)
    );
    assert_eq!(decide(true, Action::Scroll, &ro, &rules), Ok(()));
}

#[test]
fn submit_buttons_are_readonly_only_when_the_site_says_so() {
    let submit = Facts {
        submit: true,
        ..facts()
    };
    assert_eq!(
        decide(true, Action::Click, &submit, &Rules::default()),
        Ok(())
    );
    let rules = Rules {
        submit_readonly: true,
        ..Rules::default()
    };
    assert_eq!(
        decide(true, Action::Click, &submit, &rules),
        Err(Refusal::ReadOnly)
    );
}

#[test]
fn masked_fields_take_typing_only_if_the_site_allows() {
    let masked = Facts {
        masked: true,
        ..facts()
    };
    assert_eq!(
        decide(true, Action::Type, &masked, &Rules::default()),
        Err(Refusal::Masked)
    );
    let rules = Rules {
        agent_types_masked: true,
        ..Rules::default()
    };
    assert_eq!(decide(true, Action::Type, &masked, &rules), Ok(()));
    // Clicking into a masked field is not typing.
    assert_eq!(
        decide(true, Action::Click, &masked, &Rules::default()),
        Ok(())
    );
}

#[test]
fn unknown_nodes_and_non_editable_targets_refuse_typing() {
    let unknown = Facts::default();
    assert_eq!(
        decide(true, Action::Click, &unknown, &Rules::default()),
        Err(Refusal::UnknownNode)
    );
    let div = Facts {
        editable: false,
        ..facts()
    };
    assert_eq!(
        decide(true, Action::Type, &div, &Rules::default()),
        Err(Refusal::ReadOnly)
    );
}

#[test]
fn navigation_stays_on_the_pages_origin() {
    let page = "http://shop.example:8080/demo/cart.html?x=1";
    assert_eq!(
        same_site(page, "/demo/checkout.html").as_deref(),
        Ok("http://shop.example:8080/demo/checkout.html")
    );
    assert_eq!(
        same_site(page, "account.html").as_deref(),
        Ok("http://shop.example:8080/demo/account.html")
    );
    assert_eq!(
        same_site(page, "HTTP://Shop.Example:8080/x").as_deref(),
        Ok("HTTP://Shop.Example:8080/x")
    );
    for hostile in [
        "https://evil.example/",
        "//evil.example/",
        "javascript:alert(1)",
        "data:text/html,hi",
        "http://shop.example:8080@evil.example/",
        "http://shop.example:9090/",
        "/\\evil.example",
    ] {
        assert_eq!(
            same_site(page, hostile),
            Err(Refusal::CrossSite),
            "{hostile}"
        );
    }
}

#[test]
fn pause_patterns_match_paths_or_whole_urls() {
    let rules = Rules {
        pause: vec!["/demo/account/*".into(), "*://*/private?*".into()],
        ..Rules::default()
    };
    assert!(is_paused("http://h/demo/account/security.html", &rules));
    assert!(is_paused("http://h/private?id=3", &rules));
    assert!(!is_paused("http://h/demo/account.html", &rules));
    assert!(!is_paused("http://h/demo/", &rules));
    assert!(!is_paused("http://h/demo/", &Rules::default()));
}

#[test]
fn outgoing_frames_decode_as_the_protocol_defines_them() {
    let limits = Limits::default();
    let hello = encode_outgoing(
        0,
        &Outgoing::Hello {
            site: "demo".into(),
            pairing: Pairing::SecurityKey("123".into()),
        },
    );
    assert_eq!(
        Frame::decode(&hello, &limits).map(|f| f.message),
        Ok(Message::Hello(Hello {
            version: PROTOCOL_VERSION,
            role: Role::Customer,
            site: "demo".into(),
            pairing: Pairing::SecurityKey("123".into()),
        }))
    );
    let cases = [
        (Outgoing::Accept, Message::NavigationAccept(Empty)),
        (Outgoing::Decline, Message::NavigationDecline(Empty)),
        (Outgoing::Revoke, Message::Revoke(Empty)),
        (
            Outgoing::End,
            Message::End(End {
                reason: EndReason::CustomerEnded,
            }),
        ),
        (
            Outgoing::Paused(true),
            Message::SharingPaused(SharingPaused { paused: true }),
        ),
        (
            Outgoing::Refused(InputRefused {
                node: 7,
                reason: Refusal::Masked,
            }),
            Message::InputRefused(InputRefused {
                node: 7,
                reason: Refusal::Masked,
            }),
        ),
    ];
    for (out, message) in cases {
        let frame = Frame::decode(&encode_outgoing(41, &out), &limits);
        assert_eq!(frame, Ok(Frame::new(41, message)));
    }
}

#[test]
fn incoming_frames_decode_for_the_kinds_the_page_reads() {
    let click = Click {
        node: 4,
        x: 1,
        y: 2,
        button: protocol::Button::Primary,
    };
    let bytes = Frame::new(3, Message::Click(click)).encode();
    assert_eq!(
        bytes.ok().and_then(|b| decode_incoming(&b)),
        Some(Incoming::Click(click))
    );
    let mode = Frame::new(
        0,
        Message::ModeChanged(ModeChanged {
            mode: SessionMode::NavigationGranted,
            grant: 300,
        }),
    )
    .encode();
    assert_eq!(
        mode.ok().and_then(|b| decode_incoming(&b)),
        Some(Incoming::Mode(SessionMode::NavigationGranted, 300))
    );
    // Truncated, trailing bytes, unknown kinds and kinds the page never reads are ignored.
    assert_eq!(decode_incoming(&[]), None);
    assert_eq!(decode_incoming(&[0x50, 0, 4]), None);
    assert_eq!(decode_incoming(&[0x52, 0, 1, 1, b'a', 0, 9]), None);
    assert_eq!(decode_incoming(&[0xEE, 0]), None);
    assert_eq!(decode_incoming(&[0x10, 0]), None);
}

#[test]
fn the_hand_decoder_reads_every_kind_the_page_reads_as_the_protocol_encodes_it() {
    use protocol::*;
    let welcome = Welcome {
        version: PROTOCOL_VERSION,
        session_id: "s-1é".into(),
        role: Role::Customer,
        mode: SessionMode::NavigationRequested,
        grant: 70_000,
        interaction: Interaction::WebMessaging,
        resume_token: Some("tok".into()),
    };
    let stroke = Stroke {
        id: 300,
        kind: StrokeKind::Arrow,
        points: vec![
            Point { x: -5, y: 70_000 },
            Point {
                x: i32::MIN,
                y: i32::MAX,
            },
        ],
        done: true,
    };
    let cases = vec![
        (
            Message::Welcome(welcome.clone()),
            Incoming::Welcome(welcome),
        ),
        (
            Message::End(End {
                reason: EndReason::Inactivity,
            }),
            Incoming::End(End {
                reason: EndReason::Inactivity,
            }),
        ),
        (
            Message::Error(ErrorReport {
                code: ErrorCode::KeyExpired,
                message: "old".into(),
            }),
            Incoming::Error(ErrorCode::KeyExpired, "old".into()),
        ),
        (
            Message::Presence(Presence {
                role: Role::Agent,
                connected: true,
            }),
            Incoming::Presence(Role::Agent, true),
        ),
        (
            Message::KeyReply(protocol::KeyReply {
                exchange: 70_000,
                message: (0..33).collect(),
                confirmation: [3; 32],
            }),
            Incoming::KeyReply(protocol::KeyReply {
                exchange: 70_000,
                message: (0..33).collect(),
                confirmation: [3; 32],
            }),
        ),
        (
            Message::End(protocol::End {
                reason: protocol::EndReason::KeyExchangeFailed,
            }),
            Incoming::End(protocol::End {
                reason: protocol::EndReason::KeyExchangeFailed,
            }),
        ),
        (
            Message::AgentPointer(Pointer { x: -1, y: 2 }),
            Incoming::AgentPointer(Pointer { x: -1, y: 2 }),
        ),
        (
            Message::Highlight(Highlight { node: 9 }),
            Incoming::Highlight(Highlight { node: 9 }),
        ),
        (Message::Stroke(stroke.clone()), Incoming::Stroke(stroke)),
        (Message::ClearAnnotations(Empty), Incoming::ClearAnnotations),
        (
            Message::NavigationRequest(Empty),
            Incoming::NavigationRequest,
        ),
        (Message::ResyncRequest(Empty), Incoming::ResyncRequest),
        (
            Message::TextInput(TextInput {
                node: 1 << 20,
                value: "Ada ✓".into(),
            }),
            Incoming::TextInput(TextInput {
                node: 1 << 20,
                value: "Ada ✓".into(),
            }),
        ),
        (
            Message::Key(Key {
                node: 4,
                key: "Enter".into(),
                modifiers: 0xff,
            }),
            Incoming::Key(Key {
                node: 4,
                key: "Enter".into(),
                modifiers: 0xff,
            }),
        ),
        (
            Message::AgentScroll(Scroll {
                node: 0,
                x: 10,
                y: -20,
            }),
            Incoming::Scroll(Scroll {
                node: 0,
                x: 10,
                y: -20,
            }),
        ),
        (
            Message::Navigate(Navigate::Url("/x".into())),
            Incoming::Navigate(Navigate::Url("/x".into())),
        ),
        (
            Message::Navigate(Navigate::Reload),
            Incoming::Navigate(Navigate::Reload),
        ),
        (
            Message::Viewers(protocol::Viewers { count: 2 }),
            Incoming::Viewers(2),
        ),
    ];
    for (message, expected) in cases {
        let bytes = Frame::new(u32::MAX, message.clone()).encode().unwrap();
        assert_eq!(decode_incoming(&bytes), Some(expected), "{message:?}");
        // Every strict prefix is refused, never misread.
        for cut in 0..bytes.len() {
            if let Some(got) = decode_incoming(&bytes[..cut]) {
                panic!("prefix {cut} of {message:?} decoded as {got:?}");
            }
        }
    }
}

#[test]
fn a_stroke_claiming_more_points_than_its_bytes_is_refused_before_allocating() {
    // Stroke, seq 0, id 1, Freehand, count u32::MAX-ish, nothing after.
    assert_eq!(
        decode_incoming(&[0x42, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        None
    );
}

#[test]
fn only_refusals_of_what_the_page_sent_end_a_session_instead_of_a_resume() {
    use protocol::ErrorCode::*;
    for code in [UnsupportedVersion, Malformed, TooLarge, NotAllowed] {
        assert!(refuses_what_was_sent(code), "{code:?}");
    }
    for code in [SlowConsumer, Internal, RateLimited, SessionEnded] {
        assert!(!refuses_what_was_sent(code), "{code:?}");
    }
}

#[test]
fn a_welcome_restores_control_only_under_the_grant_the_page_holds() {
    use SessionMode::*;
    assert_eq!(welcomed_mode(NavigationGranted, 3, 3), NavigationGranted);
    // Revoked while offline (holds none), or a copy holding an older grant: read-only.
    assert_eq!(welcomed_mode(NavigationGranted, 3, 0), ReadOnly);
    assert_eq!(welcomed_mode(NavigationGranted, 3, 2), ReadOnly);
    assert_eq!(welcomed_mode(NavigationGranted, 0, 0), ReadOnly);
    for mode in [ReadOnly, NavigationRequested, Ended] {
        assert_eq!(welcomed_mode(mode, 3, 3), mode);
    }
}

const PAGE: &str = "http://shop.example/demo/checkout.html";

fn reaching(reach: Reach) -> Result<(), Refusal> {
    decide_click(true, &facts(), &reach, &Rules::default(), PAGE)
}

fn form(locked: bool, action: &str) -> FormFacts {
    FormFacts {
        locked,
        action: action.into(),
    }
}

#[test]
fn a_click_on_a_label_is_a_click_on_its_control() {
    let control = |f: Facts| Reach {
        label_control: Some(f),
        ..Reach::default()
    };
    assert_eq!(reaching(control(facts())), Ok(()));
    let readonly = Facts {
        readonly: true,
        ..facts()
    };
    assert_eq!(reaching(control(readonly)), Err(Refusal::ReadOnly));
    let masked_box = Facts {
        masked: true,
        toggles: true,
        ..facts()
    };
    assert_eq!(reaching(control(masked_box)), Err(Refusal::Masked));
    // A control the page does not know (say, inside a blocked box) is not reached either.
    assert_eq!(
        reaching(control(Facts::default())),
        Err(Refusal::UnknownNode)
    );
}

#[test]
fn a_masked_box_is_not_ticked_unless_the_site_lets_agents_type_masked_values() {
    let masked_box = Facts {
        masked: true,
        toggles: true,
        ..facts()
    };
    let none = Reach::default();
    assert_eq!(
        decide_click(true, &masked_box, &none, &Rules::default(), PAGE),
        Err(Refusal::Masked)
    );
    let rules = Rules {
        agent_types_masked: true,
        ..Rules::default()
    };
    assert_eq!(decide_click(true, &masked_box, &none, &rules, PAGE), Ok(()));
}

#[test]
fn a_form_only_the_customer_sends_is_sent_by_no_button_and_no_enter() {
    let submits = |f| Reach {
        submits: Some(f),
        ..Reach::default()
    };
    let here = "http://shop.example/demo/thanks.html";
    assert_eq!(reaching(submits(form(false, here))), Ok(()));
    // A `form=` button outside the form, or any other button in it: the form is locked.
    assert_eq!(
        reaching(submits(form(true, here))),
        Err(Refusal::FormReadOnly)
    );
    let enter = Facts {
        editable: true,
        ..facts()
    };
    let rules = Rules::default();
    assert_eq!(
        decide_key(true, &enter, Some(&form(true, here)), &rules, PAGE),
        Err(Refusal::FormReadOnly)
    );
    assert_eq!(
        decide_key(true, &enter, Some(&form(false, here)), &rules, PAGE),
        Ok(())
    );
    assert_eq!(decide_key(true, &enter, None, &rules, PAGE), Ok(()));
    // The site's rule makes every submit read-only: every submission too.
    let rules = Rules {
        submit_readonly: true,
        ..Rules::default()
    };
    assert_eq!(
        decide_key(true, &enter, Some(&form(false, here)), &rules, PAGE),
        Err(Refusal::FormReadOnly)
    );
    // A form that posts to another site.
    assert_eq!(
        reaching(submits(form(false, "https://evil.example/collect"))),
        Err(Refusal::CrossSite)
    );
}

#[test]
fn links_are_followed_only_on_the_pages_own_origin() {
    let link = |url: &str| Reach {
        follows: Some(url.into()),
        ..Reach::default()
    };
    assert_eq!(
        reaching(link("http://shop.example/demo/cart.html#top")),
        Ok(())
    );
    assert_eq!(reaching(link("javascript:void(0)")), Ok(()));
    assert_eq!(reaching(link("JavaScript:open()")), Ok(()));
    for away in [
        "https://shop.example/demo/",
        "http://shop.example:8080/",
        "http://evil.example/",
        "mailto:someone@shop.example",
        "data:text/html,hi",
        "http://shop.example@evil.example/",
        "",
    ] {
        assert_eq!(reaching(link(away)), Err(Refusal::CrossSite), "{away}");
    }
}

#[test]
fn history_goes_only_to_entries_known_to_be_on_the_site() {
    assert_eq!(
        history(true, PAGE, Some("http://shop.example/demo/cart.html")),
        Ok(())
    );
    assert_eq!(history(true, PAGE, None), Err(Refusal::History));
    assert_eq!(
        history(true, PAGE, Some("https://elsewhere.example/")),
        Err(Refusal::History)
    );
    assert_eq!(
        history(false, PAGE, Some("http://shop.example/demo/cart.html")),
        Err(Refusal::NotGranted)
    );
}

// --- the page's terms of a grant -------------------------------------------------------------

#[test]
fn the_pages_grant_ends_by_its_own_clock_at_the_second_the_countdown_reaches_zero() {
    let grant = PageGrant::answered(1_000.0, 5, false);
    assert_eq!(grant.seconds_left(1_000.0), Some(5));
    assert_eq!(countdown(grant.seconds_left(1_001.0).unwrap()), "00:05");
    assert_eq!(grant.check(5_999.0, false, true), Ok(()));
    assert_eq!(grant.seconds_left(5_001.0), Some(1));
    assert_eq!(countdown(grant.seconds_left(6_000.0).unwrap()), "00:00");
    assert_eq!(
        grant.check(6_000.0, false, true),
        Err(Refusal::Expired),
        "refused at zero, whatever the relay has said"
    );
    let forever = PageGrant::answered(0.0, 0, false);
    assert_eq!(forever.check(f64::MAX, true, false), Ok(()));
    assert_eq!(forever.seconds_left(0.0), None);
}

#[test]
fn the_relays_time_left_can_shorten_the_pages_grant_but_never_lengthen_it() {
    let mut grant = PageGrant::answered(0.0, 60, false);
    grant.bound_by(10_000.0, Some(60_000));
    assert_eq!(
        grant.deadline_ms,
        Some(60_000.0),
        "the page's own is sooner"
    );
    grant.bound_by(10_000.0, Some(20_000));
    assert_eq!(grant.deadline_ms, Some(30_000.0));
    // A resumed page knows only the relay's.
    let mut resumed = PageGrant::default();
    resumed.bound_by(5.0, Some(1_000));
    assert_eq!(resumed.deadline_ms, Some(1_005.0));
    resumed.bound_by(5.0, None);
    assert_eq!(resumed.deadline_ms, Some(1_005.0));
}

#[test]
fn a_scoped_grant_refuses_targets_outside_its_region_and_every_navigation() {
    let grant = PageGrant::answered(0.0, 0, true);
    assert_eq!(grant.check(1.0, false, true), Ok(()));
    assert_eq!(grant.check(1.0, false, false), Err(Refusal::OutsideScope));
    assert_eq!(grant.check(1.0, true, true), Err(Refusal::OutsideScope));
    let whole = PageGrant::answered(0.0, 0, false);
    assert_eq!(whole.check(1.0, true, false), Ok(()));
}

#[test]
fn the_site_names_the_durations_offered_within_bounds() {
    assert_eq!(choices(&[]), DEFAULT_CHOICES_SECS.to_vec());
    assert_eq!(choices(&[3.0, 0.0, 1.5, 7200.0, 600.0]), vec![3, 600]);
    assert_eq!(choices(&[1.0, 2.0, 3.0, 4.0, 5.0]), vec![1, 2, 3, 4]);
    assert_eq!(countdown(3600), "60:00");
    assert_eq!(countdown(59), "00:59");
}

#[test]
fn grant_frames_round_trip_through_the_pages_codec() {
    use protocol::{GrantStatus, GrantTerms, ModeReason, ScopeNodes};
    let status = Message::GrantStatus(GrantStatus {
        mode: SessionMode::NavigationGranted,
        grant: 3,
        reason: ModeReason::Accepted,
        remaining_ms: Some(299_000),
        scope: Some(41),
    });
    let bytes = Frame::new(7, status).encode().unwrap();
    assert_eq!(
        decode_incoming(&bytes),
        Some(Incoming::Status {
            mode: SessionMode::NavigationGranted,
            reason: ModeReason::Accepted,
            remaining_ms: Some(299_000),
            scope: Some(41),
        })
    );
    let area = Frame::new(1, Message::AreaRequest(protocol::AreaRequest { node: 40 }));
    assert_eq!(
        decode_incoming(&area.encode().unwrap()),
        Some(Incoming::AreaRequest(40))
    );
    let terms = GrantTerms {
        duration_secs: 300,
        scope: vec![40, 41],
    };
    let nodes = ScopeNodes {
        replace: true,
        nodes: vec![9],
    };
    for (out, message) in [
        (
            Outgoing::AcceptOn(terms.clone()),
            Message::GrantAccept(terms),
        ),
        (Outgoing::Scope(nodes.clone()), Message::ScopeUpdate(nodes)),
        (Outgoing::ScopeRemoved, Message::ScopeRemoved(Empty)),
    ] {
        let decoded = Frame::decode(&encode_outgoing(4, &out), &Limits::default()).unwrap();
        assert_eq!(decoded, Frame::new(4, message));
    }
}
