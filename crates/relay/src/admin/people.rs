//! People, as an admin manages them: list, create (with a password and roles), set roles,
//! disable (signed out everywhere at once) and enable, reset a password (every token it held
//! is revoked). An admin cannot take its own admin role away nor disable itself: the platform
//! keeps someone who can configure it.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::state::{body as parse, Admin};
use crate::{
    accounts::{self, not_found_as_404, AuthAgent, Person},
    error::{ApiError, ErrorBody},
    policy::{Action, Area, Role, Roles},
};

const MIN_PASSWORD: usize = 8;
const MAX_PASSWORD: usize = 256;
const MAX_NAME: usize = 64;

pub(super) fn routes() -> OpenApiRouter<Admin> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(set_roles))
        .routes(routes!(act))
}

const PEOPLE: Action = Action::Configure(Area::People);

#[utoipa::path(
    get,
    path = "/api/admin/people",
    operation_id = "people_list",
    tag = "admin",
    summary = "Every person: id, name, roles, disabled, created_at",
    description = "Every person, by name (needs admin.people)",
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The people", body = Vec<Person>),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs the admin role (the answer names admin.people)",
            body = ErrorBody),
    )
)]
async fn list(auth: AuthAgent, State(a): State<Admin>) -> Result<Json<Vec<Person>>, ApiError> {
    auth.may_platform(PEOPLE)?;
    Ok(Json(a.store.read(accounts::people_list).await?))
}

/// A new person.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewPerson {
    /// 1 to 64 letters, digits, `.`, `_`, `-` or `@`.
    name: String,
    /// 8 to 256 characters.
    password: String,
    /// Any of `agent`, `supervisor`, `admin` (none: a person who may do nothing yet).
    #[serde(default)]
    roles: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/api/admin/people",
    operation_id = "person_create",
    tag = "admin",
    summary = "Create a person with a password (8 to 256 characters) and roles",
    description = "Creates a person who can sign in at once with the password (needs \
        admin.people)",
    request_body = NewPerson,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "The person", body = Person),
        (status = 400, description = "Bad name, password or role", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs the admin role (the answer names admin.people)",
            body = ErrorBody),
        (status = 409, description = "A person of that name exists", body = ErrorBody),
    )
)]
async fn create(
    auth: AuthAgent,
    State(a): State<Admin>,
    Json(body): Json<serde_json::Value>,
) -> Result<(StatusCode, Json<Person>), ApiError> {
    auth.may_platform(PEOPLE)?;
    let body: NewPerson = parse(body)?;
    let name = checked_name(&body.name)?;
    let roles = parse_roles(&body.roles)?;
    let hash = hashed(body.password).await?;
    let who = name.clone();
    let created = a
        .store
        .write(move |db| {
            if accounts::agent_exists(db, &who)? {
                return Ok(None);
            }
            accounts::person_upsert(db, &who, &hash, roles)?;
            accounts::person_get(db, &who)
        })
        .await?;
    let person = created
        .ok_or_else(|| ApiError::Conflict(format!("a person named {name:?} exists already")))?;
    tracing::info!(by = auth.id(), person = %person.name, "admin created a person");
    Ok((StatusCode::CREATED, Json(person)))
}

/// A person's roles, all of them.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RolesBody {
    /// Any of `agent`, `supervisor`, `admin`.
    roles: Vec<String>,
}

#[utoipa::path(
    put,
    path = "/api/admin/people/{name}/roles",
    operation_id = "person_set_roles",
    tag = "admin",
    summary = "Set a person's roles exactly",
    description = "Replaces the person's roles; applies to its next request (needs \
        admin.people). An admin cannot take its own admin role away.",
    params(("name" = String, Path, description = "The person's name")),
    request_body = RolesBody,
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The person", body = Person),
        (status = 400, description = "Unknown role", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs the admin role (the answer names admin.people)",
            body = ErrorBody),
        (status = 404, description = "No such person", body = ErrorBody),
        (status = 409, description = "An admin cannot take its own admin role away",
            body = ErrorBody),
    )
)]
async fn set_roles(
    auth: AuthAgent,
    State(a): State<Admin>,
    Path(name): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Result<Json<Person>, ApiError> {
    auth.may_platform(PEOPLE)?;
    let body: RolesBody = parse(body)?;
    let roles = parse_roles(&body.roles)?;
    let person = find(&a, &name).await?;
    if person.id == auth.id() && !roles.has(Role::Admin) {
        return Err(ApiError::Conflict(
            "you cannot take your own admin role away: ask another admin".into(),
        ));
    }
    let who = name.clone();
    a.store
        .write(move |db| accounts::roles_set(db, &who, roles))
        .await
        .map_err(|e| not_found_as_404(e, &name))?;
    tracing::info!(by = auth.id(), person = %name, "admin set roles");
    find(&a, &name).await.map(Json)
}

/// A new password (the `password` action).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    /// 8 to 256 characters.
    password: String,
}

