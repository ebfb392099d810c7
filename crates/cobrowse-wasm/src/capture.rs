//! One capture session's state and its public surface for the shell: start a (sliced)
//! snapshot, record what the page reports (observer records, events, CSSOM hooks), and flush
//! once per task (a microtask after whatever reported) into numbered, encoded frames.
//!
//! The state is kept in parts by owner: what the receiver has (`Known`), the DOM changes
//! recorded since the last flush (`Changes`), the numbered frames waiting for the shell
//! (`Outbox`), focus, hover and `:target` (`Marks`), and here the rest (values, scrolls,
//! pointer, navigation, the snapshot under way). The walk (`serialize::walk`), a snapshot's
//! slices (`SnapshotJob`) and the flush's DOM part (`diff::flush`) take the parts they need.
//!
//! # Invariants
//! - Nothing is read from the page when it is recorded, only when it is flushed: the frame
//!   carries the page's state at flush time, so a burst of changes costs one read per node.
//! - While a snapshot is being taken, records accumulate and are flushed after it is sent;
//!   flushing compares the live page with the [`Tree`](crate::tree::Tree), so nothing changed
//!   meanwhile is lost.

use protocol::{
    Message, MutationBatch, Navigated, NodeId, Pointer, RuleChange, Scroll, SheetRef, Viewport,
};

use crate::changes::Changes;
use crate::config::Config;
use crate::diff;
use crate::intern::IdSet;
use crate::known::Known;
use crate::marks::Marks;
use crate::outbox::Outbox;
use crate::page::Page;
use crate::serialize::{self, Collected};
use crate::snapshot::SnapshotJob;
use crate::tree::TextMode;

pub use crate::outbox::CaptureError;
pub use crate::sheet_change::{RawRuleChange, SheetTarget};

/// A capture session.
pub struct Capture<N> {
    config: Config,
    /// What the receiver has: the walk adds to it, the flush compares the page with it.
    known: Known<N>,
    job: Option<SnapshotJob<N>>,
    // Recorded since the last flush: the DOM changes the flush turns into one batch, then
    // what goes out as frames of its own.
    changes: Changes,
    values: IdSet,
    scrolled: IdSet,
    window_scrolled: bool,
    viewport: Option<Viewport>,
    pointer: Option<Pointer>,
    last_pointer_ms: f64,
    marks: Marks<N>,
    navigated: Option<Navigated>,
    /// Encoded frames for the shell to send, numbered in one sequence.
    outbox: Outbox,
}

impl<N: Clone> Capture<N> {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            known: Known::new(),
            job: None,
            changes: Changes::default(),
            values: IdSet::default(),
            scrolled: IdSet::default(),
            window_scrolled: false,
            viewport: None,
            pointer: None,
            last_pointer_ms: f64::NEG_INFINITY,
            marks: Marks::new(),
            navigated: None,
            outbox: Outbox::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The id of a node the receiver knows.
    pub fn id_of<P: Page<Node = N>>(&self, page: &P, node: &N) -> Option<NodeId> {
        self.known.id_of(page, node)
    }

