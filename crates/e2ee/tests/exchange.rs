//! The exchange and sealed frames as the page, the console and a relay in the middle would use
//! them: matching codes agree and talk both ways; another code, a tampered message or a relay
//! answering with its own guess fails on both sides; replayed, reordered, relabelled and
//! altered frames are refused, and a refused frame costs the genuine ones nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2ee::{
    compare::{ConsoleAnswered, PageCommitted},
    Code, Exchange, ExchangeError, Keys, SealError, Secret, Side, TAG_BYTES,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

const SESSION: &[u8] = b"cs_0123456789abcdef";

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// The console draws a code, the customer types it, and the two run the exchange through a
/// relay that passes every message unchanged.
fn pair(
    console_code: &Code,
    typed: &Code,
) -> (Result<Keys, ExchangeError>, Result<Keys, ExchangeError>) {
    let (page, a) = Exchange::start(Side::Page, typed.secret(), SESSION, &mut rng(1));
    let (console, b) = Exchange::start(Side::Console, console_code.secret(), SESSION, &mut rng(2));
    let page = page.finish(&b).unwrap();
    let console = console.finish(&a).unwrap();
    let (pc, cc) = (page.confirmation(), console.confirmation());
    (page.verify(&cc), console.verify(&pc))
}

fn matched() -> (Keys, Keys) {
    let code = Code::new("123456", &mut rng(9)).unwrap();
    let typed = Code::parse(&code.display()).unwrap();
    let (p, c) = pair(&code, &typed);
    (p.unwrap(), c.unwrap())
}

fn frame(body: &[u8]) -> Vec<u8> {
    // A stand-in envelope (kind, seq) before the body, as on the wire.
    let mut f = vec![0x10, 0x07];
    f.extend_from_slice(body);
    f
}

#[test]
fn the_same_code_gives_both_sides_keys_that_talk_both_ways() {
    let (mut page, mut console) = matched();
    assert_eq!(page.safety, console.safety);
    assert!(page.safety < 1_000_000);

    let body = b"<p>Order 4411 for Jane Doe, 12 Rue de la Paix</p>";
    let mut f = frame(body);
    page.sealer.seal(0x10, 1, &mut f, 2).unwrap();
    assert_eq!(f.len(), 2 + body.len() + TAG_BYTES, "only the tag is added");
    assert!(
        !f.windows(4).any(|w| w == b"Jane"),
        "the relay sees no plain text"
    );
    assert_eq!(&f[..2], &[0x10, 0x07], "the envelope stays clear");
    console.opener.open(0x10, 1, &mut f, 2).unwrap();
    assert_eq!(&f[2..], body);

    let mut click = frame(b"click 412");
    console.sealer.seal(0x50, 1, &mut click, 2).unwrap();
    page.opener.open(0x50, 1, &mut click, 2).unwrap();
    assert_eq!(&click[2..], b"click 412");
}

#[test]
fn another_code_fails_confirmation_on_both_sides() {
    let code = Code::new("123456", &mut rng(9)).unwrap();
    // The customer mistypes one digit of the secret part.
    let mut shown: Vec<char> = code.display().chars().collect();
    let last = shown.len() - 1;
    shown[last] = if shown[last] == '0' { '1' } else { '0' };
    let typed = Code::parse(&shown.iter().collect::<String>()).unwrap();
    assert_eq!(
        typed.locator(),
        code.locator(),
        "the relay still finds the session"
    );
    let (p, c) = pair(&code, &typed);
    assert_eq!(p.err(), Some(ExchangeError::ConfirmationFailed));
    assert_eq!(c.err(), Some(ExchangeError::ConfirmationFailed));
}

#[test]
fn a_relay_that_alters_either_message_makes_both_sides_fail() {
    let secret = Secret::draw(&mut rng(5));
    for flip in [0usize, 1] {
        let (page, mut a) = Exchange::start(Side::Page, &secret, SESSION, &mut rng(1));
        let (console, mut b) = Exchange::start(Side::Console, &secret, SESSION, &mut rng(2));
        // Flip one bit of one message: it may no longer be a point at all, or be another
        // point; either way no side ends up with keys.
        let victim = if flip == 0 { &mut a } else { &mut b };
        victim[5] ^= 0x01;
        let page = page.finish(&b);
        let console = console.finish(&a);
        match (page, console) {
            (Ok(page), Ok(console)) => {
                let (pc, cc) = (page.confirmation(), console.confirmation());
                assert_eq!(
                    page.verify(&cc).err(),
                    Some(ExchangeError::ConfirmationFailed)
                );
                assert_eq!(
                    console.verify(&pc).err(),
                    Some(ExchangeError::ConfirmationFailed)
                );
            }
            (p, c) => assert!(p.is_err() || c.is_err()),
        }
    }
}

