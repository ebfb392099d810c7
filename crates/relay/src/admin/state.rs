//! What the admin handlers share: their state, and how a body is read.

use axum::extract::FromRef;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{accounts::Accounts, error::ApiError, store::Store};

/// What the admin handlers share.
#[derive(Clone)]
pub struct Admin {
    pub store: Store,
    pub accounts: Accounts,
}

impl FromRef<Admin> for Accounts {
    fn from_ref(state: &Admin) -> Accounts {
        state.accounts.clone()
    }
}

/// A body read only once the policy allowed the request (a refused caller learns nothing of
/// what a valid body looks like).
pub fn body<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| ApiError::BadRequest(format!("bad body: {e}")))
}
