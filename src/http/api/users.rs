//! `/v1/users` (admins): the organization's staff — add a user with a role (they set a
//! password through a single-use link), list, change role, disable, re-issue a link; and
//! `POST /v1/auth/accept-invite`, where the link's holder sets the password.
//!
//! There is no email delivery: the link is in the answer, for the admin to pass on.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::body::Body;
use super::path_id;
use super::principal::{ClientIp, Staff};
use super::sessions::per_ip_limit;
use crate::accounts::service::{Invite, InviteError};
use crate::accounts::{NewUser, Role, User};
use crate::audit;
use crate::hiring::{Page, PageRequest};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::AppState;

/// A staff user as the API shows them (never their password hash).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    id: Uuid,
    email: String,
    name: Option<String>,
    role: Role,
    disabled: bool,
    /// Whether they have set a password (accepted their link).
    password_set: bool,
    created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            disabled: u.disabled_at.is_some(),
            password_set: u.password_hash.is_some(),
            created_at: u.created_at,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    email: String,
    name: Option<String>,
    role: Role,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffChanges {
    role: Option<Role>,
    disabled: Option<bool>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListUsers {
    page: Option<u32>,
    per_page: Option<u32>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvite {
    token: String,
    password: String,
}

fn link(app: &AppState, invite: &Invite) -> InviteView {
    InviteView {
        // The token travels in the fragment, which browsers never send to a server.
        url: format!(
            "{}/console/accept-invite#token={}",
            app.public_url, invite.token
        ),
        token: invite.token.clone(),
        expires_at: invite.expires_at,
    }
}

/// A single-use link that sets a user's password (there is no email delivery: hand it over).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InviteView {
    /// The console's page for it; the token is in the fragment.
    url: String,
    /// For `POST /v1/auth/accept-invite`.
    token: String,
    expires_at: DateTime<Utc>,
}

/// A user just added, and the link that sets their password.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    user: UserView,
    invite: InviteView,
}

/// `POST /v1/users` (admin) `{email, name?, role}` → 201 `{user, invite: {url, token, expires_at}}`.
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = NewStaff,
    responses(
        (status = 201, description = "Added; hand them `invite.url`", body = CreatedUser),
        (status = 409, description = "The email is already a user's", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Body(new): Body<NewStaff>,
) -> Result<(StatusCode, Json<CreatedUser>), ApiError> {
    staff.require(Role::Admin)?;
    let email = new.email.trim().to_owned();
    if !crate::accounts::is_plausible_email(&email) {
        return Err(ApiError::bad_request("email: an email address"));
    }
    let name = new
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(ApiError::bad_request("name: at most 200 characters"));
    }
    let user = app
        .accounts
        .store
        .create_user(&NewUser {
            organization_id: staff.org,
            email,
            name,
            role: new.role,
            password_hash: None,
        })
        .await?;
    let invite = app.accounts.invite(user.id).await?;
    tracing::info!(by = %staff.user, user = %user.id, role = user.role.as_str(), "staff user added");
    let entry = staff.record("user.created").target("user", user.id);
    let details = json!({ "role": user.role.as_str() });
    let ip = ip.text();
    audit::record(app.audit.as_ref(), entry.ip(ip.as_deref()).details(details)).await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            user: UserView::from(user),
            invite: link(&app, &invite),
        }),
    ))
}

/// `GET /v1/users` (admin): the organization's staff, oldest first.
#[utoipa::path(get, path = "/v1/users", tag = "users", params(ListUsers),
    responses((status = 200, description = "A page of the organization's users", body = Page<UserView>)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    staff: Staff,
    query: Result<Query<ListUsers>, QueryRejection>,
) -> Result<Json<Page<UserView>>, ApiError> {
    staff.require(Role::Admin)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let page = app
        .accounts
        .store
        .users_of(staff.scope(), PageRequest::new(q.page, q.per_page))
        .await?;
    Ok(Json(page.map(UserView::from)))
}

/// `GET /v1/users/{id}` (admin).
#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", params(("id" = Uuid, Path, description = "The user")),
    responses((status = 200, description = "The user", body = UserView)),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    staff.require(Role::Admin)?;
    let user = app
        .accounts
        .store
        .user_in(staff.scope(), path_id(&raw)?)
        .await?;
    user.map(|u| Json(u.into())).ok_or(ApiError::NotFound)
}

