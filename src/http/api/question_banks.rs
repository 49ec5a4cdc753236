//! An organization's question banks: import one (`POST /v1/question-banks`, JSON or CSV, its
//! next version), list the banks it can use (the built-in ones and its own), read one.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::principal::{ClientIp, Staff};
use super::Items;
use crate::accounts::Role;
use crate::audit;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::AppState;
use crate::plan::bank::{built_in, QuestionBank};
use crate::plan::import;
use crate::plan::library::{reserved, BankSummary};

/// The largest bank file read.
pub const MAX_BANK_BYTES: usize = 1024 * 1024;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// For CSV: the bank's name (lower case letters, digits and `-`).
    name: Option<String>,
    /// For CSV: its title.
    title: Option<String>,
}

/// A bank as imported.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ImportedBank {
    pub name: String,
    pub title: String,
    pub version: u32,
    pub questions: usize,
    pub created_at: DateTime<Utc>,
}

/// `POST /v1/question-banks[?name=&title=]` (recruiter) with a JSON bank (`{name, title,
/// questions: [{id, text, skills, type, difficulty, rubric}]}`, `Content-Type:
/// application/json`) or a CSV (`text/csv`: a header naming `id, text, skills, type,
/// difficulty, rubric`; skills separated by `;`; `name` and `title` in the query) → 201 `{name,
/// title, version, questions, created_at}`: the bank's next version (1 for a new name). Checked
/// whole first: a problem is a 400 naming its CSV line or question, and nothing is stored.
#[utoipa::path(post, path = "/v1/question-banks", tag = "question banks",
    params(ImportParams),
    request_body(content = String, description = "The bank, as JSON or CSV", content_type = "text/csv"),
    responses(
        (status = 201, description = "Imported as its name's next version", body = ImportedBank),
        (status = 400, description = "Not a valid bank (the message names the line or question), or neither JSON nor CSV", body = ErrorBody),
        (status = 409, description = "The name is a built-in bank's", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn import_bank(
    State(app): State<AppState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    query: Result<Query<ImportParams>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ImportedBank>), ApiError> {
    staff.require(Role::Recruiter)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("the bank is not UTF-8 text"))?;
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let bank = match kind.as_str() {
        "application/json" => import::from_json(text),
        "text/csv" => {
            let (Some(name), Some(title)) = (q.name.as_deref(), q.title.as_deref()) else {
                return Err(ApiError::bad_request(
                    "a CSV bank needs ?name= and ?title= in the query",
                ));
            };
            import::from_csv(name, title, text)
        }
        _ => {
            return Err(ApiError::bad_request(
                "send the bank as application/json or text/csv (Content-Type)",
            ))
        }
    }
    .map_err(ApiError::bad_request)?;
    if reserved(&bank.name) {
        return Err(ApiError::Conflict(format!(
            "{} is a built-in bank's name; choose another",
            bank.name
        )));
    }
    let (stored, created_at) = app
        .library
        .import(staff.org, &bank, Some(staff.user))
        .await?;
    let ip = ip.map(|i| i.to_string());
    let entry = staff
        .record("question_bank.imported")
        .ip(ip.as_deref())
        .target("question_bank", &stored.name)
        .details(serde_json::json!({
            "version": stored.version,
            "questions": stored.questions.len(),
        }));
    audit::record(app.audit.as_ref(), entry).await;
    Ok((
        StatusCode::CREATED,
        Json(ImportedBank {
            name: stored.name,
            title: stored.title,
            version: stored.version,
            questions: stored.questions.len(),
            created_at,
        }),
    ))
}

/// `GET /v1/question-banks` (any staff role) → `{items: [{name, title, version, questions,
/// source, created_at?}]}`: the built-in banks, then the organization's (newest versions).
#[utoipa::path(get, path = "/v1/question-banks", tag = "question banks",
    responses((status = 200, description = "The banks interviews may name as `template`", body = Items<BankSummary>)),
    security(("bearer" = [])))]
pub async fn list_banks(
    State(app): State<AppState>,
    staff: Staff,
) -> Result<Json<Items<BankSummary>>, ApiError> {
    Ok(Json(Items {
        items: app.library.list(staff.org).await?,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BankParams {
    /// An earlier version of an organization's bank (default: the newest).
    version: Option<u32>,
}

/// `GET /v1/question-banks/{name}[?version=]` (any staff role) → the bank with its questions.
#[utoipa::path(get, path = "/v1/question-banks/{name}", tag = "question banks",
    params(("name" = String, Path, description = "The bank's name"), BankParams),
    responses(
        (status = 200, description = "The bank", body = QuestionBank),
        (status = 404, description = "No such bank (or version) for the organization", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_bank(
    State(app): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    query: Result<Query<BankParams>, QueryRejection>,
) -> Result<Json<QuestionBank>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if let Some(b) = built_in(&name) {
        return match q.version {
            Some(v) if v != b.version => Err(ApiError::NotFound),
            _ => Ok(Json(b.clone())),
        };
    }
    let bank = match q.version {
        None => app.library.org_bank(staff.org, &name).await?,
        Some(v) => {
            app.library
                .store
                .org_bank(staff.org, &name, Some(v))
                .await?
        }
    };
    bank.map(Json).ok_or(ApiError::NotFound)
}
