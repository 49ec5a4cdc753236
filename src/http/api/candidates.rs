//! `/v1/candidates`: the people the caller's organization interviews. Viewers read; recruiters
//! and admins also add, change and delete. Another organization's candidate is not found; an
//! email is unique within an organization (409).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::body::Body;
use super::path_id;
use super::principal::{ClientIp, Staff};
use super::{interview_record, interviews};
use crate::accounts::Role;
use crate::audit;
use crate::hiring::candidates::{Candidate, CandidateFields};
use crate::hiring::interviews::InterviewView;
use crate::hiring::{Page, PageRequest};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCandidate {
    name: String,
    email: String,
    #[serde(default)]
    resume_text: String,
}

/// A partial update: what is absent stays.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CandidateChanges {
    name: Option<String>,
    email: Option<String>,
    resume_text: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListCandidates {
    /// A part of the name or email.
    q: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// `POST /v1/candidates` (recruiter) → 201.
#[utoipa::path(post, path = "/v1/candidates", tag = "candidates", request_body = NewCandidate,
    responses(
        (status = 201, description = "Added", body = Candidate),
        (status = 409, description = "The email is already a candidate's", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<AppState>,
    staff: Staff,
    Body(new): Body<NewCandidate>,
) -> Result<(StatusCode, Json<Candidate>), ApiError> {
    staff.require(Role::Recruiter)?;
    let fields = CandidateFields {
        name: new.name,
        email: new.email,
        resume_text: new.resume_text,
    }
    .validated()
    .map_err(ApiError::bad_request)?;
    let c = app
        .candidates
        .create_candidate(staff.scope(), Some(staff.user), &fields)
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// `GET /v1/candidates?q=&page=&per_page=`, newest first.
#[utoipa::path(get, path = "/v1/candidates", tag = "candidates", params(ListCandidates),
    responses((status = 200, description = "A page of candidates, newest first", body = Page<Candidate>)),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<AppState>,
    staff: Staff,
    query: Result<Query<ListCandidates>, QueryRejection>,
) -> Result<Json<Page<Candidate>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let page = PageRequest::new(q.page, q.per_page);
    let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if search.is_some_and(|s| s.chars().count() > 200) {
        return Err(ApiError::bad_request("q: at most 200 characters"));
    }
    Ok(Json(
        app.candidates
            .candidates(staff.scope(), search, page)
            .await?,
    ))
}

/// `GET /v1/candidates/{id}`.
#[utoipa::path(get, path = "/v1/candidates/{id}", tag = "candidates", params(("id" = Uuid, Path, description = "The candidate")),
    responses((status = 200, description = "The candidate", body = Candidate)),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
) -> Result<Json<Candidate>, ApiError> {
    let c = app
        .candidates
        .candidate(staff.scope(), path_id(&raw)?)
        .await?;
    c.map(Json).ok_or(ApiError::NotFound)
}

/// `PATCH /v1/candidates/{id}` (recruiter).
#[utoipa::path(patch, path = "/v1/candidates/{id}", tag = "candidates", params(("id" = Uuid, Path, description = "The candidate")),
    request_body = CandidateChanges,
    responses((status = 200, description = "The candidate as changed", body = Candidate)),
    security(("bearer" = [])))]
pub async fn update(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    Body(changes): Body<CandidateChanges>,
) -> Result<Json<Candidate>, ApiError> {
    staff.require(Role::Recruiter)?;
    let (scope, id) = (staff.scope(), path_id(&raw)?);
    let c = app
        .candidates
        .candidate(scope, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let fields = CandidateFields {
        name: changes.name.unwrap_or(c.name),
        email: changes.email.unwrap_or(c.email),
        resume_text: changes.resume_text.unwrap_or(c.resume_text),
    }
    .validated()
    .map_err(ApiError::bad_request)?;
    let c = app.candidates.update_candidate(scope, id, &fields).await?;
    c.map(Json).ok_or(ApiError::NotFound)
}

/// `DELETE /v1/candidates/{id}` (recruiter) → 204: the candidate and their interviews with
/// everything held about them (transcripts, event logs, analyses) are deleted; a live one is
/// cancelled first. Recorded in the audit log.
#[utoipa::path(delete, path = "/v1/candidates/{id}", tag = "candidates", params(("id" = Uuid, Path, description = "The candidate")),
    responses((status = 204, description = "Deleted, with their interviews' transcripts, events and audio-derived data")),
    security(("bearer" = [])))]
