//! A candidate's interviews over time (`GET /v1/candidates/{id}/history`): each interview with
//! its assessment's scores, the trend of every dimension and skill across them, and retakes of
//! the same job side by side.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::path_id;
use super::principal::Staff;
use crate::assessment::{Assessment, JobStatus};
use crate::hiring::interviews::{all_in, InterviewFilter};
use crate::http::error::{ApiError, ErrorBody};
use crate::http::AppState;
use crate::store::InterviewStatus;

/// One interview of the candidate, with its assessment's headline figures when it has one.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub interview_id: Uuid,
    pub job_id: Option<Uuid>,
    pub role: String,
    pub status: InterviewStatus,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// `none`, `pending`, `done` or `failed`.
    pub assessment_status: String,
    /// 0–100.
    pub overall: Option<u32>,
    /// The four dimensions' means (0–10).
    pub dimensions: BTreeMap<String, f32>,
    /// Per skill (0–100).
    pub skills: BTreeMap<String, u32>,
    pub recommendation: Option<String>,
    /// How the assessment was made (`heuristic` or `model`).
    pub method: Option<String>,
}

/// One value of a series, at an interview.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Point {
    pub interview_id: Uuid,
    pub at: DateTime<Utc>,
    pub value: f32,
}

/// Interviews for the same job, oldest first, to compare.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Retake {
    pub job_id: Uuid,
    pub role: String,
    pub interviews: Vec<HistoryEntry>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct History {
    pub candidate_id: Uuid,
    /// Oldest first.
    pub interviews: Vec<HistoryEntry>,
    /// `overall` and each dimension over time (assessed interviews, oldest first).
    pub trends: BTreeMap<String, Vec<Point>>,
    /// Each skill over time.
    pub skill_trends: BTreeMap<String, Vec<Point>>,
    pub retakes: Vec<Retake>,
}

fn entry(
    view: &crate::hiring::interviews::InterviewView,
    status: &str,
    a: Option<&Assessment>,
) -> HistoryEntry {
    let dims = a
        .map(|a| {
            a.scores
                .iter()
                .filter(|s| s.max == 10)
                .map(|s| (s.name.to_lowercase(), s.score))
                .collect()
        })
        .unwrap_or_default();
    HistoryEntry {
        interview_id: view.id,
        job_id: view.job_id,
        role: view.role.clone(),
        status: view.status,
        created_at: view.created_at,
        completed_at: view.completed_at,
        assessment_status: status.into(),
        overall: a.map(|a| a.overall.score),
        dimensions: dims,
        skills: a
            .map(|a| {
                a.skills
                    .iter()
                    .map(|s| (s.skill.clone(), s.score))
                    .collect()
            })
            .unwrap_or_default(),
        recommendation: a.map(|a| {
            serde_json::to_value(a.recommendation.decision)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        }),
        method: a.map(|a| {
            serde_json::to_value(a.method)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        }),
    }
}

/// `GET /v1/candidates/{id}/history` (any staff role) → `{candidate_id, interviews, trends,
/// skill_trends, retakes}`.
#[utoipa::path(get, path = "/v1/candidates/{id}/history", tag = "candidates",
    params(("id" = Uuid, Path, description = "The candidate")),
    responses(
        (status = 200, description = "The candidate's interviews and how their scores moved", body = History),
        (status = 404, description = "No such candidate in the organization", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn history(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
) -> Result<Json<History>, ApiError> {
    let scope = staff.scope();
    let candidate = app
        .candidates
        .candidate(scope, path_id(&raw)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    let filter = InterviewFilter {
        candidate_id: Some(candidate.id),
        ..Default::default()
    };
    let mut views = all_in(app.interviews.as_ref(), scope, &filter, None).await?;
    views.sort_by_key(|v| v.created_at);
    let mut interviews = Vec::with_capacity(views.len());
    for v in &views {
        let job = app.assessments.assessment_job(v.id).await?;
        let (status, a) = match job.as_ref().map(|j| j.status) {
            None => ("none", None),
            Some(JobStatus::Pending) => ("pending", app.assessments.assessment(v.id).await?),
            Some(JobStatus::Failed) => ("failed", None),
            Some(JobStatus::Done) => ("done", app.assessments.assessment(v.id).await?),
        };
        interviews.push(entry(v, status, a.as_ref()));
    }
    let mut trends: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    let mut skill_trends: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for e in &interviews {
        let at = e.completed_at.unwrap_or(e.created_at);
        let point = |value: f32| Point {
            interview_id: e.interview_id,
            at,
            value,
        };
        if let Some(o) = e.overall {
            trends
                .entry("overall".into())
                .or_default()
                .push(point(o as f32));
        }
        for (d, v) in &e.dimensions {
            trends.entry(d.clone()).or_default().push(point(*v));
        }
        for (s, v) in &e.skills {
            skill_trends
                .entry(s.clone())
                .or_default()
                .push(point(*v as f32));
        }
    }
    let mut by_job: BTreeMap<Uuid, Vec<HistoryEntry>> = BTreeMap::new();
    for e in &interviews {
        if let Some(job) = e.job_id {
            by_job.entry(job).or_default().push(e.clone());
        }
    }
    let retakes = by_job
        .into_iter()
        .filter(|(_, xs)| xs.len() > 1)
        .map(|(job_id, interviews)| Retake {
            job_id,
            role: interviews[0].role.clone(),
            interviews,
        })
        .collect();
    Ok(Json(History {
        candidate_id: candidate.id,
        interviews,
        trends,
        skill_trends,
        retakes,
    }))
}