    /// The live node of an id (for applying agent input).
    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.known.tree.get(id).map(|s| &s.node)
    }

    /// Whether the agent may not act on a node (readonly markup or selectors, inherited).
    pub fn is_readonly(&self, id: NodeId) -> bool {
        self.known
            .tree
            .get(id)
            .and_then(|s| s.sent_as)
            .is_some_and(|s| s.state.readonly)
    }

    /// Whether a node's text and values are masked.
    pub fn is_masked(&self, id: NodeId) -> bool {
        self.known
            .tree
            .get(id)
            .and_then(|s| s.sent_as)
            .is_some_and(|s| s.state.masked || s.value_masked)
    }

    /// Number of nodes the receiver knows.
    pub fn node_count(&self) -> usize {
        self.known.tree.len()
    }

    /// Starts a new snapshot of `document`: forgets everything sent, starts a new name table.
    /// Drive it with [`Capture::continue_snapshot`].
    pub fn begin_snapshot(&mut self, document: N, url: String, viewport: Viewport) {
        self.known.clear();
        self.clear_recorded();
        self.marks.resend();
        self.job = Some(SnapshotJob::new(
            document,
            url,
            viewport,
            self.config.private_by_default,
        ));
    }

    fn clear_recorded(&mut self) {
        self.changes.clear();
        self.values.clear();
        self.scrolled.clear();
    }

    pub fn snapshot_in_progress(&self) -> bool {
        self.job.is_some()
    }

    /// Works on the snapshot for one slice (the configured budget). Returns true once the
    /// snapshot frame (or its last part) is encoded and waiting in [`Capture::take_frames`];
    /// a large page's earlier parts wait there as they are read.
    pub fn continue_snapshot<P: Page<Node = N>>(&mut self, page: &P) -> Result<bool, CaptureError> {
        let Some(mut job) = self.job.take() else {
            return Ok(true);
        };
        if !job.slice(page, &self.config, &mut self.known, &self.changes) {
            let part = job.part(page);
            self.job = Some(job);
            return part.map_or(Ok(()), |p| self.outbox.emit(p)).map(|()| false);
        }
        self.outbox.emit(job.finish(page))?;
        Ok(true)
    }

    /// The numbered stream: the page's own frames join it (consent, refusals, pauses), and its
    /// sequence carries on from one capture of a page load to the next (see `Outbox`).
    pub fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }

    /// Encoded frames ready to send, in order.
    pub fn take_frames(&mut self) -> Vec<Vec<u8>> {
        self.outbox.take()
    }

    /// Shadow roots and frame documents found since the last call: the shell observes them.
    pub fn take_new_roots(&mut self) -> Vec<N> {
        std::mem::take(&mut self.known.new_roots)
    }

    /// Boxed elements sent since the last call: the shell watches their size.
    pub fn take_new_boxed(&mut self) -> Vec<N> {
        std::mem::take(&mut self.known.new_boxed)
    }

    /// Same-origin-capable `<iframe>`s sent since the last call: the shell listens for loads.
    pub fn take_new_frames(&mut self) -> Vec<N> {
        std::mem::take(&mut self.known.new_frames)
    }

    /// Whether a flush has something to do.
    pub fn has_pending(&self) -> bool {
        !(self.changes.is_empty()
            && self.values.is_empty()
            && self.scrolled.is_empty()
            && !self.window_scrolled
            && self.viewport.is_none()
            && self.pointer.is_none()
            && !self.marks.is_dirty()
            && self.navigated.is_none())
    }

    // --- Recording: cheap, reads nothing but the id cache. ---

    /// Records an observer record by the target's id (the shell may look ids up in bulk):
    /// 1 child list, 2 attribute `name`, 3 text. Ids the receiver does not know are ignored.
    pub fn record_by_id(&mut self, kind: u32, id: NodeId, name: &str) {
        if !self.known.tree.contains(id) {
            return;
        }
        match kind {
            1 => {
                self.changes.dirty.insert(id);
            }
            2 => self.record_attribute_name(id, name),
            _ => {
                self.changes.texts.insert(id);
            }
        }
    }

    /// Adds `name` to the changed attributes of element `id`.
    fn record_attribute_name(&mut self, id: NodeId, name: &str) {
        let Some(slot) = self.known.tree.get_mut(id) else {
            return;
        };
        let at = slot.attrs_at as usize;
        match self.changes.attrs.get_mut(at.wrapping_sub(1)) {
            Some((node, names)) if *node == id => {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
            }
            _ => {
                self.changes.attrs.push((id, vec![name.to_owned()]));
                slot.attrs_at = self.changes.attrs.len() as u32;
            }
        }
    }

    /// A child list changed under `target`.
    pub fn record_children<P: Page<Node = N>>(&mut self, page: &P, target: &N) {
        if let Some(id) = self.id_of(page, target) {
            self.changes.dirty.insert(id);
        }
    }

    /// An attribute of `target` changed.
    pub fn record_attribute<P: Page<Node = N>>(&mut self, page: &P, target: &N, name: &str) {
        if let Some(id) = self.id_of(page, target) {
            self.record_attribute_name(id, name);
        }
    }

    /// The data of a text or comment node changed.
    pub fn record_text<P: Page<Node = N>>(&mut self, page: &P, target: &N) {
        if let Some(id) = self.id_of(page, target) {
            self.changes.texts.insert(id);
        }
    }

    /// A form control's value may have changed (user input or a script's setter).
    /// A select's value covers its options' `selected` states too (those of a `<select
    /// multiple>` are sent one by one).
    pub fn record_value<P: Page<Node = N>>(&mut self, page: &P, target: &N) {
        let Some(id) = self.id_of(page, target) else {
            return;
        };
        self.values.insert(id);
        if self.known.tree.get(id).and_then(|s| s.control) != Some("select") {
            return;
        }
        // Options sit in the select or in its groups.
        let mut stack: Vec<NodeId> = self
            .known
            .tree
            .get(id)
            .map(|s| s.children.clone())
            .unwrap_or_default();
        while let Some(child) = stack.pop() {
            let Some(slot) = self.known.tree.get(child) else {
                continue;
            };
            if slot.control == Some("option") {
                self.values.insert(child);
            } else {
                stack.extend(slot.children.iter().copied());
            }
        }
    }

    /// An element must be sent again whole (an iframe loaded a new document, or an open shadow
    /// root was attached to it).
    pub fn record_resend<P: Page<Node = N>>(&mut self, page: &P, target: &N) {
        if let Some(id) = self.id_of(page, target) {
            if let Some(parent) = self.known.tree.get(id).map(|s| s.parent) {
                self.changes.resend.insert(id);
                self.changes.dirty.insert(parent);
            }
        }
    }

    /// A boxed element changed size.
    pub fn record_resize<P: Page<Node = N>>(
        &mut self,
        page: &P,
        target: &N,
        width: u32,
        height: u32,
    ) {
        if let Some(id) = self.id_of(page, target) {
            match self
                .changes
                .resized
                .iter_mut()
                .find(|(node, _)| *node == id)
            {
                Some((_, size)) => *size = (width, height),
                None => self.changes.resized.push((id, (width, height))),
            }
        }
    }

    /// An element (or, with `None`, the window) scrolled.
    pub fn record_scroll<P: Page<Node = N>>(&mut self, page: &P, target: Option<&N>) {
        match target {
            None => self.window_scrolled = true,
            Some(node) => {
                if let Some(id) = self.id_of(page, node) {
                    self.scrolled.insert(id);
                }
            }
        }
    }

    pub fn record_viewport(&mut self, width: u32, height: u32) {
        self.viewport = Some(Viewport { width, height });
    }

    pub fn record_pointer(&mut self, x: i32, y: i32) {
        self.pointer = Some(Pointer { x, y });
    }

    /// Where focus, hover and `:target` are recorded.
    pub fn marks(&mut self) -> &mut Marks<N> {
        &mut self.marks
    }

    /// The page navigated (a new document, or `pushState` routing). Its title is masked as the
    /// text of its `<title>` element (`title_el`) is, or as the private mode says when that is
    /// not captured.
    pub fn record_navigation<P: Page<Node = N>>(
        &mut self,
        page: &P,
        url: String,
        title: String,
        title_el: Option<&N>,
    ) {
        let masked = title_el
            .and_then(|el| self.id_of(page, el))
            .and_then(|id| self.known.tree.get(id))
            .map_or(self.config.private_by_default, |s| {
                s.text_mode == TextMode::Masked
            });
        let title = if masked {
            crate::mask::mask_text(&title)
        } else {
            title
        };
        self.navigated = Some(Navigated { url, title });
    }

    /// The adopted sheets of some scope may have changed.
    pub fn record_adoption(&mut self) {
        self.changes.adoption_changed = true;
    }

    /// Whether a rule inserted into this sheet now would be sent as that one rule (the sheet's
    /// rules were sent already): only then is its text worth reading; otherwise the sheet goes
    /// whole at the next flush, read once however many rules a task inserts.
    pub fn sends_rules_singly<P: Page<Node = N>>(
        &self,
        page: &P,
        target: SheetTarget<'_, N>,
    ) -> bool {
        match target {
            SheetTarget::Owner(node) => self.id_of(page, node).is_some_and(|id| {
                self.known.owner_sheets.contains(id)
                    && !self.changes.sheet_full.contains(&SheetRef::Owner(id))
            }),
            SheetTarget::Constructed(n) => {
                self.known.constructed.contains(n)
                    && !self.changes.sheet_full.contains(&SheetRef::Constructed(n))
            }
        }
    }

    /// A CSSOM hook saw a sheet change: true if the sheet goes whole at the next flush.
    pub fn record_sheet<P: Page<Node = N>>(
        &mut self,
        page: &P,
        target: SheetTarget<'_, N>,
        change: RawRuleChange,
    ) -> bool {
        let (sheet, sent) = match target {
            SheetTarget::Owner(node) => match self.id_of(page, node) {
                Some(id) => (SheetRef::Owner(id), self.known.owner_sheets.contains(id)),
                // Not sent yet: its rules go out with it.
                None => return false,
            },
            SheetTarget::Constructed(n) => {
                if !self.known.constructed.contains(n) {
                    return false;
                }
                (SheetRef::Constructed(n), true)
            }
        };
        let change = match (sent, change) {
            (true, RawRuleChange::Insert { index, rule }) => RuleChange::Insert {
                path: vec![index],
                rule: serialize::capped_rule(rule),
            },
            (true, RawRuleChange::Delete { index }) => RuleChange::Delete { path: vec![index] },
            _ => {
                if !self.changes.sheet_full.contains(&sheet) {
                    self.changes.sheet_full.push(sheet);
                }
                return true;
            }
        };
        self.changes.sheet_ops.push((sheet, change));
        false
    }

    /// Sends everything recorded since the last flush (unless a snapshot is being taken).
    pub fn flush<P: Page<Node = N>>(&mut self, page: &P, now_ms: f64) -> Result<(), CaptureError> {
        if self.job.is_some() {
            return Ok(());
        }
        if let Some(nav) = self.navigated.take() {
            self.outbox.emit(Message::Navigated(nav))?;
        }
        let first_new = self.known.next_id();
        let mut extra = Collected::default();
        let ops = diff::flush(
            page,
            &self.config,
            &mut self.known,
            &mut self.changes,
            first_new,
            &mut extra,
        );
        if !ops.is_empty() {
            self.outbox
                .emit(Message::Mutations(MutationBatch { ops }))?;
        }
        for value in extra.form {
            self.outbox.emit(Message::InputValue(value))?;
        }
        let values = self.values.drain();
        for id in values {
            if id >= first_new {
                continue;
            }
            if let Some(value) = self.read_value(page, id) {
                self.outbox.emit(Message::InputValue(value))?;
            }
        }
        if let Some(viewport) = self.viewport.take() {
            self.outbox.emit(Message::Viewport(viewport))?;
        }
        if std::mem::take(&mut self.window_scrolled) {
            let (x, y) = page.window_scroll();
            self.outbox
                .emit(Message::Scroll(Scroll { node: 0, x, y }))?;
        }
        for scroll in extra.scrolls {
            self.outbox.emit(Message::Scroll(scroll))?;
        }
        let scrolled = self.scrolled.drain();
        for id in scrolled {
            if let Some(slot) = self.known.tree.get(id) {
                let (x, y) = page.scroll_offset(&slot.node).unwrap_or((0, 0));
                self.outbox
                    .emit(Message::Scroll(Scroll { node: id, x, y }))?;
            }
        }
        let known = &self.known;
        self.marks
            .send(|n| known.id_of(page, n), &mut self.outbox)?;
        if self.pointer.is_some()
            && now_ms - self.last_pointer_ms >= self.config.pointer_interval_ms
        {
            if let Some(pointer) = self.pointer.take() {
                self.last_pointer_ms = now_ms;
                self.outbox.emit(Message::Pointer(pointer))?;
            }
        }
        Ok(())
    }

    fn read_value<P: Page<Node = N>>(&self, page: &P, id: NodeId) -> Option<protocol::InputValue> {
        let slot = self.known.tree.get(id)?;
        let (tag, sent) = (slot.control?, slot.sent_as?);
        let value = page.form_value(&slot.node, tag)?;
        Some(protocol::InputValue {
            node: id,
            value: serialize::masked_value(value, sent.value_masked),
        })
    }
}
