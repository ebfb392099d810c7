//! The co-browse endpoints a customer's page calls, without a sign-in: the site's co-browse
//! rules, and the widget's lookup of its conversation's pending offers with its CORS
//! preflight. Also the origin check they share with the customer's socket: a page's `Origin`
//! must be one its site allows. An `Origin` is no credential (anyone can send any): it only
//! names the site; the lookup's credential is the guest token.

use std::sync::Arc;

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{encryption_rule::ACCEPT_REFUSED, registry::OfferView, state::Cobrowse};
use crate::{
    error::{ApiError, ErrorBody},
    sites::{self, SiteRules},
};

/// The public routes (merged into `api::routes`, which applies the state).
pub fn routes() -> OpenApiRouter<Arc<Cobrowse>> {
    OpenApiRouter::new()
        .routes(routes!(pending_offers, offers_preflight))
        .routes(routes!(site_config))
}

/// The page's origin: its `Origin`, or its own host when the browser vouches the request is
/// same-origin.
pub(super) fn origin(headers: &HeaderMap) -> Option<String> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    match text(header::ORIGIN) {
        Some(origin) => Some(origin.to_owned()),
        // Browsers send no Origin on same-origin GETs (a site served by the relay itself, such
        // as the demo shop); `Sec-Fetch-Site`, which page scripts cannot set, vouches instead.
        None if text(header::HeaderName::from_static("sec-fetch-site")) == Some("same-origin") => {
            text(header::HOST).map(|host| format!("http://{host}"))
        }
        None => None,
    }
}

/// `origin`, if site `site` allows it (403 otherwise).
pub(super) async fn check_origin(
    cb: &Cobrowse,
    site: &str,
    origin: Option<String>,
) -> Result<String, ApiError> {
    let origin =
        origin.ok_or_else(|| ApiError::Forbidden("an Origin header is required".into()))?;
    let (key, checked) = (site.to_owned(), origin.clone());
    if cb
        .store
        .read(move |db| sites::site_allows(db, &key, &checked))
        .await?
    {
        Ok(origin)
    } else {
        Err(ApiError::Forbidden(
            "origin not allowed for this site".into(),
        ))
    }
}

/// The site a page belongs to.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SiteQuery {
    /// The site's key.
    pub site: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OfferQuery {
    /// The widget's conversation.
    conversation: String,
    /// The site of the page asking; the offers become that site's.
    site: String,
}

/// A conversation's pending offers.
#[derive(Serialize, utoipa::ToSchema)]
struct PendingOffers {
    offers: Vec<OfferView>,
    /// Set when offers were withdrawn because the site requires end-to-end encryption: what
    /// to tell the guest.
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<&'static str>,
}

/// The header that carries the widget's guest token (as messaging's guest API reads it).
const GUEST_TOKEN: &str = "x-guest-token";

/// `GET /api/cobrowse/offers?conversation=..&site=..`: the widget's lookup, from the customer's
/// page (cross-origin, so it answers with CORS for the allowed origin). Only the
/// conversation's own customer, proved by its guest token in `X-Guest-Token`, sees its
/// offers.
#[utoipa::path(
    get,
    path = "/api/cobrowse/offers",
    tag = "cobrowse",
    summary = "Pending offers of a widget conversation, for its own guest (X-Guest-Token; \
        Origin must be allowed for the site, and the offers become that site's)",
    description = "The widget's lookup, cross-origin from the customer's page (answered with \
        CORS for the allowed origin). Another conversation than the guest's, and none, are \
        answered alike.",
    params(
        OfferQuery,
        ("X-Guest-Token" = String, Header, description = "The widget's guest token"),
    ),
    security(()),
    responses(
        (status = 200, description = "The pending offers", body = PendingOffers),
        (status = 401, description = "No guest token", body = ErrorBody),
        (status = 403, description = "Origin not allowed", body = ErrorBody),
        (status = 404, description = "Not this guest's conversation", body = ErrorBody),
    )
)]
async fn pending_offers(
    State(cb): State<Arc<Cobrowse>>,
    headers: HeaderMap,
    Query(q): Query<OfferQuery>,
) -> Result<Response, ApiError> {
    let origin = check_origin(&cb, &q.site, origin(&headers)).await?;
    let token = headers
        .get(GUEST_TOKEN)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized)?;
    // Not the customer's conversation, or none: the same answer, so nothing is learnt.
    if !cb.guests.is_guest_of(&q.conversation, token).await? {
        return Err(ApiError::NotFound);
    }
    let mut offers = cb.registry.pending_offers(&q.conversation, &q.site);
    let mut refused = None;
    if !offers.is_empty() && cb.requires_encryption(&q.site).await? {
        // No Accept flow on a site that requires encryption: the offers are withdrawn (their
        // agents told why) and the guest is told to ask for a code.
        for offer in offers.drain(..) {
            cb.withdraw_offer(&offer.offer_token, &q.site).await;
        }
        refused = Some(ACCEPT_REFUSED);
    }
    Ok(with_cors(
        Json(PendingOffers { offers, refused }).into_response(),
        &origin,
    ))
}

/// `OPTIONS /api/cobrowse/offers?site=..`: the preflight of the widget's lookup, which sends
/// `X-Guest-Token`, answered for the site's own origins.
#[utoipa::path(
    options,
    path = "/api/cobrowse/offers",
    tag = "cobrowse",
    summary = "CORS preflight of the widget's lookup, for the site's origins",
    description = "Allows GET with X-Guest-Token from an origin the site allows",
    params(SiteQuery),
    security(()),
    responses(
        (status = 204, description = "Allowed"),
        (status = 403, description = "Origin not allowed", body = ErrorBody),
    )
)]
async fn offers_preflight(
    State(cb): State<Arc<Cobrowse>>,
    headers: HeaderMap,
    Query(q): Query<SiteQuery>,
) -> Result<Response, ApiError> {
    let origin = check_origin(&cb, &q.site, origin(&headers)).await?;
    let mut response = with_cors(StatusCode::NO_CONTENT.into_response(), &origin);
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("x-guest-token"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET"),
    );
    Ok(response)
}

fn with_cors(mut response: Response, origin: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(origin) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// `GET /api/cobrowse/sites/{key}/config`: the co-browse rules the site's pages apply (mask,
/// block and read-only selectors, pause URL patterns, whether agents may type into masked
/// fields, whether submit buttons are read-only), as an admin last saved them
/// (`sites::SiteRules`). Public, as every page of the site reads it, and served to any origin;
/// the defaults when the site has none. `no-cache`, so a change applies from the next page
/// load (and so the next snapshot) on, without a restart.
#[utoipa::path(
    get,
    path = "/api/cobrowse/sites/{key}/config",
    tag = "cobrowse",
    summary = "The co-browse rules a site's pages apply, as an admin last saved them; the \
        defaults when the site has none",
    description = "Public, served to any origin, and no-cache: a change applies from each \
        page's next load, without a restart",
    params(("key" = String, Path, description = "The site's key", pattern = "^[A-Za-z0-9_-]{1,64}$")),
    security(()),
    responses(
        (status = 200, description = "Site rules", body = SiteRules),
        (status = 404, description = "Not a valid site key", body = ErrorBody),
    )
)]
async fn site_config(
    State(cb): State<Arc<Cobrowse>>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    if !sites::valid_key(&key) {
        return Err(ApiError::NotFound);
    }
    let rules = cb
        .store
        .read(move |db| sites::rules_of(db, &key))
        .await?
        .unwrap_or_default();
    Ok((
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Json(rules),
    )
        .into_response())
}
