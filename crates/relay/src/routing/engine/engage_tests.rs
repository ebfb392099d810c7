//! Work an agent starts herself ([`Event::Engage`]): a call placed from a conversation
//! occupies her as a routed call would, and frees her at once when it ends.

use super::tests::{connected, World, SALES};
use super::*;

fn engage(w: &mut World, id: u64, agent: AgentId) -> Result<(), RoutingError> {
    w.step(Event::Engage {
        interaction: InteractionId(id),
        media: Media::Call,
        queue: SALES,
        agent,
    })
}

#[test]
fn a_call_from_a_conversation_occupies_the_agent_until_it_ends() {
    let mut w = World::new();
    // The queue has wrap-up: the engaged call must not enter it.
    let mut queue = QueueConfig::new(SALES);
    queue.wrap_up = Some(WrapUpRule {
        codes: vec!["done".into()],
        limit_ms: None,
    });
    w.queue(queue);
    let ann = w.agent(1, &[SALES]);
    let bob = w.agent(2, &[SALES]);
    let chat = w.arrive(10, Media::Message, SALES);
    let holder = w.offered_to(chat);
    let (holder, other) = if holder == Some(ann) {
        (ann, bob)
    } else {
        (bob, ann)
    };
    w.accept(chat, holder);
    engage(&mut w, 11, holder).unwrap();
    let call = InteractionId(11);
    assert_eq!(w.state(call), connected(holder));
    // A new conversation goes to the other agent, never to the one on the call.
    let next = w.arrive(12, Media::Message, SALES);
    assert_eq!(w.offered_to(next), Some(other));
    w.accept(next, other);
    let third = w.arrive(13, Media::Message, SALES);
    assert_ne!(w.offered_to(third), Some(holder));
    // A second call while one is live is refused, and changes nothing.
    assert!(matches!(
        engage(&mut w, 14, holder),
        Err(RoutingError::AgentUnavailable { .. })
    ));
    assert_eq!(w.state(InteractionId(14)), None);
    // The call ends: no wrap-up, finished at once, and the waiting work reaches her.
    w.advance(42_000);
    let out = w.ok(Event::End { interaction: call }).to_vec();
    assert!(!out
        .iter()
        .any(|d| matches!(d, Decision::WrapUpStarted { interaction, .. } if *interaction == call)));
    let record = w.finished().into_iter().find(|r| r.interaction == call);
    assert_eq!(
        record.map(|r| (r.media, r.talk_ms)),
        Some((Media::Call, 42_000))
    );
    assert_eq!(w.offered_to(third), Some(holder));
    // The conversation the call came from is still hers.
    assert_eq!(w.state(chat), connected(holder));
}

#[test]
fn engaging_needs_a_signed_in_agent() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    w.ok(Event::SignOut { agent: ann });
    assert!(engage(&mut w, 11, ann).is_err());
    assert_eq!(w.state(InteractionId(11)), None);
}

#[test]
fn a_supervisor_still_reaches_an_agent_on_a_call_from_a_conversation_with_force() {
    let mut w = World::new();
    let ann = w.agent(1, &[SALES]);
    engage(&mut w, 11, ann).unwrap();
    // Nobody else is signed in: the new chat waits rather than reach Ann on her call.
    let chat = w.arrive(12, Media::Message, SALES);
    assert_eq!(w.offered_to(chat), None);
    let assign = |force| Event::Assign {
        interaction: chat,
        agent: ann,
        by: SupervisorId(99),
        force,
    };
    // Without force the call is in the way, and nothing changes.
    assert!(w.step(assign(false)).is_err());
    assert_eq!(w.offered_to(chat), None);
    // With force it is hers at once, and the call goes on.
    w.ok(assign(true));
    assert_eq!(w.state(chat), connected(ann));
    assert_eq!(w.state(InteractionId(11)), connected(ann));
}
