//! `/v1/interviews`: interviews of the caller's organization, made for one of its candidates
//! and jobs. Viewers read; recruiters and admins also create. Another organization's interview
//! is not found.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::body::{Body, OptionalBody};
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
    };
    // The organization's defaults fill what the request leaves out.
    let defaults = app
        .orgs
        .org_settings(staff.org)
        .await?
        .map(|o| o.interview_defaults)
        .unwrap_or_default();
    let mut settings = settings.or(&defaults);
    // Then the job's language.
    if settings.language.is_none() && !job.language.is_empty() {
        settings.language = Some(job.language.clone());
    }
    settings.validate().map_err(ApiError::bad_request)?;
    let description = job_description(&job);
    let new = NewInterview {
        role: job.title.clone(),
        job_description: (!description.is_empty()).then_some(description),
        resume: (!candidate.resume_text.is_empty()).then(|| candidate.resume_text.clone()),
        settings,
        link_id: None,
        // The candidate accepts the organization's notice before it starts.
        consent_required: true,
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

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    reason: Option<String>,
}

/// How long a cancel made through a node that does not drive the interview is announced in
/// the hot state: longer than any interview lasts.
const CANCEL_MARK_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Longest cancel reason, in characters (the interviewer reads it out).
const MAX_REASON_CHARS: usize = 300;