pub async fn delete(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Path(raw): Path<String>,
) -> Result<StatusCode, ApiError> {
    staff.require(Role::Recruiter)?;
    let (scope, id) = (staff.scope(), path_id(&raw)?);
    app.candidates
        .candidate(scope, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    // A live interview ends before its data goes (its actor would write turns for nothing).
    let theirs = interviews::of_candidate(&app, scope, id).await?;
    for i in &theirs {
        if let Some(handle) = app.registry.get(i.id) {
            handle.cancel(None).await;
        }
    }
    let deleted = app
        .candidates
        .delete_candidate(scope, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    // The hot state's copies too: checkpoints and live event streams (with Redis, kept 24 h).
    for i in &theirs {
        if let Err(e) = app.hot.forget(i.id).await {
            tracing::warn!(interview = %i.id, error = %e, "cannot drop a deleted interview's hot state; it expires within 24 h");
        }
        // Its recordings. (One still being written when its actor stops is not kept: the
        // recorder finds the interview gone.)
        if let Some(r) = &app.registry.deps().recordings {
            if let Err(e) = r.store.delete_prefix(&format!("{}/", i.id)).await {
                tracing::error!(interview = %i.id, error = %e, "cannot delete a deleted interview's recordings");
            }
        }
    }
    let ip = ip.text();
    let entry = staff.record("candidate.deleted").target("candidate", id);
    let details = json!({ "interviews_deleted": deleted });
    audit::record(app.audit.as_ref(), entry.ip(ip.as_deref()).details(details)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A data subject's access request answered: everything held about a candidate.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CandidateExport {
    exported_at: chrono::DateTime<chrono::Utc>,
    candidate: Candidate,
    interviews: Vec<ExportedInterview>,
}

/// One of the candidate's interviews, with its transcript.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ExportedInterview {
    #[serde(flatten)]
    interview: InterviewView,
    transcript: Vec<interview_record::TranscriptTurn>,
}

/// `GET /v1/candidates/{id}/export` (recruiter) → everything held about a candidate as one
/// document (a data subject's access request): `{exported_at, candidate, interviews: [{…the
/// interview, transcript}]}`. Recorded in the audit log.
#[utoipa::path(get, path = "/v1/candidates/{id}/export", tag = "candidates", params(("id" = Uuid, Path, description = "The candidate")),
    responses((status = 200, description = "Everything held about the candidate", body = CandidateExport)),
    security(("bearer" = [])))]
pub async fn export(
    State(app): State<AppState>,
    staff: Staff,
    ip: ClientIp,
    Path(raw): Path<String>,
) -> Result<Json<CandidateExport>, ApiError> {
    staff.require(Role::Recruiter)?;
    let (scope, id) = (staff.scope(), path_id(&raw)?);
    let candidate = app
        .candidates
        .candidate(scope, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut out = Vec::new();
    for view in interviews::of_candidate(&app, scope, id).await? {
        let transcript = interview_record::transcript_of(&app, &view).await?.turns;
        out.push(ExportedInterview {
            interview: view,
            transcript,
        });
    }
    let ip = ip.text();
    let entry = staff.record("candidate.exported").target("candidate", id);
    audit::record(app.audit.as_ref(), entry.ip(ip.as_deref())).await;
    Ok(Json(CandidateExport {
        exported_at: chrono::Utc::now(),
        candidate,
        interviews: out,
    }))
}

/// The upload's form (`multipart/form-data`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the form for the API document; the handler reads it as multipart.
pub struct ResumeFile {
    /// The résumé: PDF, DOCX or plain text, at most 5 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A résumé stored.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ResumeUploaded {
    candidate: Candidate,
    resume: ResumeInfo,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ResumeInfo {
    /// What the file was read as.
    kind: crate::hiring::resume::Kind,
    /// Characters of text kept.
    characters: usize,
}

/// `POST /v1/candidates/{id}/resume` (recruiter), `multipart/form-data` with the file in the
/// field `file`: a PDF, DOCX or plain-text résumé of at most 5 MiB, stored as its text (the
/// candidate's `resume_text`). → 200 `{candidate, resume: {kind, characters}}`. A damaged,
/// encrypted, empty or unknown file is 422; a larger one 413.
#[utoipa::path(post, path = "/v1/candidates/{id}/resume", tag = "candidates", params(("id" = Uuid, Path, description = "The candidate")),
    request_body(content = ResumeFile, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Stored as the candidate's résumé text", body = ResumeUploaded),
        (status = 413, description = "Larger than 5 MiB", body = ErrorBody),
        (status = 422, description = "Damaged, encrypted, empty or of an unknown kind", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn upload_resume(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Json<ResumeUploaded>, ApiError> {
    use crate::hiring::candidates::MAX_RESUME;
    use crate::hiring::resume;
    staff.require(Role::Recruiter)?;
    let (scope, id) = (staff.scope(), path_id(&raw)?);
    let c = app
        .candidates
        .candidate(scope, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut multipart = multipart.map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be multipart/form-data: {}",
            e.body_text()
        ))
    })?;
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::bad_request("the multipart body could not be read")
        }
    };
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(too_large)? {
        if field.name() == Some("file") {
            file = Some(field.bytes().await.map_err(too_large)?);
            break;
        }
    }
    let file =
        file.ok_or_else(|| ApiError::bad_request("file: the résumé, in the field `file`"))?;
    if file.len() > resume::MAX_FILE {
        return Err(ApiError::PayloadTooLarge);
    }
    let (kind, text) = resume::extract(&app.resume_permits, file.to_vec())
        .await
        .map_err(|e| ApiError::Unprocessable(format!("file: {e}")))?;
    let characters = text.chars().count();
    if characters > MAX_RESUME {
        return Err(ApiError::Unprocessable(format!(
            "file: its text is {characters} characters; at most {MAX_RESUME}"
        )));
    }
    let fields = CandidateFields {
        name: c.name,
        email: c.email,
        resume_text: text,
    };
    let c = app
        .candidates
        .update_candidate(scope, id, &fields)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(ResumeUploaded {
        candidate: c,
        resume: ResumeInfo { kind, characters },
    }))
}
