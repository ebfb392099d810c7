//! The module graph of one crate's sources, as the compiler would resolve its imports, for the
//! workspace's architecture tests (`tests/`): which module imports which, the import circles,
//! which files lack a `//!` doc and which production files grew too long.
//!
//! # Layout
//!
//! - `module`: a module as read ([`Module`]) and an import ([`Edge`]).
//! - `parse`: one file's syntax, with `syn`.
//! - `load`: the walk from the root file along `mod` declarations.
//! - `graph`: resolution, edges and circles ([`Graph`]).
//!
//! How it reads a crate:
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

mod graph;
mod load;
mod module;
mod parse;

pub use graph::Graph;
pub use load::LoadError;
pub use module::{Edge, Module};
