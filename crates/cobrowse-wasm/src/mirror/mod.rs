//! The agent-side mirror's pure core: frames in, checked and sanitised [`Patch`]es and console
//! [`Signal`]s out. The web shell (`web::mirror`) executes the patches in a sandboxed iframe.
//!
//! Every DOM frame is applied to a [`Dom`] model first, op by op, and a patch is emitted only
//! for an op the model accepted. A sequence gap, or an op the model refuses (unknown parent or
//! id, bad rule index), stops DOM application until the next snapshot and asks for a resync:
//! the mirror never guesses.
//!
//! - [`sanitize`]: the decisions that make the mirrored DOM inert.
//! - [`patch`]: the patch vocabulary the shell executes.
//! - [`pseudo`]: the customer's `:hover`, `:focus` and `:target` as attributes, and the
//!   stylesheet rewrite that styles them.
//! - `snapshot`: a snapshot applied, whole or in the parts a large page sends.

pub mod patch;
pub mod pseudo;
pub mod sanitize;
mod snapshot;

#[cfg(test)]
mod tests;

use protocol::{
    EndReason, ErrorCode, Frame, FrameKind, InputRefused, Limits, Message, Mutation, MutationBatch,
    Role, RuleChange, Sender, SeqCheck, SeqTracker, SessionMode,
};

pub use patch::{Mark, NewNode, Patch};
pub use sanitize::AttrChange;

use crate::model::{Content, Dom, ModelError};

/// What the console shows, besides the page itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    Welcome {
        session_id: String,
        mode: SessionMode,
    },
    Presence {
        role: Role,
        connected: bool,
    },
    Mode(SessionMode),
    End(EndReason),
    Error {
        code: ErrorCode,
        message: String,
    },
    /// The customer's pointer, in their viewport's CSS pixels.
    Pointer {
        x: i32,
        y: i32,
    },
    Navigated {
        url: String,
        title: String,
    },
    Paused(bool),
    Refused(InputRefused),
    /// Why the mode is what it is, and while granted the milliseconds left of a time-boxed
    /// grant and the region's root (`GrantStatus`).
    Grant(protocol::GrantStatus),
    /// The mirror asked for a fresh snapshot; the caller sends [`Message::ResyncRequest`].
    Resync(ResyncCause),
    /// A snapshot was applied: the page shows in full (for one sent in parts, at its last).
    Synced,
}

/// Why the mirror asked for a resync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResyncCause {
    Gap { expected: u32, got: u32 },
    Inconsistent(ModelError),
    Undecodable,
}

/// What one frame produced.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Step {
    pub patches: Vec<Patch>,
    pub signals: Vec<Signal>,
}

/// The mirror's state: the model of the page, sequence tracking, and whether it waits for a
/// snapshot.
#[derive(Debug, Default)]
pub struct Mirror {
    dom: Option<Dom>,
    seq: SeqTracker,
    limits: Limits,
    /// A resync was asked for: DOM frames are ignored until a snapshot arrives.
    awaiting_snapshot: bool,
    /// A snapshot sent in parts is under way: its parts extend the model.
    partial: bool,
}

/// The frames the customer's page numbers from one counter: capture's, and the consent,
/// refusal and pause frames it queues into the same stream (`Capture::outbox`). Leaving
/// those out made every consent look like a gap, and the resync it asked for gave the page new
/// ids under the agent's next action.
fn is_capture_kind(kind: FrameKind) -> bool {
    kind.sender() == Sender::Customer
}

impl Mirror {
    pub fn new() -> Self {
        Self::default()
    }

    /// The model of the page as applied so far (tests and the console's canonical form).
    pub fn dom(&self) -> Option<&Dom> {
        self.dom.as_ref()
    }

    /// Whether DOM frames are being ignored until a fresh snapshot.
    pub fn awaiting_snapshot(&self) -> bool {
        self.awaiting_snapshot
    }

    /// Takes one binary WebSocket message from the relay.
    pub fn receive(&mut self, bytes: &[u8]) -> Step {
        match Frame::decode(bytes, &self.limits) {
            Ok(frame) => self.on_frame(frame),
            Err(_) => {
                let mut step = Step::default();
                self.resync(&mut step, ResyncCause::Undecodable);
                step
            }
        }
    }

    fn resync(&mut self, step: &mut Step, cause: ResyncCause) {
        if !self.awaiting_snapshot {
            self.awaiting_snapshot = true;
            step.signals.push(Signal::Resync(cause));
        }
    }

