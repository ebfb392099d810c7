//! A large page's snapshot in parts: each part bounded, the parts in order (begin, parts, the
//! last marked), the whole rebuilt exactly, a mirror that shows each part as it comes and
//! counts the page synced at the last, and a small page still in one frame.

use protocol::{Frame, FrameKind, Limits, Message, MAX_FRAME_BYTES};

use super::*;
use crate::mirror::{Mirror, Patch, Signal};
use crate::snapshot::PART_NODES;

/// A page of `rows` rows, each a div with a link and some text, and a style in the body.
fn big_page(rows: usize) -> FakePage {
    let (page, body) = FakePage::new();
    let style = page.el(body, "style", &[]);
    page.text_in(style, ".row { color: red }");
    for i in 0..rows {
        let row = page.el(body, "div", &[("class", "row")]);
        let link = page.el(row, "a", &[("href", "/item")]);
        page.text_in(link, &format!("item {i}"));
        page.text_in(row, " and a line of text about it");
    }
    page
}

/// Every frame of a whole snapshot of `page`, however many slices it takes.
fn frames_of(page: &FakePage) -> Vec<Vec<u8>> {
    let mut capture = begun(Config::default());
    let mut slices = 0;
    while !capture.continue_snapshot(page).unwrap() {
        slices += 1;
        assert!(slices < 1000, "the snapshot never finished");
    }
    capture.take_frames()
}

fn decode(bytes: &[u8]) -> Frame {
    Frame::decode(bytes, &Limits::default()).unwrap()
}

#[test]
fn a_large_page_goes_out_in_bounded_parts_that_rebuild_it() {
    // 20,000 rows: 80,000 nodes, twice the 49k-element page that used to go in one frame.
    let page = big_page(20_000);
    let frames = frames_of(&page);
    assert!(frames.len() > 10, "{} frames", frames.len());
    let kinds: Vec<FrameKind> = frames.iter().map(|f| decode(f).message.kind()).collect();
    assert_eq!(kinds[0], FrameKind::SnapshotBegin);
    assert!(
        kinds[1..].iter().all(|k| *k == FrameKind::SnapshotPart),
        "{kinds:?}"
    );
    let mut nodes = 0;
    for (i, bytes) in frames.iter().enumerate() {
        assert!(
            bytes.len() < MAX_FRAME_BYTES / 4,
            "frame {i}: {} bytes",
            bytes.len()
        );
        let (count, last) = match decode(bytes).message {
            Message::SnapshotBegin(s) => (s.nodes.len(), false),
            Message::SnapshotPart(p) => (p.nodes.len(), p.last),
            other => panic!("frame {i} is {:?}", other.kind()),
        };
        assert!(count <= PART_NODES, "frame {i}: {count} nodes");
        assert_eq!(
            last,
            i == frames.len() - 1,
            "frame {i}: only the last is marked"
        );
        nodes += count;
    }
    assert_eq!(nodes, page.nodes.borrow().len(), "every node sent once");
    let mut dom = None;
    rebuild(&frames, &mut dom);
    let dom = dom.unwrap();
    assert_eq!(dom.canonical(), fresh_canonical(&page, Config::default()));
    // The top of the page is in the first part: the viewport can paint from it.
    let Message::SnapshotBegin(first) = decode(&frames[0]).message else {
        unreachable!()
    };
    assert!(
        first.nodes.len() >= 1000,
        "{} nodes first",
        first.nodes.len()
    );
}

#[test]
fn a_small_page_still_goes_in_one_snapshot_frame() {
    let page = big_page(100);
    let frames = frames_of(&page);
    assert_eq!(frames.len(), 1);
    assert_eq!(decode(&frames[0]).message.kind(), FrameKind::Snapshot);
}

#[test]
fn the_mirror_shows_each_part_as_it_comes_and_is_synced_at_the_last() {
    let page = big_page(5_000);
    let frames = frames_of(&page);
    assert!(frames.len() >= 3, "{} frames", frames.len());
    let mut mirror = Mirror::new();
    let mut inserted = 0;
    for (i, bytes) in frames.iter().enumerate() {
        let step = mirror.on_frame(decode(bytes));
        let inserts = step
            .patches
            .iter()
            .filter(|p| matches!(p, Patch::Insert { .. }))
            .count();
        assert!(inserts > 0, "frame {i} showed nothing");
        inserted += inserts;
        let synced = step.signals.contains(&Signal::Synced);
        assert_eq!(
            synced,
            i == frames.len() - 1,
            "frame {i}: synced only at the last"
        );
        assert!(
            !step.signals.iter().any(|s| matches!(s, Signal::Resync(_))),
            "frame {i}: {:?}",
            step.signals
        );
        if i == 0 {
            assert!(matches!(step.patches[0], Patch::Reset { .. }));
        }
    }
    assert_eq!(inserted, page.nodes.borrow().len());
    assert_eq!(
        mirror.dom().unwrap().canonical(),
        fresh_canonical(&page, Config::default())
    );
}

#[test]
fn a_part_without_its_beginning_or_after_the_last_asks_for_a_resync() {
    let page = big_page(5_000);
    let frames = frames_of(&page);
    // A part first: nothing to extend.
    let mut mirror = Mirror::new();
    let step = mirror.on_frame(decode(&frames[1]));
    assert!(step.signals.iter().any(|s| matches!(s, Signal::Resync(_))));
    assert!(step.patches.is_empty());
    // The whole snapshot, then one of its parts again: refused, not applied twice.
    let mut mirror = Mirror::new();
    for bytes in &frames {
        mirror.on_frame(decode(bytes));
    }
    let mut again = decode(&frames[1]);
    again.seq = decode(frames.last().unwrap()).seq.wrapping_add(1);
    let step = mirror.on_frame(again);
    assert!(step.signals.iter().any(|s| matches!(s, Signal::Resync(_))));
}
