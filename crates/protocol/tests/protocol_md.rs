//! PROTOCOL.md's frame table is the one `protocol::table::frame_table_markdown` generates from
//! the crate's list of frame kinds: this test fails when they differ, and rewrites the document's
//! table when run with `UPDATE_PROTOCOL_MD=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use protocol::table::{frame_table_markdown, TABLE_BEGIN, TABLE_END};

const PROTOCOL_MD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../PROTOCOL.md");

/// The document split around its generated table: before, table, after.
fn split(doc: &str) -> (&str, &str, &str) {
    let begin = doc
        .find(TABLE_BEGIN)
        .unwrap_or_else(|| panic!("PROTOCOL.md lacks the line {TABLE_BEGIN}"));
    let body_start = begin + TABLE_BEGIN.len() + 1;
    let end = doc[body_start..]
        .find(TABLE_END)
        .map(|i| body_start + i)
        .unwrap_or_else(|| panic!("PROTOCOL.md lacks the line {TABLE_END}"));
    (&doc[..body_start], &doc[body_start..end], &doc[end..])
}

#[test]
fn protocol_md_frame_table_matches_the_code() {
    let doc = std::fs::read_to_string(PROTOCOL_MD).expect("read PROTOCOL.md at the repo root");
    let (before, table, after) = split(&doc);
    let generated = frame_table_markdown();
    if std::env::var_os("UPDATE_PROTOCOL_MD").is_some() {
        std::fs::write(PROTOCOL_MD, format!("{before}{generated}{after}")).unwrap();
        return;
    }
    assert!(
        table == generated,
        "PROTOCOL.md's frame table differs from the protocol crate's list of kinds.\n\
         Regenerate it with: UPDATE_PROTOCOL_MD=1 cargo test -p protocol --test protocol_md\n\
         --- in PROTOCOL.md ---\n{table}--- generated ---\n{generated}"
    );
}

#[test]
fn every_kind_has_a_one_line_meaning() {
    for &kind in protocol::FrameKind::ALL {
        let meaning = kind.doc_lines().concat();
        assert!(!meaning.trim().is_empty(), "{kind:?} has no doc comment");
    }
}
