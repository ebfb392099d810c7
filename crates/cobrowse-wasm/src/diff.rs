//! Mutation ordering: turns what changed since the last flush into ordered [`Mutation`] ops.
//!
//! Observer records only say *where* to look (a child list, an attribute, a text: the
//! `Changes`). The flush then compares each dirty parent's live children with the
//! [`Tree`](crate::tree::Tree): children kept in order (the longest increasing run, see
//! [`reconcile`](crate::reconcile)) stay, the rest are removed, and live children the tree
//! does not hold there are sent as new subtrees, right to left so that each add names a
//! `before` sibling the receiver already has. So a node added and removed within one frame is
//! never seen, attribute changes are merged per node (the final value is read once), and a
//! move is a remove followed by an add.
//!
//! Op order in a batch: removes (a node under another removed node is not named), adds
//! (parent-first, each subtree's sheets and adopted lists right after it), attributes, texts,
//! CSSOM changes, adopted-sheet changes, box resizes.
//!
//! `flush` works on the parts of a capture session it needs (the [`Config`], what the
//! receiver has in `Known`, the `Changes`), not on the session: capture calls it, and it
//! calls only the serialize walk.

use protocol::{Mutation, NodeId, RuleChange, SheetRef};

use crate::changes::Changes;
use crate::config::Config;
use crate::known::Known;
use crate::mask::{self, OVERLAY_ATTR};
use crate::page::{NodeKind, Page};
use crate::reconcile::reconcile;
use crate::serialize::{self, Collected, Role, Visit};
use crate::tree::{SentAs, TextMode};

/// The DOM ops of one flush; form values and scrolls of added nodes go to `extra`. Consumes
/// `changes` and brings `known` up to date with what the ops tell the receiver.
// Inlined into its one caller: as a call of its own it grew the customer's package.
#[inline]
pub(crate) fn flush<P: Page>(
    page: &P,
    config: &Config,
    known: &mut Known<P::Node>,
    changes: &mut Changes,
    first_new: NodeId,
    extra: &mut Collected,
) -> Vec<Mutation> {
    Flush {
        config,
        known,
        changes,
    }
    .dom(page, first_new, extra)
}

/// One flush's view of a capture session: the parts it reads and changes.
struct Flush<'a, N> {
    config: &'a Config,
    known: &'a mut Known<N>,
    changes: &'a mut Changes,
}

