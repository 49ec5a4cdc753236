//! `/v1/auth/*`: staff sign-in, refresh, sign-out and `me`.
//!
//! A browser (a request with an `Origin`) gets its refresh token in an `HttpOnly;
//! SameSite=Strict` cookie scoped to `/v1/auth` (`Secure` on https) and never sees it; other
//! clients get it in the body and send it back in the body.

use std::time::Duration;

use axum::extract::State;
use axum::http::header::{COOKIE, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::body::Body;
use super::principal::{ClientIp, Staff};
use crate::accounts::keys::ApiKey;
use crate::accounts::service::{Issued, SignInError};
use crate::accounts::tokens::REFRESH_TTL;
use crate::accounts::{AccountStore, Organization, Role};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::AppState;

/// The refresh cookie's name.
pub const REFRESH_COOKIE: &str = "viva_refresh";

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    email: String,
    password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: Option<String>,
}

/// A signed-in session's tokens.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Tokens {
    /// A JWT for `Authorization: Bearer`, valid `expires_in` seconds.
    access_token: String,
    #[schema(value_type = String, example = "Bearer")]
    token_type: &'static str,
    expires_in: u64,
    /// Single use: `POST /v1/auth/refresh` swaps it for new tokens. Only for non-browser
    /// clients: a page (a request with `Origin`) gets it as an `HttpOnly` cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

/// Who the token speaks for: a staff user, or an API key.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Me {
    User {
        id: uuid::Uuid,
        email: String,
        name: Option<String>,
        role: Role,
        organization: OrgRef,
    },
    ApiKey {
        api_key: ApiKey,
        role: Role,
        organization: OrgRef,
    },
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OrgRef {
    id: uuid::Uuid,
    name: String,
}

impl From<Organization> for OrgRef {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id,
            name: o.name,
        }
    }
}

/// `POST /v1/auth/login {email, password}` → `{access_token, refresh_token, token_type,
/// expires_in}`. Five failures in a row lock the account for 15 minutes (429, `Retry-After`);
/// an unknown email is answered like a wrong password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = SignIn,
    responses(
        (status = 200, description = "Signed in", body = Tokens),
        (status = 401, description = "Wrong email or password (which one is not said)", body = ErrorBody),
        (status = 429, description = "Locked after 5 failures (15 minutes), or too many attempts from this address", body = ErrorBody),
    ))]
pub async fn login(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Body(req): Body<SignIn>,
) -> Result<Response, ApiError> {
    per_ip_limit(&app, "login", ip).await?;
    if req.email.len() > 320 || req.password.len() > 1024 {
        return Err(ApiError::Unauthorized);
    }
    let issued = app
        .accounts
        .sign_in(&req.email, &req.password, ip.map(|i| i.to_string()))
        .await
        .map_err(sign_in_error)?;
    Ok(issue(&app, &headers, issued))
}

/// `POST /v1/auth/refresh {refresh_token}` (a browser: `{}` and the cookie): a new pair; the
/// token presented is spent. Presenting a spent one revokes its whole session.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens; the refresh token presented is used up", body = Tokens),
        (status = 401, description = "Unknown, expired or reused (reuse ends the whole session family)", body = ErrorBody),
    ))]
pub async fn refresh(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Body(body): Body<RefreshRequest>,
) -> Result<Response, ApiError> {
    per_ip_limit(&app, "refresh", ip).await?;
    let token = body
        .refresh_token
        .or_else(|| cookie(&headers, REFRESH_COOKIE))
        .ok_or(ApiError::Unauthorized)?;
    let issued = app.accounts.refresh(&token).await.map_err(sign_in_error)?;
    Ok(issue(&app, &headers, issued))
}

/// `POST /v1/auth/logout`: ends the session; its access token stops working at once.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out: the access token stops working and its sockets close (4001)")),
    security(("bearer" = [])))]
pub async fn logout(
    State(app): State<AppState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
) -> Result<Response, ApiError> {
    if staff.api_key.is_some() {
        return Err(ApiError::bad_request(
            "an API key has no session to end; revoke it with DELETE /v1/api-keys/{id}",
        ));
    }
    let ip = ip.map(|i| i.to_string());
    app.accounts.sign_out(&staff, ip.as_deref()).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(SET_COOKIE, refresh_cookie(&app, "", Duration::ZERO));
    Ok(res)
}

/// `GET /v1/auth/me`: the signed-in user and their organization (with an API key: the key,
/// its role and organization).
#[utoipa::path(get, path = "/v1/auth/me", tag = "auth",
    responses((status = 200, description = "The caller", body = Me)),
    security(("bearer" = [])))]
pub async fn me(State(app): State<AppState>, staff: Staff) -> Result<Json<Me>, ApiError> {
    let store: &dyn AccountStore = app.accounts.store.as_ref();
    if let Some(id) = staff.api_key {
        let key = app
            .accounts
            .keys
            .working_key(id)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let org = store
            .organization(staff.org)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        return Ok(Json(Me::ApiKey {
            role: key.role,
            api_key: key,
            organization: org.into(),
        }));
    }
    let user = store
        .user(staff.user)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let org = store
        .organization(staff.org)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Json(Me::User {
        id: user.id,
        email: user.email,
        name: user.name,
        role: user.role,
        organization: org.into(),
    }))
}

fn sign_in_error(e: SignInError) -> ApiError {
    match e {
        SignInError::Invalid => ApiError::Unauthorized,
        SignInError::Locked { retry_after } => ApiError::RateLimited {
            message: "too many failed sign-ins; try again later",
            retry_after,
        },
        SignInError::Store(e) => e.into(),
    }
}

/// Fails open: a hot-state outage does not lock staff out (the account lockout is durable).
pub(crate) async fn per_ip_limit(
    app: &AppState,
    what: &str,
    ip: Option<std::net::IpAddr>,
) -> Result<(), ApiError> {
    match ip {
        Some(ip) => {
            let limit = app.limits.auth_per_minute;
            super::per_minute(app, &format!("{what}-ip:{ip}"), limit).await
        }
        None => Ok(()),
    }
}

fn issue(app: &AppState, headers: &HeaderMap, issued: Issued) -> Response {
    let browser = headers.contains_key(ORIGIN);
    let body = Tokens {
        access_token: issued.access_token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
        // A page gets it as an HttpOnly cookie instead.
        refresh_token: (!browser).then(|| issued.refresh_token.clone()),
    };
    let mut res = Json(body).into_response();
    if browser {
        res.headers_mut().insert(
            SET_COOKIE,
            refresh_cookie(app, &issued.refresh_token, REFRESH_TTL),
        );
    }
    res.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    res
}

fn refresh_cookie(app: &AppState, value: &str, max_age: Duration) -> HeaderValue {
    let secure = if app.origins.https() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{REFRESH_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/v1/auth; Max-Age={}{secure}",
        max_age.as_secs()
    ))
    .expect("a base64url token is a valid header value")
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}
