//! Walking a crate's files from its root along `mod` declarations into [`Module`]s, with each
//! module's definitions, `use` aliases and mentioned paths, and making a path written in one
//! module absolute.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::{Path, PathBuf},
};

use syn::{visit::Visit, Item};

use crate::module::{Mention, Module, UseDecl};
use crate::parse::{
    flatten_use, has_inner_doc, is_test_only, item_attrs, item_name, path_attr, Paths,
};

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

/// The modules read so far, with what only the reading needs.
pub(crate) struct Loader {
    pub(crate) modules: Vec<Module>,
    /// Per module that owns its file: whether the file starts with a `//!` doc.
    pub(crate) doc: HashMap<usize, bool>,
    /// Per module that owns its file: its line count.
    pub(crate) lines: HashMap<usize, usize>,
}

impl Loader {
    pub(crate) fn new_module(
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
            uses: Vec::new(),
            external_uses: BTreeSet::new(),
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

    pub(crate) fn load_file(&mut self, module: usize) -> Result<(), LoadError> {
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
        let uses = &mut self.modules[module].uses;
        uses.extend(pairs.into_iter().map(|(alias, path)| UseDecl {
            alias: Some(alias),
            path,
        }));
        uses.extend(globs.into_iter().map(|path| UseDecl { alias: None, path }));
    }

    /// Resolves every `use` once the whole tree is read: each becomes an absolute mention and
    /// an alias (or glob) of its module, or, when it starts outside the crate, an external
    /// use. Rounds repeat while any resolves, since one `use` may go through another's alias.
    pub(crate) fn resolve_uses(&mut self) {
        for _ in 0..8 {
            let mut progress = false;
            for module in 0..self.modules.len() {
                let pending = std::mem::take(&mut self.modules[module].uses);
                let mut left = Vec::new();
                for decl in pending {
                    match absolute_in(&self.modules, module, &decl.path) {
                        Some(abs) => {
                            progress = true;
                            let m = &mut self.modules[module];
                            m.mentions.push(Mention {
                                segments: abs.clone(),
                                absolute: true,
                            });
                            match decl.alias {
                                Some(alias) if alias == "_" => {}
                                Some(alias) => {
                                    m.aliases.insert(alias, abs);
                                }
                                None => m.globs.push(abs),
                            }
                        }
                        None => left.push(decl),
                    }
                }
                self.modules[module].uses = left;
            }
            if !progress {
                break;
            }
        }
        for m in &mut self.modules {
            for decl in std::mem::take(&mut m.uses) {
                if let Some(first) = decl.path.first() {
                    let local = m.items.contains(first)
                        || matches!(first.as_str(), "self" | "super" | "crate");
                    if !local {
                        m.external_uses.insert(first.clone());
                    }
                }
            }
        }
    }
}

pub(crate) fn absolute_in(
    modules: &[Module],
    module: usize,
    path: &[String],
) -> Option<Vec<String>> {
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
