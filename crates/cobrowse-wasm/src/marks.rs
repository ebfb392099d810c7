//! The elements the customer's interaction state points at: the focused one, the deepest one
//! under the pointer (`:hover`) and the `:target` of a hash jump. Recording keeps only the
//! latest of each; a flush sends a [`Focus`] or [`PseudoClasses`] frame only when an id
//! differs from what was sent, so a pointer moving within one element sends nothing. After a
//! snapshot (new ids) whatever is marked is sent again.
//!
//! Ids only: a masked or blocked element is named like any other, no value goes with it.

use protocol::{Focus, Message, NodeId, PseudoClasses};

use crate::outbox::{CaptureError, Outbox};

pub struct Marks<N> {
    focus: Option<N>,
    hover: Option<N>,
    target: Option<N>,
    /// Something was recorded (or a snapshot reset the ids) since the last flush.
    dirty: bool,
    /// The focus, hover and target ids the receiver has.
    sent: [NodeId; 3],
}

impl<N> Default for Marks<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<N> Marks<N> {
    pub fn new() -> Self {
        Self {
            focus: None,
            hover: None,
            target: None,
            dirty: false,
            sent: [0; 3],
        }
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Focus moved to `node` (`None`: nothing focused).
    pub fn record_focus(&mut self, node: Option<N>) {
        self.focus = node;
        self.dirty = true;
    }

    /// The deepest element under the pointer.
    pub fn record_hover(&mut self, node: Option<N>) {
        self.hover = node;
        self.dirty = true;
    }

    /// The element `:target` matches.
    pub fn record_target(&mut self, node: Option<N>) {
        self.target = node;
        self.dirty = true;
    }

    /// A snapshot starts: the receiver forgets every id, so send the marks again.
    pub fn resend(&mut self) {
        self.sent = [0; 3];
        self.dirty = true;
    }

    /// Puts what changed into the outbox (see [`Marks::take`]).
    pub(crate) fn send(
        &mut self,
        id_of: impl Fn(&N) -> Option<NodeId>,
        outbox: &mut Outbox,
    ) -> Result<(), CaptureError> {
        let (focus, pseudo) = self.take(id_of);
        if let Some(focus) = focus {
            outbox.emit(Message::Focus(focus))?;
        }
        if let Some(pseudo) = pseudo {
            outbox.emit(Message::Pseudo(pseudo))?;
        }
        Ok(())
    }

    /// What brings the receiver up to date (`id_of` gives a node's sent id): a focus change,
    /// a hover or target change.
    pub fn take(
        &mut self,
        id_of: impl Fn(&N) -> Option<NodeId>,
    ) -> (Option<Focus>, Option<PseudoClasses>) {
        if !std::mem::take(&mut self.dirty) {
            return (None, None);
        }
        let id = |n: &Option<N>| n.as_ref().and_then(&id_of).unwrap_or(0);
        let now = [id(&self.focus), id(&self.hover), id(&self.target)];
        let sent = std::mem::replace(&mut self.sent, now);
        (
            (now[0] != sent[0]).then_some(Focus { node: now[0] }),
            (now[1..] != sent[1..]).then_some(PseudoClasses {
                hover: now[1],
                target: now[2],
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Taken = (Option<Focus>, Option<PseudoClasses>);

    fn ids(marks: &mut Marks<u32>) -> Taken {
        marks.take(|n| Some(*n))
    }

    fn pseudo(hover: NodeId, target: NodeId) -> Option<PseudoClasses> {
        Some(PseudoClasses { hover, target })
    }

    #[test]
    fn marks_are_sent_once_per_change_and_again_after_a_snapshot() {
        let mut marks = Marks::new();
        assert_eq!(ids(&mut marks), (None, None));
        marks.record_hover(Some(5));
        marks.record_hover(Some(7));
        assert_eq!(
            ids(&mut marks),
            (None, pseudo(7, 0)),
            "coalesced to the latest"
        );
        marks.record_hover(Some(7));
        assert_eq!(ids(&mut marks), (None, None), "no change, no frame");
        marks.record_focus(Some(9));
        marks.record_target(Some(3));
        assert_eq!(ids(&mut marks), (Some(Focus { node: 9 }), pseudo(7, 3)));
        marks.record_focus(None);
        assert_eq!(ids(&mut marks), (Some(Focus { node: 0 }), None));
        marks.resend();
        assert_eq!(
            ids(&mut marks),
            (None, pseudo(7, 3)),
            "after a snapshot what is marked is sent again"
        );
        marks.record_hover(Some(1));
        assert_eq!(
            marks.take(|_| None),
            (None, pseudo(0, 0)),
            "an element the receiver does not know is sent as none"
        );
    }
}
