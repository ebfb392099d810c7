//! The capture side's record of what the receiver knows: for every sent node its id, live
//! handle, parent, children in order and the masking facts its content was sent under. Mutations
//! are found by comparing the live page with this tree, so it is the single source of truth;
//! the page-side id cache is only a hint validated against it.

use protocol::NodeId;

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
    /// The configured selector lists the element matched: 1 mask, 2 block, 4 read-only. A
    /// change anywhere can change what a list with combinators matches (`.private input`).
    pub selected: u8,
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
    /// Position + 1 of its entry among the attribute changes recorded since the last flush
    /// (0: none).
    pub attrs_at: u32,
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

/// Every node the receiver knows, by id: slot `id - base` of a vector, since capture assigns
/// ids in sequence (no hashing on the hot paths of recording and flushing). Removed nodes leave
/// an empty slot until the next snapshot clears the tree.
pub struct Tree<N> {
    slots: Vec<Option<Slot<N>>>,
    /// The id of `slots[0]`.
    base: NodeId,
    len: usize,
}

impl<N> Default for Tree<N> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            base: 0,
            len: 0,
        }
    }
}

impl<N> Tree<N> {
    pub fn clear(&mut self) {
        self.slots.clear();
        self.len = 0;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn index(&self, id: NodeId) -> Option<usize> {
        id.checked_sub(self.base).map(|i| i as usize)
    }

    pub fn get(&self, id: NodeId) -> Option<&Slot<N>> {
        self.slots.get(self.index(id)?)?.as_ref()
    }

    /// Every sent node with its id.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, &Slot<N>)> {
        let base = self.base;
        let slots = self.slots.iter().enumerate();
        slots.filter_map(move |(i, s)| Some((base + i as NodeId, s.as_ref()?)))
    }

    pub fn get_mut(&mut self, id: NodeId) -> Option<&mut Slot<N>> {
        let at = self.index(id)?;
        self.slots.get_mut(at)?.as_mut()
    }

    pub fn contains(&self, id: NodeId) -> bool {
        self.get(id).is_some()
    }

    /// Registers a node and attaches it to its parent as `attach` says.
    pub fn insert(&mut self, id: NodeId, slot: Slot<N>, attach: Attach) {
        if let Some(parent) = self.get_mut(slot.parent) {
            match attach {
                Attach::Append => parent.children.push(id),
                Attach::Inner => parent.inner = id,
                Attach::Detached => {}
            }
        }
        if self.slots.is_empty() {
            self.base = id;
        } else if id < self.base {
            // Ids only grow; should one not, the vector makes room in front.
            let more = (self.base - id) as usize;
            self.slots
                .splice(0..0, core::iter::repeat_with(|| None).take(more));
            self.base = id;
        }
        let at = (id - self.base) as usize;
        if at >= self.slots.len() {
            self.slots.resize_with(at + 1, || None);
        }
        if self.slots[at].replace(slot).is_none() {
            self.len += 1;
        }
    }

    fn take(&mut self, id: NodeId) -> Option<Slot<N>> {
        let at = self.index(id)?;
        let slot = self.slots.get_mut(at)?.take()?;
        self.len -= 1;
        Some(slot)
    }

    /// Whether `id` or one of its ancestors passes `test`.
    pub fn under_any(&self, id: NodeId, test: impl Fn(NodeId) -> bool) -> bool {
        let mut at = id;
        while let Some(slot) = self.get(at) {
            if test(at) {
                return true;
            }
            at = slot.parent;
        }
        false
    }

    /// Forgets a node and its subtree, detaching it from its parent. Returns the removed ids.
    pub fn remove(&mut self, id: NodeId) -> Vec<NodeId> {
        let Some(slot) = self.get(id) else {
            return Vec::new();
        };
        let parent = slot.parent;
        if let Some(p) = self.get_mut(parent) {
            p.children.retain(|&c| c != id);
            if p.inner == id {
                p.inner = 0;
            }
        }
        let mut removed = Vec::new();
        let mut stack = vec![id];
        while let Some(at) = stack.pop() {
            if let Some(slot) = self.take(at) {
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