    /// Takes one decoded frame.
    pub fn on_frame(&mut self, frame: Frame) -> Step {
        let mut step = Step::default();
        let kind = frame.message.kind();
        if kind.starts_snapshot() {
            self.seq.reset();
        }
        if is_capture_kind(kind) {
            if let SeqCheck::Gap { expected, got } = self.seq.observe(frame.seq) {
                self.resync(&mut step, ResyncCause::Gap { expected, got });
            }
        }
        match frame.message {
            Message::Welcome(w) => step.signals.push(Signal::Welcome {
                session_id: w.session_id,
                mode: w.mode,
            }),
            Message::Presence(p) => step.signals.push(Signal::Presence {
                role: p.role,
                connected: p.connected,
            }),
            Message::ModeChanged(m) => step.signals.push(Signal::Mode(m.mode)),
            Message::End(e) => step.signals.push(Signal::End(e.reason)),
            Message::Error(e) => step.signals.push(Signal::Error {
                code: e.code,
                message: e.message,
            }),
            Message::Pointer(p) => step.signals.push(Signal::Pointer { x: p.x, y: p.y }),
            Message::Navigated(n) => step.signals.push(Signal::Navigated {
                url: n.url,
                title: n.title,
            }),
            Message::SharingPaused(p) => step.signals.push(Signal::Paused(p.paused)),
            // The page's refusal, or the relay's (outside a scoped grant's region).
            Message::InputRefused(r) | Message::InputDropped(r) => {
                step.signals.push(Signal::Refused(r))
            }
            Message::GrantStatus(g) => step.signals.push(Signal::Grant(g)),
            Message::Snapshot(s) => self.snapshot(&s, true, &mut step),
            Message::SnapshotBegin(s) => self.snapshot(&s, false, &mut step),
            Message::Mutations(_)
            | Message::InputValue(_)
            | Message::Scroll(_)
            | Message::SnapshotPart(_)
                if self.dom.is_none() =>
            {
                // Page state without a base to apply it to: ask for one.
                self.resync(&mut step, ResyncCause::Inconsistent(ModelError::NoRoot));
            }
            // Out of sync: wait for the snapshot already asked for.
            _ if self.awaiting_snapshot => {}
            Message::SnapshotPart(part) => self.snapshot_part(&part, &mut step),
            Message::Mutations(batch) => {
                if let Err(e) = self.mutations(&batch, &mut step.patches) {
                    self.resync(&mut step, ResyncCause::Inconsistent(e));
                }
            }
            Message::InputValue(v) => {
                let applied = self.dom.as_mut().map(|d| d.apply_input(&v));
                match applied {
                    Some(Ok(())) => step.patches.push(Patch::Form {
                        id: v.node,
                        value: v.value,
                    }),
                    Some(Err(e)) => self.resync(&mut step, ResyncCause::Inconsistent(e)),
                    None => {}
                }
            }
            Message::Scroll(s) => {
                let dom = self.dom.as_mut();
                match dom {
                    Some(d) if s.node == 0 || d.nodes.contains_key(&s.node) => {
                        d.scrolls.insert(s.node, (s.x, s.y));
                        step.patches.push(Patch::Scroll {
                            id: s.node,
                            x: s.x,
                            y: s.y,
                        });
                    }
                    _ => self.resync(
                        &mut step,
                        ResyncCause::Inconsistent(ModelError::UnknownNode { id: s.node }),
                    ),
                }
            }
            Message::Viewport(v) => step.patches.push(Patch::Viewport(v)),
            Message::Focus(f) => {
                if let Some(d) = self.dom.as_mut() {
                    d.focus = f.node;
                    step.patches.push(mark(d, Mark::Focus, f.node));
                }
            }
            Message::Pseudo(p) => {
                if let Some(d) = self.dom.as_ref() {
                    step.patches.push(mark(d, Mark::Hover, p.hover));
                    step.patches.push(mark(d, Mark::Target, p.target));
                }
            }
            // Consent frames and anything else: the relay's ModeChanged says what matters.
            _ => {}
        }
        step
    }

