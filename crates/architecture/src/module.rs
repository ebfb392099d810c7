//! The graph's vocabulary: a module as read from the sources (its place in the tree, what it
//! defines, imports and mentions) and an import edge between two modules.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

/// One module of the crate: a file, or an inline `mod name { .. }` inside one.
#[derive(Debug, Clone)]
pub struct Module {
    /// Its path from the crate root, without `crate` (the root itself is empty).
    pub path: Vec<String>,
    /// The file that holds it.
    pub file: PathBuf,
    /// Whether it is the whole of its file (inline modules share their parent's file).
    pub owns_file: bool,
    pub(crate) children: BTreeMap<String, usize>,
    pub(crate) parent: Option<usize>,
    /// Names of items it defines (types, functions, constants, traits, macros).
    pub(crate) items: BTreeSet<String>,
    /// `use` aliases: the name it brings in → the absolute path it names.
    pub(crate) aliases: HashMap<String, Vec<String>>,
    /// `use path::*` targets, absolute.
    pub(crate) globs: Vec<Vec<String>>,
    /// Paths it mentions, as written (relative to it), with `use` paths already absolute.
    pub(crate) mentions: Vec<Mention>,
    /// Its `use` declarations as written, until the whole tree is known (a `use` may name a
    /// child module declared further down the file, or an alias made by another `use`).
    pub(crate) uses: Vec<UseDecl>,
    /// Other crates its `use` declarations name (`web_sys`, `rusqlite`, ...).
    pub(crate) external_uses: BTreeSet<String>,
}

/// One name a `use` brings in (`alias`), or a glob (`None`), and the path as written.
#[derive(Debug, Clone)]
pub(crate) struct UseDecl {
    pub(crate) alias: Option<String>,
    pub(crate) path: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Mention {
    pub(crate) segments: Vec<String>,
    /// Already absolute (a `use` path, resolved once the tree was known).
    pub(crate) absolute: bool,
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
