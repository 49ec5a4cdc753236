//! [`AssessmentStore`] on Postgres: the job queue (`assessment_jobs`, claimed with `SKIP
//! LOCKED` so nodes take different jobs) and the one result per interview (`assessments`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::postgres::PgStore;
use super::{StoreError, StoreResult};
use crate::assessment::{Assessment, AssessmentStore, Claimed, Job, JobStatus};

fn job(r: &PgRow) -> StoreResult<Job> {
    let status: String = r.try_get("status")?;
    Ok(Job {
        interview_id: r.try_get("interview_id")?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("assessment job status {status:?}")))?,
        attempts: r.try_get::<i32, _>("attempts")? as u32,
        generation: r.try_get::<i32, _>("generation")? as u32,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Queues the first assessment of an interview that has just completed (in the transaction
/// that completes it); nothing if it has one already.
pub(super) async fn enqueue(conn: &mut PgConnection, interview: Uuid) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO assessment_jobs (interview_id) VALUES ($1) \
         ON CONFLICT (interview_id) DO NOTHING",
    )
    .bind(interview)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl AssessmentStore for PgStore {
    async fn request_assessment(&self, interview: Uuid) -> StoreResult<Job> {
        let row = sqlx::query(
            "INSERT INTO assessment_jobs (interview_id) VALUES ($1) \
             ON CONFLICT (interview_id) DO UPDATE SET status = 'pending', attempts = 0, \
             generation = assessment_jobs.generation + 1, next_attempt_at = now(), \
             lease_until = NULL, last_error = NULL, updated_at = now() RETURNING *",
        )
        .bind(interview)
        .fetch_one(self.pool())
        .await?;
        job(&row)
    }

    async fn assessment_job(&self, interview: Uuid) -> StoreResult<Option<Job>> {
        sqlx::query("SELECT * FROM assessment_jobs WHERE interview_id = $1")
            .bind(interview)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(job)
            .transpose()
    }

    async fn claim_assessments(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Claimed>> {
        let rows = sqlx::query(
            "WITH due AS ( \
               SELECT interview_id FROM assessment_jobs WHERE status = 'pending' \
               AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2) \
               ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             UPDATE assessment_jobs j SET lease_until = $1, attempts = j.attempts + 1, \
             updated_at = now() FROM due WHERE j.interview_id = due.interview_id \
             RETURNING j.interview_id, j.generation, j.attempts",
        )
        .bind(lease_until)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Claimed {
                    interview_id: r.try_get("interview_id")?,
                    generation: r.try_get::<i32, _>("generation")? as u32,
                    attempts: r.try_get::<i32, _>("attempts")? as u32,
                })
            })
            .collect()
    }

    async fn complete_assessment(&self, claimed: &Claimed, body: &Assessment) -> StoreResult<()> {
        let json = serde_json::to_value(body).expect("assessments serialise");
        let mut tx = self.pool().begin().await?;
        // One row per interview: a rerun replaces it; an older generation never replaces a
        // newer one.
        sqlx::query(
            "INSERT INTO assessments (id, interview_id, body, method, generation) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (interview_id) DO UPDATE SET \
             body = EXCLUDED.body, method = EXCLUDED.method, generation = EXCLUDED.generation, \
             created_at = now() WHERE assessments.generation <= EXCLUDED.generation",
        )
        .bind(Uuid::now_v7())
        .bind(claimed.interview_id)
        .bind(&json)
        .bind(json["method"].as_str().unwrap_or("heuristic"))
        .bind(claimed.generation as i32)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(
            "UPDATE assessment_jobs SET status = 'done', lease_until = NULL, last_error = NULL, \
             updated_at = now() WHERE interview_id = $1 AND generation = $2 \
             AND status = 'pending'",
        )
        .bind(claimed.interview_id)
        .bind(claimed.generation as i32)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if done {
            super::webhooks_postgres::enqueue(&mut tx, claimed.interview_id, "assessment.ready")
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn fail_assessment(
        &self,
        claimed: &Claimed,
        retry_at: Option<DateTime<Utc>>,
        error: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE assessment_jobs SET status = $1, next_attempt_at = COALESCE($2, now()), \
             lease_until = NULL, last_error = $3, updated_at = now() \
             WHERE interview_id = $4 AND generation = $5 AND status = 'pending'",
        )
        .bind(if retry_at.is_some() {
            "pending"
        } else {
            "failed"
        })
        .bind(retry_at)
        .bind(error)
        .bind(claimed.interview_id)
        .bind(claimed.generation as i32)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn assessment(&self, interview: Uuid) -> StoreResult<Option<Assessment>> {
        let body: Option<serde_json::Value> =
            sqlx::query_scalar("SELECT body FROM assessments WHERE interview_id = $1")
                .bind(interview)
                .fetch_optional(self.pool())
                .await?;
        body.map(|b| {
            serde_json::from_value(b).map_err(|e| StoreError::Corrupt(format!("assessment: {e}")))
        })
        .transpose()
    }
}
