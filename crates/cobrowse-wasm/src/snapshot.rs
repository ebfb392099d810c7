//! A snapshot taken in slices, so the page never freezes: the walk's waiting visits and what it
//! collected so far, one slice at a time within the configured budget, then the snapshot
//! frame's body. A page larger than one part goes out in parts as it is read: the top of
//! the page once a part's worth is collected (`SnapshotBegin`, so the agent sees what the
//! viewport shows at once), then a `SnapshotPart` whenever enough is collected, the last one
//! marked. A part never holds more than [`PART_NODES`] nodes or about [`PART_BYTES`] bytes, so
//! a page of any size can be shared under the frame limit.
//!
//! **Invariant:** a waiting visit never outlives a change to what it inherits. Before each
//! slice, the visits under an element whose masking verdict changed or under a visited node
//! that moved, and those whose own node moved, are dropped (`drop_stale_visits`); the flush
//! after the snapshot sends those places as they then are. Otherwise an element masked (or a
//! row moved into a masked box) between two slices would be read under the old verdict and
//! sent plain.

use protocol::{Message, NodeId, Scroll, Snapshot, SnapshotPart, Viewport};

use crate::changes::Changes;
use crate::config::Config;
use crate::diff;
use crate::known::Known;
use crate::mask::MaskState;
use crate::page::Page;
use crate::serialize::{self, Collected, Role, Visit};
use crate::tree::TextMode;

/// The most nodes one part of a snapshot carries.
pub const PART_NODES: usize = 4096;
/// About the most bytes of names, values and text one part carries (an eighth of the frame
/// limit).
pub const PART_BYTES: usize = 512 << 10;
/// A slice's nodes wait for the next slice unless there are this many, so a small page goes
/// whole.
const PART_MIN_NODES: usize = 1024;

/// A snapshot under way.
pub(crate) struct SnapshotJob<N> {
    stack: Vec<Visit<N>>,
    out: Collected,
    url: String,
    viewport: Viewport,
    /// Whether its first part went out (so the rest go as parts).
    begun: bool,
}

impl<N: Clone> SnapshotJob<N> {
    /// A snapshot of `document`, nothing visited yet.
    pub fn new(document: N, url: String, viewport: Viewport, private_by_default: bool) -> Self {
        let root = MaskState::root(private_by_default);
        let visit = Visit {
            node: document,
            parent: 0,
            state: root,
            text: if root.masked {
                TextMode::Masked
            } else {
                TextMode::Plain
            },
            role: Role::Child { attach: true },
        };
        Self {
            stack: vec![visit],
            out: Collected {
                with_scroll: true,
                limit: Some((PART_NODES, PART_BYTES)),
                ..Collected::default()
            },
            url,
            viewport,
            begun: false,
        }
    }

    /// Works for one slice (the configured budget), after dropping the visits that `changes`
    /// made stale. Returns whether every node is visited.
    pub fn slice<P: Page<Node = N>>(
        &mut self,
        page: &P,
        config: &Config,
        known: &mut Known<N>,
        changes: &Changes,
    ) -> bool {
        drop_stale_visits(page, config, known, changes, &mut self.stack);
        let deadline = Some(page.now_ms() + config.slice_ms);
        serialize::walk(
            page,
            config,
            known,
            &mut self.stack,
            &mut self.out,
            deadline,
        )
    }

    /// After a slice that left nodes to visit: the part to send now, if one is due (enough
    /// collected: the first one is the top of the page, shown while the rest is read). A page
    /// smaller than one part goes whole, however many slices a busy machine takes over it.
    pub fn part<P: Page<Node = N>>(&mut self, page: &P) -> Option<Message> {
        let due = self.out.nodes.len() >= PART_MIN_NODES || self.out.bytes >= PART_BYTES / 2;
        if !due {
            return None;
        }
        if !self.begun {
            self.begun = true;
            return Some(Message::SnapshotBegin(self.head(page)));
        }
        Some(Message::SnapshotPart(self.rest(page, false)))
    }

