//! `/v1/interviews`: interviews of the caller's organization, made for one of its candidates
//! and jobs. Viewers read; recruiters and admins also create. Another organization's interview
//! is not found.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use uuid::Uuid;

use super::body::Body;
use super::principal::{ClientIp, Staff};
use super::{path_id, per_minute};
use crate::accounts::Role;
use crate::audit;
use crate::hiring::interviews::{self, InterviewFilter, InterviewLinks, InterviewView};
use crate::hiring::jobs::Job;
use crate::hiring::{Page, PageRequest};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::AppState;
use crate::interview::settings::{Accommodation, InterviewSettings};
use crate::store::{InterviewStatus, NewInterview};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiInterview {
    job_id: Uuid,
    candidate_id: Uuid,
    max_questions: Option<u32>,
    max_minutes: Option<u32>,
    language: Option<String>,
    template: Option<String>,
    #[serde(default)]
    accommodations: Vec<Accommodation>,
    /// Record both sides' audio once the candidate accepts the notice (default: the
    /// organization's `interview_defaults`, else off).
    record_audio: Option<bool>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListInterviews {
    status: Option<InterviewStatus>,
    job_id: Option<Uuid>,
    candidate_id: Option<Uuid>,
    created_after: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// What the interviewer is told about the job.
fn job_description(job: &Job) -> String {
    let mut d = job.description.clone();
    if let Some(s) = job.seniority {
        d.push_str(&format!("\n\nSeniority: {}.", s.as_str()));
    }
    if !job.skills.is_empty() {
        d.push_str(&format!("\n\nSkills: {}.", job.skills.join(", ")));
    }
    d.trim().to_owned()
}

/// A new interview: where the candidate goes, and until when the link works.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedInterview {
    id: Uuid,
    status: InterviewStatus,
    /// The candidate's link; its token is in the fragment (browsers never send it).
    invite_url: String,
    expires_at: DateTime<Utc>,
    job_id: Uuid,
    candidate_id: Uuid,
    settings: InterviewSettings,
}

/// `POST /v1/interviews {job_id, candidate_id, max_questions?, max_minutes?, language?,
/// template?, accommodations?}` (recruiter) → 201 `{id, status, invite_url, expires_at, job_id,
/// candidate_id, settings}`. The interviewer gets the job's title, description and skills and
/// the candidate's résumé, as they are now. The candidate accepts the organization's notice
/// before it starts.
#[utoipa::path(post, path = "/v1/interviews", tag = "interviews",
    request_body = NewApiInterview,
    responses(
        (status = 201, description = "Made; send the candidate `invite_url`", body = CreatedInterview),
        (status = 422, description = "`job_id` or `candidate_id` names nothing of the organization's", body = ErrorBody),
        (status = 429, description = "Too many interviews made this minute by this account (`VIVA_INTERVIEWS_PER_MINUTE`) or client address (5×)", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<AppState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Body(req): Body<NewApiInterview>,
) -> Result<(StatusCode, Json<CreatedInterview>), ApiError> {
    staff.require(Role::Recruiter)?;
    // Per account (the API key, else the user), then per client address.
    let limit = app.limits.interviews_per_minute;
    let account = staff.api_key.unwrap_or(staff.user);
    per_minute(&app, &format!("interviews-account:{account}"), limit).await?;
    if let Some(ip) = ip {
        per_minute(
            &app,
            &format!("interviews-ip:{ip}"),
            limit.saturating_mul(5),
        )
        .await?;
    }
    let scope = staff.scope();
    let job = app
        .jobs
        .job(scope, req.job_id)
        .await?
        .ok_or_else(|| ApiError::Unprocessable("job_id: no such job".into()))?;
    let candidate = app
        .candidates
        .candidate(scope, req.candidate_id)
        .await?
        .ok_or_else(|| ApiError::Unprocessable("candidate_id: no such candidate".into()))?;
    let settings = InterviewSettings {
        max_questions: req.max_questions,
        max_minutes: req.max_minutes,
        // The job's language unless the interview names its own.
        language: req.language,
        template: req.template,
        accommodations: req.accommodations,
        record_audio: req.record_audio,
        integrity_signals: None,
    };
    // The organization's defaults fill what the request leaves out.
    let org = app.orgs.org_settings(staff.org).await?;
    let defaults = org
        .as_ref()
        .map(|o| o.interview_defaults.clone())
        .unwrap_or_default();
    let mut settings = settings.or(&defaults);
    // Collected only when the organization has them on as the interview is made.
    settings.integrity_signals = Some(org.is_some_and(|o| o.integrity_signals));
    // Then the job's language.
    if settings.language.is_none() && !job.language.is_empty() {
        settings.language = Some(job.language.clone());
    }
    settings.validate().map_err(ApiError::bad_request)?;
    // A template that is not a built-in bank names one of the organization's own.
    let own_bank = match settings.template.as_deref() {
        Some(t) if crate::plan::build::bank_named(t).is_none() => {
            Some(app.library.org_bank(staff.org, t).await?.ok_or_else(|| {
                ApiError::bad_request(format!(
                    "template: no bank named {t} (GET /v1/question-banks lists them)"
                ))
            })?)
        }
        _ => None,
    };
    let description = job_description(&job);
    // The plan: the bank and the questions that fit this job and this résumé.
    let plan = crate::plan::build(&crate::plan::PlanInput {
        role: &job.title,
        description: &job.description,
        skills: &job.skills,
        seniority: job.seniority.map(|s| s.as_str()),
        resume: &candidate.resume_text,
        template: settings.template.as_deref(),
        bank: own_bank.as_ref(),
        questions: settings
            .max_questions
            .map_or(crate::plan::build::DEFAULT_QUESTIONS, |n| n as usize),
    });
    let new = NewInterview {
        role: job.title.clone(),
        job_description: (!description.is_empty()).then_some(description),
        resume: (!candidate.resume_text.is_empty()).then(|| candidate.resume_text.clone()),
        settings,
        link_id: None,
        // The candidate accepts the organization's notice before it starts.
        consent_required: true,
        plan: Some(std::sync::Arc::new(plan)),
        prompts: Some(crate::prompts::for_new_interview(app.prompts.as_ref(), staff.org).await?),
    };
    let links = InterviewLinks {
        job_id: Some(job.id),
        candidate_id: Some(candidate.id),
        created_by: Some(staff.user),
    };
    let created = interviews::create(
        app.interviews.as_ref(),
        &app.auth,
        &app.public_url,
        scope,
        &new,
        &links,
        // Not answered: staff watch with their own sign-in.
        Role::Viewer,
    )
    .await?;
    tracing::info!(by = %staff.user, interview = %created.interview_id, "interview created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedInterview {
            id: created.interview_id,
            status: InterviewStatus::Scheduled,
            invite_url: created.url,
            expires_at: created.expires_at,
            job_id: job.id,
            candidate_id: candidate.id,
            settings: new.settings,
        }),
    ))
}

