//! The module graph of one crate's sources, as the compiler would resolve its imports, for the
//! workspace's architecture tests (`tests/`): which module imports which, the import circles,
//! which files lack a `//!` doc and which production files grew too long.
//!
//! # Layout
//!
//! - [`Graph::load`] walks the crate from its root file along `mod` declarations (skipping
//!   `#[cfg(test)]` items, which may import anything), parses each file with `syn`, and records
//!   every path that names something of the crate: `use` items and paths in code, types and
//!   macro bodies.
//! - Each path is resolved to the module that *defines* what it names, following `use`
//!   re-exports, so a facade `mod.rs` that re-exports a child's type does not put itself on a
//!   circle it is not part of.
//! - [`Graph::cycles`] gives the strongly connected components of that graph (Tarjan).
//!
//! **Invariant:** the check is a static reading of the sources, never of a build: it runs in a
//! second and needs no target, so CI runs it before anything is compiled.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::{Path, PathBuf},
};

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::{visit::Visit, Attribute, Item, UseTree};

/// Why a crate's sources could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("parsing {path}: {source}")]
    Parse { path: PathBuf, source: syn::Error },
    #[error("module `{module}` is declared in {parent} but neither {a} nor {b} exists")]
    MissingFile {
        module: String,
        parent: PathBuf,
        a: PathBuf,
        b: PathBuf,
    },
}

/// One module of the crate: a file, or an inline `mod name { .. }` inside one.
#[derive(Debug, Clone)]
pub struct Module {
    /// Its path from the crate root, without `crate` (the root itself is empty).
    pub path: Vec<String>,
    /// The file that holds it.
    pub file: PathBuf,
    /// Whether it is the whole of its file (inline modules share their parent's file).
    pub owns_file: bool,
    children: BTreeMap<String, usize>,
    parent: Option<usize>,
    /// Names of items it defines (types, functions, constants, traits, macros).
    items: BTreeSet<String>,
    /// `use` aliases: the name it brings in → the absolute path it names.
    aliases: HashMap<String, Vec<String>>,
    /// `use path::*` targets, absolute.
    globs: Vec<Vec<String>>,
    /// Paths it mentions, as written (relative to it), with `use` paths already absolute.
    mentions: Vec<Mention>,
}

#[derive(Debug, Clone)]
struct Mention {
    segments: Vec<String>,
    /// Already absolute (a `use` path resolved against this module at parse time).
    absolute: bool,
}

impl Module {
    /// `a::b::c`, or `crate` for the root.
    pub fn name(&self) -> String {
        if self.path.is_empty() {
            "crate".to_owned()
        } else {
            self.path.join("::")
        }
    }
}

/// One import: `from` names something `to` defines, first seen as `via`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// The path as written where it was first seen.
    pub via: String,
}

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

/// `#[cfg(test)]` (or a `cfg` that holds only under test): such items may import anything.
fn is_test_only(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && {
            let text = a.meta.to_token_stream().to_string();
            text.contains("test") && !text.contains("not")
        }
    })
}

fn path_attr(attrs: &[Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| {
        if !a.path().is_ident("path") {
            return None;
        }
        match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        }
    })
}

fn has_inner_doc(file: &syn::File) -> bool {
    file.attrs
        .iter()
        .any(|a| matches!(a.style, syn::AttrStyle::Inner(_)) && a.path().is_ident("doc"))
}

fn item_attrs(item: &Item) -> &[Attribute] {
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

fn item_name(item: &Item) -> Option<String> {
    Some(match item {
        Item::Const(i) => i.ident.to_string(),
        Item::Enum(i) => i.ident.to_string(),
        Item::Fn(i) => i.sig.ident.to_string(),
        Item::Macro(i) => i.ident.as_ref()?.to_string(),
        Item::Static(i) => i.ident.to_string(),
        Item::Struct(i) => i.ident.to_string(),
        Item::Trait(i) => i.ident.to_string(),
        Item::TraitAlias(i) => i.ident.to_string(),
        Item::Type(i) => i.ident.to_string(),
        Item::Union(i) => i.ident.to_string(),
        _ => return None,
    })
}

/// Flattens a use tree into `(alias, path)` pairs and glob paths, as written.
fn flatten_use(
    tree: &UseTree,
    prefix: &mut Vec<String>,
    out: &mut Vec<(String, Vec<String>)>,
    globs: &mut Vec<Vec<String>>,
) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, out, globs);
            prefix.pop();
        }
        UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                if let Some(last) = prefix.last() {
                    out.push((last.clone(), prefix.clone()));
                }
            } else {
                let mut path = prefix.clone();
                path.push(name.clone());
                out.push((name, path));
            }
        }
        UseTree::Rename(r) => {
            let mut path = prefix.clone();
            let name = r.ident.to_string();
            if name != "self" {
                path.push(name);
            }
            out.push((r.rename.to_string(), path));
        }
        UseTree::Glob(_) => globs.push(prefix.clone()),
        UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(t, prefix, out, globs);
            }
        }
    }
}

