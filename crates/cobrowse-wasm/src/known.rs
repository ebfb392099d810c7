//! What the receiver knows, as capture sent it since the last snapshot: the [`Tree`] of sent
//! nodes, the name table, the next id, which style sheets and adopted lists went out, and the
//! scopes (documents, shadow roots, frame documents) they belong to. The serialize walk adds
//! to it, the flush compares the live page with it; a capture session owns it.
//!
//! It also holds, until the shell takes them, the sent nodes the shell must watch: roots to
//! observe, boxes to size, iframes to listen to.
//!
//! It deliberately holds nothing recorded since the last flush: those are the changes the
//! flush reads against this.

use protocol::NodeId;

use crate::intern::{IdSet, Interner};
use crate::page::Page;
use crate::tree::Tree;

/// Everything the receiver has of the page, as capture sent it.
pub(crate) struct Known<N> {
    pub tree: Tree<N>,
    pub names: Interner,
    next_id: NodeId,
    /// `<style>` and `<link>` elements whose rules were sent.
    pub owner_sheets: IdSet,
    /// Constructed sheets whose rules were sent.
    pub constructed: IdSet,
    /// The adopted sheets last sent for each scope (few: documents and shadow roots).
    pub adopted: Vec<(NodeId, Vec<u32>)>,
    pub scopes: Vec<NodeId>,
    // For the shell: shadow roots and frame documents to observe, boxed elements to watch,
    // iframes to listen to. Kept across snapshots until taken.
    pub new_roots: Vec<N>,
    pub new_boxed: Vec<N>,
    pub new_frames: Vec<N>,
}

impl<N> Known<N> {
    pub fn new() -> Self {
        Self {
            tree: Tree::default(),
            names: Interner::default(),
            next_id: 1,
            owner_sheets: IdSet::default(),
            constructed: IdSet::default(),
            adopted: Vec::new(),
            scopes: Vec::new(),
            new_roots: Vec::new(),
            new_boxed: Vec::new(),
            new_frames: Vec::new(),
        }
    }

    /// Forgets everything sent, for a new snapshot. Ids keep growing, so a node of the old
    /// snapshot is never taken for one of the new.
    pub fn clear(&mut self) {
        self.tree.clear();
        self.names.reset();
        self.owner_sheets.clear();
        self.constructed.clear();
        self.adopted.clear();
        self.scopes.clear();
    }

    /// The id [`Known::alloc_id`] returns next.
    pub fn next_id(&self) -> NodeId {
        self.next_id
    }

    pub fn alloc_id(&mut self) -> NodeId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The id of a node the receiver knows.
    pub fn id_of<P: Page<Node = N>>(&self, page: &P, node: &N) -> Option<NodeId> {
        page.cached_id(node).filter(|id| self.tree.contains(*id))
    }

    /// Forgets a node and its subtree; scopes and sheets inside go with it.
    pub fn forget(&mut self, id: NodeId) {
        for gone in self.tree.remove(id) {
            self.owner_sheets.remove(gone);
        }
        let tree = &self.tree;
        self.scopes.retain(|s| tree.contains(*s));
        self.adopted.retain(|(s, _)| tree.contains(*s));
    }
}
