//! The relay's API description, generated from the handlers: the root of the document (title,
//! version, the sign-in every operation needs unless it says otherwise, one tag per area) and
//! the route that serves it. The security schemes come with the sign-in routes (`accounts`).
//! Each domain's routes carry their own operations (`#[utoipa::path]` on the handler,
//! `ToSchema` on the types it reads and answers), gathered as its `OpenApiRouter` is built;
//! `http::router` merges them under this root, so a description cannot drift from its handler.
//! `crates/relay/openapi.json` is the published copy, and `tests/openapi.rs` fails when it
//! differs from what a running relay serves (`UPDATE_OPENAPI=1` rewrites it).

use std::sync::Arc;

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use utoipa::{openapi::OpenApi as Document, OpenApi};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The document's root: what every operation shares.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Co-browse relay",
        description = "The relay's HTTP API: sign-in, co-browse, messaging, routing, reports \
            and administration. A signed-in person's requests carry the session token from \
            POST /api/login, as the relay_session cookie (the console) or as Authorization: \
            Bearer (scripts). Co-browse frames travel over the WebSockets /ws/customer?site=KEY \
            and /ws/agent (binary frames of the wire protocol, see PROTOCOL.md)."
    ),
    security(("cookie" = []), ("bearer" = [])),
    tags(
        (name = "relay", description = "The relay itself: health, this document, metrics"),
        (name = "sign-in", description = "Signing a person in and out"),
        (name = "cobrowse", description = "Co-browse sessions: by security key or by offer, \
            their state, end and audit log, the sockets of the customer, agent and observer"),
        (name = "messaging", description = "Conversations as agents work them: inbox, \
            history, sending, attachments, the event stream, integrations"),
        (name = "messaging-guest", description = "The website widget's customer side, \
            with a guest token instead of a sign-in"),
        (name = "routing", description = "Routing interactions to agents: the desk, presence, \
            queues, profiles, the real-time board and supervision"),
        (name = "telephony", description = "The telephony connector's calls, with a \
            connector's bearer token"),
        (name = "reports", description = "Historical per-queue and per-agent reports, as \
            JSON and CSV"),
        (name = "admin", description = "People, sites and co-browse audit verification, for \
            admins"),
    )
)]
struct Root;

/// The document as served: generated, then pretty JSON once.
pub struct Served {
    json: String,
}

impl Served {
    /// Serves `doc` (the root merged with every domain's operations).
    pub fn new(doc: &Document) -> Served {
        // The document is plain data (maps, strings, numbers): turning it into JSON fails
        // only on a bug, which `tests/openapi.rs` would catch as an empty document.
        let json = serde_json::to_string_pretty(doc).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the API description does not serialize");
            String::new()
        });
        Served { json }
    }
}

/// The relay's own operations' router, under the document's root; `http::router` adds health
/// and merges the domains' documents.
pub fn routes() -> OpenApiRouter<Arc<Served>> {
    OpenApiRouter::with_openapi(Root::openapi()).routes(routes!(document))
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi",
    tag = "relay",
    summary = "This document",
    description = "The OpenAPI 3.1 description of the relay's HTTP API, generated from its \
        handlers (the console's API page renders it)",
    security(()),
    responses(
        (status = 200, description = "The OpenAPI description of the relay's HTTP API",
            content_type = "application/json", body = Object),
    )
)]
async fn document(State(served): State<Arc<Served>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        served.json.clone(),
    )
        .into_response()
}
