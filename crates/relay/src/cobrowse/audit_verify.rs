//! `GET /api/admin/cobrowse/sessions/{id}/audit/verify`: an admin proves a co-browse session's
//! audit log unbroken, or learns its first altered, missing, reordered or inserted entry (the
//! same check as `relay audit verify`). Admins only (`admin.sites`, co-browse's own
//! configuration): agents and supervisors are refused before anything is read.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    Json,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    audit_chain::{self, Verdict},
    state::Cobrowse,
};
use crate::{
    accounts::AuthAgent,
    error::{ApiError, ErrorBody},
    policy::{Action, Area},
};

pub fn routes() -> OpenApiRouter<Arc<Cobrowse>> {
    OpenApiRouter::new().routes(routes!(verify))
}

#[utoipa::path(
    get,
    path = "/api/admin/cobrowse/sessions/{id}/audit/verify",
    operation_id = "audit_verify",
    tag = "admin",
    summary = "Verify a co-browse session's hash-chained audit log",
    description = "{result: intact, entries, head, anchored} | {result: broken, seq, why: \
        altered|missing|reordered|inserted} (the first bad entry) | {result: not_chained, \
        entries} (written before the chain existed). The same check as relay audit verify.",
    params(("id" = String, Path, description = "The session's id")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The verdict", body = Verdict),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs the admin role (admin.sites)", body = ErrorBody),
        (status = 404, description = "No such session", body = ErrorBody),
    )
)]
async fn verify(
    auth: AuthAgent,
    State(cb): State<Arc<Cobrowse>>,
    Path(id): Path<String>,
) -> Result<Json<Verdict>, ApiError> {
    auth.may_platform(Action::Configure(Area::Sites))?;
    // What the sessions queued so far is in the database before it is read.
    cb.registry.recorder.flush().await?;
    match cb
        .store
        .read(move |db| audit_chain::verify(db, &id))
        .await?
    {
        Verdict::Unknown => Err(ApiError::NotFound),
        verdict => Ok(Json(verdict)),
    }
}