    fn mutations(&mut self, batch: &MutationBatch, out: &mut Vec<Patch>) -> Result<(), ModelError> {
        let dom = self.dom.as_mut().ok_or(ModelError::NoRoot)?;
        for op in &batch.ops {
            match op {
                Mutation::Add { node, before } => {
                    dom.apply_op(op)?;
                    if dom.nodes.contains_key(&node.id) {
                        out.push(Patch::Insert {
                            id: node.id,
                            parent: node.parent,
                            before: *before,
                            node: new_node(dom, node.id),
                        });
                    }
                }
                Mutation::Remove { node } => {
                    let forget = subtree(dom, *node);
                    dom.apply_op(op)?;
                    out.push(Patch::Remove { id: *node, forget });
                }
                Mutation::Attribute { node, .. } => {
                    let before = element_attrs(dom, *node);
                    dom.apply_op(op)?;
                    attr_patches(dom, *node, before, out);
                }
                Mutation::Text { node, text } => {
                    dom.apply_op(op)?;
                    let text = if in_style(dom, *node) {
                        pseudo::rewrite_selectors(text).into_owned()
                    } else {
                        text.clone()
                    };
                    out.push(Patch::Text { id: *node, text });
                }
                Mutation::Sheet { sheet, change } => {
                    dom.apply_op(op)?;
                    out.push(match change {
                        RuleChange::Insert { path, rule } => Patch::RuleInsert {
                            sheet: *sheet,
                            index: path.last().copied().unwrap_or(0),
                            rule: pseudo::rewrite_selectors(rule).into_owned(),
                        },
                        RuleChange::Delete { path } => Patch::RuleDelete {
                            sheet: *sheet,
                            index: path.last().copied().unwrap_or(0),
                        },
                        RuleChange::ReplaceAll { rules } => Patch::Rules {
                            sheet: *sheet,
                            rules: rewritten(rules),
                        },
                    });
                }
                Mutation::Adopted(a) => {
                    dom.apply_op(op)?;
                    out.push(Patch::Adopt {
                        scope: a.scope,
                        sheets: a.sheets.clone(),
                    });
                }
                Mutation::Resize {
                    node,
                    width,
                    height,
                } => {
                    dom.apply_op(op)?;
                    out.push(Patch::Resize {
                        id: *node,
                        width: *width,
                        height: *height,
                    });
                }
            }
        }
        Ok(())
    }
}

/// A [`Patch::Mark`] for `id`, or for nowhere when the model does not know it (a hint, not
/// worth a resync).
fn mark(dom: &Dom, mark: Mark, id: protocol::NodeId) -> Patch {
    let id = if dom.nodes.contains_key(&id) { id } else { 0 };
    Patch::Mark { mark, id }
}

/// Whether `id` is a text node of a `<style>` (its text is CSS).
fn in_style(dom: &Dom, id: protocol::NodeId) -> bool {
    let parent = dom.nodes.get(&id).and_then(|n| dom.nodes.get(&n.parent));
    matches!(parent.map(|p| &p.content), Some(Content::Element { tag, .. }) if tag == "style")
}

/// The node to create for model node `id`, a `<style>`'s text with its selectors rewritten.
fn new_node(dom: &Dom, id: protocol::NodeId) -> NewNode {
    match dom.nodes.get(&id).map(|n| &n.content) {
        Some(Content::Text(t)) if in_style(dom, id) => {
            NewNode::Text(pseudo::rewrite_selectors(t).into_owned())
        }
        Some(content) => NewNode::from_content(content),
        None => NewNode::Document,
    }
}

fn rewritten(rules: &[String]) -> Vec<String> {
    rules
        .iter()
        .map(|r| pseudo::rewrite_selectors(r).into_owned())
        .collect()
}

/// `id` and every node below it, in the model.
fn subtree(dom: &Dom, id: protocol::NodeId) -> Vec<protocol::NodeId> {
    let mut out = Vec::new();
    let mut stack = vec![id];
    while let Some(id) = stack.pop() {
        if let Some(n) = dom.nodes.get(&id) {
            out.push(id);
            stack.extend(n.children.iter().copied());
        }
    }
    out
}

fn element_attrs(dom: &Dom, id: protocol::NodeId) -> Vec<(String, String)> {
    match dom.nodes.get(&id).map(|n| &n.content) {
        Some(Content::Element { attrs, .. } | Content::Boxed { attrs, .. }) => attrs.clone(),
        _ => Vec::new(),
    }
}

/// The sanitised differences between an element's attributes before and after one op.
fn attr_patches(
    dom: &Dom,
    id: protocol::NodeId,
    before: Vec<(String, String)>,
    out: &mut Vec<Patch>,
) {
    let Some(Content::Element { ns, tag, attrs } | Content::Boxed { ns, tag, attrs, .. }) =
        dom.nodes.get(&id).map(|n| &n.content)
    else {
        return;
    };
    for (name, value) in attrs {
        if !before.iter().any(|(n, v)| n == name && v == value) {
            if let Some(change) = sanitize::attribute_change(*ns, tag, name, Some(value)) {
                out.push(Patch::Attr { id, change });
            }
        }
    }
    for (name, _) in &before {
        if !attrs.iter().any(|(n, _)| n == name) {
            if let Some(change) = sanitize::attribute_change(*ns, tag, name, None) {
                out.push(Patch::Attr { id, change });
            }
        }
    }
}
