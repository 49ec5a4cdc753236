//! [`AssessmentStore`] on the embedded SQLite store: the job queue (`assessment_jobs`) and the
//! one result per interview (`assessments`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use super::sqlite::{parse_ts, parse_uuid, ts, SqliteStore};
use super::{StoreError, StoreResult};
use crate::assessment::{Assessment, AssessmentStore, Claimed, Job, JobStatus};

fn job(r: &SqliteRow) -> StoreResult<Job> {
    let status: String = r.try_get("status")?;
    Ok(Job {
        interview_id: parse_uuid(r.try_get("interview_id")?)?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("assessment job status {status:?}")))?,
        attempts: r.try_get::<i64, _>("attempts")? as u32,
        generation: r.try_get::<i64, _>("generation")? as u32,
        created_at: parse_ts(r.try_get("created_at")?)?,
        updated_at: parse_ts(r.try_get("updated_at")?)?,
    })
}

/// Queues the first assessment of an interview that has just completed (in the transaction
/// that completes it); nothing if it has one already.
pub(super) async fn enqueue(conn: &mut SqliteConnection, interview: Uuid) -> StoreResult<()> {
    let now = ts(Utc::now());
    sqlx::query(
        "INSERT INTO assessment_jobs (interview_id, next_attempt_at, created_at, updated_at) \
         VALUES (?, ?, ?, ?) ON CONFLICT (interview_id) DO NOTHING",
    )
    .bind(interview.to_string())
    .bind(&now)
    .bind(&now)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl AssessmentStore for SqliteStore {
    async fn request_assessment(&self, interview: Uuid) -> StoreResult<Job> {
        let now = ts(Utc::now());
        let row = sqlx::query(
            "INSERT INTO assessment_jobs (interview_id, next_attempt_at, created_at, updated_at) \
             VALUES (?1, ?2, ?2, ?2) ON CONFLICT (interview_id) DO UPDATE SET \
             status = 'pending', attempts = 0, generation = generation + 1, \
             next_attempt_at = ?2, lease_until = NULL, last_error = NULL, updated_at = ?2 \
             RETURNING *",
        )
        .bind(interview.to_string())
        .bind(&now)
        .fetch_one(&self.writer)
        .await?;
        job(&row)
    }

    async fn assessment_job(&self, interview: Uuid) -> StoreResult<Option<Job>> {
        sqlx::query("SELECT * FROM assessment_jobs WHERE interview_id = ?")
            .bind(interview.to_string())
            .fetch_optional(&self.pool)
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
            "UPDATE assessment_jobs SET lease_until = ?1, attempts = attempts + 1, \
             updated_at = ?2 WHERE interview_id IN ( \
               SELECT interview_id FROM assessment_jobs WHERE status = 'pending' \
               AND next_attempt_at <= ?2 AND (lease_until IS NULL OR lease_until < ?2) \
               ORDER BY next_attempt_at LIMIT ?3) \
             RETURNING interview_id, generation, attempts",
        )
        .bind(ts(lease_until))
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Claimed {
                    interview_id: parse_uuid(r.try_get("interview_id")?)?,
                    generation: r.try_get::<i64, _>("generation")? as u32,
                    attempts: r.try_get::<i64, _>("attempts")? as u32,
                })
            })
            .collect()
    }

    async fn complete_assessment(&self, claimed: &Claimed, body: &Assessment) -> StoreResult<()> {
        let now = ts(Utc::now());
        let id = claimed.interview_id.to_string();
        let json = serde_json::to_string(body).expect("assessments serialise");
        let mut tx = self.writer.begin().await?;
        // One row per interview: a rerun (after a crash, or a regeneration) replaces it, and an
        // older generation never replaces a newer one.
        sqlx::query(
            "INSERT INTO assessments (interview_id, body, method, generation, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (interview_id) DO UPDATE SET \
             body = ?2, method = ?3, generation = ?4, created_at = ?5 \
             WHERE assessments.generation <= ?4",
        )
        .bind(&id)
        .bind(&json)
        .bind(
            serde_json::to_value(body.method)
                .expect("a method")
                .as_str(),
        )
        .bind(i64::from(claimed.generation))
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(
            "UPDATE assessment_jobs SET status = 'done', lease_until = NULL, last_error = NULL, \
             updated_at = ? WHERE interview_id = ? AND generation = ? AND status = 'pending'",
        )
        .bind(&now)
        .bind(&id)
        .bind(i64::from(claimed.generation))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if done {
            super::webhooks_sqlite::enqueue(&mut tx, claimed.interview_id, "assessment.ready")
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
        let now = Utc::now();
        sqlx::query(
            "UPDATE assessment_jobs SET status = ?, next_attempt_at = ?, lease_until = NULL, \
             last_error = ?, updated_at = ? WHERE interview_id = ? AND generation = ? \
             AND status = 'pending'",
        )
        .bind(if retry_at.is_some() {
            "pending"
        } else {
            "failed"
        })
        .bind(ts(retry_at.unwrap_or(now)))
        .bind(error)
        .bind(ts(now))
        .bind(claimed.interview_id.to_string())
        .bind(i64::from(claimed.generation))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn assessment(&self, interview: Uuid) -> StoreResult<Option<Assessment>> {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM assessments WHERE interview_id = ?")
                .bind(interview.to_string())
                .fetch_optional(&self.pool)
                .await?;
        body.map(|b| {
            serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(format!("assessment: {e}")))
        })
        .transpose()
    }
}
