//! Sites, as an admin manages them: the list, one site, and a change of its allowed origins
//! and co-browse rules. Rules and origins are checked before anything is stored (a selector a
//! browser would refuse, a pause pattern that matches nothing sensible, an origin a browser
//! never sends: 400 naming the entry), so a refused change leaves the site as it was. A saved
//! change reaches the site's pages at their next load (`GET /api/cobrowse/sites/{key}/config`
//! is served with `no-cache`).

use axum::{
    extract::{Path, State},
    Json,
};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::state::{body as parse, Admin};
use crate::{
    accounts::AuthAgent,
    error::{ApiError, ErrorBody},
    policy::{Action, Area},
    sites::{self, checked_origins, RuleError, Site, SiteRules},
};

const SITES: Action = Action::Configure(Area::Sites);

pub(super) fn routes() -> OpenApiRouter<Admin> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one, change))
}

#[utoipa::path(
    get,
    path = "/api/admin/sites",
    operation_id = "sites_list",
    tag = "admin",
    summary = "Every site: key, origins, co-browse rules, updated_at, updated_by",
    description = "Every site, by key (needs admin.sites)",
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The sites", body = Vec<Site>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs the admin role (the answer names admin.sites)",
            body = ErrorBody),
    )
)]
async fn list(auth: AuthAgent, State(a): State<Admin>) -> Result<Json<Vec<Site>>, ApiError> {
    auth.may_platform(SITES)?;
    Ok(Json(a.store.read(sites::site_list).await?))
}

#[utoipa::path(
    get,
    path = "/api/admin/sites/{key}",
    operation_id = "site_get",
    tag = "admin",
    summary = "One site",
    description = "The site's origins and co-browse rules, and who changed them last (needs \
        admin.sites)",
    params(("key" = String, Path, description = "The site's key")),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The site", body = Site),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs the admin role (the answer names admin.sites)",
            body = ErrorBody),
        (status = 404, description = "No such site", body = ErrorBody),
    )
)]
async fn one(
    auth: AuthAgent,
    State(a): State<Admin>,
    Path(key): Path<String>,
) -> Result<Json<Site>, ApiError> {
    auth.may_platform(SITES)?;
    find(&a, key).await.map(Json)
}

/// A change: the origins (all of them), the rules (all of them), or both. A site that does
/// not exist yet is created.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Change {
    /// Every origin the site's pages may be served from (`https://shop.example`).
    origins: Option<Vec<String>>,
    /// Every co-browse rule (a missing one takes its default).
    #[schema(value_type = Option<SiteRules>)]
    rules: Option<serde_json::Value>,
}

#[utoipa::path(
    put,
    path = "/api/admin/sites/{key}",
    operation_id = "site_change",
    tag = "admin",
    summary = "Set a site's origins, its co-browse rules, or both (created if needed); checked \
        before stored; applies at each page's next load",
    description = "A selector a browser would refuse, a pause pattern, an origin a browser \
        never sends or a bad key is refused with the reason, and nothing is stored (needs \
        admin.sites)",
    params(("key" = String, Path, description = "The site's key (1 to 64 letters, digits, \
        `_` or `-`)")),
    request_body = Change,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The site", body = Site),
        (status = 400, description = "A selector, pattern, origin or key refused, with the \
            reason", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs the admin role (the answer names admin.sites)",
            body = ErrorBody),
    )
)]
async fn change(
    auth: AuthAgent,
    State(a): State<Admin>,
    Path(key): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Result<Json<Site>, ApiError> {
    auth.may_platform(SITES)?;
    let body: Change = parse(body)?;
    sites::rules::check_key(&key).map_err(bad)?;
    let origins = body
        .origins
        .as_deref()
        .map(checked_origins)
        .transpose()
        .map_err(bad)?;
    let rules: Option<SiteRules> = body
        .rules
        .as_ref()
        .map(SiteRules::from_json)
        .transpose()
        .map_err(bad)?;
    if origins.is_none() && rules.is_none() {
        return Err(ApiError::BadRequest(
            "send \"origins\", \"rules\" or both".into(),
        ));
    }
    let (site, by) = (key.clone(), auth.id().to_owned());
    a.store
        .write(move |db| {
            if let Some(origins) = &origins {
                sites::origins_set(db, &site, origins)?;
            }
            if let Some(rules) = &rules {
                sites::rules_save(db, &site, rules, &by)?;
            }
            Ok(())
        })
        .await?;
    tracing::info!(by = auth.id(), site = %key, "admin changed a site");
    find(&a, key).await.map(Json)
}

fn bad(e: RuleError) -> ApiError {
    ApiError::BadRequest(e.to_string())
}

async fn find(a: &Admin, key: String) -> Result<Site, ApiError> {
    let k = key.clone();
    a.store
        .read(move |db| sites::site_get(db, &k))
        .await?
        .ok_or_else(|| ApiError::Unknown(format!("no site has the key {key:?}")))
}
