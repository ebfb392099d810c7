//! A supervisor's events, as table tests: assigning waiting, offered, connected and parked
//! work with and without force, what is refused (and then changes nothing), and setting
//! another agent's presence or signing it out without losing its work.

use super::tests::{connected, World, SALES, SUPPORT};
use super::*;

const BOSS: SupervisorId = SupervisorId(99);

fn assign(interaction: InteractionId, agent: AgentId, force: bool) -> Event {
    Event::Assign {
        interaction,
        agent,
        by: BOSS,
        force,
    }
}

/// Where the interaction stands before the supervisor acts.
#[derive(Debug, Clone, Copy)]
enum Before {
    /// Waiting in its queue (nobody signed in to take it).
    Waiting,
    /// Offered to Bob.
    OfferedToBob,
    /// Connected to Bob.
    BobsChat,
    /// Parked by Bob.
    BobParked,
    /// In Bob's wrap-up.
    BobWrapsUp,
}

/// What an assignment should do: `Ok((taken from Bob, forced))`, or the kind of refusal.
type Expected = Result<(bool, bool), &'static str>;

/// Ann (agent 1) has a chat capacity of one and, for `ann_busy`, that one chat already.
fn world(before: Before, ann_busy: bool) -> (World, AgentId, AgentId, InteractionId) {
    let mut w = World::new();
    let mut queue = QueueConfig::new(SALES);
    queue.wrap_up = Some(WrapUpRule {
        codes: vec!["done".into()],
        limit_ms: None,
    });
    w.queue(queue);
    let mut profile = AgentProfile::new(vec![SALES]);
    profile.capacity.chat = 1;
    let ann = w.agent_with(1, profile);
    if ann_busy {
        let mine = w.arrive(1, Media::Chat, SALES);
        w.accept(mine, ann);
    } else {
        // Ann takes nothing by herself: the supervisor decides.
        w.ok(Event::SetPresence {
            agent: ann,
            presence: Presence::Busy,
        });
    }
    let chat = w.arrive(10, Media::Chat, SALES);
    let bob = AgentId(2);
    if !matches!(before, Before::Waiting) {
        w.agent(2, &[SALES]);
        assert_eq!(w.offered_to(chat), Some(bob));
    }
    match before {
        Before::Waiting | Before::OfferedToBob => {}
        Before::BobsChat => w.accept(chat, bob),
        Before::BobParked => {
            w.accept(chat, bob);
            w.ok(Event::Park { interaction: chat });
        }
        Before::BobWrapsUp => {
            w.accept(chat, bob);
            w.ok(Event::End { interaction: chat });
        }
    }
    w.advance(1_000);
    (w, ann, bob, chat)
}

#[test]
fn a_supervisor_assigns_work_in_every_state_with_and_without_force() {
    use Before::*;
    // before, Ann already at capacity, force → Ok((from Bob, forced)) or the refusal's kind.
    let table: [(Before, bool, bool, Expected); 12] = [
        (Waiting, false, false, Ok((false, false))),
        (Waiting, true, false, Err("unavailable")),
        (Waiting, true, true, Ok((false, true))),
        (Waiting, false, true, Ok((false, false))),
        (OfferedToBob, false, false, Ok((false, false))),
        (OfferedToBob, true, true, Ok((false, true))),
        (BobsChat, false, false, Ok((true, false))),
        (BobsChat, true, false, Err("unavailable")),
        (BobsChat, true, true, Ok((true, true))),
        (BobParked, false, false, Ok((true, false))),
        (BobParked, true, true, Ok((true, true))),
        (BobWrapsUp, false, true, Err("state")),
    ];
    for (before, busy, force, expected) in table {
        let case = format!("{before:?}, Ann at capacity: {busy}, force: {force}");
        let (mut w, ann, bob, chat) = world(before, busy);
        let state_before = w.state(chat);
        let result = w.step(assign(chat, ann, force));
        match expected {
            Err(kind) => {
                let got = match result {
                    Err(RoutingError::AgentUnavailable { .. }) => "unavailable",
                    Err(RoutingError::InvalidState { .. }) => "state",
                    other => panic!("{case}: {other:?}"),
                };
                assert_eq!(got, kind, "{case}");
                assert_eq!(
                    w.state(chat),
                    state_before,
                    "{case}: a refusal changes nothing"
                );
            }
            Ok((from_bob, forced)) => {
                assert_eq!(result, Ok(()), "{case}");
                assert_eq!(w.state(chat), connected(ann), "{case}");
                let from = from_bob.then_some(bob);
                let assigned = Decision::Assigned {
                    interaction: chat,
                    agent: ann,
                    from,
                    by: BOSS,
                    forced,
                };
                assert!(w.out.contains(&assigned), "{case}: {:?}", w.out);
                assert!(w.out.contains(&Decision::Connected {
                    interaction: chat,
                    agent: ann
                }));
                let revoked = w.out.iter().any(|d| {
                    matches!(d, Decision::OfferRevoked { agent, reason: RevokeReason::Transferred, .. } if *agent == bob)
                });
                assert_eq!(revoked, matches!(before, OfferedToBob), "{case}");
                assert!(
                    !w.engine.work_of(bob).contains(&chat),
                    "{case}: Bob keeps it"
                );
                // The record remembers the transfer and the force.
                w.advance(2_000);
                w.ok(Event::End { interaction: chat });
                w.ok(Event::CompleteWrapUp {
                    interaction: chat,
                    code: "done".into(),
                });
                let record = w.finished().pop().unwrap_or_else(|| panic!("{case}"));
                assert_eq!(record.forced, forced, "{case}");
                assert_eq!(record.transfers, u32::from(from_bob), "{case}");
                assert_eq!(record.agents.last(), Some(&ann), "{case}");
            }
        }
    }
}

