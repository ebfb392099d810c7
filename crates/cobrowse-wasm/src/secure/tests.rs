//! The page and the console end to end over real encoded frames, with a relay in the middle
//! that forwards, tampers or replays.

use e2ee::{Code, Secret};
use protocol::{
    Click, Frame, FrameKind, InputValue, Limits, Message, NodeId, Pointer, Snapshot, SEALED,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

use super::*;

const SESSION: &str = "c0ffee0000000000c0ffee0000000000";

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// The console's code for a locator, and the page's secret as the customer typed it.
fn code(seed: u64) -> (Secret, Secret) {
    let code = Code::new("123456", &mut rng(seed)).unwrap();
    let typed = Code::parse(&code.display()).unwrap();
    (code.secret().clone(), typed.secret().clone())
}

/// A page and a console whose exchange confirmed.
fn paired(seed: u64) -> (PageSecurity, ConsoleSecurity) {
    let (console_secret, page_secret) = code(seed);
    let mut page = PageSecurity::new(SESSION, page_secret, &mut rng(seed + 1));
    let mut console = ConsoleSecurity::new(SESSION, console_secret);
    let start = page.start(&mut rng(seed + 2));
    let reply = console.on_start(&start, &mut rng(seed + 3)).unwrap();
    let confirm = page.on_reply(&reply).unwrap();
    let safety = console.on_confirm(&confirm).unwrap();
    assert_eq!(page.safety(), Some(safety));
    (page, console)
}

fn encode(seq: u32, message: Message) -> Vec<u8> {
    Frame::new(seq, message).encode().unwrap()
}

fn decode(bytes: &[u8]) -> Message {
    Frame::decode(bytes, &Limits::default()).unwrap().message
}

fn value(node: NodeId, text: &str) -> Message {
    Message::InputValue(InputValue {
        node,
        value: protocol::FormValue::Text(text.into()),
    })
}

#[test]
fn content_is_sealed_for_the_relay_and_opens_for_the_console() {
    let (mut page, mut console) = paired(10);
    let sent = value(7, "canary-4242");
    let mut bytes = encode(3, sent.clone());
    assert!(page.seal(&mut bytes).unwrap());
    // What the relay sees: the kind with the sealed bit, the sequence, no content.
    assert_eq!(bytes[0], FrameKind::InputValue.code() | SEALED);
    assert!(!bytes.windows(6).any(|w| w == b"canary"));
    let (envelope, _) = protocol::Envelope::peek(&bytes, &Limits::default()).unwrap();
    assert_eq!(
        (envelope.kind, envelope.seq, envelope.sealed),
        (FrameKind::InputValue, 3, true)
    );
    assert_eq!(console.open(&mut bytes).unwrap(), Opened::Opened);
    assert_eq!(decode(&bytes), sent);
}

#[test]
fn agent_input_keeps_its_target_clear_for_the_gate_and_opens_in_the_page() {
    let (mut page, mut console) = paired(20);
    let click = Message::Click(Click {
        node: 300,
        x: 5,
        y: 6,
        button: protocol::Button::Primary,
    });
    let mut bytes = encode(9, click.clone());
    assert!(console.seal(&mut bytes).unwrap());
    let (_, body) = protocol::Envelope::peek(&bytes, &Limits::default()).unwrap();
    // The relay's scope gate reads the first varint of the body: the target node.
    assert_eq!(postcard::take_from_bytes::<u32>(body).unwrap().0, 300);
    assert_eq!(page.open(&mut bytes).unwrap(), Opened::Opened);
    assert_eq!(decode(&bytes), click);
}

#[test]
fn a_relay_that_changes_an_input_s_clear_target_is_caught() {
    let (mut page, mut console) = paired(30);
    let mut bytes = encode(
        1,
        Message::Click(Click {
            node: 5,
            x: 0,
            y: 0,
            button: protocol::Button::Primary,
        }),
    );
    console.seal(&mut bytes).unwrap();
    // [kind][seq][target]: move the click to node 6.
    bytes[2] = 6;
    assert_eq!(
        page.open(&mut bytes),
        Err(SecureError::TargetMismatch(FrameKind::Click))
    );
}

#[test]
fn once_encrypted_neither_side_takes_a_clear_frame_of_a_sealable_kind() {
    let (mut page, mut console) = paired(40);
    let mut forged_click = encode(
        1,
        Message::Click(Click {
            node: 5,
            x: 0,
            y: 0,
            button: protocol::Button::Primary,
        }),
    );
    assert_eq!(
        page.open(&mut forged_click),
        Err(SecureError::Clear(FrameKind::Click))
    );
    let mut forged_page = encode(1, value(1, "not the page"));
    assert_eq!(
        console.open(&mut forged_page),
        Err(SecureError::Clear(FrameKind::InputValue))
    );
    // Control frames stay clear and pass.
    let mut mode = encode(2, Message::NavigationRequest(protocol::Empty));
    assert_eq!(page.open(&mut mode).unwrap(), Opened::Clear);
}

#[test]
fn a_replayed_or_altered_frame_does_not_open_and_the_next_genuine_one_does() {
    let (mut page, mut console) = paired(50);
    let mut first = encode(1, value(1, "a"));
    page.seal(&mut first).unwrap();
    let replay = first.clone();
    console.open(&mut first).unwrap();
    let mut again = replay;
    assert!(matches!(
        console.open(&mut again),
        Err(SecureError::Seal(_))
    ));
    let mut second = encode(2, value(1, "b"));
    page.seal(&mut second).unwrap();
    let mut altered = second.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    assert!(console.open(&mut altered).is_err());
    console.open(&mut second).unwrap();
    assert_eq!(decode(&second), value(1, "b"));
}

#[test]
fn a_wrong_code_fails_the_exchange_on_the_page_which_reveals_nothing() {
    let (console_secret, _) = code(60);
    let (_, other_page_secret) = code(61);
    let mut page = PageSecurity::new(SESSION, other_page_secret, &mut rng(62));
    let mut console = ConsoleSecurity::new(SESSION, console_secret);
    let start = page.start(&mut rng(63));
    let reply = console.on_start(&start, &mut rng(64)).unwrap();
    assert_eq!(page.on_reply(&reply), Err(SecureError::ExchangeFailed));
    assert!(page.failed());
    assert_eq!(page.safety(), None);
    // Without keys the page opens no agent frame.
    let mut click = encode(1, Message::AgentPointer(Pointer { x: 1, y: 1 }));
    console.seal(&mut click).unwrap_err();
}

#[test]
fn a_relay_that_alters_either_message_makes_both_sides_fail() {
    // The page's message altered: the console answers, the page's check fails.
    let (console_secret, page_secret) = code(70);
    let mut page = PageSecurity::new(SESSION, page_secret.clone(), &mut rng(71));
    let mut console = ConsoleSecurity::new(SESSION, console_secret.clone());
    let mut start = page.start(&mut rng(72));
    start.message[5] ^= 0x40;
    match console.on_start(&start, &mut rng(73)) {
        Ok(reply) => assert_eq!(page.on_reply(&reply), Err(SecureError::ExchangeFailed)),
        Err(e) => assert_eq!(e, SecureError::ExchangeFailed),
    }
    // The page's confirmation altered: the console fails.
    let mut page = PageSecurity::new(SESSION, page_secret, &mut rng(74));
    let mut console = ConsoleSecurity::new(SESSION, console_secret);
    let start = page.start(&mut rng(75));
    let reply = console.on_start(&start, &mut rng(76)).unwrap();
    let mut confirm = page.on_reply(&reply).unwrap();
    confirm.confirmation[0] ^= 1;
    assert_eq!(
        console.on_confirm(&confirm),
        Err(SecureError::ExchangeFailed)
    );
    assert!(console.failed());
    assert!(!console.ready());
}

#[test]
fn the_console_answers_a_bounded_number_of_exchanges_never_confirmed() {
    let (console_secret, page_secret) = code(80);
    let mut page = PageSecurity::new(SESSION, page_secret, &mut rng(81));
    let mut console = ConsoleSecurity::new(SESSION, console_secret);
    let start = page.start(&mut rng(82));
    // A page that navigates before it confirms leaves its answer unfinished: allowed a few
    // times, each one more guess for a relay posing as the page, so not without end.
    for i in 0..=e2ee::code::MAX_UNFINISHED {
        console
            .on_start(&start, &mut rng(83 + u64::from(i)))
            .unwrap();
    }
    assert_eq!(
        console.on_start(&start, &mut rng(200)),
        Err(SecureError::Abandoned)
    );
    assert!(console.failed());
    // One that confirms still works after unfinished ones (a fresh console).
    let (console_secret, page_secret) = code(90);
    let mut page = PageSecurity::new(SESSION, page_secret, &mut rng(91));
    let mut console = ConsoleSecurity::new(SESSION, console_secret);
    let first = page.start(&mut rng(92));
    console.on_start(&first, &mut rng(93)).unwrap();
    let second = page.start(&mut rng(94));
    let reply = console.on_start(&second, &mut rng(95)).unwrap();
    console.on_confirm(&page.on_reply(&reply).unwrap()).unwrap();
    assert!(console.ready());
}

#[test]
fn content_sealed_before_the_console_joined_opens_after_its_exchange() {
    let (console_secret, page_secret) = code(90);
    let mut page = PageSecurity::new(SESSION, page_secret, &mut rng(91));
    let snapshot = Message::Snapshot(Snapshot {
        url: "https://shop.example/".into(),
        viewport: protocol::Viewport {
            width: 800,
            height: 600,
        },
        nodes: Vec::new(),
        sheets: Vec::new(),
        adopted: Vec::new(),
        form: Vec::new(),
        scrolls: Vec::new(),
        focus: 0,
    });
    let mut early = encode(0, snapshot.clone());
    page.seal(&mut early).unwrap();
    let mut console = ConsoleSecurity::new(SESSION, console_secret);
    let mut held = early.clone();
    assert_eq!(console.open(&mut held), Err(SecureError::NoKeys));
    let start = page.start(&mut rng(92));
    let reply = console.on_start(&start, &mut rng(93)).unwrap();
    console.on_confirm(&page.on_reply(&reply).unwrap()).unwrap();
    console.open(&mut early).unwrap();
    assert_eq!(decode(&early), snapshot);
}

#[test]
fn a_fresh_exchange_with_the_same_page_keeps_replays_out() {
    let (mut page, mut console) = paired(100);
    let mut first = encode(1, value(1, "a"));
    page.seal(&mut first).unwrap();
    let replay = first.clone();
    console.open(&mut first).unwrap();
    // The page reconnected and keyed the console again: same content key.
    let start = page.start(&mut rng(101));
    let reply = console.on_start(&start, &mut rng(102)).unwrap();
    console.on_confirm(&page.on_reply(&reply).unwrap()).unwrap();
    let mut again = replay;
    assert!(console.open(&mut again).is_err());
    // A frame the console sealed under its old keys still opens in the page.
    let mut pointer = encode(5, Message::AgentPointer(Pointer { x: 2, y: 3 }));
    console.seal(&mut pointer).unwrap();
    page.open(&mut pointer).unwrap();
    assert_eq!(
        decode(&pointer),
        Message::AgentPointer(Pointer { x: 2, y: 3 })
    );
}

#[test]
fn an_answer_to_an_earlier_exchange_is_ignored_and_the_current_one_still_confirms() {
    let (console_secret, page_secret) = code(110);
    let mut page = PageSecurity::new(SESSION, page_secret, &mut rng(111));
    let mut console = ConsoleSecurity::new(SESSION, console_secret);
    let earlier = page.start(&mut rng(112));
    // The page reloaded (or the agent reconnected) before the answer came: a new exchange.
    let current = page.start(&mut rng(113));
    let stale = console.on_start(&earlier, &mut rng(114)).unwrap();
    assert_eq!(page.on_reply(&stale), Err(SecureError::NoKeys));
    assert!(!page.failed());
    let reply = console.on_start(&current, &mut rng(115)).unwrap();
    let confirm = page.on_reply(&reply).unwrap();
    console.on_confirm(&confirm).unwrap();
    // A forged answer naming the current exchange is a guess, and ends it.
    let again = page.start(&mut rng(116));
    let mut forged = console.on_start(&again, &mut rng(117)).unwrap();
    forged.confirmation[3] ^= 1;
    assert_eq!(page.on_reply(&forged), Err(SecureError::ExchangeFailed));
    assert!(page.failed());
}
