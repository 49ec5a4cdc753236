//! The organization's own records: the notice candidates accept (`/v1/org/notice`) and the
//! audit log (`/v1/audit`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::body::Body;
use super::principal::{ClientIp, Staff};
use crate::accounts::Role;
use crate::audit::{self, AuditEntry};
use crate::consent::{notice_of, Notice, DEFAULT_RETENTION_DAYS, MAX_NOTICE_CHARS};
use crate::hiring::{Page, PageRequest};
use crate::http::error::ApiError;
use crate::http::AppState;

/// `GET /v1/org/notice` (any staff) → `{version, text, created_at}`: the notice candidates see
/// now (version 0: the server's default).
pub async fn notice(State(app): State<AppState>, staff: Staff) -> Result<Json<Notice>, ApiError> {
    Ok(Json(
        notice_of(app.notices.as_ref(), staff.org, DEFAULT_RETENTION_DAYS).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNotice {
    text: String,
}

/// `PUT /v1/org/notice {text}` (admin) → the new version. Candidates who consented to an
/// earlier version keep that consent; those who have not are asked for this one.
pub async fn put_notice(
    State(app): State<AppState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
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
    let ip = ip.map(|i| i.to_string());
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    action: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// `GET /v1/audit?action=&page=&per_page=` (admin): the organization's audit log, newest first.
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
