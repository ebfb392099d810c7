//! Every messaging endpoint in one router: the agent API (`api`), the widget's (`guest` and
//! its files, `guest_files`, behind its CORS layer) and open messaging's webhook (`open`), under one body limit that admits an
//! attachment; and the calls' (`call::api`: the agent's and, behind the same CORS layer, the
//! guest's), under their own tighter one.

use axum::{extract::DefaultBodyLimit, middleware};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{api, call, guest, guest_files, integrations_api, open, state::MsgState, widget_cors};

/// Every messaging route, documented, with its state applied.
pub fn routes(state: MsgState) -> OpenApiRouter {
    let upload_limit = state.svc.config.max_attachment_bytes + 4096;
    OpenApiRouter::default()
        .routes(routes!(open::inbound))
        .merge(api::routes())
        .merge(integrations_api::routes())
        .merge(guest::routes(state.clone()))
        .merge(guest_files::routes(state.clone()))
        .layer(DefaultBodyLimit::max(upload_limit))
        // Calls carry small bodies: their own, tighter limit (the innermost layer wins).
        .merge(
            call::api::agent_routes().route_layer(middleware::from_fn(api::in_conversation_span)),
        )
        .merge(
            call::api::guest_routes().layer(middleware::from_fn_with_state(
                state.clone(),
                widget_cors::cors,
            )),
        )
        .with_state(state)
}
