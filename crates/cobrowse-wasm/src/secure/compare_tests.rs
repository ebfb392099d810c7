//! The compare flow (a session accepted in a chat, no code) end to end between the page and
//! the console: commitment, answer, reveal, confirmations; what a relay in the middle can and
//! cannot do.

use protocol::{KeyShare, Message, Pointer, SEALED};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

use super::*;

const SESSION: &str = "5e55100000000000005e551000000000";

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn reveal(answer: Result<PageAnswer, SecureError>) -> KeyShare {
    match answer {
        Ok(PageAnswer::Reveal(share)) => share,
        other => panic!("expected the page's reveal, got {other:?}"),
    }
}

fn confirm(answer: Result<PageAnswer, SecureError>) -> protocol::KeyConfirm {
    match answer {
        Ok(PageAnswer::Confirm(confirm)) => confirm,
        other => panic!("expected the page's confirmation, got {other:?}"),
    }
}

/// Runs the whole exchange; returns the safety code both sides show.
fn exchange(page: &mut PageSecurity, console: &mut ConsoleSecurity, seed: u64) -> u32 {
    let commit = page.start(&mut rng(seed));
    assert_eq!(
        commit.message.len(),
        32,
        "the page commits before it reveals"
    );
    let answer = console.on_start(&commit, &mut rng(seed + 1)).unwrap();
    assert_eq!(
        answer.confirmation, [0; 32],
        "no confirmation before the reveal"
    );
    let revealed = reveal(page.answer(&answer));
    assert_eq!(revealed.exchange, commit.exchange);
    let confirmed = console.on_start(&revealed, &mut rng(seed + 2)).unwrap();
    let safety = console
        .on_confirm(&confirm(page.answer(&confirmed)))
        .unwrap();
    assert_eq!(page.safety(), Some(safety));
    safety
}

#[test]
fn a_session_accepted_in_a_chat_is_keyed_and_both_sides_show_one_safety_code() {
    let mut page = PageSecurity::compare(SESSION, &mut rng(1));
    let mut console = ConsoleSecurity::compare(SESSION);
    assert!(page.compares() && console.compares());
    exchange(&mut page, &mut console, 2);
    let mut bytes = protocol::Frame::new(4, Message::Pointer(Pointer { x: 1, y: 2 }))
        .encode()
        .unwrap();
    assert!(page.seal(&mut bytes).unwrap());
    assert_ne!(bytes[0] & SEALED, 0);
    assert_eq!(console.open(&mut bytes), Ok(Opened::Opened));
}

#[test]
fn a_relay_in_the_middle_keys_both_sides_but_leaves_them_different_codes() {
    // The relay answers the page as a console and the console as a page: each side keys
    // (nothing but the people's comparison can tell), and the codes differ.
    let mut page = PageSecurity::compare(SESSION, &mut rng(10));
    let mut relay_as_console = ConsoleSecurity::compare(SESSION);
    let mut relay_as_page = PageSecurity::compare(SESSION, &mut rng(11));
    let mut console = ConsoleSecurity::compare(SESSION);
    let page_code = exchange(&mut page, &mut relay_as_console, 12);
    let console_code = exchange(&mut relay_as_page, &mut console, 20);
    assert_ne!(page_code, console_code);
}

#[test]
fn a_reveal_that_is_not_what_the_page_committed_to_fails_the_console() {
    let mut page = PageSecurity::compare(SESSION, &mut rng(30));
    let mut console = ConsoleSecurity::compare(SESSION);
    let commit = page.start(&mut rng(31));
    let answer = console.on_start(&commit, &mut rng(32)).unwrap();
    let mut revealed = reveal(page.answer(&answer));
    revealed.message[5] ^= 1;
    assert_eq!(
        console.on_start(&revealed, &mut rng(33)),
        Err(SecureError::ExchangeFailed)
    );
    assert!(console.failed());
}

#[test]
fn a_forged_confirmation_fails_the_page() {
    let mut page = PageSecurity::compare(SESSION, &mut rng(40));
    let mut console = ConsoleSecurity::compare(SESSION);
    let commit = page.start(&mut rng(41));
    let answer = console.on_start(&commit, &mut rng(42)).unwrap();
    let revealed = reveal(page.answer(&answer));
    let mut confirmed = console.on_start(&revealed, &mut rng(43)).unwrap();
    confirmed.confirmation[0] ^= 1;
    assert_eq!(page.answer(&confirmed), Err(SecureError::ExchangeFailed));
    assert!(page.failed());
}

#[test]
fn a_code_session_is_never_keyed_the_compare_way() {
    // A relay cannot turn a code session into a compared one: a console holding a code reads
    // the page's commitment as a SPAKE2 message, and the exchange fails.
    let code = e2ee::Code::new("123456", &mut rng(50)).unwrap();
    let mut console = ConsoleSecurity::new(SESSION, code.secret().clone());
    let mut page = PageSecurity::compare(SESSION, &mut rng(51));
    let commit = page.start(&mut rng(52));
    assert_eq!(
        console.on_start(&commit, &mut rng(53)).map(drop),
        Err(SecureError::ExchangeFailed)
    );
    assert!(console.failed() && !console.ready());
}
