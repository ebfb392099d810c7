//! The graph itself: every mention resolved to the module that defines what it names
//! (following `use` re-exports and globs), the edges between modules, and the circles
//! (strongly connected components, by Tarjan's algorithm).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::Path,
};

use crate::load::{absolute_in, LoadError, Loader};
use crate::module::{Edge, Module};

/// The module graph of one crate.
#[derive(Debug)]
pub struct Graph {
    modules: Vec<Module>,
    /// `from → to → via`, between distinct modules.
    edges: BTreeMap<usize, BTreeMap<usize, String>>,
    /// Names of external crates mentioned per module (first path segment that resolves to
    /// nothing of the crate), for rules such as "only `web` touches web-sys".
    externals: BTreeMap<usize, BTreeSet<String>>,
    /// Per module that owns its file: whether the file starts with a `//!` doc.
    doc: HashMap<usize, bool>,
    /// Per module that owns its file: its line count.
    lines: HashMap<usize, usize>,
}

impl Graph {
    /// Reads the crate whose root file is `root` (`src/lib.rs`).
    pub fn load(root: &Path) -> Result<Graph, LoadError> {
        let mut loader = Loader {
            modules: Vec::new(),
            doc: HashMap::new(),
            lines: HashMap::new(),
        };
        let idx = loader.new_module(Vec::new(), root.to_path_buf(), true, None);
        loader.load_file(idx)?;
        loader.resolve_uses();
        let mut graph = Graph {
            modules: loader.modules,
            edges: BTreeMap::new(),
            externals: BTreeMap::new(),
            doc: loader.doc,
            lines: loader.lines,
        };
        graph.resolve_mentions();
        Ok(graph)
    }

    fn find(&self, path: &[String]) -> Option<usize> {
        let mut cur = 0;
        for seg in path {
            cur = *self.modules[cur].children.get(seg)?;
        }
        Some(cur)
    }

    /// The module that defines what absolute `path` names, following re-exports; `depth`
    /// bounds alias chains (a circle of `pub use`s would otherwise loop).
    fn defining(&self, path: &[String], depth: u32) -> Option<usize> {
        if depth > 16 {
            return None;
        }
        let mut cur = 0;
        for (i, seg) in path.iter().enumerate() {
            let m = &self.modules[cur];
            if let Some(&child) = m.children.get(seg) {
                cur = child;
                continue;
            }
            if m.items.contains(seg) {
                return Some(cur);
            }
            if let Some(target) = m.aliases.get(seg) {
                let mut next = target.clone();
                next.extend_from_slice(&path[i + 1..]);
                if next.as_slice() != path {
                    return self.defining(&next, depth + 1).or(Some(cur));
                }
            }
            for glob in &m.globs {
                let mut next = glob.clone();
                next.extend_from_slice(&path[i..]);
                if let Some(found) = self.defining_strict(&next, depth + 1) {
                    return Some(found);
                }
            }
            // Something the sources do not show (a variant, a macro-made item): this module.
            return Some(cur);
        }
        Some(cur)
    }

    /// As [`Graph::defining`], but only when the name is really found.
    fn defining_strict(&self, path: &[String], depth: u32) -> Option<usize> {
        let (last, parent) = path.split_last()?;
        let module = self.find(parent)?;
        let m = &self.modules[module];
        if m.children.contains_key(last) || m.items.contains(last) || m.aliases.contains_key(last) {
            self.defining(path, depth)
        } else {
            None
        }
    }

