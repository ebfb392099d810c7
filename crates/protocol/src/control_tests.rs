//! The control state machine's tests: modes, grant numbers, resume, and the terms of a grant
//! (deadlines, regions, their bounds and malformed bodies).

use super::*;
use FrameKind as K;

fn after(steps: &[(Role, FrameKind)]) -> ControlState {
    let mut state = ControlState::default();
    for &(role, kind) in steps {
        state.on_frame(role, kind);
    }
    state
}

const AGENT_INPUT: [FrameKind; 5] = [K::Click, K::TextInput, K::Key, K::AgentScroll, K::Navigate];

#[test]
fn agent_input_is_dropped_in_read_only_mode() {
    let mut state = ControlState::default();
    for kind in AGENT_INPUT {
        assert_eq!(
            state.on_frame(Role::Agent, kind),
            Verdict::Drop(DropReason::NotGranted)
        );
    }
}

#[test]
fn agent_input_is_dropped_while_request_is_pending() {
    let mut state = after(&[(Role::Agent, K::NavigationRequest)]);
    assert_eq!(state.mode(), SessionMode::NavigationRequested);
    assert_eq!(
        state.on_frame(Role::Agent, K::Click),
        Verdict::Drop(DropReason::NotGranted)
    );
}

#[test]
fn accept_grants_and_revoke_takes_effect_on_the_next_frame() {
    let mut state = after(&[(Role::Agent, K::NavigationRequest)]);
    assert_eq!(
        state.on_frame(Role::Customer, K::NavigationAccept),
        Verdict::Transition(SessionMode::NavigationGranted)
    );
    for kind in AGENT_INPUT {
        assert_eq!(state.on_frame(Role::Agent, kind), Verdict::Forward);
    }
    assert_eq!(
        state.on_frame(Role::Customer, K::Revoke),
        Verdict::Transition(SessionMode::ReadOnly)
    );
    assert_eq!(
        state.on_frame(Role::Agent, K::TextInput),
        Verdict::Drop(DropReason::NotGranted)
    );
}

#[test]
fn only_the_customer_can_grant() {
    let mut state = after(&[(Role::Agent, K::NavigationRequest)]);
    assert_eq!(
        state.on_frame(Role::Agent, K::NavigationAccept),
        Verdict::Violation
    );
    assert_eq!(state.mode(), SessionMode::NavigationRequested);
}

#[test]
fn accept_without_a_request_grants_nothing() {
    let mut state = ControlState::default();
    assert_eq!(
        state.on_frame(Role::Customer, K::NavigationAccept),
        Verdict::Drop(DropReason::NoPendingRequest)
    );
    assert!(!state.is_granted());
}

#[test]
fn decline_returns_to_read_only() {
    let state = after(&[
        (Role::Agent, K::NavigationRequest),
        (Role::Customer, K::NavigationDecline),
    ]);
    assert_eq!(state.mode(), SessionMode::ReadOnly);
}

#[test]
fn show_and_tell_is_always_forwarded() {
    let mut state = ControlState::default();
    for kind in [
        K::AgentPointer,
        K::Highlight,
        K::Stroke,
        K::ClearAnnotations,
    ] {
        assert_eq!(state.on_frame(Role::Agent, kind), Verdict::Forward);
    }
}

#[test]
fn each_side_may_send_only_its_own_kinds() {
    let mut state = ControlState::default();
    assert_eq!(state.on_frame(Role::Agent, K::Snapshot), Verdict::Violation);
    assert_eq!(
        state.on_frame(Role::Customer, K::AgentPointer),
        Verdict::Violation
    );
    assert_eq!(
        state.on_frame(Role::Customer, K::Welcome),
        Verdict::Violation
    );
    assert_eq!(
        state.on_frame(Role::Agent, K::ModeChanged),
        Verdict::Violation
    );
}

fn granted() -> ControlState {
    after(&[
        (Role::Agent, K::NavigationRequest),
        (Role::Customer, K::NavigationAccept),
    ])
}

#[test]
fn each_grant_gets_a_new_number() {
    let mut state = granted();
    assert_eq!(state.grant(), 1);
    state.on_frame(Role::Customer, K::Revoke);
    assert_eq!(state.grant(), 1, "a revoke numbers nothing");
    state.on_frame(Role::Agent, K::NavigationRequest);
    state.on_frame(Role::Customer, K::NavigationAccept);
    assert_eq!(state.grant(), 2);
}