    /// The snapshot once [`SnapshotJob::slice`] has visited every node: whole, or the last
    /// part of one sent in parts.
    pub fn finish<P: Page<Node = N>>(mut self, page: &P) -> Message {
        match self.begun {
            true => Message::SnapshotPart(self.rest(page, true)),
            false => Message::Snapshot(self.head(page)),
        }
    }

    /// What was collected so far as a snapshot (of the whole page, or its first part).
    fn head<P: Page<Node = N>>(&mut self, page: &P) -> Snapshot {
        let out = std::mem::take(&mut self.out);
        self.out = Collected {
            with_scroll: true,
            limit: out.limit,
            ..Collected::default()
        };
        Snapshot {
            url: self.url.clone(),
            viewport: self.viewport,
            nodes: out.nodes,
            sheets: out.sheets,
            adopted: out.adopted,
            form: out.form,
            scrolls: with_window_scroll(page, out.scrolls),
            focus: 0,
        }
    }

    /// What was collected since the last part.
    fn rest<P: Page<Node = N>>(&mut self, page: &P, last: bool) -> SnapshotPart {
        let Snapshot {
            nodes,
            sheets,
            adopted,
            form,
            scrolls,
            ..
        } = self.head(page);
        SnapshotPart {
            nodes,
            sheets,
            adopted,
            form,
            // With the window's offset as it is now.
            scrolls,
            last,
        }
    }
}

/// `scrolls` with the window's offset first, unless it is at the top left.
fn with_window_scroll<P: Page>(page: &P, mut scrolls: Vec<Scroll>) -> Vec<Scroll> {
    let (x, y) = page.window_scroll();
    if (x, y) != (0, 0) {
        scrolls.insert(0, Scroll { node: 0, x, y });
    }
    scrolls
}

/// Between two slices of a snapshot: drops the waiting visits that would be read under a
/// verdict the page no longer gives them. A waiting node inherits its masking from
/// ancestors read in an earlier slice; since then a script may have masked or blocked one
/// of them, or moved one (or the waiting node itself) somewhere else. The flush after the
/// snapshot sends each such place as it then is: an element whose verdict changed is sent
/// again whole, and a changed child list is reconciled (adding what moved in).
fn drop_stale_visits<P: Page>(
    page: &P,
    config: &Config,
    known: &Known<P::Node>,
    changes: &Changes,
    stack: &mut Vec<Visit<P::Node>>,
) {
    if changes.attrs.is_empty() && changes.dirty.is_empty() {
        return;
    }
    // Visited nodes whose verdict changed, and visited nodes that left a changed parent.
    let mut stale = diff::changed_verdicts(page, config, known, changes);
    let mut live = Vec::new();
    let mut live_ids = Vec::new();
    for parent in changes.dirty.iter() {
        let Some(slot) = known.tree.get(parent) else {
            continue;
        };
        live.clear();
        page.children(&slot.node, &mut live);
        live_ids.clear();
        live_ids.extend(live.iter().filter_map(|c| known.id_of(page, c)));
        crate::order::sort_by_key(&mut live_ids, |id| *id);
        let gone = slot.children.iter().copied();
        stale.extend(gone.filter(|id| live_ids.binary_search(id).is_err()));
    }
    crate::order::sort_by_key(&mut stale, |id| *id);
    let tree = &known.tree;
    let under_stale = |mut at: NodeId| {
        while at != 0 {
            if stale.binary_search(&at).is_ok() {
                return true;
            }
            // Parents are visited, and so numbered, before their children.
            match tree.get(at).map(|s| s.parent) {
                Some(parent) if parent < at => at = parent,
                _ => return false,
            }
        }
        false
    };
    stack.retain(|visit| {
        let moved = matches!(visit.role, Role::Child { .. })
            && changes.dirty.contains(visit.parent)
            && page
                .parent(&visit.node)
                .is_none_or(|p| known.id_of(page, &p) != Some(visit.parent));
        !moved && !under_stale(visit.parent)
    });
}
