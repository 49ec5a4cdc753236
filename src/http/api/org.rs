//! The organization itself: its settings (`/v1/org`), the notice candidates accept
//! (`/v1/org/notice`) and the audit log (`/v1/audit`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::body::Body;
use super::principal::{ClientIp, Staff};
use super::Items;
use crate::accounts::organization::{OrgChanges, OrgSettings, RETENTION_DAYS};
use crate::accounts::Role;
use crate::audit::{self, AuditEntry};
use crate::consent::{notice_of, Notice, DEFAULT_RETENTION_DAYS, MAX_NOTICE_CHARS};
use crate::hiring::{Page, PageRequest};
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::interview::settings::InterviewSettings;
use crate::providers::byok::KeyView;

/// The organization's settings, or 404 (it cannot be gone while its staff are signed in).
async fn settings_of(app: &AppState, staff: &Staff) -> Result<OrgSettings, ApiError> {
    app.orgs
        .org_settings(staff.org)
        .await?
        .ok_or(ApiError::NotFound)
}

/// How long `org` keeps data (what the default notice tells candidates).
pub(crate) async fn retention_days(app: &AppState, org: uuid::Uuid) -> Result<u32, ApiError> {
    Ok(app
        .orgs
        .org_settings(org)
        .await?
        .map_or(DEFAULT_RETENTION_DAYS, |o| o.retention_days))
}

/// `GET /v1/org` (any staff) → `{id, name, retention_days, integrity_signals,
/// interview_defaults, created_at, notice: {version, text, created_at}}`.
#[utoipa::path(get, path = "/v1/org", tag = "organization",
    responses((status = 200, description = "Settings and the current notice", body = OrgView)),
    security(("bearer" = [])))]
pub async fn get(State(app): State<AppState>, staff: Staff) -> Result<Json<OrgView>, ApiError> {
    let settings = settings_of(&app, &staff).await?;
    let notice = notice_of(app.notices.as_ref(), staff.org, settings.retention_days).await?;
    Ok(Json(OrgView { settings, notice }))
}

/// The organization's settings and its current notice.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct OrgView {
    #[serde(flatten)]
    settings: OrgSettings,
    notice: Notice,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    name: Option<String>,
    retention_days: Option<u32>,
    integrity_signals: Option<bool>,
    interview_defaults: Option<InterviewSettings>,
}

/// `PATCH /v1/org {name?, retention_days?, integrity_signals?, interview_defaults?}` (admin)
/// → the settings. The notice has its own endpoint (`PUT /v1/org/notice`).
#[utoipa::path(patch, path = "/v1/org", tag = "organization", request_body = OrgPatch,
    responses((status = 200, description = "As changed", body = OrgView)),
    security(("bearer" = [])))]
pub async fn update(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Body(req): Body<OrgPatch>,
) -> Result<Json<OrgView>, ApiError> {
    staff.require(Role::Admin)?;
    let name = req.name.map(|n| n.trim().to_owned());
    if name
        .as_ref()
        .is_some_and(|n| n.is_empty() || n.chars().count() > 200)
    {
        return Err(ApiError::bad_request("name: from 1 to 200 characters"));
    }
    if let Some(d) = req.retention_days {
        if !RETENTION_DAYS.contains(&d) {
            return Err(ApiError::bad_request(format!(
                "retention_days: from {} to {}",
                RETENTION_DAYS.start(),
                RETENTION_DAYS.end()
            )));
        }
    }
    if let Some(d) = &req.interview_defaults {
        d.validate()
            .map_err(|e| ApiError::bad_request(format!("interview_defaults.{e}")))?;
        if d.integrity_signals.is_some() {
            return Err(ApiError::bad_request(
                "interview_defaults.integrity_signals: set integrity_signals on the organization",
            ));
        }
    }
    let changes = OrgChanges {
        name,
        retention_days: req.retention_days,
        integrity_signals: req.integrity_signals,
        interview_defaults: req.interview_defaults,
    };
    app.orgs
        .update_org(staff.org, &changes)
        .await?
        .ok_or(ApiError::NotFound)?;
    let ip = ip.text();
    let details = json!({
        "name": changes.name,
        "retention_days": changes.retention_days,
        "integrity_signals": changes.integrity_signals,
        "interview_defaults": changes.interview_defaults,
    });
    let entry = staff
        .record("org.updated")
        .ip(ip.as_deref())
        .details(details);
    audit::record(app.audit.as_ref(), entry).await;
    get(State(app), staff).await
}

/// `GET /v1/org/notice` (any staff) → `{version, text, created_at}`: the notice candidates see
/// now (version 0: the server's default).
#[utoipa::path(get, path = "/v1/org/notice", tag = "organization",
    responses((status = 200, description = "The current notice (version 0: the built-in one)", body = Notice)),
    security(("bearer" = [])))]
