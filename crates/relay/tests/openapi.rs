//! The API description matches what the relay serves: every path a router registers (found in
//! the source, the one place routes are declared) is in `openapi.json`, and every documented
//! path is served. A route added without documentation, or documentation left behind by a
//! removed route, fails here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeSet, fs, path::Path};

/// The path literal of every `.route(` call and `#[utoipa::path(` attribute in `src`,
/// recursively.
fn served(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            served(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path).unwrap();
            for (i, _) in text.match_indices(".route(") {
                let rest = text[i + ".route(".len()..].trim_start();
                let Some(literal) = rest.strip_prefix('"') else {
                    panic!("{}: a route whose path is not a literal", path.display());
                };
                let end = literal.find('"').unwrap();
                out.insert(literal[..end].to_owned());
            }
            // A handler documented with `#[utoipa::path(...)]` is served at its `path` by
            // `utoipa_axum::routes!` (messaging and routing).
            for (i, _) in text.match_indices("#[utoipa::path(") {
                let rest = &text[i..];
                let Some(start) = rest.find("path = \"") else {
                    panic!("{}: a documented handler without a path", path.display());
                };
                let literal = &rest[start + "path = \"".len()..];
                let end = literal.find('"').unwrap();
                out.insert(literal[..end].to_owned());
            }
        }
    }
}

#[test]
fn every_served_route_is_documented_and_every_documented_path_is_served() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut routes = BTreeSet::new();
    served(&root.join("src"), &mut routes);
    assert!(
        routes.len() > 40,
        "the scan found too few routes: {routes:?}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(root.join("src/openapi.json")).unwrap()).unwrap();
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in openapi.json: {undocumented:?}"
    );
    assert!(
        stale.is_empty(),
        "in openapi.json but not served: {stale:?}"
    );
}