impl<N: Clone> Flush<'_, N> {
    fn dom<P: Page<Node = N>>(
        &mut self,
        page: &P,
        first_new: NodeId,
        extra: &mut Collected,
    ) -> Vec<Mutation> {
        self.recheck_verdicts(page);
        let mut dirty = self.changes.dirty.drain();
        crate::order::sort_by_key(&mut dirty, |id| *id);
        // 1. Read every dirty parent's live children before changing anything.
        let mut plans = Vec::new();
        let mut children = Vec::new();
        for parent in dirty {
            let Some(slot) = self.known.tree.get(parent) else {
                continue;
            };
            if !slot.holds_children {
                continue;
            }
            children.clear();
            page.children(&slot.node, &mut children);
            let mut live = Vec::with_capacity(children.len());
            for child in children.drain(..) {
                let known = self.known.id_of(page, &child).filter(|id| {
                    !self.changes.resend.contains(*id)
                        && self.known.tree.get(*id).is_some_and(|s| s.parent == parent)
                });
                if known.is_none() && !capturable(page, &child) {
                    continue;
                }
                live.push((child, known));
            }
            let ids: Vec<Option<NodeId>> = live.iter().map(|(_, id)| *id).collect();
            let plan = reconcile(&slot.children, &ids);
            if plan.removed.is_empty() && plan.kept.iter().all(|&k| k) {
                continue;
            }
            plans.push((parent, live, plan));
        }
        self.changes.resend.clear();
        // 2. Removes: name only the topmost removed nodes.
        let mut ops = Vec::new();
        let mut removed: Vec<NodeId> = plans
            .iter()
            .flat_map(|(_, _, p)| p.removed.iter().copied())
            .collect();
        crate::order::sort_by_key(&mut removed, |id| *id);
        let is_removed = |id: NodeId| removed.binary_search(&id).is_ok();
        for &id in plans.iter().flat_map(|(_, _, p)| &p.removed) {
            let parent = self.known.tree.get(id).map_or(0, |s| s.parent);
            if !self.known.tree.under_any(parent, is_removed) {
                ops.push(Mutation::Remove { node: id });
            }
        }
        // Step 3 writes each planned parent's child list anew: empty it first, so forgetting a
        // removed child does not search the list (10,000 children moved out would cost
        // 10,000 scans of a 10,000-long list).
        for (parent, _, _) in &plans {
            if let Some(slot) = self.known.tree.get_mut(*parent) {
                slot.children.clear();
            }
        }
        for &id in &removed {
            self.known.forget(id);
        }
        // 3. Adds, right to left per parent.
        for (parent, live, plan) in plans {
            if !self.known.tree.contains(parent) {
                continue;
            }
            let mut order = Vec::with_capacity(live.len());
            let mut next = 0;
            for ((node, known), kept) in live.into_iter().zip(plan.kept).rev() {
                let id = match known {
                    Some(id) if kept => Some(id),
                    _ => self.add_subtree(page, parent, node, next, &mut ops, extra),
                };
                if let Some(id) = id {
                    order.push(id);
                    next = id;
                }
            }
            order.reverse();
            if let Some(slot) = self.known.tree.get_mut(parent) {
                slot.children = order;
            }
        }
        self.flush_attributes(page, first_new, &mut ops);
        self.flush_texts(page, first_new, &mut ops);
        self.flush_sheets(page, first_new, &mut ops);
        if std::mem::take(&mut self.changes.adoption_changed) {
            let scopes = self.known.scopes.clone();
            let mut out = Collected::default();
            for scope in scopes {
                if let Some(node) = self.known.tree.get(scope).map(|s| s.node.clone()) {
                    serialize::collect_adopted(page, self.known, scope, &node, &mut out);
                }
            }
            push_sheets(&mut ops, out);
        }
        let mut resized = std::mem::take(&mut self.changes.resized);
        crate::order::sort_by_key(&mut resized, |(node, _)| *node);
        for (node, (width, height)) in resized {
            if node < first_new
                && self
                    .known
                    .tree
                    .get(node)
                    .and_then(|s| s.sent_as)
                    .is_some_and(|s| s.boxed)
            {
                ops.push(Mutation::Resize {
                    node,
                    width,
                    height,
                });
            }
        }
        ops
    }

    /// Elements whose masking verdict changed ([`changed_verdicts`]) are sent again.
    fn recheck_verdicts<P: Page<Node = N>>(&mut self, page: &P) {
        for id in changed_verdicts(page, self.config, self.known, self.changes) {
            if let Some(parent) = self.known.tree.get(id).map(|s| s.parent) {
                self.changes.resend.insert(id);
                self.changes.dirty.insert(parent);
            }
        }
    }

    /// Sends a live node (and its subtree) under `parent` before `before`; returns its id.
    fn add_subtree<P: Page<Node = N>>(
        &mut self,
        page: &P,
        parent: NodeId,
        node: N,
        before: NodeId,
        ops: &mut Vec<Mutation>,
        extra: &mut Collected,
    ) -> Option<NodeId> {
        if let Some(stale) = self.known.id_of(page, &node) {
            // Known elsewhere (its old parent reported nothing): take it from there first.
            ops.push(Mutation::Remove { node: stale });
            self.known.forget(stale);
        }
        let slot = self.known.tree.get(parent)?;
        let state = slot.sent_as.map_or_else(
            || crate::mask::MaskState::root(self.config.private_by_default),
            |s| s.state,
        );
        let text = slot.text_mode;
        let mut stack = vec![Visit {
            node,
            parent,
            state,
            text,
            role: Role::Child { attach: false },
        }];
        let mut out = Collected::default();
        serialize::walk(page, self.config, self.known, &mut stack, &mut out, None);
        let mut nodes = out.nodes.drain(..);
        let top = nodes.next()?;
        let id = top.id;
        ops.push(Mutation::Add { node: top, before });
        ops.extend(nodes.map(|node| Mutation::Add { node, before: 0 }));
        extra.form.append(&mut out.form);
        extra.scrolls.append(&mut out.scrolls);
        push_sheets(ops, out);
        Some(id)
    }

    fn flush_attributes<P: Page<Node = N>>(
        &mut self,
        page: &P,
        first_new: NodeId,
        ops: &mut Vec<Mutation>,
    ) {
        let mut attrs = std::mem::take(&mut self.changes.attrs);
        for (id, _) in &attrs {
            if let Some(slot) = self.known.tree.get_mut(*id) {
                slot.attrs_at = 0;
            }
        }
        crate::order::sort_by_key(&mut attrs, |(id, _)| *id);
        // Which attributes to send, then all their values read at once.
        let mut sends: Vec<(NodeId, SentAs, &str)> = Vec::new();
        let mut asked: Vec<(&N, &str)> = Vec::new();
        for (id, names) in &attrs {
            let Some(slot) = self.known.tree.get(*id).filter(|_| *id < first_new) else {
                continue;
            };
            let Some(sent) = slot.sent_as else { continue };
            for name in names {
                if (sent.boxed && !serialize::boxed_keeps(name))
                    || mask::attr_dropped(name, sent.value_masked)
                {
                    continue;
                }
                sends.push((*id, sent, name));
                asked.push((&slot.node, name));
            }
        }
        let mut values = Vec::with_capacity(asked.len());
        page.attribute_values(&asked, &mut values);
        let mut base: Option<(NodeId, String)> = None;
        for ((id, sent, name), value) in sends.into_iter().zip(values) {
            let value = value.map(|v| {
                let mut base_of = || match &base {
                    Some((of, url)) if *of == id => url.clone(),
                    _ => {
                        let url = self
                            .known
                            .tree
                            .get(id)
                            .map(|s| page.base_url(&s.node))
                            .unwrap_or_default();
                        base = Some((id, url.clone()));
                        url
                    }
                };
                serialize::attr_value(name, v, sent, &mut base_of)
            });
            ops.push(Mutation::Attribute {
                node: id,
                name: self.known.names.name(name),
                value,
            });
        }
    }

    fn flush_texts<P: Page<Node = N>>(
        &mut self,
        page: &P,
        first_new: NodeId,
        ops: &mut Vec<Mutation>,
    ) {
        let mut texts = self.changes.texts.drain();
        crate::order::sort_by_key(&mut texts, |id| *id);
        for id in texts {
            let Some(slot) = self.known.tree.get(id).filter(|_| id < first_new) else {
                continue;
            };
            let mode = self
                .known
                .tree
                .get(slot.parent)
                .map_or(TextMode::Plain, |p| p.text_mode);
            let raw = page.text(&slot.node);
            let text = serialize::text_value(mode, raw, || page.base_url(&slot.node));
            ops.push(Mutation::Text { node: id, text });
        }
    }

    fn flush_sheets<P: Page<Node = N>>(
        &mut self,
        page: &P,
        first_new: NodeId,
        ops: &mut Vec<Mutation>,
    ) {
        let full = std::mem::take(&mut self.changes.sheet_full);
        for &sheet in &full {
            let rules = match sheet {
                SheetRef::Owner(id) => {
                    let Some(slot) = self.known.tree.get(id).filter(|_| id < first_new) else {
                        continue;
                    };
                    let Some(rules) = page.owner_rules(&slot.node) else {
                        continue;
                    };
                    self.known.owner_sheets.insert(id);
                    serialize::sheet_rules(Some(&page.base_url(&slot.node)), rules)
                }
                SheetRef::Constructed(n) => serialize::sheet_rules(None, page.constructed_rules(n)),
            };
            ops.push(Mutation::Sheet {
                sheet,
                change: RuleChange::ReplaceAll { rules },
            });
        }
        for (sheet, change) in std::mem::take(&mut self.changes.sheet_ops) {
            let live = match sheet {
                SheetRef::Owner(id) => id < first_new && self.known.tree.contains(id),
                SheetRef::Constructed(_) => true,
            };
            if live && !full.contains(&sheet) {
                ops.push(Mutation::Sheet { sheet, change });
            }
        }
    }
}

