//! `/v1/jobs`: job postings of the caller's organization. Viewers read; recruiters and admins
//! also create, change and delete. Another organization's job is not found.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Deserializer};

use super::body::Body;
use super::path_id;
use super::principal::{ClientIp, Staff};
use crate::accounts::Role;
use crate::audit;
use crate::hiring::jobs::{Job, JobFields, JobStatus, Seniority};
use crate::hiring::{Page, PageRequest};
use crate::http::error::ApiError;
use crate::http::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    skills: Vec<String>,
    seniority: Option<Seniority>,
    language: Option<String>,
    status: Option<JobStatus>,
}

/// A partial update: what is absent stays; `seniority: null` clears it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobChanges {
    title: Option<String>,
    description: Option<String>,
    skills: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    seniority: Option<Option<Seniority>>,
    language: Option<String>,
    status: Option<JobStatus>,
}

/// `Some(None)` for an explicit `null`, `None` for an absent field.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListJobs {
    status: Option<JobStatus>,
    page: Option<u32>,
    per_page: Option<u32>,
}

fn invalid(message: String) -> ApiError {
    ApiError::bad_request(message)
}

/// `POST /v1/jobs` (recruiter) → 201 with the job.
#[utoipa::path(post, path = "/v1/jobs", tag = "jobs", request_body = NewJob,
    responses((status = 201, description = "Made", body = Job)),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<AppState>,
    staff: Staff,
    Body(new): Body<NewJob>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    staff.require(Role::Recruiter)?;
    let fields = JobFields {
        title: new.title,
        description: new.description,
        skills: new.skills,
        seniority: new.seniority,
        language: new.language.unwrap_or_else(|| "en".into()),
        status: new.status.unwrap_or(JobStatus::Open),
    }
    .validated()
    .map_err(invalid)?;
    let job = app
        .jobs
        .create_job(staff.scope(), Some(staff.user), &fields)
        .await?;
    Ok((StatusCode::CREATED, Json(job)))
}

/// `GET /v1/jobs?status=&page=&per_page=` → `{items, total, page, per_page, pages}`, newest first.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs", params(ListJobs),
    responses((status = 200, description = "A page of jobs, newest first", body = Page<Job>)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    staff: Staff,
    query: Result<Query<ListJobs>, QueryRejection>,
) -> Result<Json<Page<Job>>, ApiError> {
    let Query(q) = query.map_err(|e| invalid(e.body_text()))?;
    let page = PageRequest::new(q.page, q.per_page);
    Ok(Json(app.jobs.jobs(staff.scope(), q.status, page).await?))
}

/// `GET /v1/jobs/{id}`.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs", params(("id" = Uuid, Path, description = "The job")),
    responses((status = 200, description = "The job", body = Job)),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
) -> Result<Json<Job>, ApiError> {
    let job = app.jobs.job(staff.scope(), path_id(&raw)?).await?;
    job.map(Json).ok_or(ApiError::NotFound)
}

/// `PATCH /v1/jobs/{id}` (recruiter): changes the fields given.
#[utoipa::path(patch, path = "/v1/jobs/{id}", tag = "jobs", params(("id" = Uuid, Path, description = "The job")),
    request_body = JobChanges,
    responses((status = 200, description = "The job as changed", body = Job)),
    security(("bearer" = [])))]
pub async fn update(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    Body(changes): Body<JobChanges>,
) -> Result<Json<Job>, ApiError> {
    staff.require(Role::Recruiter)?;
    let (scope, id) = (staff.scope(), path_id(&raw)?);
    let job = app.jobs.job(scope, id).await?.ok_or(ApiError::NotFound)?;
    let fields = JobFields {
        title: changes.title.unwrap_or(job.title),
        description: changes.description.unwrap_or(job.description),
        skills: changes.skills.unwrap_or(job.skills),
        seniority: changes.seniority.unwrap_or(job.seniority),
        language: changes.language.unwrap_or(job.language),
        status: changes.status.unwrap_or(job.status),
    }
    .validated()
    .map_err(invalid)?;
    let job = app.jobs.update_job(scope, id, &fields).await?;
    job.map(Json).ok_or(ApiError::NotFound)
}

/// `DELETE /v1/jobs/{id}` (recruiter) → 204. Interviews made for it keep what they were given.
#[utoipa::path(delete, path = "/v1/jobs/{id}", tag = "jobs", params(("id" = Uuid, Path, description = "The job")),
    responses((status = 204, description = "Deleted")),
    security(("bearer" = [])))]
pub async fn delete(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    staff.require(Role::Recruiter)?;
    let id = path_id(&raw)?;
    if app.jobs.delete_job(staff.scope(), id).await? {
        let ip = ip.text();
        let entry = staff.record("job.deleted").target("job", id);
        audit::record(app.audit.as_ref(), entry.ip(ip.as_deref())).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