/// `disable`, `enable` or `password` (a reset, with `{"password": ...}`).
#[utoipa::path(
    post,
    path = "/api/admin/people/{name}/{action}",
    operation_id = "person_act",
    tag = "admin",
    summary = "disable (signed out everywhere at once), enable, or password (a reset, with \
        {password}; its sessions end)",
    description = "disable: the person cannot sign in, and its sockets and streams close at \
        once; enable: it can again; password: a reset, with {password} (its tokens are revoked). \
        Needs admin.people; an admin cannot disable itself.",
    params(
        ("name" = String, Path, description = "The person's name"),
        ("action" = String, Path, description = "disable, enable or password"),
    ),
    request_body(content = Option<PasswordBody>, description = "For password only"),
    security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The person", body = Person),
        (status = 400, description = "Bad password", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Needs the admin role (the answer names admin.people)",
            body = ErrorBody),
        (status = 404, description = "No such person or action", body = ErrorBody),
        (status = 409, description = "An admin cannot disable itself", body = ErrorBody),
    )
)]
async fn act(
    auth: AuthAgent,
    State(a): State<Admin>,
    Path((name, action)): Path<(String, String)>,
    bytes: axum::body::Bytes,
) -> Result<Json<Person>, ApiError> {
    auth.may_platform(PEOPLE)?;
    let person = find(&a, &name).await?;
    match action.as_str() {
        "disable" => {
            if person.id == auth.id() {
                return Err(ApiError::Conflict(
                    "you cannot disable yourself: ask another admin".into(),
                ));
            }
            a.accounts.disable(&name).await?;
        }
        "enable" => {
            let who = name.clone();
            a.store
                .write(move |db| accounts::agent_enable(db, &who))
                .await
                .map_err(|e| not_found_as_404(e, &name))?;
        }
        "password" => {
            let body: PasswordBody = serde_json::from_slice::<serde_json::Value>(&bytes)
                .map_err(|_| {
                    ApiError::BadRequest("send {\"password\": ...} with the new password".into())
                })
                .and_then(parse)?;
            let hash = hashed(body.password).await?;
            let who = name.clone();
            a.store
                .write(move |db| accounts::password_set(db, &who, &hash))
                .await
                .map_err(|e| not_found_as_404(e, &name))?;
            // Its sockets were opened with a token that no longer exists: close them too.
            a.accounts.revoke(&person.id);
        }
        other => {
            return Err(ApiError::Unknown(format!(
                "no action {other:?}: disable, enable or password"
            )))
        }
    }
    tracing::info!(by = auth.id(), person = %name, action = %action, "admin changed a person");
    find(&a, &name).await.map(Json)
}

async fn find(a: &Admin, name: &str) -> Result<Person, ApiError> {
    let who = name.to_owned();
    a.store
        .read(move |db| accounts::person_get(db, &who))
        .await?
        .ok_or_else(|| ApiError::Unknown(format!("no person is named {name:?}")))
}

fn checked_name(name: &str) -> Result<String, ApiError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(ApiError::BadRequest(format!(
            "a name is 1 to {MAX_NAME} letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

fn parse_roles(names: &[String]) -> Result<Roles, ApiError> {
    names.iter().try_fold(Roles::NONE, |set, n| {
        Role::parse(n).map(|r| set.with(r)).ok_or_else(|| {
            ApiError::BadRequest(format!("no role {n:?}: agent, supervisor or admin"))
        })
    })
}

/// Checks and hashes a password off the async threads (argon2 takes tens of milliseconds).
async fn hashed(password: String) -> Result<String, ApiError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&chars) {
        return Err(ApiError::BadRequest(format!(
            "a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )));
    }
    tokio::task::spawn_blocking(move || accounts::hash_password(&password))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the hashing task failed");
            ApiError::Internal
        })?
        .map_err(|e| {
            tracing::error!(error = %e, "hashing a password");
            ApiError::Internal
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_roles_are_checked() {
        assert!(checked_name("ann.lee@x").is_ok());
        for bad in ["", "a b", "<script>", &"x".repeat(65)] {
            assert!(checked_name(bad).is_err(), "{bad:?}");
        }
        let roles = parse_roles(&["agent".into(), "admin".into()]).ok();
        assert_eq!(roles, Some(Roles::of(&[Role::Agent, Role::Admin])));
        assert!(parse_roles(&["root".into()]).is_err());
    }
}
