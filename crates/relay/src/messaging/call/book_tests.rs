//! The book's rules, one by one: ringing, answering, declining, timeouts, redials, who may
//! signal and how much.

use super::*;

const RULES: Rules = Rules {
    ring_ms: 30_000,
    redial_ms: 2_000,
    max_signals_per_side: 3,
};

fn ring(book: &mut Book, conv: &str, agent: &str, now: i64) -> Result<String, CallError> {
    let id = format!("call-{conv}-{now}");
    book.offer(
        RULES,
        id.clone(),
        conv,
        "contact",
        agent,
        Offered::Video,
        now,
    )
    .map(|c| c.id.clone())
}

#[test]
fn an_answered_call_is_live_until_a_side_hangs_up_and_reports_its_duration() {
    let mut book = Book::default();
    let id = ring(&mut book, "c1", "ann", 0).unwrap();
    let call = book.answer("c1", &id, Answer::Video, 4_000).unwrap();
    assert_eq!(
        call.phase,
        Phase::Live {
            answer: Answer::Video,
            since: 4_000
        }
    );
    let ended = (book.hang_up("c1", &id, Side::Customer, EndReason::HungUp, 64_000)).unwrap();
    assert_eq!(ended.duration_ms, Some(60_000));
    assert_eq!(ended.by, Some(Side::Customer));
    assert!(book.is_empty());
    assert!(book.of_agent("ann").is_none());
}

#[test]
fn one_call_per_conversation_and_per_agent() {
    let mut book = Book::default();
    ring(&mut book, "c1", "ann", 0).unwrap();
    assert_eq!(
        ring(&mut book, "c1", "bob", 1),
        Err(CallError::ConversationBusy)
    );
    assert_eq!(ring(&mut book, "c2", "ann", 1), Err(CallError::AgentBusy));
    assert!(ring(&mut book, "c2", "bob", 1).is_ok());
    assert_eq!(book.len(), 2);
}

#[test]
fn a_voice_offer_is_answered_with_audio_whatever_the_customer_asks() {
    let mut book = Book::default();
    let id = book
        .offer(RULES, "x".into(), "c1", "k", "ann", Offered::Voice, 0)
        .unwrap()
        .id
        .clone();
    let call = book.answer("c1", &id, Answer::Video, 1).unwrap();
    assert!(matches!(
        call.phase,
        Phase::Live {
            answer: Answer::Audio,
            ..
        }
    ));
}

#[test]
fn a_ring_times_out_unanswered_and_a_late_answer_is_refused() {
    let mut book = Book::default();
    let id = ring(&mut book, "c1", "ann", 0).unwrap();
    assert_eq!(book.next_deadline(), Some(30_000));
    assert!(book.expire(29_999).is_empty());
    assert_eq!(
        book.answer("c1", &id, Answer::Audio, 30_000).err(),
        Some(CallError::NotRinging)
    );
    let ended = book.expire(30_000);
    assert_eq!(ended.len(), 1);
    assert_eq!(
        (ended[0].reason, ended[0].duration_ms),
        (EndReason::NoAnswer, None)
    );
    assert_eq!(book.next_deadline(), None);
}

#[test]
fn decline_frees_the_agent_and_a_redial_waits_a_moment() {
    let mut book = Book::default();
    let id = ring(&mut book, "c1", "ann", 0).unwrap();
    let ended = book.decline("c1", &id, 1_000).unwrap();
    assert_eq!(ended.reason, EndReason::Declined);
    assert_eq!(ring(&mut book, "c1", "ann", 1_500), Err(CallError::TooSoon));
    // Another conversation is not held up, and this one rings again after the pause.
    assert!(ring(&mut book, "c2", "ann", 1_500).is_ok());
    let other = book.of_agent("ann").map(|c| c.id.clone()).unwrap();
    book.hang_up("c2", &other, Side::Agent, EndReason::HungUp, 1_600)
        .unwrap();
    assert!(ring(&mut book, "c1", "ann", 3_000).is_ok());
}

#[test]
fn a_call_id_from_another_conversation_is_no_call_here() {
    let mut book = Book::default();
    let mine = ring(&mut book, "c1", "ann", 0).unwrap();
    let theirs = ring(&mut book, "c2", "bob", 0).unwrap();
    assert_eq!(
        book.signal(RULES, "c1", &theirs, Side::Agent).err(),
        Some(CallError::NoCall)
    );
    assert_eq!(
        book.hang_up("c1", &theirs, Side::Customer, EndReason::HungUp, 1)
            .err(),
        Some(CallError::NoCall)
    );
    assert_eq!(
        book.answer("c2", &mine, Answer::Audio, 1).err(),
        Some(CallError::NoCall)
    );
    assert_eq!(book.len(), 2);
}

#[test]
fn signals_are_bounded_per_side_and_the_customer_signals_only_once_it_answered() {
    let mut book = Book::default();
    let id = ring(&mut book, "c1", "ann", 0).unwrap();
    assert!(book.signal(RULES, "c1", &id, Side::Agent).is_ok());
    assert_eq!(
        book.signal(RULES, "c1", &id, Side::Customer).err(),
        Some(CallError::NotLive)
    );
    book.answer("c1", &id, Answer::Audio, 1).unwrap();
    for _ in 0..3 {
        assert!(book.signal(RULES, "c1", &id, Side::Customer).is_ok());
    }
    assert_eq!(
        book.signal(RULES, "c1", &id, Side::Customer).err(),
        Some(CallError::TooManySignals)
    );
    // The agent's own allowance is its own.
    assert!(book.signal(RULES, "c1", &id, Side::Agent).is_ok());
    assert!(book.signal(RULES, "c1", &id, Side::Agent).is_ok());
    assert_eq!(
        book.signal(RULES, "c1", &id, Side::Agent).err(),
        Some(CallError::TooManySignals)
    );
}

#[test]
fn the_end_of_the_conversation_ends_its_call() {
    let mut book = Book::default();
    let id = ring(&mut book, "c1", "ann", 0).unwrap();
    book.answer("c1", &id, Answer::Audio, 10).unwrap();
    let ended = book.end_conversation("c1", 110).unwrap();
    assert_eq!(
        (ended.reason, ended.by, ended.duration_ms),
        (EndReason::ConversationEnded, None, Some(100))
    );
    assert!(book.end_conversation("c1", 120).is_none());
}
