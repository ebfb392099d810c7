//! The DOM model both sides agree on: nodes by id built from a [`Snapshot`] and advanced by
//! [`MutationBatch`]es and the page's other frames. The agent-side mirror (issue 6) applies
//! frames here first and asks for a resync on any [`ModelError`]; tests rebuild the customer's
//! page through it and compare [`Dom::canonical`] forms.
//!
//! The canonical form is id-free: an indented tree with attributes sorted by name, form values,
//! sheet rules and adopted sheets printed at their owners, so two captures of one page compare
//! equal whatever ids they used.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use protocol::{
    AdoptedSheets, FormValue, InputValue, Mutation, MutationBatch, Name, Namespace, Node, NodeData,
    NodeId, RuleChange, SheetRef, Snapshot, SnapshotPart,
};

use crate::intern::FxMap;

/// Why a frame does not apply: the mirror must ask for a resync.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("the snapshot has no root document")]
    NoRoot,
    #[error("node {id} is already present")]
    DuplicateId { id: NodeId },
    #[error("node {id} names unknown parent {parent}")]
    UnknownParent { id: NodeId, parent: NodeId },
    #[error("node {id} is unknown")]
    UnknownNode { id: NodeId },
    #[error("node {id} is to go before {before}, which is not a child of {parent}")]
    UnknownBefore {
        id: NodeId,
        before: NodeId,
        parent: NodeId,
    },
    #[error("name index {index} is not in the table")]
    UnknownName { index: u32 },
    #[error("sheet rules for an unknown sheet")]
    UnknownSheet,
    #[error("rule index {index} is out of range for a sheet of {len} rules")]
    RuleIndex { index: u32, len: usize },
    #[error("node {id} cannot hold children")]
    NotAContainer { id: NodeId },
}

/// A node's content with names resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Document,
    Doctype {
        name: String,
        public_id: String,
        system_id: String,
    },
    Element {
        ns: Namespace,
        tag: String,
        attrs: Vec<(String, String)>,
    },
    Text(String),
    Comment(String),
    ShadowRoot,
    FrameDocument,
    Boxed {
        ns: Namespace,
        tag: String,
        attrs: Vec<(String, String)>,
        width: u32,
        height: u32,
    },
}

/// One node of the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelNode {
    pub parent: NodeId,
    pub children: Vec<NodeId>,
    pub content: Content,
}

/// The page as the frames describe it.
#[derive(Debug, Default, Clone)]
pub struct Dom {
    pub nodes: FxMap<NodeId, ModelNode>,
    pub root: NodeId,
    pub url: String,
    names: Vec<String>,
    pub owner_sheets: FxMap<NodeId, Vec<String>>,
    pub constructed: FxMap<u32, Vec<String>>,
    pub adopted: FxMap<NodeId, Vec<u32>>,
    pub form: FxMap<NodeId, FormValue>,
    pub scrolls: BTreeMap<NodeId, (i32, i32)>,
    pub focus: NodeId,
}

impl Dom {
    /// Builds the model of a snapshot (a new name table).
    pub fn from_snapshot(snapshot: &Snapshot) -> Result<Self, ModelError> {
        let mut dom = Dom {
            url: snapshot.url.clone(),
            ..Dom::default()
        };
        let s = snapshot;
        dom.add(&s.nodes, &s.sheets, &s.adopted, &s.form, &s.scrolls)?;
        if dom.root == 0 {
            return Err(ModelError::NoRoot);
        }
        dom.focus = snapshot.focus;
        Ok(dom)
    }

    /// Adds a part of a snapshot sent in parts, as [`Dom::from_snapshot`] adds the first.
    pub fn extend(&mut self, part: &SnapshotPart) -> Result<(), ModelError> {
        let p = part;
        self.add(&p.nodes, &p.sheets, &p.adopted, &p.form, &p.scrolls)
    }

    /// A snapshot's content (or a part's): nodes appended in order, then what goes with them.
    fn add(
        &mut self,
        nodes: &[Node],
        sheets: &[protocol::SheetRules],
        adopted: &[AdoptedSheets],
        form: &[InputValue],
        scrolls: &[protocol::Scroll],
    ) -> Result<(), ModelError> {
        for node in nodes {
            self.insert(node, 0)?;
        }
        for sheet in sheets {
            self.set_rules(sheet.sheet, sheet.rules.clone());
        }
        adopted.iter().try_for_each(|a| self.adopt(a))?;
        form.iter().try_for_each(|v| self.apply_input(v))?;
        for s in scrolls {
            self.scrolls.insert(s.node, (s.x, s.y));
        }
        Ok(())
    }

    fn resolve(&mut self, name: &Name) -> Result<String, ModelError> {
        match name {
            Name::New(s) => {
                self.names.push(s.clone());
                Ok(s.clone())
            }
            Name::Ref(i) => self
                .names
                .get(*i as usize)
                .cloned()
                .ok_or(ModelError::UnknownName { index: *i }),
        }
    }