pub async fn notice(State(app): State<AppState>, staff: Staff) -> Result<Json<Notice>, ApiError> {
    let days = retention_days(&app, staff.org).await?;
    Ok(Json(
        notice_of(app.notices.as_ref(), staff.org, days).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNotice {
    text: String,
}

/// `PUT /v1/org/notice {text}` (admin) → the new version. Candidates who consented to an
/// earlier version keep that consent; those who have not are asked for this one.
#[utoipa::path(put, path = "/v1/org/notice", tag = "organization", request_body = NewNotice,
    responses((status = 200, description = "The new version; candidates accept it from now on", body = Notice)),
    security(("bearer" = [])))]
pub async fn put_notice(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Body(req): Body<NewNotice>,
) -> Result<Json<Notice>, ApiError> {
    staff.require(Role::Admin)?;
    let text = req.text.trim();
    if text.is_empty() || text.chars().count() > MAX_NOTICE_CHARS {
        return Err(ApiError::bad_request(format!(
            "text: from 1 to {MAX_NOTICE_CHARS} characters"
        )));
    }
    let notice = app
        .notices
        .add_notice(staff.org, text, Some(staff.user))
        .await?;
    let ip = ip.text();
    audit::record(
        app.audit.as_ref(),
        staff
            .record("org.notice_updated")
            .ip(ip.as_deref())
            .details(json!({ "version": notice.version })),
    )
    .await;
    Ok(Json(notice))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    action: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// `GET /v1/audit?action=&page=&per_page=` (admin): the organization's audit log, newest first.
#[utoipa::path(get, path = "/v1/audit", tag = "organization", params(AuditQuery),
    responses((status = 200, description = "A page of the audit log, newest first", body = Page<AuditEntry>)),
    security(("bearer" = [])))]
pub async fn audit_log(
    State(app): State<AppState>,
    staff: Staff,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    staff.require(Role::Admin)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let page = PageRequest::new(q.page, q.per_page);
    Ok(Json(
        app.audit
            .entries_in(staff.scope(), q.action.as_deref(), page)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProviderKey {
    key: String,
}

/// The vendor a path names, or 404.
fn vendor(raw: &str) -> Result<&'static str, ApiError> {
    crate::providers::byok::VENDORS
        .into_iter()
        .find(|v| *v == raw)
        .ok_or(ApiError::NotFound)
}

/// `GET /v1/org/provider-keys` (admin) → `{items: [{vendor, set, last4, updated_at}]}`: never
/// the keys themselves.
#[utoipa::path(get, path = "/v1/org/provider-keys", tag = "organization",
    responses((status = 200, description = "Each vendor: whether a key is set, its last 4 characters, when", body = Items<KeyView>)),
    security(("bearer" = [])))]
pub async fn provider_keys(
    State(app): State<AppState>,
    staff: Staff,
) -> Result<Json<Items<KeyView>>, ApiError> {
    staff.require(Role::Admin)?;
    let keys = app.provider_keys.provider_keys(staff.org).await?;
    Ok(Json(Items {
        items: crate::providers::byok::views(&keys),
    }))
}

/// `PUT /v1/org/provider-keys/{openai|gemini|deepgram} {key}` (admin) → `{vendor, set, last4,
/// updated_at}`: the organization's interviews use this key for that vendor from their next
/// start. Stored sealed; never returned or logged.
#[utoipa::path(put, path = "/v1/org/provider-keys/{vendor}", tag = "organization", params(("vendor" = String, Path, description = "`openai`, `gemini` or `deepgram`")),
    request_body = NewProviderKey,
    responses((status = 200, description = "Stored encrypted; never returned", body = KeyView)),
    security(("bearer" = [])))]
pub async fn put_provider_key(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    axum::extract::Path(raw): axum::extract::Path<String>,
    Body(req): Body<NewProviderKey>,
) -> Result<Json<KeyView>, ApiError> {
    staff.require(Role::Admin)?;
    let vendor = vendor(&raw)?;
    let key = req.key.trim();
    if key.len() < 8 || key.len() > 500 || key.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ApiError::bad_request(
            "key: the vendor's API key (8 to 500 characters, no spaces)",
        ));
    }
    let last4: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    app.provider_keys
        .set_provider_key(
            staff.org,
            vendor,
            &app.vault.seal(key),
            &last4,
            Some(staff.user),
        )
        .await?;
    let ip = ip.text();
    let entry = staff
        .record("provider_key.set")
        .target("provider_key", vendor);
    audit::record(app.audit.as_ref(), entry.ip(ip.as_deref())).await;
    let keys = app.provider_keys.provider_keys(staff.org).await?;
    let view = crate::providers::byok::views(&keys)
        .into_iter()
        .find(|v| v.vendor == vendor)
        .expect("every vendor has a view");
    Ok(Json(view))
}

/// `DELETE /v1/org/provider-keys/{vendor}` (admin) → 204: the server's key again.
#[utoipa::path(delete, path = "/v1/org/provider-keys/{vendor}", tag = "organization", params(("vendor" = String, Path, description = "`openai`, `gemini` or `deepgram`")),
    responses((status = 204, description = "Removed: the server's key is used again")),
    security(("bearer" = [])))]
pub async fn delete_provider_key(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    staff.require(Role::Admin)?;
    let vendor = vendor(&raw)?;
    if !app
        .provider_keys
        .delete_provider_key(staff.org, vendor)
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let ip = ip.text();
    let entry = staff
        .record("provider_key.deleted")
        .target("provider_key", vendor);
    audit::record(app.audit.as_ref(), entry.ip(ip.as_deref())).await;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
