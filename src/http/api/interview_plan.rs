//! An interview's plan and the interviewer's decisions (`GET /v1/interviews/{id}/plan`): which
//! bank, which questions fit the job and the résumé and why, and for each interviewer turn which
//! planned question it asked, at which difficulty, and why.

use axum::extract::{Path, State};
use axum::Json;
use uuid::Uuid;

use super::path_id;
use super::principal::Staff;
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::plan::{Decision, Plan};

/// A decision and the turn that carried it out.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TurnDecision {
    /// The protocol's `turn` number.
    pub turn: u32,
    pub decision: Decision,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct InterviewPlan {
    pub interview_id: Uuid,
    /// `false` for an interview made before plans were stored: the plan shown is rebuilt from
    /// the interview's role, description and résumé, as its interviewer rebuilds it.
    pub stored: bool,
    pub plan: Plan,
    /// The terms speech recognition is told to expect (made from a stored plan; none for a
    /// rebuilt one).
    pub vocabulary: Vec<String>,
    /// The prompt versions the interview uses, by name (`interviewer.v1`, `analyst.org.v2`):
    /// its organization's active versions when it was made, else the server's defaults.
    pub prompts: std::collections::BTreeMap<String, String>,
    /// In turn order.
    pub decisions: Vec<TurnDecision>,
}

/// `GET /v1/interviews/{id}/plan` (any staff role) → `{interview_id, stored, plan, vocabulary,
/// prompts, decisions}`.
#[utoipa::path(get, path = "/v1/interviews/{id}/plan", tag = "interviews",
    params(("id" = Uuid, Path, description = "The interview")),
    responses(
        (status = 200, description = "The plan and the decisions so far", body = InterviewPlan),
        (status = 404, description = "No such interview in the organization", body = crate::http::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn plan(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
) -> Result<Json<InterviewPlan>, ApiError> {
    let id = path_id(&raw)?;
    // Scoped first: another organization's interview is a 404.
    app.interviews
        .interview_in(staff.scope(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let rec = app
        .store
        .get_interview(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let (stored, vocabulary, plan) = match &rec.plan {
        Some(p) => (
            true,
            crate::plan::vocabulary::shared(p).terms().to_vec(),
            Plan::clone(p),
        ),
        None => (
            false,
            Vec::new(),
            crate::plan::build::from_text(
                &rec.role,
                rec.job_description.as_deref().unwrap_or_default(),
                rec.resume.as_deref().unwrap_or_default(),
                rec.settings.template.as_deref(),
                rec.settings
                    .max_questions
                    .map_or(crate::plan::build::DEFAULT_QUESTIONS, |n| n as usize),
            ),
        ),
    };
    let decisions = app
        .store
        .turns(id)
        .await?
        .into_iter()
        .filter_map(|t| {
            t.decision.map(|decision| TurnDecision {
                turn: t.seq,
                decision,
            })
        })
        .collect();
    Ok(Json(InterviewPlan {
        interview_id: id,
        stored,
        plan,
        vocabulary,
        prompts: crate::prompts::versions_of(rec.prompts.as_deref()),
        decisions,
    }))
}