#[test]
fn a_relay_in_the_middle_learns_the_keys_only_by_guessing_the_secret() {
    let secret = Secret::draw(&mut rng(5));
    for (guess, wins) in [(Secret::draw(&mut rng(6)), false), (secret.clone(), true)] {
        assert_eq!(guess == secret, wins);
        // The relay runs a console half toward the page with its guess.
        let (page, a) = Exchange::start(Side::Page, &secret, SESSION, &mut rng(1));
        let (fake, b) = Exchange::start(Side::Console, &guess, SESSION, &mut rng(3));
        let page = page.finish(&b).unwrap();
        let fake = fake.finish(&a).unwrap();
        let (pc, fc) = (page.confirmation(), fake.confirmation());
        assert_eq!(page.verify(&fc).is_ok(), wins);
        assert_eq!(fake.verify(&pc).is_ok(), wins);
    }
}

#[test]
fn a_message_sent_back_to_its_sender_or_of_the_wrong_length_is_refused() {
    let secret = Secret::draw(&mut rng(5));
    let (page, a) = Exchange::start(Side::Page, &secret, SESSION, &mut rng(1));
    assert_eq!(page.finish(&a).err(), Some(ExchangeError::BadMessage));
    for bad in [&[][..], &[0u8; 12][..], &[0xff; 33][..], &[0u8; 4096][..]] {
        let (page, _) = Exchange::start(Side::Page, &secret, SESSION, &mut rng(1));
        assert!(page.finish(bad).is_err(), "{} bytes", bad.len());
    }
    let (page, a) = Exchange::start(Side::Page, &secret, SESSION, &mut rng(1));
    let (console, b) = Exchange::start(Side::Console, &secret, SESSION, &mut rng(2));
    let page = page.finish(&b).unwrap();
    let _ = console.finish(&a).unwrap();
    assert_eq!(
        page.verify(&[0u8; 5]).err(),
        Some(ExchangeError::ConfirmationFailed)
    );
}

#[test]
fn keys_of_one_session_do_not_open_another_s_frames() {
    let secret = Secret::draw(&mut rng(5));
    let keys = |session: &[u8]| {
        let (page, a) = Exchange::start(Side::Page, &secret, session, &mut rng(1));
        let (console, b) = Exchange::start(Side::Console, &secret, session, &mut rng(2));
        let page = page.finish(&b).unwrap();
        let console = console.finish(&a).unwrap();
        let (pc, cc) = (page.confirmation(), console.confirmation());
        (page.verify(&cc).unwrap(), console.verify(&pc).unwrap())
    };
    let (mut page1, _) = keys(b"session one");
    let (_, mut console2) = keys(b"session two");
    let mut f = frame(b"hello");
    page1.sealer.seal(0x10, 1, &mut f, 2).unwrap();
    assert_eq!(
        console2.opener.open(0x10, 1, &mut f, 2),
        Err(SealError::Tampered)
    );
}

#[test]
fn replayed_reordered_relabelled_and_altered_frames_are_refused() {
    let (mut page, mut console) = matched();
    let sealed: Vec<Vec<u8>> = (1..=4u32)
        .map(|seq| {
            let mut f = frame(format!("frame {seq}").as_bytes());
            page.sealer.seal(0x10, seq, &mut f, 2).unwrap();
            f
        })
        .collect();

    // Frame 1 opens; the same bytes again are a replay.
    let mut f1 = sealed[0].clone();
    console.opener.open(0x10, 1, &mut f1, 2).unwrap();
    let mut again = sealed[0].clone();
    assert_eq!(
        console.opener.open(0x10, 1, &mut again, 2),
        Err(SealError::Stale { seq: 1, newest: 1 })
    );

    // Frame 3 before frame 2: 3 opens (a gap is allowed), then 2 is refused as moved back.
    let mut f3 = sealed[2].clone();
    console.opener.open(0x10, 3, &mut f3, 2).unwrap();
    let mut f2 = sealed[1].clone();
    assert_eq!(
        console.opener.open(0x10, 2, &mut f2, 2),
        Err(SealError::Stale { seq: 2, newest: 3 })
    );

    // Frame 4 relabelled as another kind, given another sequence, cut short or with one byte
    // changed: none opens, and none costs the genuine frame 4 its turn.
    let f4 = &sealed[3];
    let mut other_kind = f4.clone();
    assert_eq!(
        console.opener.open(0x50, 4, &mut other_kind, 2),
        Err(SealError::Tampered)
    );
    let mut other_seq = f4.clone();
    assert_eq!(
        console.opener.open(0x10, 9, &mut other_seq, 2),
        Err(SealError::Tampered)
    );
    let mut short = f4[..2 + TAG_BYTES - 1].to_vec();
    assert_eq!(
        console.opener.open(0x10, 4, &mut short, 2),
        Err(SealError::Truncated { got: TAG_BYTES - 1 })
    );
    let mut altered = f4.clone();
    altered[3] ^= 0x20;
    assert_eq!(
        console.opener.open(0x10, 4, &mut altered, 2),
        Err(SealError::Tampered)
    );
    let mut genuine = f4.clone();
    console.opener.open(0x10, 4, &mut genuine, 2).unwrap();
    assert_eq!(&genuine[2..], b"frame 4");

    // A frame sent the other way does not open as if it came from the page.
    let mut echo = frame(b"reflected");
    console.sealer.seal(0x10, 5, &mut echo, 2).unwrap();
    assert_eq!(
        console.opener.open(0x10, 5, &mut echo, 2),
        Err(SealError::Tampered)
    );
}

