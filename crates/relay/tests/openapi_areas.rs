//! Messaging's and routing's OpenAPI description comes from their handlers: the routers
//! `messaging::start` and `routing::api::routes` return (built on a real store, with real
//! services) describe every operation the hand-written `src/openapi.json` gave these areas
//! (their part of it is kept in `tests/data/openapi_areas_hand_written.json`),
//! each with a summary that says what the hand-written one said, every status code it
//! listed, the same sign-in (anonymous, a session, or a connector token), its path parameters,
//! its request body and an operationId of its own; every operation added since says as much
//! (a summary, its sign-in, a tag, its status codes); and every operation they describe is
//! really served by the router beside it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use axum::{body::Body, http::Request, Router};
use relay::{
    accounts::{Accounts, SignedOut},
    config::Config,
    limits::Streams,
    messaging::{self, MessagingConfig},
    routing::{
        self,
        api::RoutingState,
        service::{
            journal::{Entry, Journal},
            Riders, ServiceConfig,
        },
    },
    store::{Options, Store, Target},
};
use serde_json::Value;
use tower::ServiceExt;

/// No journal, nothing riding on interactions, no routing to sign out of: the routers are
/// what is looked at.
struct Nobody;

impl Journal for Nobody {
    fn record(&self, _: Entry) {}
}

impl Riders for Nobody {
    fn interaction_ended(&self, _: String) {}
    fn interaction_transferred(&self, _: String) {}
}

impl SignedOut for Nobody {
    fn signed_out(&self, _: &str) -> futures_util::future::BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// Messaging's and routing's routers, as the composition root builds them, and their
/// descriptions merged into one document.
struct Areas {
    router: Router,
    doc: Value,
    _dir: tempfile::TempDir,
}

async fn areas() -> Areas {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::Sqlite(dir.path().join("db.sqlite"));
    let store = Store::open_async(target, Options::command()).await.unwrap();
    let config = Arc::new(Config::default());
    let accounts = Accounts::new(store.clone(), &config, Arc::new(Nobody));
    let streams = Streams::new(64, 8);
    let (_, shutdown) = tokio::sync::watch::channel(false);
    let handle = routing::service::spawn(
        ServiceConfig::default(),
        Vec::new(),
        Arc::new(Nobody),
        Arc::new(Nobody),
    );
    let (_, messaging_routes) = messaging::start(messaging::Deps {
        config: MessagingConfig::default(),
        store: store.clone(),
        attachments_dir: dir.path().join("attachments"),
        accounts: accounts.clone(),
        sites: store.clone(),
        shutdown: shutdown.clone(),
        streams: streams.clone(),
    });
    let routing_routes = routing::api::routes(RoutingState {
        routing: handle,
        store,
        accounts,
        shutdown,
        streams,
        config,
    });
    let (messaging_router, mut doc) = messaging_routes.split_for_parts();
    let (routing_router, routing_doc) = routing_routes.split_for_parts();
    doc.merge(routing_doc);
    Areas {
        router: messaging_router.merge(routing_router),
        doc: serde_json::to_value(&doc).unwrap(),
        _dir: dir,
    }
}

/// The hand-written description these areas replace: their part of the old
/// `src/openapi.json`, kept as it was so the comparison outlives the file.
fn hand_written() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/openapi_areas_hand_written.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Messaging's and routing's paths (routing's desk socket included).
fn ours(path: &str) -> bool {
    ["/api/messaging/", "/api/routing/", "/api/telephony/"]
        .iter()
        .any(|p| path.starts_with(p))
        || path == "/ws/desk"
}

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// Every (path, method) of `doc` that is ours, with its operation.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method).filter(|_| ours(path)) {
                out.insert((path.clone(), method.to_owned()), op.clone());
            }
        }
    }
    out
}

