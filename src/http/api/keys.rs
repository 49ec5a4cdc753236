//! `/v1/api-keys` (admins): service accounts for an ATS or a script. A key is shown once, when
//! it is made; lists show its first characters only. Revoking one stops it at once (and closes
//! sockets opened with it).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::Body;
use super::path_id;
use super::principal::{ClientIp, Staff};
use crate::accounts::keys::{ApiKey, NewKey, MAX_KEYS};
use crate::accounts::Role;
use crate::audit;
use crate::http::error::ApiError;
use crate::http::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    name: String,
    role: Role,
}

/// `POST /v1/api-keys {name, role}` (admin) → 201 `{id, name, role, prefix, created_by,
/// created_at, revoked_at, key}`: `key` is shown this once.
pub async fn create(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Body(req): Body<NewApiKey>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    staff.require(Role::Admin)?;
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::bad_request("name: from 1 to 200 characters"));
    }
    let scope = staff.scope();
    if app.accounts.keys.keys_in(scope).await?.len() as u64 >= MAX_KEYS {
        return Err(ApiError::Conflict(format!(
            "an organization holds at most {MAX_KEYS} keys; revoke one first"
        )));
    }
    let new = NewKey::generate(staff.org, name, req.role, staff.user);
    app.accounts.keys.create_key(&new).await?;
    let ip = ip.text();
    let entry = staff
        .record("api_key.created")
        .target("api_key", new.key.id);
    let details = json!({ "role": new.key.role.as_str(), "name": new.key.name });
    audit::record(app.audit.as_ref(), entry.ip(ip.as_deref()).details(details)).await;
    let mut body = serde_json::to_value(&new.key).map_err(|e| ApiError::Internal(e.into()))?;
    body["key"] = new.secret.into();
    Ok((StatusCode::CREATED, Json(body)))
}

/// `GET /v1/api-keys` (admin) → `{items}`: the keys that work, newest first, without secrets.
pub async fn list(State(app): State<AppState>, staff: Staff) -> Result<Json<Value>, ApiError> {
    staff.require(Role::Admin)?;
    let keys: Vec<ApiKey> = app.accounts.keys.keys_in(staff.scope()).await?;
    Ok(Json(json!({ "items": keys })))
}

/// `DELETE /v1/api-keys/{id}` (admin) → 204: the key stops working at once.
pub async fn revoke(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    staff.require(Role::Admin)?;
    let key = app
        .accounts
        .keys
        .revoke_key(staff.scope(), path_id(&raw)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    app.accounts.watch.end_session(key.id);
    let ip = ip.text();
    let entry = staff.record("api_key.revoked").target("api_key", key.id);
    audit::record(app.audit.as_ref(), entry.ip(ip.as_deref())).await;
    Ok(StatusCode::NO_CONTENT)
}
