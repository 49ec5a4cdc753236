//! An interview's assessment: `GET /v1/interviews/{id}/assessment` (202 while it is being made)
//! and `POST /v1/interviews/{id}/assessment/regenerate`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use uuid::Uuid;

use super::path_id;
use super::principal::{ClientIp, Staff};
use crate::accounts::Role;
use crate::assessment::{Assessment, Job, JobStatus};
use crate::audit;
use crate::hiring::interviews::InterviewView;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::AppState;

/// An assessment not ready yet (202), or one that could not be made.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AssessmentPending {
    pub interview_id: Uuid,
    /// `pending` (queued, being made, or waiting to be retried) or `failed`.
    pub status: JobStatus,
    pub attempts: u32,
    pub generation: u32,
    /// For people: what is happening.
    pub summary: String,
}

fn pending(job: &Job) -> AssessmentPending {
    AssessmentPending {
        interview_id: job.interview_id,
        status: job.status,
        attempts: job.attempts,
        generation: job.generation,
        summary: match job.status {
            JobStatus::Failed => format!(
                "The assessment could not be made ({} attempts); regenerate to try again.",
                job.attempts
            ),
            _ => "The assessment is being made.".into(),
        },
    }
}

/// The interview, if it is the organization's.
async fn scoped(app: &AppState, staff: &Staff, raw: &str) -> Result<InterviewView, ApiError> {
    app.interviews
        .interview_in(staff.scope(), path_id(raw)?)
        .await?
        .ok_or(ApiError::NotFound)
}

/// `GET /v1/interviews/{id}/assessment` (any staff role) → 200 the assessment; 202
/// `{status: pending}` while it is being made (a regeneration included); 200 `{status:
/// failed}` when it could not be made; 404 when the interview has none (not completed, or
/// another organization's); 409 while the interview is not over.
#[utoipa::path(get, path = "/v1/interviews/{id}/assessment", tag = "interviews",
    params(("id" = Uuid, Path, description = "The interview")),
    responses(
        (status = 200, description = "The assessment (or, `status: failed`, why there is none)", body = Assessment),
        (status = 202, description = "Being made; ask again shortly", body = AssessmentPending),
        (status = 404, description = "No assessment: the interview was not completed (regenerate makes one), or is not the organization's", body = ErrorBody),
        (status = 409, description = "The interview is not over", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get_assessment(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let view = scoped(&app, &staff, &raw).await?;
    let Some(job) = app.assessments.assessment_job(view.id).await? else {
        if !view.status.is_finished() {
            return Err(ApiError::Conflict("the interview is not over".into()));
        }
        return Err(ApiError::NotFound);
    };
    match job.status {
        JobStatus::Pending => Ok((StatusCode::ACCEPTED, Json(pending(&job))).into_response()),
        JobStatus::Failed => Ok(Json(pending(&job)).into_response()),
        JobStatus::Done => match app.assessments.assessment(view.id).await? {
            Some(a) => Ok(Json(a).into_response()),
            // Done, but the row is gone (the interview's data was purged).
            None => Err(ApiError::NotFound),
        },
    }
}

/// `POST /v1/interviews/{id}/assessment/regenerate` (recruiter) → 202 `{status: pending}`: the
/// assessment is made again (the one before stays readable until the new one replaces it: one
/// assessment per interview). 409 while the interview is not over.
#[utoipa::path(post, path = "/v1/interviews/{id}/assessment/regenerate", tag = "interviews",
    params(("id" = Uuid, Path, description = "The interview")),
    responses(
        (status = 202, description = "Queued", body = AssessmentPending),
        (status = 409, description = "The interview is not over, or its transcript was deleted", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn regenerate(
    State(app): State<AppState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(raw): Path<String>,
) -> Result<(StatusCode, Json<AssessmentPending>), ApiError> {
    staff.require(Role::Recruiter)?;
    let view = scoped(&app, &staff, &raw).await?;
    if !view.status.is_finished() {
        return Err(ApiError::Conflict("the interview is not over".into()));
    }
    if view.purged_at.is_some() {
        return Err(ApiError::Conflict(
            "the interview's transcript was deleted (retention)".into(),
        ));
    }
    let job = app.assessments.request_assessment(view.id).await?;
    let ip = ip.map(|i| i.to_string());
    let entry = staff
        .record("assessment.regenerated")
        .ip(ip.as_deref())
        .target("interview", view.id)
        .details(serde_json::json!({ "generation": job.generation }));
    audit::record(app.audit.as_ref(), entry).await;
    Ok((StatusCode::ACCEPTED, Json(pending(&job))))
}