#[test]
fn a_page_resuming_with_its_grant_keeps_control() {
    let mut state = granted();
    assert_eq!(state.resume(1), None);
    assert!(state.is_granted());
}

#[test]
fn a_page_that_revoked_offline_resumes_read_only() {
    let mut state = granted();
    assert_eq!(state.resume(0), Some(SessionMode::ReadOnly));
    assert_eq!(
        state.on_frame(Role::Agent, K::Navigate),
        Verdict::Drop(DropReason::NotGranted)
    );
}

#[test]
fn an_older_grant_is_never_restored() {
    let mut state = granted();
    state.on_frame(Role::Customer, K::Revoke);
    state.on_frame(Role::Agent, K::NavigationRequest);
    state.on_frame(Role::Customer, K::NavigationAccept);
    // A copy of the page (another tab) that still holds the first grant.
    assert_eq!(state.resume(1), Some(SessionMode::ReadOnly));
    assert!(!state.is_granted());
}

#[test]
fn resuming_never_grants() {
    let mut state = after(&[(Role::Agent, K::NavigationRequest)]);
    assert_eq!(state.resume(7), None);
    assert_eq!(state.mode(), SessionMode::NavigationRequested);
    let mut fresh = ControlState::default();
    assert_eq!(fresh.resume(0), None);
    assert_eq!(fresh.mode(), SessionMode::ReadOnly);
}

#[test]
fn nothing_passes_after_the_end() {
    let mut state = after(&[
        (Role::Agent, K::NavigationRequest),
        (Role::Customer, K::NavigationAccept),
    ]);
    state.end();
    assert_eq!(
        state.on_frame(Role::Agent, K::Click),
        Verdict::Drop(DropReason::Ended)
    );
    assert_eq!(
        state.on_frame(Role::Customer, K::Mutations),
        Verdict::Drop(DropReason::Ended)
    );
}

// --- time-boxed and scoped grants ------------------------------------------------------------

use crate::grant::{AreaRequest, GrantTerms, ModeReason, ScopeNodes, MAX_SCOPE_NODES};
use crate::{Click, Navigate, TextInput};

fn enc<T: serde::Serialize>(value: &T) -> alloc::vec::Vec<u8> {
    postcard::to_allocvec(value).unwrap()
}

fn click_on(node: u32) -> alloc::vec::Vec<u8> {
    enc(&Click {
        node,
        x: 1,
        y: 2,
        button: crate::Button::Primary,
    })
}

/// A grant accepted at `now` on `terms`, after a request (an area request if scoped).
fn granted_on(terms: GrantTerms, now: u64) -> ControlState {
    let mut state = ControlState::default();
    match terms.scope.first() {
        Some(&node) => state.on_frame_at(
            Role::Agent,
            K::AreaRequest,
            &enc(&AreaRequest { node }),
            now,
            3600,
        ),
        None => state.on_frame(Role::Agent, K::NavigationRequest),
    };
    let verdict = state.on_frame_at(Role::Customer, K::GrantAccept, &enc(&terms), now, 3600);
    assert_eq!(verdict, Verdict::Transition(SessionMode::NavigationGranted));
    state
}

fn input_at(state: &mut ControlState, kind: FrameKind, body: &[u8], now: u64) -> Verdict {
    state.on_frame_at(Role::Agent, kind, body, now, 3600)
}

#[test]
fn a_time_boxed_grant_drops_input_from_its_deadline_and_expires_as_a_revoke_would() {
    let mut state = granted_on(
        GrantTerms {
            duration_secs: 300,
            scope: vec![],
        },
        10_000,
    );
    assert_eq!(state.deadline_ms(), Some(310_000));
    assert_eq!(state.remaining_ms(10_000), Some(300_000));
    assert_eq!(
        input_at(&mut state, K::Click, &click_on(5), 309_999),
        Verdict::Forward
    );
    // At the very millisecond, before the shell's timer announced anything.
    assert_eq!(
        input_at(&mut state, K::Click, &click_on(5), 310_000),
        Verdict::Drop(DropReason::Expired)
    );
    assert_eq!(state.expire(309_999), None, "not before its time");
    assert_eq!(state.expire(310_000), Some(SessionMode::ReadOnly));
    assert_eq!(state.reason(), ModeReason::Expired);
    assert_eq!(state.deadline_ms(), None);
    assert_eq!(
        input_at(&mut state, K::Click, &click_on(5), 310_001),
        Verdict::Drop(DropReason::NotGranted)
    );
    assert_eq!(state.expire(400_000), None, "expires once");
}