#[test]
fn an_assignment_is_refused_for_unknown_work_an_agent_not_signed_in_or_its_own_holder() {
    let (mut w, ann, bob, chat) = world(Before::BobsChat, false);
    let cases = [
        (
            assign(InteractionId(404), ann, true),
            RoutingError::UnknownInteraction {
                interaction: InteractionId(404),
            },
        ),
        (
            assign(chat, AgentId(7), true),
            RoutingError::UnknownAgent { agent: AgentId(7) },
        ),
        (
            assign(chat, bob, true),
            RoutingError::AlreadyAssigned {
                interaction: chat,
                agent: bob,
            },
        ),
    ];
    for (event, error) in cases {
        assert_eq!(w.step(event.clone()), Err(error), "{event:?}");
        assert_eq!(w.state(chat), connected(bob), "{event:?} changed something");
    }
}

#[test]
fn a_chat_forced_on_an_agent_who_is_on_a_call_stays_hers_and_the_call_goes_on() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let call = w.arrive(10, Media::Call, SALES);
    w.accept(call, ann);
    // Waiting: nobody else signed in, and Ann is on a call.
    let chat = w.arrive(11, Media::Chat, SALES);
    assert_eq!(w.state(chat), Some(InteractionState::Waiting));
    assert!(matches!(
        w.step(assign(chat, ann, false)),
        Err(RoutingError::AgentUnavailable { .. })
    ));
    w.ok(assign(chat, ann, true));
    assert_eq!(w.state(chat), connected(ann));
    assert_eq!(w.state(call), connected(ann));
    // Nothing more is offered to her while she holds more than her room.
    let other = w.arrive(12, Media::Chat, SALES);
    assert_eq!(w.state(other), Some(InteractionState::Waiting));
    w.ok(Event::End { interaction: call });
    assert_eq!(w.state(chat), connected(ann));
    assert_eq!(w.offered_to(other), Some(ann), "room again after the call");
}

#[test]
fn a_call_assigned_to_an_agent_with_chats_interrupts_them_as_an_accepted_call_would() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let chat = w.arrive(10, Media::Chat, SALES);
    w.accept(chat, ann);
    w.ok(Event::SetPresence {
        agent: ann,
        presence: Presence::Busy,
    });
    let call = w.arrive(11, Media::Call, SALES);
    w.ok(assign(call, ann, false));
    let parked = Some(InteractionState::Parked {
        agent: ann,
        reason: ParkReason::Interrupted { by: call },
    });
    assert_eq!(w.state(chat), parked);
    w.ok(Event::End { interaction: call });
    assert_eq!(w.state(chat), connected(ann));
}

#[test]
fn a_supervisor_sets_an_agent_away_and_signs_it_out_without_losing_work() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let kept = w.arrive(10, Media::Chat, SALES);
    w.accept(kept, ann);
    let offered = w.arrive(11, Media::Chat, SALES);
    assert_eq!(w.offered_to(offered), Some(ann));
    // Away: the pending offer goes back to the queue; connected work stays hers.
    w.ok(Event::SetPresence {
        agent: ann,
        presence: Presence::Away,
    });
    assert_eq!(w.state(offered), Some(InteractionState::Waiting));
    assert_eq!(w.state(kept), connected(ann));
    assert_eq!(w.engine.agent_status(ann), AgentStatus::Away);
    // Signed out: everything she held waits again, and the next agent gets it all.
    w.ok(Event::SignOut { agent: ann });
    assert_eq!(w.state(kept), Some(InteractionState::Waiting));
    assert_eq!(w.engine.agent_status(ann), AgentStatus::Offline);
    let bob = w.agent(2, &[SALES]);
    assert_eq!(w.offered_to(kept), Some(bob));
    assert_eq!(w.offered_to(offered), Some(bob));
    assert_eq!(w.finished(), Vec::new(), "nothing was lost");
}

#[test]
fn the_board_lists_the_longest_waiting_of_every_media_first_and_marks_forced_work() {
    let mut w = World::new();
    let chat = w.arrive(10, Media::Chat, SALES);
    w.advance(1_000);
    let call = w.arrive(11, Media::Call, SALES);
    w.advance(1_000);
    let later = w.arrive(12, Media::Chat, SALES);
    let since = |id| {
        w.engine
            .longest_waiting(SALES, 5)
            .into_iter()
            .find(|&(i, _)| i == id)
    };
    assert_eq!(since(chat), Some((chat, Millis(0))));
    let order: Vec<_> = w
        .engine
        .longest_waiting(SALES, 5)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(order, [chat, call, later]);
    let first_two: Vec<_> = w
        .engine
        .longest_waiting(SALES, 2)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(first_two, [chat, call]);
    let ann = w.agent_with(1, {
        let mut p = AgentProfile::new(vec![SUPPORT]);
        p.capacity.chat = 0;
        p
    });
    assert!(!w.engine.forced(chat));
    w.ok(assign(chat, ann, true));
    assert!(w.engine.forced(chat));
    assert!(!w.engine.forced(call));
}