/// Who may call: the sets of security schemes any one of which signs the caller in; an empty
/// set is "anyone" (`[]` and `[{}]` both say so).
fn sign_in(op: &Value, doc: &Value) -> BTreeSet<BTreeSet<String>> {
    let requirements = op
        .get("security")
        .or_else(|| doc.get("security"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if requirements.is_empty() {
        return BTreeSet::from([BTreeSet::new()]);
    }
    requirements
        .iter()
        .map(|r| r.as_object().unwrap().keys().cloned().collect())
        .collect()
}

fn statuses(op: &Value) -> BTreeSet<String> {
    op["responses"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn path_params(op: &Value) -> BTreeSet<String> {
    op.get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "path")
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
        .map(str::to_lowercase)
        .collect()
}

#[tokio::test]
async fn every_hand_written_operation_of_messaging_and_routing_is_generated_as_informatively() {
    let areas = areas().await;
    let (hand, generated) = (hand_written(), areas.doc);
    let before = operations(&hand);
    let now = operations(&generated);
    assert!(before.len() >= 40, "too few found: {:?}", before.keys());
    let missing: Vec<_> = before.keys().filter(|k| !now.contains_key(*k)).collect();
    let extra: Vec<_> = now.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(missing.is_empty(), "not generated: {missing:?}");
    let mut wrong = Vec::new();
    // Operations added since the hand-written file was retired have no old text to keep, but
    // owe a reader as much as the old ones did: a summary, who may call, a tag, a status.
    for key in extra {
        let op = &now[key];
        if op["summary"].as_str().unwrap_or("").trim().is_empty() {
            wrong.push(format!("{key:?}: new, with no summary"));
        }
        if op.get("security").is_none() {
            wrong.push(format!("{key:?}: new, with no security of its own"));
        }
        if op["tags"][0].as_str().unwrap_or("").is_empty() {
            wrong.push(format!("{key:?}: new, with no tag"));
        }
        if statuses(op).is_empty() {
            wrong.push(format!("{key:?}: new, with no status code"));
        }
    }
    for (key, old) in &before {
        let new = &now[key];
        let summary = new["summary"].as_str().unwrap_or("");
        if summary.trim().is_empty() {
            wrong.push(format!("{key:?}: no summary"));
        }
        let said = words(&format!(
            "{summary} {}",
            new["description"].as_str().unwrap_or("")
        ));
        let meant = words(old["summary"].as_str().unwrap());
        let kept = meant.intersection(&said).count();
        if kept * 10 < meant.len() * 9 {
            let lost: Vec<_> = meant.difference(&said).collect();
            wrong.push(format!("{key:?}: the summary lost {lost:?}"));
        }
        let lost: Vec<_> = statuses(old).difference(&statuses(new)).cloned().collect();
        if !lost.is_empty() {
            wrong.push(format!("{key:?}: status codes lost {lost:?}"));
        }
        // The generated operation says who may call it itself: the document's root is not
        // part of these areas.
        if new.get("security").is_none() {
            wrong.push(format!("{key:?}: no security of its own"));
        }
        let (was, is) = (sign_in(old, &hand), sign_in(new, &generated));
        if was != is {
            wrong.push(format!("{key:?}: sign-in was {was:?}, is {is:?}"));
        }
        let lost: Vec<_> = path_params(old)
            .difference(&path_params(new))
            .cloned()
            .collect();
        if !lost.is_empty() {
            wrong.push(format!("{key:?}: path parameters lost {lost:?}"));
        }
        if old.get("requestBody").is_some() && new.get("requestBody").is_none() {
            wrong.push(format!("{key:?}: the request body is gone"));
        }
        let tag = new["tags"][0].as_str().unwrap_or("");
        let tagged = old["tags"][0].as_str();
        if tag.is_empty() || tagged.is_some_and(|t| t != tag) {
            wrong.push(format!("{key:?}: tag {tag:?}, was {tagged:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Clients generated from the document name a call by its operationId: one per operation.
    let mut ids = BTreeMap::new();
    for (key, op) in &now {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{key:?}: no id"));
        if let Some(other) = ids.insert(id.to_owned(), key.clone()) {
            panic!("operationId {id} is both {other:?} and {key:?}");
        }
    }
}

/// Every `$ref` in the areas' document names a schema the document defines, and the names a
/// route accepts (presence, media, strategy, inbox scope) are listed as the hand-written file
/// listed them.
#[tokio::test]
async fn every_schema_the_areas_refer_to_is_defined_and_names_what_the_routes_take() {
    let doc = areas().await.doc;
    let defined: BTreeSet<String> = doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    fn refs(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.insert(r.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut used = BTreeSet::new();
    refs(&doc, &mut used);
    assert!(used.len() > 10, "too few references: {used:?}");
    let dangling: Vec<_> = used
        .iter()
        .filter(|r| {
            r.strip_prefix("#/components/schemas/")
                .is_none_or(|name| !defined.contains(name))
        })
        .collect();
    assert!(dangling.is_empty(), "undefined: {dangling:?}");
    // What the console shows of a message is the model's own shape.
    let schemas = &doc["components"]["schemas"];
    let message = &schemas["Message"]["properties"];
    for field in ["id", "seq", "author", "text", "attachments", "delivery"] {
        assert!(message.get(field).is_some(), "Message has no {field}");
    }
    // The names the hand-written file listed are still listed, and only what the routes take.
    let names = |schema: &Value| -> Vec<String> {
        let list = schema["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("no names: {schema}"));
        list.iter()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect()
    };
    let presence = ["available", "busy", "away", "offline"];
    assert_eq!(
        names(&schemas["PresenceBody"]["properties"]["presence"]),
        presence
    );
    assert_eq!(
        names(&schemas["StateBody"]["properties"]["state"]),
        presence
    );
    assert_eq!(
        names(&schemas["Arrival"]["properties"]["media"]),
        ["call", "chat", "message"]
    );
    assert_eq!(
        names(&schemas["QueueSpec"]["properties"]["strategy"]),
        ["longest_idle", "least_occupied"]
    );
    let inbox = &doc["paths"]["/api/messaging/conversations"]["get"]["parameters"][0];
    assert_eq!(inbox["name"], "scope");
    assert_eq!(names(&inbox["schema"]), ["mine", "waiting", "all"]);
}

/// A documented operation the router does not serve answers 405 (wrong method) or axum's own
/// empty 404 (no route); a handler's own 404 carries an error body.
#[tokio::test]
async fn every_operation_the_areas_describe_is_served() {
    let areas = areas().await;
    let mut unserved = Vec::new();
    for (path, method) in operations(&areas.doc).keys() {
        let uri = path.replace(['{', '}'], "x");
        let request = Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(&uri)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let response = areas.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        if status == 405 || (status == 404 && body.is_empty()) {
            unserved.push(format!("{method} {path}: {status}"));
        }
    }
    assert!(unserved.is_empty(), "documented, not served: {unserved:?}");
}
