//! How a sign-in is carried, as the API description names it: the two security schemes every
//! signed-in operation lists (`cookie`: the `relay_session` cookie the console holds; `bearer`:
//! `Authorization: Bearer`, for scripts). Added to the sign-in routes' part of the document,
//! so they come with the routes that issue the token.

use utoipa::openapi::{
    security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    OpenApi,
};

/// Adds the `cookie` (named `cookie`) and `bearer` schemes to `doc`.
pub fn add_schemes(doc: &mut OpenApi, cookie: &str) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "cookie",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            cookie,
            "The session token POST /api/login sets as an HTTP-only cookie (the console)",
        ))),
    );
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "Authorization: Bearer TOKEN: a person's session token from POST \
                     /api/login; on /metrics the operator's --metrics-token instead, and on \
                     the telephony connector's routes a connector's token",
                ))
                .build(),
        ),
    );
}
