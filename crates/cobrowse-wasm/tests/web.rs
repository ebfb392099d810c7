//! Browser tests, run in headless Chromium by `make test-wasm`: capture of pages with
//! real-world shapes, rebuilt through the pure model and compared with the live DOM (masks
//! applied), and canary strings searched for in every byte sent.
#![cfg(target_arch = "wasm32")]
// A test harness: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "web/harness.rs"]
mod harness;
#[path = "web/live.rs"]
mod live;
#[path = "web/pages.rs"]
mod pages;
#[path = "web/signals.rs"]
mod signals;

use protocol::{fixtures, Frame, Limits};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The browser build decodes the same committed bytes as the native build.
#[wasm_bindgen_test]
fn golden_fixtures_decode_in_the_browser() {
    let committed: &[(&str, &[u8])] = &[
        (
            "hello_customer_key",
            include_bytes!("../../protocol/fixtures/hello_customer_key.bin"),
        ),
        (
            "snapshot_small",
            include_bytes!("../../protocol/fixtures/snapshot_small.bin"),
        ),
        (
            "mutations_mixed",
            include_bytes!("../../protocol/fixtures/mutations_mixed.bin"),
        ),
        (
            "pointer",
            include_bytes!("../../protocol/fixtures/pointer.bin"),
        ),
        (
            "agent_click",
            include_bytes!("../../protocol/fixtures/agent_click.bin"),
        ),
        (
            "hello_customer_resume",
            include_bytes!("../../protocol/fixtures/hello_customer_resume.bin"),
        ),
        (
            "mode_granted",
            include_bytes!("../../protocol/fixtures/mode_granted.bin"),
        ),
        (
            "viewers_two",
            include_bytes!("../../protocol/fixtures/viewers_two.bin"),
        ),
        (
            "hello_observe",
            include_bytes!("../../protocol/fixtures/hello_observe.bin"),
        ),
        (
            "end_inactivity",
            include_bytes!("../../protocol/fixtures/end_inactivity.bin"),
        ),
    ];
    let golden = fixtures::golden();
    assert_eq!(golden.len(), committed.len());
    for ((stem, frame), (file, bytes)) in golden.iter().zip(committed) {
        assert_eq!(stem, file);
        assert_eq!(
            &Frame::decode(bytes, &Limits::default()).unwrap(),
            frame,
            "{stem}"
        );
    }
}

/// Capture resolves relative URLs itself (no boundary call per attribute); what it makes must
/// name what the browser's own resolution names, odd spellings included.
#[wasm_bindgen_test]
fn relative_urls_resolve_as_the_browser_resolves_them() {
    let base = "https://shop.example/a/b/c.html?q=1#top";
    let cases = [
        "d.html",
        "./d.html",
        "../d.html",
        "../../../../d.html",
        "/d",
        "//cdn.example/x.js",
        "?x=1",
        "d.html?x#y",
        "  d.html  ",
        "d\\e.html",
        "..\\d.html",
        "d\te\n.html",
        "%2e%2e/d.html",
        ".%2E/d.html",
        "d/./e/../f.html",
        "/a/./b/../../c",
        "a b.png",
        "d.html#",
        "?",
        "..",
        ".",
        "./",
        "e/..",
        "/..//x",
        "x:y",
        "HTTP://Other.example/p",
        "mailto:a@b.example",
        "data:text/plain,hi",
    ];
    for rel in cases {
        let ours = cobrowse_wasm::url::absolutize(base, rel);
        let browser = web_sys::Url::new_with_base(rel, base).unwrap().href();
        // Absolute on its own: the mirror's document has another base.
        let ours_parsed = web_sys::Url::new(&ours).map(|u| u.href());
        assert_eq!(ours_parsed.ok(), Some(browser), "{rel:?} became {ours:?}");
    }
    // A fragment alone, or nothing, stays as it is: it names the mirror's own document.
    for kept in ["#frag", ""] {
        assert_eq!(cobrowse_wasm::url::absolutize(base, kept), kept);
    }
}
