//! A snapshot applied: the model built from it, and the patches that show it. A large page's
//! snapshot comes in parts (`SnapshotBegin`, then `SnapshotPart`s, the last marked): each part
//! extends the model and is shown as it arrives, so the top of the page paints while the rest
//! is still being read, and the page counts as synced at the last.

use protocol::{Snapshot, SnapshotPart};

use super::{mark, new_node, rewritten, Mark, Mirror, Patch, ResyncCause, Signal, Step};
use crate::model::{Dom, ModelError};

impl Mirror {
    /// A snapshot, `whole` or the first of its parts.
    pub(super) fn snapshot(&mut self, snapshot: &Snapshot, whole: bool, step: &mut Step) {
        let dom = match Dom::from_snapshot(snapshot) {
            Ok(dom) => dom,
            Err(e) => {
                self.dom = None;
                self.awaiting_snapshot = false;
                self.resync(step, ResyncCause::Inconsistent(e));
                return;
            }
        };
        let patches = &mut step.patches;
        patches.push(Patch::Reset {
            url: snapshot.url.clone(),
            viewport: snapshot.viewport,
        });
        for node in &snapshot.nodes {
            if dom.nodes.contains_key(&node.id) {
                patches.push(Patch::Insert {
                    id: node.id,
                    parent: node.parent,
                    before: 0,
                    node: new_node(&dom, node.id),
                });
            }
        }
        for (&id, rules) in dom.owner_sheets.iter() {
            patches.push(Patch::Rules {
                sheet: protocol::SheetRef::Owner(id),
                rules: rewritten(rules),
            });
        }
        for (&n, rules) in dom.constructed.iter() {
            patches.push(Patch::Rules {
                sheet: protocol::SheetRef::Constructed(n),
                rules: rewritten(rules),
            });
        }
        for (&scope, sheets) in dom.adopted.iter() {
            patches.push(Patch::Adopt {
                scope,
                sheets: sheets.clone(),
            });
        }
        for (&id, value) in dom.form.iter() {
            patches.push(Patch::Form {
                id,
                value: value.clone(),
            });
        }
        for (&id, &(x, y)) in dom.scrolls.iter() {
            patches.push(Patch::Scroll { id, x, y });
        }
        if dom.focus != 0 {
            patches.push(mark(&dom, Mark::Focus, dom.focus));
        }
        self.dom = Some(dom);
        self.awaiting_snapshot = false;
        self.partial = !whole;
        if whole {
            step.signals.push(Signal::Synced);
        }
    }

    /// More of a snapshot sent in parts.
    pub(super) fn snapshot_part(&mut self, part: &SnapshotPart, step: &mut Step) {
        let dom = match self.dom.as_mut() {
            Some(dom) if self.partial => dom,
            // A part with no snapshot begun (or after the last): nothing to extend.
            _ => return self.resync(step, ResyncCause::Inconsistent(ModelError::NoRoot)),
        };
        if let Err(e) = dom.extend(part) {
            self.partial = false;
            return self.resync(step, ResyncCause::Inconsistent(e));
        }
        let patches = &mut step.patches;
        for node in &part.nodes {
            patches.push(Patch::Insert {
                id: node.id,
                parent: node.parent,
                before: 0,
                node: new_node(dom, node.id),
            });
        }
        for sheet in &part.sheets {
            patches.push(Patch::Rules {
                sheet: sheet.sheet,
                rules: rewritten(&sheet.rules),
            });
        }
        for adopted in &part.adopted {
            patches.push(Patch::Adopt {
                scope: adopted.scope,
                sheets: adopted.sheets.clone(),
            });
        }
        for v in &part.form {
            if let Some(value) = dom.form.get(&v.node) {
                patches.push(Patch::Form {
                    id: v.node,
                    value: value.clone(),
                });
            }
        }
        for s in &part.scrolls {
            patches.push(Patch::Scroll {
                id: s.node,
                x: s.x,
                y: s.y,
            });
        }
        if part.last {
            self.partial = false;
            step.signals.push(Signal::Synced);
        }
    }
}