/// `POST /v1/interviews/{id}/invite` (recruiter) → 201 `{id, invite_url, expires_at}`: a new
/// candidate link; the one before stops working at once (durably: the interview's record names
/// the link that works), and a candidate connected with it is disconnected (4001). An ended
/// interview is 409.
#[utoipa::path(post, path = "/v1/interviews/{id}/invite", tag = "interviews",
    params(("id" = Uuid, Path, description = "The interview")),
    responses(
        (status = 201, description = "The new link; the old one stopped working", body = InviteLink),
        (status = 409, description = "The interview has ended", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn reinvite(
    State(app): State<AppState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(raw): Path<String>,
) -> Result<(StatusCode, Json<InviteLink>), ApiError> {
    staff.require(Role::Recruiter)?;
    let id = path_id(&raw)?;
    let scope = staff.scope();
    let view = app
        .interviews
        .interview_in(scope, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let link = interviews::relink(
        app.interviews.as_ref(),
        &app.auth,
        &app.public_url,
        scope,
        id,
    )
    .await?
    .ok_or_else(|| {
        ApiError::Conflict(format!(
            "the interview has ended ({})",
            view.status.as_str()
        ))
    })?;
    if let Some(handle) = app.registry.get(id) {
        handle.drop_candidate().await;
    }
    let ip = ip.map(|i| i.to_string());
    audit::record(
        app.audit.as_ref(),
        staff
            .record("interview.link_reissued")
            .target("interview", id)
            .ip(ip.as_deref()),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(InviteLink {
            id,
            invite_url: link.url,
            expires_at: link.expires_at,
        }),
    ))
}

/// A re-issued candidate link.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct InviteLink {
    id: Uuid,
    invite_url: String,
    expires_at: DateTime<Utc>,
}

/// `GET /v1/interviews?status=&job_id=&candidate_id=&created_after=&created_before=&page=&per_page=`,
/// newest first.
#[utoipa::path(get, path = "/v1/interviews", tag = "interviews",
    params(ListInterviews),
    responses((status = 200, description = "A page of interviews, newest first", body = Page<InterviewView>)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    staff: Staff,
    query: Result<Query<ListInterviews>, QueryRejection>,
) -> Result<Json<Page<InterviewView>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let filter = InterviewFilter {
        status: q.status,
        job_id: q.job_id,
        candidate_id: q.candidate_id,
        created_after: q.created_after,
        created_before: q.created_before,
    };
    let page = PageRequest::new(q.page, q.per_page);
    Ok(Json(
        app.interviews
            .interviews_in(staff.scope(), &filter, page)
            .await?,
    ))
}

/// `GET /v1/interviews/{id}`: status, timings, usage and cost.
#[utoipa::path(get, path = "/v1/interviews/{id}", tag = "interviews",
    params(("id" = Uuid, Path, description = "The interview")),
    responses((status = 200, description = "The interview", body = InterviewView)),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
) -> Result<Json<InterviewView>, ApiError> {
    let found = app
        .interviews
        .interview_in(staff.scope(), path_id(&raw)?)
        .await?;
    found.map(Json).ok_or(ApiError::NotFound)
}

/// Every interview of a candidate (all pages), newest first.
pub(crate) async fn of_candidate(
    app: &AppState,
    scope: crate::accounts::Scope,
    candidate: Uuid,
) -> Result<Vec<InterviewView>, ApiError> {
    let filter = InterviewFilter {
        candidate_id: Some(candidate),
        ..Default::default()
    };
    Ok(interviews::all_in(app.interviews.as_ref(), scope, &filter, None).await?)
}
