//! `GET /api/admin/cobrowse/sessions/{id}/audit/verify`: an admin proves a co-browse session's
//! audit log unbroken, or learns its first altered, missing, reordered or inserted entry (the
//! same check as `relay audit verify`). Admins only (`admin.sites`, co-browse's own
//! configuration): agents and supervisors are refused before anything is read.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    routing::get,
    Json, Router,
};

use super::{
    audit_chain::{self, Verdict},
    state::Cobrowse,
};
use crate::{
    accounts::AuthAgent,
    error::ApiError,
    policy::{Action, Area},
};

pub fn routes() -> Router<Arc<Cobrowse>> {
    Router::new().route(
        "/api/admin/cobrowse/sessions/{id}/audit/verify",
        get(verify),
    )
}

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
