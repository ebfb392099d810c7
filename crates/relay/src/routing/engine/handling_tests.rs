//! Behaviour tests of handling work once routed: interrupts and resumption, park, transfer,
//! wrap-up, logout, abandons and rejected events, driven through [`Engine::handle`].

use super::tests::{connected, World, ENGLISH, SALES, SUPPORT};
use super::*;

#[test]
fn call_interrupts_chat_and_chat_resumes_after_call() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let chat = w.arrive(10, Media::Chat, SALES);
    w.accept(chat, ann);
    let call = w.arrive(11, Media::Call, SALES);
    let offer = w.out.iter().find_map(|d| match d {
        Decision::Offer { reason, .. } => Some(*reason),
        _ => None,
    });
    assert_eq!(offer, Some(OfferReason::Interrupt));
    w.accept(call, ann);
    assert_eq!(
        w.state(chat),
        Some(InteractionState::Parked {
            agent: ann,
            reason: ParkReason::Interrupted { by: call }
        })
    );
    // No chat is offered to Ann while she is on the call.
    let other = w.arrive(12, Media::Chat, SALES);
    assert_eq!(w.state(other), Some(InteractionState::Waiting));
    w.advance(60_000);
    let out = w.ok(Event::End { interaction: call }).to_vec();
    assert!(out.contains(&Decision::Resumed {
        interaction: chat,
        agent: ann
    }));
    assert_eq!(w.state(chat), connected(ann));
    assert_eq!(w.offered_to(other), Some(ann));
    w.advance(1_000);
    w.ok(Event::End { interaction: chat });
    let record = w.finished().pop();
    assert_eq!(
        record.map(|r| (r.hold_ms, r.talk_ms)),
        Some((60_000, 1_000))
    );
}

#[test]
fn logout_requeues_chats() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let a = w.arrive(10, Media::Chat, SALES);
    let b = w.arrive(11, Media::Chat, SALES);
    w.accept(a, ann);
    w.accept(b, ann);
    w.ok(Event::Park { interaction: b });
    w.ok(Event::SignOut { agent: ann });
    assert_eq!(w.state(a), Some(InteractionState::Waiting));
    assert_eq!(w.state(b), Some(InteractionState::Waiting));
    assert_eq!(w.engine.agent_status(ann), AgentStatus::Offline);
    let bob = w.agent(2, &[SALES]);
    assert_eq!(w.offered_to(a), Some(bob));
    assert_eq!(w.offered_to(b), Some(bob));
}

#[test]
fn leaving_available_withdraws_pending_offers() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let chat = w.arrive(10, Media::Chat, SALES);
    w.ok(Event::SetPresence {
        agent: ann,
        presence: Presence::Busy,
    });
    assert_eq!(w.state(chat), Some(InteractionState::Waiting));
    w.ok(Event::SetPresence {
        agent: ann,
        presence: Presence::Available,
    });
    assert_eq!(w.offered_to(chat), Some(ann));
}

#[test]
fn transfer_to_queue_moves_the_interaction() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let chat = w.arrive(10, Media::Chat, SALES);
    w.accept(chat, ann);
    w.ok(Event::Transfer {
        interaction: chat,
        to: TransferTarget::Queue(SUPPORT),
    });
    assert_eq!(w.engine.waiting_in(SUPPORT), vec![chat]);
    assert!(w.engine.work_of(ann).is_empty());
    let bob = w.agent(2, &[SUPPORT]);
    assert_eq!(w.offered_to(chat), Some(bob));
}

#[test]
fn transfer_to_agent_offers_it_and_declined_transfer_waits_in_queue() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let bob = w.agent(2, &[SUPPORT]);
    let chat = w.arrive(10, Media::Chat, SALES);
    w.accept(chat, ann);
    w.ok(Event::Transfer {
        interaction: chat,
        to: TransferTarget::Agent(bob),
    });
    assert_eq!(w.offered_to(chat), Some(bob));
    w.ok(Event::Decline {
        interaction: chat,
        agent: bob,
    });
    // Back in Sales, where Ann (now free) takes it.
    assert_eq!(w.offered_to(chat), Some(ann));
}

#[test]
fn transfer_to_unavailable_agent_is_rejected_and_changes_nothing() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let bob = w.agent(2, &[SUPPORT]);
    w.ok(Event::SetPresence {
        agent: bob,
        presence: Presence::Away,
    });
    let chat = w.arrive(10, Media::Chat, SALES);
    w.accept(chat, ann);
    let result = w.step(Event::Transfer {
        interaction: chat,
        to: TransferTarget::Agent(bob),
    });
    assert!(matches!(
        result,
        Err(RoutingError::AgentUnavailable {
            status: AgentStatus::Away,
            ..
        })
    ));
    assert_eq!(w.state(chat), connected(ann));
}