#[test]
fn durations_are_clamped_to_the_maximum_and_zero_means_until_revoked() {
    let mut state = ControlState::default();
    state.on_frame(Role::Agent, K::NavigationRequest);
    let terms = GrantTerms {
        duration_secs: u32::MAX,
        scope: vec![],
    };
    state.on_frame_at(Role::Customer, K::GrantAccept, &enc(&terms), 0, 600);
    assert_eq!(state.deadline_ms(), Some(600_000), "the relay's maximum");
    let forever = granted_on(GrantTerms::default(), 0);
    assert_eq!(forever.deadline_ms(), None);
    assert_eq!(forever.remaining_ms(u64::MAX), None);
}

#[test]
fn a_resume_keeps_the_deadline_and_never_extends_it() {
    let mut state = granted_on(
        GrantTerms {
            duration_secs: 60,
            scope: vec![],
        },
        0,
    );
    let grant = state.grant();
    assert_eq!(state.resume(grant), None);
    assert_eq!(state.deadline_ms(), Some(60_000));
    assert_eq!(state.remaining_ms(45_000), Some(15_000));
    assert_eq!(state.expire(60_000), Some(SessionMode::ReadOnly));
    // A page resuming after its grant ran out gets nothing back.
    assert_eq!(state.resume(grant), None);
    assert!(!state.is_granted());
}

#[test]
fn a_new_grant_after_a_timed_one_starts_without_its_deadline() {
    let mut state = granted_on(
        GrantTerms {
            duration_secs: 5,
            scope: vec![],
        },
        0,
    );
    state.on_frame(Role::Customer, K::Revoke);
    state.on_frame(Role::Agent, K::NavigationRequest);
    state.on_frame(Role::Customer, K::NavigationAccept);
    assert_eq!(state.deadline_ms(), None);
    assert_eq!(state.expire(10_000), None);
    assert!(state.is_granted());
}

fn scoped() -> ControlState {
    granted_on(
        GrantTerms {
            duration_secs: 0,
            scope: vec![40, 41, 42],
        },
        0,
    )
}

#[test]
fn a_scoped_grant_forwards_input_inside_its_region_and_drops_the_rest() {
    let mut state = scoped();
    assert_eq!(state.scope_root(), Some(40));
    assert_eq!(
        input_at(&mut state, K::Click, &click_on(41), 1),
        Verdict::Forward
    );
    let typed = enc(&TextInput {
        node: 42,
        value: "x".into(),
    });
    assert_eq!(
        input_at(&mut state, K::TextInput, &typed, 1),
        Verdict::Forward
    );
    assert_eq!(
        input_at(&mut state, K::Click, &click_on(7), 1),
        Verdict::Drop(DropReason::OutsideScope)
    );
    let window = enc(&crate::Scroll {
        node: 0,
        x: 0,
        y: 100,
    });
    assert_eq!(
        input_at(&mut state, K::AgentScroll, &window, 1),
        Verdict::Drop(DropReason::OutsideScope),
        "the window is outside every region"
    );
    assert_eq!(
        input_at(&mut state, K::Navigate, &enc(&Navigate::Reload), 1),
        Verdict::Drop(DropReason::ScopedNavigation)
    );
    // A body whose target cannot be read is outside.
    assert_eq!(
        input_at(&mut state, K::Click, &[0xff], 1),
        Verdict::Drop(DropReason::OutsideScope)
    );
}

#[test]
fn nodes_added_inside_the_region_become_part_of_it_and_a_snapshot_renumbers_it() {
    let mut state = scoped();
    let added = ScopeNodes {
        replace: false,
        nodes: vec![90],
    };
    let verdict = state.on_frame_at(Role::Customer, K::ScopeUpdate, &enc(&added), 1, 3600);
    assert_eq!(verdict, Verdict::Forward);
    assert_eq!(
        input_at(&mut state, K::Click, &click_on(90), 1),
        Verdict::Forward
    );
    let renumbered = ScopeNodes {
        replace: true,
        nodes: vec![500, 501],
    };
    state.on_frame_at(Role::Customer, K::ScopeUpdate, &enc(&renumbered), 1, 3600);
    assert_eq!(state.scope_root(), Some(500));
    assert_eq!(
        input_at(&mut state, K::Click, &click_on(41), 1),
        Verdict::Drop(DropReason::OutsideScope),
        "the old numbering is gone"
    );
    assert_eq!(
        input_at(&mut state, K::Click, &click_on(501), 1),
        Verdict::Forward
    );
}