    fn resolve_mentions(&mut self) {
        for from in 0..self.modules.len() {
            let mentions = self.modules[from].mentions.clone();
            for mention in mentions {
                let abs = if mention.absolute {
                    Some(mention.segments.clone())
                } else {
                    absolute_in(&self.modules, from, &mention.segments)
                };
                let Some(abs) = abs else {
                    if let Some(first) = mention.segments.first() {
                        let local = self.modules[from].items.contains(first)
                            || matches!(first.as_str(), "Self" | "self" | "super" | "crate");
                        if !local {
                            self.externals
                                .entry(from)
                                .or_default()
                                .insert(first.clone());
                        }
                    }
                    continue;
                };
                let Some(to) = self.defining(&abs, 0) else {
                    continue;
                };
                if to == from || to == 0 && abs.is_empty() {
                    continue;
                }
                self.edges
                    .entry(from)
                    .or_default()
                    .entry(to)
                    .or_insert_with(|| mention.segments.join("::"));
            }
        }
    }

    /// Every module, root first.
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// Lines of the file a module owns (`None` for inline modules).
    pub fn lines(&self, module: &Module) -> Option<usize> {
        let idx = self.modules.iter().position(|m| m.path == module.path)?;
        self.lines.get(&idx).copied()
    }

    /// Whether the file a module owns starts with a `//!` doc (`None` for inline modules).
    pub fn has_doc(&self, module: &Module) -> Option<bool> {
        let idx = self.modules.iter().position(|m| m.path == module.path)?;
        self.doc.get(&idx).copied()
    }

    /// Every import between two distinct modules.
    pub fn edges(&self) -> Vec<Edge> {
        self.edges
            .iter()
            .flat_map(|(&from, tos)| {
                tos.iter().map(move |(&to, via)| Edge {
                    from: self.modules[from].name(),
                    to: self.modules[to].name(),
                    via: via.clone(),
                })
            })
            .collect()
    }

    /// External crates each module mentions by path (`web_sys`, `rusqlite`, ...).
    pub fn externals(&self) -> Vec<(String, BTreeSet<String>)> {
        self.modules
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let mut names = m.external_uses.clone();
                names.extend(self.externals.get(&i).into_iter().flatten().cloned());
                (!names.is_empty()).then(|| (m.name(), names))
            })
            .collect()
    }

    /// The import circles: each strongly connected component of more than one module, as
    /// module names, with the edges inside it.
    pub fn cycles(&self) -> Vec<Vec<Edge>> {
        let n = self.modules.len();
        let mut index = vec![usize::MAX; n];
        let mut low = vec![0; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut next = 0;
        let mut components = Vec::new();
        // Iterative Tarjan: (node, child position) frames.
        for start in 0..n {
            if index[start] != usize::MAX {
                continue;
            }
            let mut frames: Vec<(usize, usize)> = vec![(start, 0)];
            index[start] = next;
            low[start] = next;
            next += 1;
            stack.push(start);
            on_stack[start] = true;
            while let Some(&mut (v, ref mut pos)) = frames.last_mut() {
                let succ: Vec<usize> = self
                    .edges
                    .get(&v)
                    .map(|m| m.keys().copied().collect())
                    .unwrap_or_default();
                if *pos < succ.len() {
                    let w = succ[*pos];
                    *pos += 1;
                    if index[w] == usize::MAX {
                        index[w] = next;
                        low[w] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        frames.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                } else {
                    frames.pop();
                    if let Some(&(parent, _)) = frames.last() {
                        low[parent] = low[parent].min(low[v]);
                    }
                    if low[v] == index[v] {
                        let mut component = Vec::new();
                        while let Some(w) = stack.pop() {
                            on_stack[w] = false;
                            component.push(w);
                            if w == v {
                                break;
                            }
                        }
                        if component.len() > 1 {
                            components.push(component);
                        }
                    }
                }
            }
        }
        components
            .into_iter()
            .map(|c| {
                let set: BTreeSet<usize> = c.iter().copied().collect();
                let mut edges = Vec::new();
                for &from in &set {
                    if let Some(tos) = self.edges.get(&from) {
                        for (&to, via) in tos {
                            if set.contains(&to) {
                                edges.push(Edge {
                                    from: self.modules[from].name(),
                                    to: self.modules[to].name(),
                                    via: via.clone(),
                                });
                            }
                        }
                    }
                }
                edges
            })
            .collect()
    }
}