fn wrap_up_queue(limit_ms: Option<u64>) -> QueueConfig {
    let mut queue = QueueConfig::new(SALES);
    queue.wrap_up = Some(WrapUpRule {
        codes: vec!["sold".into(), "no-sale".into()],
        limit_ms,
    });
    queue
}

#[test]
fn wrap_up_records_disposition_and_time() {
    let mut w = World::new();
    w.queue(wrap_up_queue(None));
    let ann = w.agent(1, &[SALES]);
    let call = w.arrive(10, Media::Call, SALES);
    w.advance(2_000);
    w.accept(call, ann);
    w.advance(30_000);
    w.ok(Event::End { interaction: call });
    assert_eq!(w.engine.agent_status(ann), AgentStatus::WrapUp);
    // No new call while Ann wraps up hers.
    let next = w.arrive(11, Media::Call, SALES);
    assert_eq!(w.state(next), Some(InteractionState::Waiting));
    w.advance(5_000);
    let wrong = w.step(Event::CompleteWrapUp {
        interaction: call,
        code: "maybe".into(),
    });
    assert!(matches!(
        wrong,
        Err(RoutingError::UnknownDisposition { .. })
    ));
    w.ok(Event::CompleteWrapUp {
        interaction: call,
        code: "sold".into(),
    });
    let record = w.finished().pop();
    let facts = record.map(|r| {
        (
            r.answer_delay_ms(),
            r.talk_ms,
            r.wrap_up_ms,
            r.disposition,
            r.outcome,
        )
    });
    assert_eq!(
        facts,
        Some((
            Some(2_000),
            30_000,
            5_000,
            Some("sold".to_string()),
            Outcome::Handled
        ))
    );
    assert_eq!(w.offered_to(next), Some(ann));
}

#[test]
fn wrap_up_ends_by_itself_after_the_limit() {
    let mut w = World::new();
    w.queue(wrap_up_queue(Some(10_000)));
    let ann = w.agent(1, &[SALES]);
    let call = w.arrive(10, Media::Call, SALES);
    w.accept(call, ann);
    w.ok(Event::End { interaction: call });
    w.advance(10_000);
    let record = w.finished().pop();
    assert_eq!(
        record.map(|r| (r.wrap_up_ms, r.disposition)),
        Some((10_000, None))
    );
    assert_eq!(w.engine.agent_status(ann), AgentStatus::Available);
}

#[test]
fn unanswered_end_is_an_abandon_and_finishes_once() {
    let mut w = World::new();
    let chat = w.arrive(10, Media::Chat, SALES);
    w.advance(4_000);
    w.ok(Event::End { interaction: chat });
    let records = w.finished();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records.first().map(|r| (r.outcome, r.abandoned_at)),
        Some((Outcome::Abandoned, Some(Millis(4_000))))
    );
    assert_eq!(
        w.step(Event::End { interaction: chat }),
        Err(RoutingError::UnknownInteraction { interaction: chat })
    );
}

#[test]
fn park_frees_capacity_and_stops_the_handle_clock() {
    let mut w = World::new();
    let mut profile = AgentProfile::new(vec![SALES]);
    profile.capacity.chat = 1;
    let ann = w.agent_with(1, profile);
    let a = w.arrive(10, Media::Chat, SALES);
    w.accept(a, ann);
    let b = w.arrive(11, Media::Chat, SALES);
    assert_eq!(w.state(b), Some(InteractionState::Waiting));
    w.advance(1_000);
    w.ok(Event::Park { interaction: a });
    assert_eq!(w.offered_to(b), Some(ann));
    w.accept(b, ann);
    assert_eq!(
        w.step(Event::Unpark { interaction: a }),
        Err(RoutingError::AgentUnavailable {
            agent: ann,
            media: Media::Chat,
            status: AgentStatus::Available
        })
    );
    w.ok(Event::End { interaction: b });
    w.advance(2_000);
    w.ok(Event::Unpark { interaction: a });
    w.advance(500);
    w.ok(Event::End { interaction: a });
    let record = w.finished().pop();
    assert_eq!(record.map(|r| (r.talk_ms, r.hold_ms)), Some((1_500, 2_000)));
}

