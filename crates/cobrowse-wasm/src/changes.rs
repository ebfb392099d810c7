//! What capture recorded since the last flush about the DOM: which child lists, attributes
//! and texts changed, which elements must be sent again, new box sizes and the CSSOM changes
//! the hooks reported. Recording fills it ([`Capture`](crate::Capture)'s `record_*`) and reads
//! nothing from the page for it; the flush ([`diff`](crate::diff)) reads the page where these
//! point and empties it. The shared vocabulary of the two, so neither imports the other's
//! internals.

use protocol::{NodeId, RuleChange, SheetRef};

use crate::intern::IdSet;

/// The DOM changes recorded since the last flush: where to compare the page with what the
/// receiver has.
#[derive(Default)]
pub(crate) struct Changes {
    /// Elements whose child list changed (or must be compared again).
    pub dirty: IdSet,
    /// Changed attribute names per element, in the order first recorded (an element's slot
    /// holds the position of its entry).
    pub attrs: Vec<(NodeId, Vec<String>)>,
    pub texts: IdSet,
    /// Elements to send again whole (their parent is dirty).
    pub resend: IdSet,
    /// Boxed elements' new sizes (few: only boxes are watched).
    pub resized: Vec<(NodeId, (u32, u32))>,
    pub sheet_ops: Vec<(SheetRef, RuleChange)>,
    pub sheet_full: Vec<SheetRef>,
    pub adoption_changed: bool,
}

impl Changes {
    pub fn clear(&mut self) {
        self.dirty.clear();
        self.attrs.clear();
        self.texts.clear();
        self.resend.clear();
        self.resized.clear();
        self.sheet_ops.clear();
        self.sheet_full.clear();
        self.adoption_changed = false;
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.dirty.is_empty()
            && self.attrs.is_empty()
            && self.texts.is_empty()
            && self.resend.is_empty()
            && self.resized.is_empty()
            && self.sheet_ops.is_empty()
            && self.sheet_full.is_empty()
            && !self.adoption_changed
    }
}