    fn resolve_attrs(
        &mut self,
        attrs: &[protocol::Attr],
    ) -> Result<Vec<(String, String)>, ModelError> {
        attrs
            .iter()
            .map(|a| Ok((self.resolve(&a.name)?, a.value.clone())))
            .collect()
    }

    fn insert(&mut self, node: &Node, before: NodeId) -> Result<(), ModelError> {
        let id = node.id;
        if id == 0 || self.nodes.contains_key(&id) {
            return Err(ModelError::DuplicateId { id });
        }
        let content = match &node.data {
            NodeData::Document => Content::Document,
            NodeData::Doctype {
                name,
                public_id,
                system_id,
            } => Content::Doctype {
                name: name.clone(),
                public_id: public_id.clone(),
                system_id: system_id.clone(),
            },
            NodeData::Element { ns, tag, attrs } => Content::Element {
                ns: *ns,
                tag: self.resolve(tag)?,
                attrs: self.resolve_attrs(attrs)?,
            },
            NodeData::Text(t) => Content::Text(t.clone()),
            NodeData::Comment(t) => Content::Comment(t.clone()),
            NodeData::ShadowRoot => Content::ShadowRoot,
            NodeData::FrameDocument => Content::FrameDocument,
            NodeData::Boxed {
                ns,
                tag,
                attrs,
                width,
                height,
            } => Content::Boxed {
                ns: *ns,
                tag: self.resolve(tag)?,
                attrs: self.resolve_attrs(attrs)?,
                width: *width,
                height: *height,
            },
        };
        if node.parent == 0 {
            if self.root != 0 {
                return Err(ModelError::DuplicateId { id });
            }
            self.root = id;
        } else {
            let parent = self
                .nodes
                .get_mut(&node.parent)
                .ok_or(ModelError::UnknownParent {
                    id,
                    parent: node.parent,
                })?;
            if !matches!(
                parent.content,
                Content::Document
                    | Content::Element { .. }
                    | Content::ShadowRoot
                    | Content::FrameDocument
            ) {
                return Err(ModelError::NotAContainer { id: node.parent });
            }
            let at = if before == 0 {
                parent.children.len()
            } else {
                parent.children.iter().position(|&c| c == before).ok_or(
                    ModelError::UnknownBefore {
                        id,
                        before,
                        parent: node.parent,
                    },
                )?
            };
            parent.children.insert(at, id);
        }
        self.nodes.insert(
            id,
            ModelNode {
                parent: node.parent,
                children: Vec::new(),
                content,
            },
        );
        Ok(())
    }

    /// Applies one batch in order; stops at the first op that does not apply.
    pub fn apply(&mut self, batch: &MutationBatch) -> Result<(), ModelError> {
        batch.ops.iter().try_for_each(|op| self.apply_op(op))
    }

    /// Applies one op (the mirror applies op by op, to patch the live DOM as it goes).
    pub fn apply_op(&mut self, op: &Mutation) -> Result<(), ModelError> {
        match op {
            Mutation::Add { node, before } => self.insert(node, *before),
            Mutation::Remove { node } => self.remove(*node),
            Mutation::Attribute { node, name, value } => {
                let name = self.resolve(name)?;
                let n = self
                    .nodes
                    .get_mut(node)
                    .ok_or(ModelError::UnknownNode { id: *node })?;
                let (Content::Element { attrs, .. } | Content::Boxed { attrs, .. }) =
                    &mut n.content
                else {
                    return Err(ModelError::UnknownNode { id: *node });
                };
                let at = attrs.iter().position(|(n, _)| *n == name);
                match (at, value) {
                    (Some(i), Some(v)) => attrs[i].1 = v.clone(),
                    (None, Some(v)) => attrs.push((name, v.clone())),
                    (Some(i), None) => {
                        attrs.remove(i);
                    }
                    (None, None) => {}
                }
                Ok(())
            }
            Mutation::Text { node, text } => {
                let n = self
                    .nodes
                    .get_mut(node)
                    .ok_or(ModelError::UnknownNode { id: *node })?;
                match &mut n.content {
                    Content::Text(t) | Content::Comment(t) => {
                        *t = text.clone();
                        Ok(())
                    }
                    _ => Err(ModelError::UnknownNode { id: *node }),
                }
            }
            Mutation::Sheet { sheet, change } => self.change_sheet(*sheet, change),
            Mutation::Adopted(a) => self.adopt(a),
            Mutation::Resize {
                node,
                width: w,
                height: h,
            } => {
                let n = self
                    .nodes
                    .get_mut(node)
                    .ok_or(ModelError::UnknownNode { id: *node })?;
                if let Content::Boxed { width, height, .. } = &mut n.content {
                    (*width, *height) = (*w, *h);
                }
                Ok(())
            }
        }
    }

