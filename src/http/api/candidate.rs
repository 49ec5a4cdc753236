//! What a candidate token opens over HTTP, besides its interview's stream: a WebSocket ticket,
//! the organization's notice, and the candidate's consent to it. Nothing else: every other
//! endpoint wants a staff token.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;

use super::body::Body;
use super::principal::ClientIp;
use super::{bearer, path_id, per_minute};
use crate::auth::{new_ticket, Audience, TICKET_TTL};
use crate::consent::notice_of;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::AppState;
use crate::store::InterviewRecord;

/// Tickets one interview may be issued per minute.
const TICKETS_PER_MINUTE: u32 = 30;
/// Consents one interview may record per minute.
const CONSENTS_PER_MINUTE: u32 = 10;

/// The interview `raw` names, if the request's candidate token opens it: valid, not revoked,
/// the interview's current link, for this interview (another interview's is not found).
async fn candidates_interview(
    app: &AppState,
    raw: &str,
    headers: &HeaderMap,
) -> Result<InterviewRecord, ApiError> {
    let id = path_id(raw)?;
    let token = bearer(headers).ok_or(ApiError::Unauthorized)?;
    let claims = app
        .auth
        .verify_claims(Audience::Candidate, token)
        .map_err(|_| ApiError::Unauthorized)?;
    match app.hot.is_revoked(&claims.jti).await {
        Ok(false) => {}
        Ok(true) => return Err(ApiError::Unauthorized),
        Err(e) => tracing::warn!(error = %e, "revocation list unavailable; token accepted"),
    }
    if claims.interview != id {
        // Another interview: not found (a token never learns whether another id exists).
        return Err(ApiError::NotFound);
    }
    let interview = app
        .store
        .get_interview(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !interview.link_works(&claims.jti) {
        // The link was re-issued: this one stopped working.
        return Err(ApiError::Unauthorized);
    }
    Ok(interview)
}

/// A single-use WebSocket ticket.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Ticket {
    /// Open the stream with `?ticket=` this, within `expires_in_secs`.
    ticket: String,
    expires_in_secs: u64,
}

/// What the candidate is told, and whether they have accepted it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CandidateNotice {
    /// Accept this version with `POST /v1/interviews/{id}/consent`.
    version: u32,
    text: String,
    /// `false` for interviews made with `viva interview create`.
    consent_required: bool,
    consented: bool,
}

/// `POST /v1/interviews/{id}/ticket` with `Authorization: Bearer <candidate token>`:
/// a single-use ticket, valid for 60 s, for clients that cannot set WebSocket subprotocols.
#[utoipa::path(post, path = "/v1/interviews/{id}/ticket", tag = "candidate", params(("id" = Uuid, Path, description = "The interview")),
    responses(
        (status = 201, description = "A ticket for the stream", body = Ticket),
        (status = 410, description = "The interview has ended", body = ErrorBody),
    ),
    security(("candidate" = [])))]
pub async fn ticket(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Ticket>), ApiError> {
    let interview = candidates_interview(&app, &raw, &headers).await?;
    if interview.status.is_finished() {
        return Err(ApiError::Ended);
    }
    let id = interview.id;
    per_minute(&app, &format!("ticket:{id}"), TICKETS_PER_MINUTE).await?;
    let ticket = new_ticket();
    app.hot.put_ticket(&ticket, id, TICKET_TTL).await?;
    Ok((
        StatusCode::CREATED,
        Json(Ticket {
            ticket,
            expires_in_secs: TICKET_TTL.as_secs(),
        }),
    ))
}

/// `GET /v1/interviews/{id}/notice` (candidate token) → `{version, text, consent_required,
/// consented}`: what the candidate is told before the interview starts.
#[utoipa::path(get, path = "/v1/interviews/{id}/notice", tag = "candidate", params(("id" = Uuid, Path, description = "The interview")),
    responses((status = 200, description = "The organization's notice", body = CandidateNotice)),
    security(("candidate" = [])))]
pub async fn notice(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Json<CandidateNotice>, ApiError> {
    let interview = candidates_interview(&app, &raw, &headers).await?;
    let org = interview.organization_id;
    let days = super::org::retention_days(&app, org).await?;
    let notice = notice_of(app.notices.as_ref(), org, days).await?;
    Ok(Json(CandidateNotice {
        version: notice.version,
        text: notice.text,
        consent_required: interview.consent_required,
        consented: interview.consented_at.is_some(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    notice_version: u32,
}

/// `POST /v1/interviews/{id}/consent {"notice_version": v}` (candidate token) → 204: the
/// candidate accepts notice `v`, recorded with the time and their IP address. A version that is
/// not the current one is 409 (the notice changed: read it again); an ended interview is 410.
#[utoipa::path(post, path = "/v1/interviews/{id}/consent", tag = "candidate", params(("id" = Uuid, Path, description = "The interview")),
    request_body = Consent,
    responses(
        (status = 204, description = "Recorded: the interview may start"),
        (status = 409, description = "Not the current notice version: read it again", body = ErrorBody),
        (status = 410, description = "The interview has ended", body = ErrorBody),
    ),
    security(("candidate" = [])))]
pub async fn consent(
    State(app): State<AppState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    Body(req): Body<Consent>,
) -> Result<StatusCode, ApiError> {
    let interview = candidates_interview(&app, &raw, &headers).await?;
    if interview.status.is_finished() {
        return Err(ApiError::Ended);
    }
    per_minute(
        &app,
        &format!("consent:{}", interview.id),
        CONSENTS_PER_MINUTE,
    )
    .await?;
    let org = interview.organization_id;
    let days = super::org::retention_days(&app, org).await?;
    let current = notice_of(app.notices.as_ref(), org, days).await?;
    if req.notice_version != current.version {
        return Err(ApiError::Conflict(format!(
            "notice_version: the notice is at version {} now; read it again",
            current.version
        )));
    }
    let ip = ip.map(|i| i.to_string());
    app.interviews
        .record_consent(interview.id, current.version, ip.as_deref())
        .await?;
    tracing::info!(interview = %interview.id, version = current.version, "candidate consented");
    Ok(StatusCode::NO_CONTENT)
}
