//! Every messaging endpoint in one router: the agent API (`api`), the widget's (`guest`, behind
//! its CORS layer) and open messaging's webhook (`open`), under one body limit that admits an
//! attachment.

use axum::extract::DefaultBodyLimit;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{api, guest, integrations_api, open, state::MsgState};

/// Every messaging route, documented, with its state applied.
pub fn routes(state: MsgState) -> OpenApiRouter {
    let upload_limit = state.svc.config.max_attachment_bytes + 4096;
    OpenApiRouter::default()
        .routes(routes!(open::inbound))
        .merge(api::routes())
        .merge(integrations_api::routes())
        .merge(guest::routes(state.clone()))
        .layer(DefaultBodyLimit::max(upload_limit))
        .with_state(state)
}
