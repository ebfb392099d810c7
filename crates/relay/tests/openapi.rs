//! The API description is the handlers' own and says what the relay serves. Against a real
//! relay: the document it serves is the published `crates/relay/openapi.json` (run with
//! `UPDATE_OPENAPI=1` to rewrite it), it parses as OpenAPI 3.1 with every `$ref` resolving and
//! every operation tagged with a declared area, summarized and its `operationId` unique;
//! every documented path and method is really served (not the static fallback's 404, not a
//! 405) and every other method on a documented path is refused with 405 (or is a CORS layer's
//! answer to a browser's preflight). A route declared outside the generated routers (a
//! `.route("...")` in the sources) must be documented too, so a route added without
//! documentation fails here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{collections::BTreeSet, fs, path::Path};

use common::Relay;
use serde_json::Value;

const PUBLISHED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

const METHODS: [&str; 6] = ["get", "post", "put", "delete", "patch", "options"];

/// The document a running relay serves, as text.
async fn served(relay: &Relay) -> String {
    let (status, text) = relay.request("GET", "/api/openapi.json", &[], None).await;
    assert_eq!(status, 200, "{text}");
    text
}

/// Every documented (method, path) of `doc`.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_published_description_is_the_one_the_handlers_produce() {
    let relay = Relay::start(|_| {}).await;
    let generated = served(&relay).await + "\n";
    relay.stop().await;
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        fs::write(PUBLISHED, &generated).unwrap();
        return;
    }
    let published = fs::read_to_string(PUBLISHED).unwrap_or_default();
    let first = published
        .lines()
        .zip(generated.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(published.lines().count().min(generated.lines().count()));
    assert!(
        published == generated,
        "crates/relay/openapi.json differs from what the handlers produce.\n\
         Regenerate it with: UPDATE_OPENAPI=1 cargo test -p relay --test openapi\n\
         line {}: published {:?}, generated {:?}",
        first + 1,
        published.lines().nth(first).unwrap_or(""),
        generated.lines().nth(first).unwrap_or(""),
    );
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(fields) => {
            if let Some(Value::String(r)) = fields.get("$ref") {
                out.push(r);
            }
            fields.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_description_is_valid_openapi_3_1_and_every_operation_says_what_it_does() {
    let relay = Relay::start(|_| {}).await;
    let text = served(&relay).await;
    relay.stop().await;
    let spec = oas3::from_json(&text).expect("the document parses as OpenAPI 3.1");
    assert!(spec.openapi.starts_with("3.1"), "version {}", spec.openapi);
    assert_eq!(spec.info.version, env!("CARGO_PKG_VERSION"));
    let paths = spec.paths.as_ref().expect("paths");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(operations(&doc).len() > 60, "too few operations");
    assert_eq!(
        paths.len(),
        doc["paths"].as_object().unwrap().len(),
        "every path parsed"
    );

    let mut problems = Vec::new();
    let mut operation_ids = BTreeSet::new();
    let tags: BTreeSet<&str> = spec.tags.iter().map(|t| t.name.as_str()).collect();
    for (path, item) in paths {
        for (method, op) in item.methods() {
            let name = format!("{method} {path}");
            if let Some(id) = &op.operation_id {
                if !operation_ids.insert(id.clone()) {
                    problems.push(format!("{name}: operationId {id} is not unique"));
                }
            }
            if op.summary.as_deref().unwrap_or("").is_empty() {
                problems.push(format!("{name}: no summary"));
            }
            if op.responses.as_ref().is_none_or(|r| r.is_empty()) {
                problems.push(format!("{name}: no responses"));
            }
            match op.tags.first() {
                Some(tag) if tags.contains(tag.as_str()) => {}
                other => problems.push(format!("{name}: tag {other:?} is not a declared area")),
            }
            if doc["paths"][path][method.as_str().to_lowercase()]["security"].is_null()
                && doc["security"].is_null()
            {
                problems.push(format!("{name}: says nothing of sign-in"));
            }
        }
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("cookie") && schemes.contains_key("bearer"));
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
        if doc["components"]["schemas"].get(name).is_none() {
            problems.push(format!("$ref {r} resolves to nothing"));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// `path` with every `{param}` filled in.
fn concrete(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        out.push_str("nothing1");
        rest = &rest[close + 1..];
    }
    out + rest
}

#[tokio::test]
async fn every_documented_operation_is_served_and_no_other_method_is() {
    let relay = Relay::start(|_| {}).await;
    let doc: Value = serde_json::from_str(&served(&relay).await).unwrap();
    let documented = operations(&doc);
    let client = reqwest::Client::builder()
        .timeout(common::WAIT)
        .build()
        .unwrap();
    let mut problems = Vec::new();
    for path in doc["paths"].as_object().unwrap().keys() {
        let url = concrete(path);
        for method in METHODS {
            let response = client
                .request(
                    reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    format!("http://{}{url}", relay.addr),
                )
                // As a page of the test site would send it: a preflight's CORS answer shows.
                .header("Origin", common::ORIGIN)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            // A CORS layer's answer to a browser's preflight is not an operation of the API.
            let preflight = method == "options"
                && response
                    .headers()
                    .contains_key("access-control-allow-methods");
            let body = response.text().await.unwrap();
            // A handler's 404 names what is missing (JSON); the static fallback's is empty.
            let fallback = status == 404 && serde_json::from_str::<Value>(&body).is_err();
            let refused = status == 405 || fallback;
            let listed = documented.contains(&(method.to_owned(), path.clone()));
            if listed && refused {
                problems.push(format!(
                    "{method} {path} is documented but not served ({status})"
                ));
            }
            if !listed && status != 405 && !preflight {
                problems.push(format!(
                    "{method} {path} is served ({status}) but not documented"
                ));
            }
        }
    }
    relay.stop().await;
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The path literal of every `.route(` call in `src`, recursively: routes added outside the
/// generated routers.
fn plain_routes(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            plain_routes(&path, out);
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
        }
    }
}

#[test]
fn every_route_declared_outside_the_generated_routers_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut routes = BTreeSet::new();
    plain_routes(&root.join("src"), &mut routes);
    let doc: Value = serde_json::from_str(&fs::read_to_string(PUBLISHED).unwrap()).unwrap();
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in the API description: {undocumented:?}"
    );
}