#[test]
fn a_region_over_the_bound_is_refused_when_accepted_and_ends_the_grant_when_it_grows() {
    let mut state = ControlState::default();
    let area = enc(&AreaRequest { node: 1 });
    state.on_frame_at(Role::Agent, K::AreaRequest, &area, 0, 3600);
    assert_eq!(state.scope_root(), Some(1), "the area asked for");
    let huge = GrantTerms {
        duration_secs: 0,
        scope: (1..=MAX_SCOPE_NODES as u32 + 1).collect(),
    };
    let verdict = state.on_frame_at(Role::Customer, K::GrantAccept, &enc(&huge), 0, 3600);
    assert_eq!(verdict, Verdict::Transition(SessionMode::ReadOnly));
    assert_eq!(state.reason(), ModeReason::ScopeTooLarge);
    assert_eq!(state.grant(), 0, "nothing was granted");

    let mut state = granted_on(
        GrantTerms {
            duration_secs: 0,
            scope: (1..=MAX_SCOPE_NODES as u32).collect(),
        },
        0,
    );
    let one_more = ScopeNodes {
        replace: false,
        nodes: vec![MAX_SCOPE_NODES as u32 + 1],
    };
    let verdict = state.on_frame_at(Role::Customer, K::ScopeUpdate, &enc(&one_more), 0, 3600);
    assert_eq!(verdict, Verdict::Transition(SessionMode::ReadOnly));
    assert_eq!(state.reason(), ModeReason::ScopeTooLarge);
}

#[test]
fn a_removed_region_ends_the_grant_and_outside_one_changes_nothing() {
    let mut state = scoped();
    assert_eq!(
        state.on_frame_at(Role::Customer, K::ScopeRemoved, &[], 0, 3600),
        Verdict::Transition(SessionMode::ReadOnly)
    );
    assert_eq!(state.reason(), ModeReason::ScopeRemoved);
    // Late news of a region after the grant ended: passed on, nothing changes.
    assert_eq!(
        state.on_frame_at(Role::Customer, K::ScopeRemoved, &[], 0, 3600),
        Verdict::Forward
    );
    assert_eq!(state.mode(), SessionMode::ReadOnly);
}

#[test]
fn malformed_terms_are_refused_and_grant_nothing() {
    let mut state = after(&[(Role::Agent, K::NavigationRequest)]);
    for (kind, body) in [
        (K::GrantAccept, &[][..]),
        (K::GrantAccept, &[0x05, 0x02, 0x01][..]),
        (K::GrantAccept, &[0x00, 0x00, 0x00][..]),
        (K::ScopeUpdate, &[0x02][..]),
        (K::ScopeRemoved, &[0x00][..]),
    ] {
        assert_eq!(
            state.on_frame_at(Role::Customer, kind, body, 0, 3600),
            Verdict::Malformed,
            "{kind:?} {body:?}"
        );
    }
    assert_eq!(
        state.on_frame_at(Role::Agent, K::AreaRequest, &[], 0, 3600),
        Verdict::Malformed
    );
    assert_eq!(state.mode(), SessionMode::NavigationRequested);
    assert_eq!(state.grant(), 0);
}

#[test]
fn only_the_customer_accepts_on_terms_and_only_after_a_request() {
    let terms = enc(&GrantTerms::default());
    let mut state = ControlState::default();
    assert_eq!(
        state.on_frame_at(Role::Customer, K::GrantAccept, &terms, 0, 3600),
        Verdict::Drop(DropReason::NoPendingRequest)
    );
    state.on_frame(Role::Agent, K::NavigationRequest);
    assert_eq!(
        state.on_frame_at(Role::Agent, K::GrantAccept, &terms, 0, 3600),
        Verdict::Violation
    );
    assert_eq!(
        state.on_frame_at(
            Role::Customer,
            K::AreaRequest,
            &enc(&AreaRequest { node: 1 }),
            0,
            3600
        ),
        Verdict::Violation
    );
    assert!(!state.is_granted());
}