#[test]
fn a_sealer_never_reuses_a_sequence() {
    let (mut page, _) = matched();
    let mut f = frame(b"x");
    page.sealer.seal(0x10, 7, &mut f, 2).unwrap();
    for seq in [7, 3, 0] {
        let mut g = frame(b"y");
        assert_eq!(
            page.sealer.seal(0x10, seq, &mut g, 2),
            Err(SealError::SequenceNotIncreasing { seq, last: 7 })
        );
        assert_eq!(g, frame(b"y"), "a refused seal leaves the frame untouched");
    }
}

#[test]
fn the_compare_flow_gives_both_people_the_same_code_when_no_one_is_in_the_middle() {
    let (page, commit) = PageCommitted::start(SESSION, &mut rng(1));
    let (console, b) = ConsoleAnswered::start(SESSION, &commit, &mut rng(2)).unwrap();
    let (page, a) = page.reveal(&b).unwrap();
    let console = console.finish(&a).unwrap();
    assert_eq!(page.safety_code(), console.safety_code());
    let (pc, cc) = (page.confirmation(), console.confirmation());
    let mut page = page.verify(&cc).unwrap();
    let mut console = console.verify(&pc).unwrap();
    let mut f = frame(b"hello");
    page.sealer.seal(0x10, 1, &mut f, 2).unwrap();
    console.opener.open(0x10, 1, &mut f, 2).unwrap();
}

#[test]
fn a_relay_in_the_middle_of_the_compare_flow_leaves_different_codes() {
    // The relay runs a console half toward the page and a page half toward the console.
    let mut same = 0;
    for seed in 0..20u64 {
        let (page, commit) = PageCommitted::start(SESSION, &mut rng(seed * 4));
        let (relay_page, relay_commit) = PageCommitted::start(SESSION, &mut rng(seed * 4 + 1));
        let (console, b) =
            ConsoleAnswered::start(SESSION, &relay_commit, &mut rng(seed * 4 + 2)).unwrap();
        let (relay_console, rb) =
            ConsoleAnswered::start(SESSION, &commit, &mut rng(seed * 4 + 3)).unwrap();
        let (page, a) = page.reveal(&rb).unwrap();
        let (relay_to_console, ra) = relay_page.reveal(&b).unwrap();
        let console = console.finish(&ra).unwrap();
        let relay_to_page = relay_console.finish(&a).unwrap();
        // Each side agrees with the relay, so confirmation passes: only the people's
        // comparison can catch it, and it does.
        assert_eq!(page.safety_code(), relay_to_page.safety_code());
        assert_eq!(console.safety_code(), relay_to_console.safety_code());
        if page.safety_code() == console.safety_code() {
            same += 1;
        }
    }
    assert_eq!(same, 0, "codes matched {same} times in 20");
}

#[test]
fn a_page_message_that_is_not_the_committed_one_is_refused() {
    let (page, commit) = PageCommitted::start(SESSION, &mut rng(1));
    let (other, _) = PageCommitted::start(SESSION, &mut rng(7));
    let (console, b) = ConsoleAnswered::start(SESSION, &commit, &mut rng(2)).unwrap();
    let (_, a) = page.reveal(&b).unwrap();
    let (_, swapped) = other.reveal(&b).unwrap();
    assert_eq!(
        console.finish(&swapped).err(),
        Some(ExchangeError::CommitmentMismatch)
    );
    let (console, _) = ConsoleAnswered::start(SESSION, &commit, &mut rng(2)).unwrap();
    assert!(console.finish(&a).is_ok());
    assert!(ConsoleAnswered::start(SESSION, &[0u8; 31], &mut rng(2)).is_err());
}
