//! Ending an interview for the hiring team: `POST /v1/interviews/{id}/cancel`, and the one
//! function it shares with a watching recruiter's `end` (docs/protocol.md, "Steering").

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::body::OptionalBody;
use super::path_id;
use super::principal::{ClientIp, Staff};
use crate::accounts::Role;
use crate::audit;
use crate::hiring::interviews::InterviewView;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::AppState;

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