/// The elements whose masking verdict changed since they were sent: by a recorded change
/// of their own attributes or, with selector lists configured, by any change that altered
/// what the lists match (`.private input` starts matching a field when its box gets a
/// class).
pub(crate) fn changed_verdicts<P: Page>(
    page: &P,
    config: &Config,
    known: &Known<P::Node>,
    changes: &Changes,
) -> Vec<NodeId> {
    let selectors =
        !(config.mask.is_empty() && config.block.is_empty() && config.readonly.is_empty());
    let mut candidates: Vec<NodeId> = changes
        .attrs
        .iter()
        .filter(|(_, names)| selectors || names.iter().any(|n| mask::affects_verdict(n)))
        .map(|(id, _)| *id)
        .collect();
    if selectors && !(changes.attrs.is_empty() && changes.dirty.is_empty()) {
        candidates.extend(reselected(page, config, known));
    }
    crate::order::sort_by_key(&mut candidates, |id| *id);
    candidates.dedup();
    let mut changed = Vec::new();
    for id in candidates {
        let Some(slot) = known.tree.get(id) else {
            continue;
        };
        let (Some(before), Some(parent)) = (slot.sent_as, known.tree.get(slot.parent)) else {
            continue;
        };
        let parent_state = parent.sent_as.map_or_else(
            || crate::mask::MaskState::root(config.private_by_default),
            |s| s.state,
        );
        let mut attrs = Vec::new();
        let crate::page::ElementHead { ns, tag, .. } = page.element(&slot.node, &mut attrs, false);
        let now = serialize::sent_as(page, config, &slot.node, ns, &tag, &attrs, parent_state);
        if now != Some(before) {
            changed.push(id);
        }
    }
    changed
}