/// `PATCH /v1/users/{id}` (admin) `{role?, disabled?}`. Disabling ends the user's sessions at
/// once. An admin cannot change their own role or disable themselves (409).
#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", params(("id" = Uuid, Path, description = "The user")),
    request_body = StaffChanges,
    responses(
        (status = 200, description = "As changed", body = UserView),
        (status = 409, description = "An admin's own role or account", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn update(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Path(raw): Path<String>,
    Body(changes): Body<StaffChanges>,
) -> Result<Json<UserView>, ApiError> {
    staff.require(Role::Admin)?;
    let id = path_id(&raw)?;
    change(&app, &staff, ip, id, changes.role, changes.disabled)
        .await
        .map(Json)
}

/// `DELETE /v1/users/{id}` (admin): disables the user (their sessions end); their records stay.
#[utoipa::path(delete, path = "/v1/users/{id}", tag = "users", params(("id" = Uuid, Path, description = "The user")),
    responses((status = 204, description = "Disabled; their sessions end")),
    security(("bearer" = [])))]
pub async fn delete(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    staff.require(Role::Admin)?;
    change(&app, &staff, ip, path_id(&raw)?, None, Some(true)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn change(
    app: &AppState,
    staff: &Staff,
    ip: ClientIp,
    id: Uuid,
    role: Option<Role>,
    disabled: Option<bool>,
) -> Result<UserView, ApiError> {
    if id == staff.user && (role.is_some_and(|r| r != staff.role) || disabled == Some(true)) {
        return Err(ApiError::Conflict(
            "an admin cannot change their own role or disable themselves".into(),
        ));
    }
    let user = app
        .accounts
        .store
        .update_user(staff.scope(), id, role, disabled, Utc::now())
        .await?
        .ok_or(ApiError::NotFound)?;
    if disabled == Some(true) {
        app.accounts.user_ended(id).await;
    }
    tracing::info!(by = %staff.user, user = %id, ?role, ?disabled, "staff user changed");
    let action = if disabled == Some(true) {
        "user.disabled"
    } else {
        "user.updated"
    };
    let details = json!({ "role": role.map(Role::as_str), "disabled": disabled });
    let ip = ip.text();
    let entry = staff.record(action).target("user", id).ip(ip.as_deref());
    audit::record(app.audit.as_ref(), entry.details(details)).await;
    Ok(user.into())
}

/// `POST /v1/users/{id}/password-reset` (admin) → 201 `{url, token, expires_at}`: a new
/// single-use link; earlier links stop working. The user's password works until the link is used.
#[utoipa::path(post, path = "/v1/users/{id}/password-reset", tag = "users", params(("id" = Uuid, Path, description = "The user")),
    responses(
        (status = 201, description = "A new single-use link; earlier ones stop working", body = InviteView),
        (status = 409, description = "The user is disabled", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn password_reset(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Path(raw): Path<String>,
) -> Result<(StatusCode, Json<InviteView>), ApiError> {
    staff.require(Role::Admin)?;
    let user = app
        .accounts
        .store
        .user_in(staff.scope(), path_id(&raw)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    if user.disabled_at.is_some() {
        return Err(ApiError::Conflict("the user is disabled".into()));
    }
    let invite = app.accounts.invite(user.id).await?;
    tracing::info!(by = %staff.user, user = %user.id, "password reset link issued");
    let ip = ip.text();
    let entry = staff.record("user.password_reset").target("user", user.id);
    audit::record(app.audit.as_ref(), entry.ip(ip.as_deref())).await;
    Ok((StatusCode::CREATED, Json(link(&app, &invite))))
}

/// `POST /v1/auth/accept-invite {token, password}` → 204: the link's user has this password now
/// (then sign in). A used, expired or unknown link is 401; a refused password is 400 and leaves
/// the link usable.
#[utoipa::path(post, path = "/v1/auth/accept-invite", tag = "auth", request_body = AcceptInvite,
    responses(
        (status = 204, description = "The password is set: sign in"),
        (status = 400, description = "The password is refused (the link stays usable)", body = ErrorBody),
        (status = 401, description = "A used, expired or unknown link", body = ErrorBody),
    ))]
pub async fn accept_invite(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Body(req): Body<AcceptInvite>,
) -> Result<StatusCode, ApiError> {
    per_ip_limit(&app, "accept-invite", ip).await?;
    match app.accounts.accept_invite(&req.token, &req.password).await {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        Err(InviteError::Invalid) => Err(ApiError::Unauthorized),
        Err(InviteError::Policy(e)) => Err(ApiError::bad_request(format!("password: {e}"))),
        Err(InviteError::Store(e)) => Err(e.into()),
    }
}