#[test]
fn events_about_unknown_things_are_rejected_with_facts() {
    let mut w = World::new();
    assert_eq!(
        w.step(Event::SignOut { agent: AgentId(7) }),
        Err(RoutingError::UnknownAgent { agent: AgentId(7) })
    );
    assert_eq!(
        w.step(Event::Arrive {
            interaction: InteractionId(1),
            media: Media::Chat,
            queue: QueueId(9),
            priority: None,
            last_agent: None,
        }),
        Err(RoutingError::UnknownQueue { queue: QueueId(9) })
    );
    let mut profile = AgentProfile::new(vec![SALES]);
    profile.skills = vec![Skill {
        skill: ENGLISH,
        proficiency: 6,
    }];
    assert_eq!(
        w.step(Event::SignIn {
            agent: AgentId(1),
            profile
        }),
        Err(RoutingError::ProficiencyOutOfRange { got: 6 })
    );
    let chat = w.arrive(10, Media::Chat, SALES);
    assert_eq!(
        w.step(Event::Park { interaction: chat }),
        Err(RoutingError::InvalidState {
            interaction: chat,
            action: Word("park"),
            state: Word("waiting")
        })
    );
}

#[test]
fn time_running_backwards_counts_as_the_latest_time() {
    let mut w = World::new();
    w.advance(5_000);
    w.now = Millis(1_000);
    let chat = w.arrive(10, Media::Chat, SALES);
    w.now = Millis(6_000);
    w.ok(Event::End { interaction: chat });
    let record = w.finished().pop();
    assert_eq!(record.map(|r| r.arrived_at), Some(Millis(5_000)));
}

#[test]
fn queue_reports_count_and_longest_wait_across_priorities() {
    let mut w = World::new();
    w.advance(1_000);
    w.arrive_with(10, Media::Chat, SALES, Some(1), None);
    w.advance(1_000);
    w.arrive_with(11, Media::Chat, SALES, Some(9), None);
    w.arrive(12, Media::Message, SALES);
    assert_eq!(
        w.engine.queue_waiting(SALES),
        Some((3, Some(Millis(1_000))))
    );
    assert_eq!(w.engine.queue_waiting(SUPPORT), Some((0, None)));
}

#[test]
fn work_resumed_with_a_sign_in_holds_capacity_before_anything_is_offered() {
    let mut w = World::new();
    // Four chats wait (the default chat capacity) before Ann signs back in after a restart
    // holding four chats, one of them parked.
    let waiting: Vec<_> = (20..24).map(|i| w.arrive(i, Media::Chat, SALES)).collect();
    let ann = AgentId(1);
    let held = [(10, false), (11, false), (12, false), (13, true)];
    let events = std::iter::once(Event::SignIn {
        agent: ann,
        profile: AgentProfile::new(vec![SALES]),
    })
    .chain(held.iter().map(|&(id, parked)| Event::Resume {
        interaction: InteractionId(id),
        media: Media::Chat,
        queue: SALES,
        agent: ann,
        parked,
    }));
    w.out.clear();
    let results = w.engine.handle_all(w.now, events, &mut w.out);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(w.state(InteractionId(10)), connected(ann));
    assert!(matches!(
        w.state(InteractionId(13)),
        Some(InteractionState::Parked { agent, .. }) if agent == ann
    ));
    // Three open chats plus one parked: one chat of room, and only one waiting chat is offered.
    let offered = waiting
        .iter()
        .filter(|&&c| w.offered_to(c) == Some(ann))
        .count();
    assert_eq!(offered, 1);
    // A resumed chat ends like any other, giving its room back.
    w.advance(5_000);
    w.ok(Event::End {
        interaction: InteractionId(10),
    });
    assert_eq!(w.finished().pop().map(|r| r.talk_ms), Some(5_000));
    let offered = waiting
        .iter()
        .filter(|&&c| w.offered_to(c) == Some(ann))
        .count();
    assert_eq!(offered, 2);
}

#[test]
fn resume_is_refused_for_known_work_an_unknown_queue_or_an_agent_not_signed_in() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    let chat = w.arrive(10, Media::Chat, SALES);
    let resume = |interaction, queue, agent| Event::Resume {
        interaction,
        media: Media::Chat,
        queue,
        agent,
        parked: false,
    };
    assert_eq!(
        w.step(resume(chat, SALES, ann)),
        Err(RoutingError::DuplicateInteraction { interaction: chat })
    );
    let other = InteractionId(11);
    assert_eq!(
        w.step(resume(other, QueueId(99), ann)),
        Err(RoutingError::UnknownQueue { queue: QueueId(99) })
    );
    assert_eq!(
        w.step(resume(other, SALES, AgentId(7))),
        Err(RoutingError::UnknownAgent { agent: AgentId(7) })
    );
    assert_eq!(w.state(other), None);
}
