//! The workspace's shape, checked: no import circle in any crate, the relay's layers pointing
//! one way, the browser library's bindings only in `web`, the protocol crate free of I/O,
//! every source file documented, and no production file past 500 lines. Each failure names
//! the imports or files to look at.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use architecture::Graph;

fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn graph(krate: &str) -> Graph {
    let lib = root().join("crates").join(krate).join("src/lib.rs");
    Graph::load(&lib).unwrap_or_else(|e| panic!("reading {krate}: {e}"))
}

fn no_circles(krate: &str) {
    let circles = graph(krate).cycles();
    let text: Vec<String> = circles
        .iter()
        .map(|edges| {
            edges
                .iter()
                .map(|e| format!("  {} -> {}   ({})", e.from, e.to, e.via))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    assert!(
        circles.is_empty(),
        "{krate} has import circles (each module below imports one that imports it back):\n{}",
        text.join("\n  --\n")
    );
}

#[test]
fn the_relay_has_no_import_circle() {
    no_circles("relay");
}

#[test]
fn the_browser_library_has_no_import_circle() {
    no_circles("cobrowse-wasm");
}

#[test]
fn the_protocol_crate_and_this_one_have_no_import_circle() {
    no_circles("protocol");
    no_circles("architecture");
    no_circles("e2ee");
}

/// The relay's top-level modules and what each may import. The leaf core imports nothing of
/// the domains; a domain imports the core (reporting also reads routing's records and
/// implements its journal) and never another domain; `bridge` and `app` wire domains
/// together; `metrics` and `http` sit on top. A module missing here fails the test: a new
/// module must say which layer it is in.
const RELAY_LAYERS: &[(&str, &[&str])] = &[
    // The leaf core.
    ("ids", &[]),
    ("config", &[]),
    ("cluster", &[]),
    ("policy", &[]),
    ("store", &["ids"]),
    ("error", &["store", "policy"]),
    ("sites", &["store", "ids"]),
    // Accounts tells the other nodes of the revocations it makes (`accounts::fanout`);
    // `cluster` imports nothing, so this points down.
    (
        "accounts",
        &[
            "store", "ids", "error", "clients", "limits", "config", "policy", "cluster",
        ],
    ),
    ("clients", &["error"]),
    ("limits", &["config", "error", "clients"]),
    // Domains.
    ("cobrowse", CORE),
    ("messaging", CORE),
    ("routing", CORE),
    ("admin", CORE),
    (
        "reporting",
        &[
            "ids", "config", "store", "error", "sites", "accounts", "policy", "routing",
        ],
    ),
    // The composition root.
    (
        "bridge",
        &["ids", "config", "store", "error", "messaging", "routing"],
    ),
    (
        "app",
        &[
            "ids",
            "config",
            "store",
            "error",
            "sites",
            "accounts",
            "clients",
            "limits",
            "policy",
            "cluster",
            "cobrowse",
            "messaging",
            "routing",
            "reporting",
            "admin",
            "bridge",
        ],
    ),
    // On top.
    ("headers", &["clients"]),
    // A client of the wire and the REST API, not a part of the server.
    ("conformance", &[]),
    (
        "metrics",
        &[
            "ids",
            "config",
            "error",
            "clients",
            "store",
            "app",
            "cobrowse",
            "routing",
            "reporting",
        ],
    ),
    (
        "http",
        &[
            "ids", "config", "store", "error", "clients", "headers", "app", "metrics",
        ],
    ),
];

const CORE: &[&str] = &[
    "ids", "config", "store", "error", "sites", "accounts", "clients", "limits", "policy",
    "cluster",
];

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

#[test]
fn the_relay_s_layers_point_one_way() {
    let allowed: BTreeMap<&str, &[&str]> = RELAY_LAYERS.iter().copied().collect();
    let graph = graph("relay");
    let mut unknown = Vec::new();
    for m in graph.modules() {
        if let Some(first) = m.path.first() {
            if !allowed.contains_key(first.as_str()) && !unknown.contains(first) {
                unknown.push(first.clone());
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "top-level modules with no layer in RELAY_LAYERS: {unknown:?}"
    );
    let wrong: Vec<String> = graph
        .edges()
        .into_iter()
        .filter(|e| {
            let (from, to) = (top(&e.from), top(&e.to));
            from != "crate" && from != to && !allowed[from].contains(&to)
        })
        .map(|e| format!("  {} -> {}   ({})", e.from, e.to, e.via))
        .collect();
    assert!(
        wrong.is_empty(),
        "imports against the relay's layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn only_the_web_module_of_the_browser_library_touches_the_browser() {
    let bindings = ["web_sys", "js_sys", "wasm_bindgen"];
    let outside: Vec<String> = graph("cobrowse-wasm")
        .externals()
        .into_iter()
        .filter(|(module, _)| top(module) != "web")
        .filter_map(|(module, names)| {
            let used: Vec<&str> = bindings
                .iter()
                .copied()
                .filter(|b| names.contains(*b))
                .collect();
            (!used.is_empty()).then(|| format!("  {module}: {used:?}"))
        })
        .collect();
    assert!(
        outside.is_empty(),
        "browser bindings outside `web`:\n{}",
        outside.join("\n")
    );
}

/// The crates every side links, which must stay pure: the wire, and the encryption (whose
/// randomness comes from its caller, so no system RNG is reached from inside either).
const PURE_CRATES: &[&str] = &["protocol", "e2ee"];

#[test]
fn the_pure_crates_do_no_io_and_bind_no_browser() {
    let forbidden = [
        "std",
        "tokio",
        "axum",
        "web_sys",
        "js_sys",
        "wasm_bindgen",
        "rusqlite",
        "getrandom",
    ];
    for krate in PURE_CRATES {
        let found: Vec<String> = graph(krate)
            .externals()
            .into_iter()
            .filter_map(|(module, names)| {
                let bad: Vec<&str> = forbidden
                    .iter()
                    .copied()
                    .filter(|f| names.contains(*f))
                    .collect();
                (!bad.is_empty()).then(|| format!("  {module}: {bad:?}"))
            })
            .collect();
        assert!(found.is_empty(), "{krate} names:\n{}", found.join("\n"));
    }
}

/// Every `.rs` file of the workspace's own code (sources, tests, benches, fuzz targets).
fn rust_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                if !matches!(name.as_ref(), "target" | "node_modules" | "pkg" | ".git") {
                    walk(&path, out);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for dir in ["crates", "tests", "fuzz"] {
        walk(&root().join(dir), &mut out);
    }
    out.sort();
    out
}

#[test]
fn every_source_file_starts_by_saying_what_it_owns() {
    let files = rust_files();
    assert!(files.len() > 100, "found only {} files", files.len());
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            !first.starts_with("//!")
        })
        .map(|f| format!("  {}", f.display()))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a leading `//!` doc:\n{}",
        missing.join("\n")
    );
}

/// The house's limit on a production file (tests may be longer).
const MAX_LINES: usize = 500;

#[test]
fn no_production_file_is_longer_than_500_lines() {
    let mut long = Vec::new();
    for krate in ["relay", "protocol", "e2ee", "cobrowse-wasm", "architecture"] {
        let graph = graph(krate);
        for m in graph.modules() {
            if let Some(lines) = graph.lines(m).filter(|&n| n > MAX_LINES) {
                long.push(format!("  {} ({lines} lines)", m.file.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "production files over {MAX_LINES} lines (split by concept):\n{}",
        long.join("\n")
    );
}

/// The check itself: a circle, a layer break and a long file are each found, so a green run
/// means the workspace has none, not that the reader saw nothing.
#[test]
fn the_checks_find_what_they_look_for() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("lib.rs"),
        "//! A crate with a circle.\npub mod a;\npub mod b;\npub mod c;\npub use c::Thing;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("a.rs"),
        "//! a\nuse crate::b::B;\npub struct A(pub B);\n",
    )
    .unwrap();
    std::fs::write(
        src.join("b.rs"),
        "//! b\npub struct B;\npub fn make() -> crate::a::A { crate::a::A(B) }\n",
    )
    .unwrap();
    // Re-exported by lib.rs, used by nobody: no circle through the facade.
    std::fs::write(src.join("c.rs"), "//! c\npub struct Thing;\n").unwrap();
    let graph = Graph::load(&src.join("lib.rs")).unwrap();
    let circles = graph.cycles();
    assert_eq!(circles.len(), 1, "{circles:?}");
    let mut names: Vec<&str> = circles[0].iter().map(|e| e.from.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["a", "b"]);
    assert!(graph
        .edges()
        .iter()
        .any(|e| e.from == "crate" && e.to == "c"));
}
