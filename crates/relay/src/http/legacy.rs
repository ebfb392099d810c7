//! Transitional, deleted once every area is generated: the operations of the old hand-written
//! `src/openapi.json` that the generated document does not have yet (messaging's and
//! routing's, whose handlers are being annotated on another branch), merged into the served
//! document so it stays complete meanwhile. Generated operations always win; a hand-written
//! one only fills a path and method nothing generated describes, with the schemas it refers
//! to, and gets its area's tag so the console's API page groups it.

use serde_json::{Map, Value};

/// The old hand-written description.
const HAND_WRITTEN: &str = include_str!("../openapi.json");

/// Adds to `doc` every operation (and component schema) of the hand-written description that
/// `doc` lacks.
pub fn fill_missing(doc: &mut Value) {
    let Ok(old) = serde_json::from_str::<Value>(HAND_WRITTEN) else {
        tracing::error!("the hand-written API description does not parse");
        return;
    };
    if let (Some(old_paths), Some(paths)) = (old["paths"].as_object(), object_at(doc, "paths")) {
        for (path, item) in old_paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            let Some(into) = paths
                .entry(path.clone())
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
            else {
                continue;
            };
            for (method, op) in item {
                if !into.contains_key(method) {
                    into.insert(method.clone(), tagged(path, op.clone()));
                }
            }
        }
    }
    let Some(old_schemas) = old["components"]["schemas"].as_object() else {
        return;
    };
    let Some(components) = object_at(doc, "components") else {
        return;
    };
    let Some(schemas) = components
        .entry("schemas")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
    else {
        return;
    };
    for (name, schema) in old_schemas {
        if !schemas.contains_key(name) {
            schemas.insert(name.clone(), schema.clone());
        }
    }
}

fn object_at<'a>(doc: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    doc.as_object_mut()?
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
}

/// `op` with its area's tag, if it has none: the path's segment after `/api` (`/ws/desk` is
/// routing's).
fn tagged(path: &str, mut op: Value) -> Value {
    if let Some(fields) = op.as_object_mut() {
        if !fields.contains_key("tags") {
            let area = match path.split('/').nth(2) {
                _ if path == "/ws/desk" => "routing",
                Some(area) => area,
                None => "relay",
            };
            fields.insert("tags".into(), Value::Array(vec![Value::from(area)]));
        }
    }
    op
}