/// The sent elements whose matches of the configured selector lists differ now from when
/// they were sent, found with one query per list and scope.
fn reselected<P: Page>(page: &P, config: &Config, known: &Known<P::Node>) -> Vec<NodeId> {
    let lists = [(1, &config.mask), (2, &config.block), (4, &config.readonly)];
    let mut now: Vec<(NodeId, u8)> = Vec::new();
    let mut ids = Vec::new();
    for scope in &known.scopes {
        let Some(slot) = known.tree.get(*scope) else {
            continue;
        };
        for (bit, list) in lists.iter().filter(|(_, l)| !l.is_empty()) {
            ids.clear();
            page.selected_ids(&slot.node, list, &mut ids);
            now.extend(ids.iter().map(|id| (*id, *bit)));
        }
    }
    crate::order::sort_by_key(&mut now, |(id, _)| *id);
    let mut merged: Vec<(NodeId, u8)> = Vec::with_capacity(now.len());
    for (id, bit) in now {
        match merged.last_mut() {
            Some((last, bits)) if *last == id => *bits |= bit,
            _ => merged.push((id, bit)),
        }
    }
    let sent = |id: NodeId| {
        known
            .tree
            .get(id)
            .and_then(|s| s.sent_as)
            .map(|s| s.selected)
    };
    let mut differ: Vec<NodeId> = merged
        .iter()
        .filter(|(id, bits)| sent(*id).is_some_and(|was| was != *bits))
        .map(|(id, _)| *id)
        .collect();
    differ.extend(known.tree.iter().filter_map(|(id, slot)| {
        let was = slot.sent_as?.selected;
        let gone = was != 0 && merged.binary_search_by_key(&id, |(i, _)| *i).is_err();
        gone.then_some(id)
    }));
    differ
}

/// Whether a live child that the tree does not know would be sent.
fn capturable<P: Page>(page: &P, node: &P::Node) -> bool {
    match page.kind(node) {
        NodeKind::Other | NodeKind::Document => false,
        NodeKind::Element => page.attribute(node, OVERLAY_ATTR).is_none(),
        _ => true,
    }
}

/// Sheets and adopted lists collected by a walk, as ops after the nodes they belong to.
fn push_sheets(ops: &mut Vec<Mutation>, out: Collected) {
    for sheet in out.sheets {
        ops.push(Mutation::Sheet {
            sheet: sheet.sheet,
            change: RuleChange::ReplaceAll { rules: sheet.rules },
        });
    }
    ops.extend(out.adopted.into_iter().map(Mutation::Adopted));
}