    fn remove(&mut self, id: NodeId) -> Result<(), ModelError> {
        let node = self.nodes.get(&id).ok_or(ModelError::UnknownNode { id })?;
        let parent = node.parent;
        if let Some(p) = self.nodes.get_mut(&parent) {
            p.children.retain(|&c| c != id);
        }
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            if let Some(n) = self.nodes.remove(&id) {
                stack.extend(n.children);
            }
            self.owner_sheets.remove(&id);
            self.adopted.remove(&id);
            self.form.remove(&id);
            self.scrolls.remove(&id);
        }
        Ok(())
    }

    fn set_rules(&mut self, sheet: SheetRef, rules: Vec<String>) {
        match sheet {
            SheetRef::Owner(id) => self.owner_sheets.insert(id, rules),
            SheetRef::Constructed(n) => self.constructed.insert(n, rules),
        };
    }

    fn change_sheet(&mut self, sheet: SheetRef, change: &RuleChange) -> Result<(), ModelError> {
        if let RuleChange::ReplaceAll { rules } = change {
            if let SheetRef::Owner(id) = sheet {
                if !self.nodes.contains_key(&id) {
                    return Err(ModelError::UnknownNode { id });
                }
            }
            self.set_rules(sheet, rules.clone());
            return Ok(());
        }
        let rules = match sheet {
            SheetRef::Owner(id) => self.owner_sheets.get_mut(&id),
            SheetRef::Constructed(n) => self.constructed.get_mut(&n),
        }
        .ok_or(ModelError::UnknownSheet)?;
        match change {
            RuleChange::Insert { path, rule } => {
                let index = path.last().copied().unwrap_or(0);
                if index as usize > rules.len() || path.len() != 1 {
                    return Err(ModelError::RuleIndex {
                        index,
                        len: rules.len(),
                    });
                }
                rules.insert(index as usize, rule.clone());
            }
            RuleChange::Delete { path } => {
                let index = path.last().copied().unwrap_or(0);
                if index as usize >= rules.len() || path.len() != 1 {
                    return Err(ModelError::RuleIndex {
                        index,
                        len: rules.len(),
                    });
                }
                rules.remove(index as usize);
            }
            RuleChange::ReplaceAll { .. } => {}
        }
        Ok(())
    }

    fn adopt(&mut self, adopted: &AdoptedSheets) -> Result<(), ModelError> {
        if !self.nodes.contains_key(&adopted.scope) {
            return Err(ModelError::UnknownNode { id: adopted.scope });
        }
        self.adopted.insert(adopted.scope, adopted.sheets.clone());
        Ok(())
    }

    /// Applies a form value (snapshot entry or `InputValue` frame).
    pub fn apply_input(&mut self, value: &InputValue) -> Result<(), ModelError> {
        if !self.nodes.contains_key(&value.node) {
            return Err(ModelError::UnknownNode { id: value.node });
        }
        self.form.insert(value.node, value.value.clone());
        Ok(())
    }

    /// The id-free canonical form of the whole tree.
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        let mut stack = vec![(self.root, 0usize)];
        while let Some((id, depth)) = stack.pop() {
            let Some(node) = self.nodes.get(&id) else {
                continue;
            };
            for _ in 0..depth {
                out.push_str("  ");
            }
            self.line(id, node, &mut out);
            out.push('\n');
            stack.extend(node.children.iter().rev().map(|&c| (c, depth + 1)));
        }
        out
    }

    fn line(&self, id: NodeId, node: &ModelNode, out: &mut String) {
        let element = |out: &mut String, ns: &Namespace, tag: &str, attrs: &[(String, String)]| {
            let prefix = match ns {
                Namespace::Html => "",
                Namespace::Svg => "svg:",
                Namespace::MathMl => "math:",
            };
            let _ = write!(out, "<{prefix}{tag}");
            let mut sorted: Vec<_> = attrs.iter().collect();
            sorted.sort();
            for (n, v) in sorted {
                let _ = write!(out, " {n}={v:?}");
            }
            out.push('>');
        };
        match &node.content {
            Content::Document => out.push_str("#document"),
            Content::Doctype {
                name,
                public_id,
                system_id,
            } => {
                let _ = write!(out, "<!doctype {name} {public_id:?} {system_id:?}>");
            }
            Content::Element { ns, tag, attrs } => element(out, ns, tag, attrs),
            Content::Boxed {
                ns,
                tag,
                attrs,
                width,
                height,
            } => {
                element(out, ns, tag, attrs);
                let _ = write!(out, " box {width}x{height}");
            }
            Content::Text(t) => {
                let _ = write!(out, "{t:?}");
            }
            Content::Comment(t) => {
                let _ = write!(out, "<!--{t:?}-->");
            }
            Content::ShadowRoot => out.push_str("#shadow-root"),
            Content::FrameDocument => out.push_str("#frame-document"),
        }
        if let Some(v) = self.form.get(&id) {
            let _ = write!(out, " value={v:?}");
        }
        if let Some(rules) = self.owner_sheets.get(&id) {
            let _ = write!(out, " rules={rules:?}");
        }
        if let Some(sheets) = self.adopted.get(&id).filter(|s| !s.is_empty()) {
            let rules: Vec<_> = sheets.iter().map(|n| self.constructed.get(n)).collect();
            let _ = write!(out, " adopted={rules:?}");
        }
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
