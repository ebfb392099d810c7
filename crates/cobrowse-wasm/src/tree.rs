//! The capture side's record of what the receiver knows: for every sent node its id, live
//! handle, parent, children in order and the masking facts its content was sent under. Mutations
//! are found by comparing the live page with this tree, so it is the single source of truth;
//! the page-side id cache is only a hint validated against it.

use protocol::NodeId;

use crate::intern::FxMap;
use crate::mask::MaskState;

/// How the text children of a node are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextMode {
    Plain,
    Masked,
    /// CSS inside `<style>`: never masked, `url()`s made absolute.
    Css,
}

/// Masking facts an element was sent under; a change means it must be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentAs {
    pub state: MaskState,
    pub boxed: bool,
    pub value_masked: bool,
}

/// One sent node.
#[derive(Debug, Clone)]
pub struct Slot<N> {
    pub node: N,
    pub parent: NodeId,
    pub children: Vec<NodeId>,
    /// Shadow root of a host, or document of an iframe.
    pub inner: NodeId,
    /// Whether its children are sent (false for text, boxed elements and `<script>`).
    pub holds_children: bool,
    pub text_mode: TextMode,
    /// `Some` for elements.
    pub sent_as: Option<SentAs>,
    /// Local name of a form control whose value is tracked.
    pub control: Option<&'static str>,
}

/// How a new node joins its parent in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// Appended to the parent's children.
    Append,
    /// The parent's shadow root or frame document.
    Inner,
    /// Not yet: the caller places it among its siblings.
    Detached,
}

/// Every node the receiver knows, by id.
pub struct Tree<N> {
    slots: FxMap<NodeId, Slot<N>>,
}

impl<N> Default for Tree<N> {
    fn default() -> Self {
        Self {
            slots: FxMap::default(),
        }
    }
}

impl<N> Tree<N> {
    pub fn clear(&mut self) {
        self.slots.clear();
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn get(&self, id: NodeId) -> Option<&Slot<N>> {
        self.slots.get(&id)
    }

    pub fn get_mut(&mut self, id: NodeId) -> Option<&mut Slot<N>> {
        self.slots.get_mut(&id)
    }

    pub fn contains(&self, id: NodeId) -> bool {
        self.slots.contains_key(&id)
    }

    /// Registers a node and attaches it to its parent as `attach` says.
    pub fn insert(&mut self, id: NodeId, slot: Slot<N>, attach: Attach) {
        if let Some(parent) = self.slots.get_mut(&slot.parent) {
            match attach {
                Attach::Append => parent.children.push(id),
                Attach::Inner => parent.inner = id,
                Attach::Detached => {}
            }
        }
        self.slots.insert(id, slot);
    }

    /// Whether `id` or one of its ancestors is in `set`.
    pub fn under_any(&self, id: NodeId, set: &crate::intern::FxSet<NodeId>) -> bool {
        let mut at = id;
        while let Some(slot) = self.slots.get(&at) {
            if set.contains(&at) {
                return true;
            }
            at = slot.parent;
        }
        false
    }

    /// Forgets a node and its subtree, detaching it from its parent. Returns the removed ids.
    pub fn remove(&mut self, id: NodeId) -> Vec<NodeId> {
        let Some(slot) = self.slots.get(&id) else {
            return Vec::new();
        };
        let parent = slot.parent;
        if let Some(p) = self.slots.get_mut(&parent) {
            p.children.retain(|&c| c != id);
            if p.inner == id {
                p.inner = 0;
            }
        }
        let mut removed = Vec::new();
        let mut stack = vec![id];
        while let Some(at) = stack.pop() {
            if let Some(slot) = self.slots.remove(&at) {
                removed.push(at);
                stack.extend(slot.children);
                if slot.inner != 0 {
                    stack.push(slot.inner);
                }
            }
        }
        removed
    }
}