/// `POST /v1/interviews/{id}/cancel {reason?}` (recruiter) → 200, the interview now
/// `cancelled`. A live interview ends politely: the interviewer tells the candidate the hiring
/// team ended it (with the reason, if given), then the stream ends (`ended`, reason
/// `cancelled`). One that has ended is 409.
#[utoipa::path(post, path = "/v1/interviews/{id}/cancel", tag = "interviews",
    params(("id" = Uuid, Path, description = "The interview")),
    request_body(content = Option<CancelRequest>, description = "Optional: the reason, read out to the candidate"),
    responses(
        (status = 200, description = "Cancelled", body = InterviewView),
        (status = 409, description = "The interview has ended", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn cancel(
    State(app): State<AppState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(raw): Path<String>,
    OptionalBody(req): OptionalBody<CancelRequest>,
) -> Result<Json<InterviewView>, ApiError> {
    staff.require(Role::Recruiter)?;
    let id = path_id(&raw)?;
    let scope = staff.scope();
    let ip = ip.map(|i| i.to_string());
    let entry = staff.record("interview.cancelled").ip(ip.as_deref());
    end_interview(&app, scope, id, req.reason, entry).await?;
    tracing::info!(by = %staff.user, interview = %id, "interview cancelled");
    app.interviews
        .interview_in(scope, id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

/// Ends an interview of `scope` for the hiring team (the API's cancel, a monitor's `end`): it
/// becomes `cancelled` in the store, and a live one here ends politely with the reason read out.
/// Recorded in the audit log as `entry` (with the interview and the reason). Not found: 404; ended
/// already: 409; a reason over [`MAX_REASON_CHARS`]: 400.
pub(crate) async fn end_interview(
    app: &AppState,
    scope: crate::accounts::Scope,
    id: Uuid,
    reason: Option<String>,
    entry: audit::Record<'_>,
) -> Result<(), ApiError> {
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
    {
        return Err(ApiError::bad_request(format!(
            "reason: at most {MAX_REASON_CHARS} characters"
        )));
    }
    let view = app
        .interviews
        .interview_in(scope, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !app
        .interviews
        .cancel_in(scope, id, reason.as_deref())
        .await?
    {
        return Err(ApiError::Conflict(format!(
            "the interview has ended ({})",
            view.status.as_str()
        )));
    }
    // Live here: the interviewer says so and ends it. Live on another node: that node's next
    // lease renewal finds the mark (and the store says cancelled, so it cannot be rejoined).
    match app.registry.get(id) {
        Some(handle) => {
            handle.cancel(reason.clone()).await;
        }
        None => {
            let mark = crate::interview::actor::cancelled_mark(id);
            if let Err(e) = app.hot.revoke_token(&mark, CANCEL_MARK_TTL).await {
                tracing::warn!(interview = %id, error = %e, "cannot tell the driving node about a cancel");
            }
        }
    }
    let entry = entry
        .target("interview", id)
        .details(json!({ "reason": reason }));
    audit::record(app.audit.as_ref(), entry).await;
    Ok(())
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

/// One turn of a transcript, its times in milliseconds from the interview's start on the
/// server's clock (stable across reconnects: they are the stored times).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TranscriptTurn {
    /// The protocol's `turn` number.
    turn: u32,
    speaker: crate::protocol::Speaker,
    kind: crate::protocol::TurnKind,
    text: String,
    /// `false`: speech kept without a transcript (no recogniser was available).
    transcribed: bool,
    /// The interviewer was cut off: `text` is what was heard.
    interrupted: bool,
    /// A question the hiring team suggested while watching, asked as written.
    suggested: bool,
    start_ms: i64,
    end_ms: i64,
}

/// An interview's transcript: its turns in order, times from `started_at`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Transcript {
    pub interview_id: Uuid,
    /// When the interview started (its first turn, or when it was made, if it never started).
    pub started_at: DateTime<Utc>,
    pub turns: Vec<TranscriptTurn>,
}

/// `GET /v1/interviews/{id}/transcript` → `{interview_id, started_at, turns: [...]}`.
#[utoipa::path(get, path = "/v1/interviews/{id}/transcript", tag = "interviews",
    params(("id" = Uuid, Path, description = "The interview")),
    responses((status = 200, description = "The transcript", body = Transcript)),
    security(("bearer" = [])))]
pub async fn transcript(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
) -> Result<Json<Transcript>, ApiError> {
    let view = app
        .interviews
        .interview_in(staff.scope(), path_id(&raw)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(transcript_of(&app, &view).await?))
}

/// An interview's transcript as `/transcript` answers it.
pub(crate) async fn transcript_of(
    app: &AppState,
    view: &InterviewView,
) -> Result<Transcript, ApiError> {
    let turns = app.store.turns(view.id).await?;
    // The interview's start: when it was started, else its first turn.
    let origin = view
        .started_at
        .or_else(|| turns.first().map(|t| t.started_at))
        .unwrap_or(view.created_at);
    let ms = |t: DateTime<Utc>| (t - origin).num_milliseconds().max(0);
    let turns: Vec<TranscriptTurn> = turns
        .into_iter()
        .map(|t| TranscriptTurn {
            turn: t.seq,
            speaker: t.speaker,
            kind: t.kind,
            start_ms: ms(t.started_at),
            end_ms: ms(t.ended_at),
            text: t.text,
            transcribed: t.transcribed,
            interrupted: t.interrupted,
            suggested: t.suggested,
        })
        .collect();
    Ok(Transcript {
        interview_id: view.id,
        started_at: origin,
        turns,
    })
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
    let mut all = Vec::new();
    for page in 1.. {
        let got = app
            .interviews
            .interviews_in(
                scope,
                &filter,
                PageRequest::new(Some(page), Some(PageRequest::MAX_PER_PAGE)),
            )
            .await?;
        let last = page >= got.pages;
        all.extend(got.items);
        if last {
            break;
        }
    }
    Ok(all)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    after_seq: Option<u64>,
    limit: Option<u32>,
}

/// A page of an interview's event log.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// The protocol's event envelopes (`{seq, type, …}`, docs/protocol.md), in `seq` order.
    items: Vec<Value>,
    /// The last `seq` here (`after_seq` when empty): ask for `after_seq` = this next.
    next_after_seq: u64,
}

/// Events a page of the log may hold, at most.
const MAX_EVENTS: u32 = 1000;

/// `GET /v1/interviews/{id}/events?after_seq=N&limit=` → `{items, next_after_seq}`: the
/// interview's event log as the candidate received it (the protocol's events, `seq` order), the
/// first `limit` (100; at most 1000) with `seq > N`. Page on with `after_seq=next_after_seq`.
#[utoipa::path(get, path = "/v1/interviews/{id}/events", tag = "interviews",
    params(("id" = Uuid, Path, description = "The interview"), EventsQuery),
    responses((status = 200, description = "Events with `seq` above `after_seq`", body = EventPage)),
    security(("bearer" = [])))]
pub async fn events(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<EventPage>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let id = path_id(&raw)?;
    app.interviews
        .interview_in(staff.scope(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let after = q.after_seq.unwrap_or(0);
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_EVENTS);
    let events = app
        .interviews
        .events_in(staff.scope(), id, after, limit)
        .await?;
    let next = events.last().map_or(after, |e| e.seq);
    let items = events
        .into_iter()
        .map(|e| serde_json::from_str::<Value>(&e.body))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(EventPage {
        items,
        next_after_seq: next,
    }))
}
