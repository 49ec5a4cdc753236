//! `/v1/api-keys` (admins): service accounts for an ATS or a script. A key is shown once, when
//! it is made; lists show its first characters only. Revoking one stops it at once (and closes
//! sockets opened with it).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::body::Body;
use super::principal::{ClientIp, Staff};
use super::{path_id, Items};
use crate::accounts::keys::{ApiKey, NewKey, MAX_KEYS};
use crate::accounts::Role;
use crate::audit;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    name: String,
    role: Role,
}

/// A key just made: the only time `key` is shown.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    api_key: ApiKey,
    /// The secret: send it as `Authorization: Bearer <key>`. Not shown again.
    key: String,
}

/// `POST /v1/api-keys {name, role}` (admin) → 201 `{id, name, role, prefix, created_by,
/// created_at, revoked_at, key}`: `key` is shown this once.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = NewApiKey,
    responses(
        (status = 201, description = "Made; `key` is shown this once", body = CreatedApiKey),
        (status = 409, description = "The organization holds the most keys it may", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Body(req): Body<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
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
    Ok((
        StatusCode::CREATED,
        Json(CreatedApiKey {
            api_key: new.key,
            key: new.secret,
        }),
    ))
}

/// `GET /v1/api-keys` (admin) → `{items}`: the keys that work, newest first, without secrets.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys",
    responses((status = 200, description = "The keys that work, newest first, without secrets", body = Items<ApiKey>)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    staff: Staff,
) -> Result<Json<Items<ApiKey>>, ApiError> {
    staff.require(Role::Admin)?;
    let keys: Vec<ApiKey> = app.accounts.keys.keys_in(staff.scope()).await?;
    Ok(Json(Items { items: keys }))
}

/// `DELETE /v1/api-keys/{id}` (admin) → 204: the key stops working at once.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys", params(("id" = Uuid, Path, description = "The key")),
    responses((status = 204, description = "Revoked: it stops working at once")),
    security(("bearer" = [])))]
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
    app.accounts.session_ended(key.id).await;
    let ip = ip.text();
    let entry = staff.record("api_key.revoked").target("api_key", key.id);
    audit::record(app.audit.as_ref(), entry.ip(ip.as_deref())).await;
    Ok(StatusCode::NO_CONTENT)
}
