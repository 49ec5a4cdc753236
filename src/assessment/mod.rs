//! The assessment of an interview, made after it by a durable background job (issue #16).
//!
//! - [`report`]: what an assessment holds — overall 0–100 with the rubric that produced it, the
//!   four dimensions, per-skill scores, the skill-boundary map, strengths and concerns each
//!   citing turns and audio offsets, an advisory recommendation, and the technical quality of
//!   the interview — and the heuristic assessor that makes it from the stored transcript.
//! - [`worker`]: the job runner: claims due jobs with a lease, assesses, stores the one result
//!   (idempotent: a rerun after a crash overwrites it), retries with backoff.
//!
//! The job is queued in the same transaction that marks the interview completed (so nothing
//! completed goes unassessed), and again by `POST …/assessment/regenerate`.

pub mod report;
pub mod summary;
pub mod worker;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::store::StoreResult;

pub use report::Assessment;

/// Where an interview's assessment job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker, being made, or waiting to be retried.
    Pending,
    Done,
    /// Given up after its attempts; `regenerate` queues it again.
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => return None,
        })
    }
}

/// An assessment job as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub interview_id: Uuid,
    pub status: JobStatus,
    /// Attempts started (a crash mid-attempt counts).
    pub attempts: u32,
    /// 1 for the first assessment, +1 per regeneration.
    pub generation: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A job a worker has claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub interview_id: Uuid,
    pub generation: u32,
    /// Including this one.
    pub attempts: u32,
}

#[async_trait]
pub trait AssessmentStore: Send + Sync + 'static {
    /// Queues (again) the interview's assessment: pending, the next generation, due now.
    async fn request_assessment(&self, interview: Uuid) -> StoreResult<Job>;
    async fn assessment_job(&self, interview: Uuid) -> StoreResult<Option<Job>>;
    /// Claims up to `limit` due jobs until `lease_until` (a claim is an attempt).
    async fn claim_assessments(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Claimed>>;
    /// Stores the result of `job` (replacing any earlier one: one assessment per interview)
    /// and, if no regeneration was asked for meanwhile, marks the job done and queues the
    /// `assessment.ready` webhooks — one transaction.
    async fn complete_assessment(&self, job: &Claimed, body: &Assessment) -> StoreResult<()>;
    /// Records a failed attempt: retried at `retry_at`, or failed for good.
    async fn fail_assessment(
        &self,
        job: &Claimed,
        retry_at: Option<DateTime<Utc>>,
        error: &str,
    ) -> StoreResult<()>;
    /// The stored assessment.
    async fn assessment(&self, interview: Uuid) -> StoreResult<Option<Assessment>>;
}