/// Collects the paths one item mentions (skipping test-only nested items).
#[derive(Default)]
struct Paths {
    found: Vec<Vec<String>>,
    nested_uses: Vec<syn::ItemUse>,
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item(&mut self, item: &'ast Item) {
        if is_test_only(item_attrs(item)) {
            return;
        }
        if let Item::Use(u) = item {
            self.nested_uses.push(u.clone());
            return;
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() && path.segments.len() > 1 {
            self.found
                .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        scan_tokens(mac.tokens.clone(), &mut self.found);
    }

    fn visit_attribute(&mut self, _: &'ast Attribute) {
        // Attribute paths (derives, serde, cfg) never name the crate's own modules.
    }
}

/// Finds `crate::a::b`, `super::a` and `self::a` sequences in a macro's tokens, which syn
/// does not parse.
fn scan_tokens(tokens: TokenStream, out: &mut Vec<Vec<String>>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(g) => scan_tokens(g.stream(), out),
            TokenTree::Ident(id)
                if matches!(id.to_string().as_str(), "crate" | "super" | "self") =>
            {
                let mut path = vec![id.to_string()];
                let mut j = i + 1;
                while j + 2 < tokens.len() + 1 {
                    let (
                        Some(TokenTree::Punct(a)),
                        Some(TokenTree::Punct(b)),
                        Some(TokenTree::Ident(next)),
                    ) = (tokens.get(j), tokens.get(j + 1), tokens.get(j + 2))
                    else {
                        break;
                    };
                    if a.as_char() != ':' || b.as_char() != ':' {
                        break;
                    }
                    path.push(next.to_string());
                    j += 3;
                }
                if path.len() > 1 {
                    out.push(path);
                }
                i = j.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

struct Loader {
    modules: Vec<Module>,
    /// Per module that owns its file: whether the file starts with a `//!` doc.
    doc: HashMap<usize, bool>,
    /// Per module that owns its file: its line count.
    lines: HashMap<usize, usize>,
}

impl Loader {
    fn new_module(
        &mut self,
        path: Vec<String>,
        file: PathBuf,
        owns_file: bool,
        parent: Option<usize>,
    ) -> usize {
        let idx = self.modules.len();
        self.modules.push(Module {
            path,
            file,
            owns_file,
            children: BTreeMap::new(),
            parent,
            items: BTreeSet::new(),
            aliases: HashMap::new(),
            globs: Vec::new(),
            mentions: Vec::new(),
        });
        idx
    }

    /// Where the files of `module`'s `mod x;` children live.
    fn child_dir(&self, module: usize) -> PathBuf {
        let m = &self.modules[module];
        let file = &m.file;
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let mut dir = if matches!(stem, "mod" | "lib" | "main") {
            dir
        } else {
            dir.join(stem)
        };
        // Inline modules nest their children's directory under their own name.
        let mut inline = Vec::new();
        let mut cur = module;
        while !self.modules[cur].owns_file {
            if let Some(last) = self.modules[cur].path.last() {
                inline.push(last.clone());
            }
            match self.modules[cur].parent {
                Some(p) => cur = p,
                None => break,
            }
        }
        for name in inline.iter().rev() {
            dir = dir.join(name);
        }
        dir
    }

    fn load_file(&mut self, module: usize) -> Result<(), LoadError> {
        let path = self.modules[module].file.clone();
        let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Read {
            path: path.clone(),
            source,
        })?;
        let file = syn::parse_file(&text).map_err(|source| LoadError::Parse {
            path: path.clone(),
            source,
        })?;
        self.doc.insert(module, has_inner_doc(&file));
        self.lines.insert(module, text.lines().count());
        self.items(module, &file.items)
    }

    fn items(&mut self, module: usize, items: &[Item]) -> Result<(), LoadError> {
        for item in items {
            if is_test_only(item_attrs(item)) {
                continue;
            }
            if let Some(name) = item_name(item) {
                self.modules[module].items.insert(name);
            }
            match item {
                Item::Mod(m) => {
                    let name = m.ident.to_string();
                    let mut path = self.modules[module].path.clone();
                    path.push(name.clone());
                    match &m.content {
                        Some((_, inner)) => {
                            let file = self.modules[module].file.clone();
                            let child = self.new_module(path, file, false, Some(module));
                            self.modules[module].children.insert(name, child);
                            self.items(child, inner)?;
                        }
                        None => {
                            let base = match path_attr(&m.attrs) {
                                Some(p) => {
                                    let here = self.modules[module]
                                        .file
                                        .parent()
                                        .map(Path::to_path_buf)
                                        .unwrap_or_default();
                                    Some(here.join(p))
                                }
                                None => None,
                            };
                            let file = match base {
                                Some(f) => f,
                                None => {
                                    let dir = self.child_dir(module);
                                    let a = dir.join(format!("{name}.rs"));
                                    let b = dir.join(&name).join("mod.rs");
                                    if a.exists() {
                                        a
                                    } else if b.exists() {
                                        b
                                    } else {
                                        return Err(LoadError::MissingFile {
                                            module: name,
                                            parent: self.modules[module].file.clone(),
                                            a,
                                            b,
                                        });
                                    }
                                }
                            };
                            let child = self.new_module(path, file, true, Some(module));
                            self.modules[module].children.insert(name, child);
                            self.load_file(child)?;
                        }
                    }
                }
                Item::Use(u) => self.record_use(module, u),
                other => {
                    let mut paths = Paths::default();
                    paths.visit_item(other);
                    for segments in paths.found {
                        self.modules[module].mentions.push(Mention {
                            segments,
                            absolute: false,
                        });
                    }
                    for u in &paths.nested_uses {
                        self.record_use(module, u);
                    }
                }
            }
        }
        Ok(())
    }

    fn record_use(&mut self, module: usize, u: &syn::ItemUse) {
        let mut pairs = Vec::new();
        let mut globs = Vec::new();
        flatten_use(&u.tree, &mut Vec::new(), &mut pairs, &mut globs);
        for (alias, path) in pairs {
            if let Some(abs) = self.absolute(module, &path) {
                self.modules[module].mentions.push(Mention {
                    segments: abs.clone(),
                    absolute: true,
                });
                if alias != "_" {
                    self.modules[module].aliases.insert(alias, abs);
                }
            }
        }
        for path in globs {
            if let Some(abs) = self.absolute(module, &path) {
                self.modules[module].mentions.push(Mention {
                    segments: abs.clone(),
                    absolute: true,
                });
                self.modules[module].globs.push(abs);
            }
        }
    }

    /// `path` as written in `module`, made absolute (without `crate`); `None` when it starts
    /// outside the crate (another crate, a local name). Child modules declared later in the
    /// file are not known yet at parse time, so relative `use` paths starting with a child's
    /// name are resolved again in [`Graph::resolve_mentions`].
    fn absolute(&self, module: usize, path: &[String]) -> Option<Vec<String>> {
        absolute_in(&self.modules, module, path)
    }
}

fn absolute_in(modules: &[Module], module: usize, path: &[String]) -> Option<Vec<String>> {
    let first = path.first()?;
    let mut base = modules[module].path.clone();
    let mut rest = path;
    match first.as_str() {
        "crate" => {
            base.clear();
            rest = &path[1..];
        }
        "self" => rest = &path[1..],
        "super" => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        name => {
            let m = &modules[module];
            if m.children.contains_key(name) {
                // relative to this module
            } else if let Some(target) = m.aliases.get(name) {
                let mut abs = target.clone();
                abs.extend_from_slice(&path[1..]);
                return Some(abs);
            } else {
                return None;
            }
        }
    }
    base.extend_from_slice(rest);
    Some(base)
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
        self.externals
            .iter()
            .map(|(&m, names)| (self.modules[m].name(), names.clone()))
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
