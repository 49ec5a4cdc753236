//! [`JobStore`] on Postgres.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use super::postgres::PgStore;
use super::{StoreError, StoreResult};
use crate::accounts::Scope;
use crate::hiring::jobs::{Job, JobFields, JobStatus, JobStore, Seniority};
use crate::hiring::{Page, PageRequest};

const COLUMNS: &str = "id, user_id, title, description, skills, seniority, language, status, \
                       created_at, updated_at";

fn job(r: &PgRow) -> StoreResult<Job> {
    let status: &str = r.try_get("status")?;
    let seniority: Option<&str> = r.try_get("seniority")?;
    let skills: serde_json::Value = r.try_get("skills")?;
    Ok(Job {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        skills: serde_json::from_value(skills)
            .map_err(|e| StoreError::Corrupt(format!("skills: {e}")))?,
        seniority: seniority
            .map(|s| {
                Seniority::parse(s).ok_or_else(|| StoreError::Corrupt(format!("seniority {s:?}")))
            })
            .transpose()?,
        language: r.try_get("language")?,
        // A `draft` of the older schema reads as not open.
        status: JobStatus::parse(status).unwrap_or(JobStatus::Closed),
        created_by: r.try_get("user_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

#[async_trait]
impl JobStore for PgStore {
    async fn create_job(&self, scope: Scope, by: Option<Uuid>, f: &JobFields) -> StoreResult<Job> {
        let row = sqlx::query(&format!(
            "INSERT INTO job_postings (id, organization_id, user_id, title, description, skills, \
             seniority, language, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING {COLUMNS}"
        ))
        .bind(Uuid::now_v7())
        .bind(scope.org())
        .bind(by)
        .bind(&f.title)
        .bind(&f.description)
        .bind(serde_json::json!(f.skills))
        .bind(f.seniority.map(Seniority::as_str))
        .bind(&f.language)
        .bind(f.status.as_str())
        .fetch_one(&self.pool)
        .await?;
        job(&row)
    }

    async fn job(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Job>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM job_postings WHERE id = $1 AND organization_id = $2"
        ))
        .bind(id)
        .bind(scope.org())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(job)
        .transpose()
    }

    async fn jobs(
        &self,
        scope: Scope,
        status: Option<JobStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<Job>> {
        let status = status.map(JobStatus::as_str);
        let total: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM job_postings WHERE organization_id = $1 \
             AND ($2::text IS NULL OR status = $2)",
        )
        .bind(scope.org())
        .bind(status)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM job_postings WHERE organization_id = $1 \
             AND ($2::text IS NULL OR status = $2) ORDER BY created_at DESC, id DESC \
             LIMIT $3 OFFSET $4"
        ))
        .bind(scope.org())
        .bind(status)
        .bind(i64::from(page.per_page))
        .bind(page.offset() as i64)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(job).collect::<StoreResult<Vec<_>>>()?;
        Ok(page.of(items, total as u64))
    }

    async fn update_job(&self, scope: Scope, id: Uuid, f: &JobFields) -> StoreResult<Option<Job>> {
        sqlx::query(&format!(
            "UPDATE job_postings SET title = $3, description = $4, skills = $5, seniority = $6, \
             language = $7, status = $8, updated_at = now() \
             WHERE id = $1 AND organization_id = $2 RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(scope.org())
        .bind(&f.title)
        .bind(&f.description)
        .bind(serde_json::json!(f.skills))
        .bind(f.seniority.map(Seniority::as_str))
        .bind(&f.language)
        .bind(f.status.as_str())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(job)
        .transpose()
    }

    async fn delete_job(&self, scope: Scope, id: Uuid) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM job_postings WHERE id = $1 AND organization_id = $2")
            .bind(id)
            .bind(scope.org())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
