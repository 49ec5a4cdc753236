//! [`JobStore`] on the embedded SQLite store.

use async_trait::async_trait;
use chrono::Utc;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use super::sqlite::{parse_ts, parse_uuid, ts, SqliteStore};
use super::{StoreError, StoreResult};
use crate::accounts::Scope;
use crate::hiring::jobs::{Job, JobFields, JobStatus, JobStore, Seniority};
use crate::hiring::{Page, PageRequest};

const COLUMNS: &str = "id, user_id, title, description, skills, seniority, language, status, \
                       created_at, updated_at";

fn job(r: &SqliteRow) -> StoreResult<Job> {
    let status: &str = r.try_get("status")?;
    let seniority: Option<&str> = r.try_get("seniority")?;
    let skills: &str = r.try_get("skills")?;
    Ok(Job {
        id: parse_uuid(r.try_get("id")?)?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        skills: serde_json::from_str(skills)
            .map_err(|e| StoreError::Corrupt(format!("skills: {e}")))?,
        seniority: seniority
            .map(|s| {
                Seniority::parse(s).ok_or_else(|| StoreError::Corrupt(format!("seniority {s:?}")))
            })
            .transpose()?,
        language: r.try_get("language")?,
        status: JobStatus::parse(status)
            .ok_or_else(|| StoreError::Corrupt(format!("job status {status:?}")))?,
        created_by: r
            .try_get::<Option<&str>, _>("user_id")?
            .map(parse_uuid)
            .transpose()?,
        created_at: parse_ts(r.try_get("created_at")?)?,
        updated_at: parse_ts(r.try_get("updated_at")?)?,
    })
}

fn skills_json(f: &JobFields) -> String {
    serde_json::to_string(&f.skills).expect("strings serialise")
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn create_job(&self, scope: Scope, by: Option<Uuid>, f: &JobFields) -> StoreResult<Job> {
        let (id, now) = (Uuid::now_v7(), ts(Utc::now()));
        sqlx::query(
            "INSERT INTO job_postings (id, organization_id, user_id, title, description, skills, \
             seniority, language, status, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(scope.org().to_string())
        .bind(by.map(|u| u.to_string()))
        .bind(&f.title)
        .bind(&f.description)
        .bind(skills_json(f))
        .bind(f.seniority.map(Seniority::as_str))
        .bind(&f.language)
        .bind(f.status.as_str())
        .bind(&now)
        .bind(&now)
        .execute(&self.writer)
        .await?;
        self.job(scope, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a job just written is missing".into()))
    }

    async fn job(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Job>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM job_postings WHERE id = ? AND organization_id = ?"
        ))
        .bind(id.to_string())
        .bind(scope.org().to_string())
        .fetch_optional(&self.writer)
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
            "SELECT count(*) FROM job_postings WHERE organization_id = ?1 AND (?2 IS NULL OR status = ?2)",
        )
        .bind(scope.org().to_string())
        .bind(status)
        .fetch_one(&self.pool)
        .await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM job_postings WHERE organization_id = ?1 \
             AND (?2 IS NULL OR status = ?2) ORDER BY created_at DESC, id DESC LIMIT ?3 OFFSET ?4"
        ))
        .bind(scope.org().to_string())
        .bind(status)
        .bind(i64::from(page.per_page))
        .bind(page.offset() as i64)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(job).collect::<StoreResult<Vec<_>>>()?;
        Ok(page.of(items, total as u64))
    }

    async fn update_job(&self, scope: Scope, id: Uuid, f: &JobFields) -> StoreResult<Option<Job>> {
        let done = sqlx::query(
            "UPDATE job_postings SET title = ?, description = ?, skills = ?, seniority = ?, \
             language = ?, status = ?, updated_at = ? WHERE id = ? AND organization_id = ?",
        )
        .bind(&f.title)
        .bind(&f.description)
        .bind(skills_json(f))
        .bind(f.seniority.map(Seniority::as_str))
        .bind(&f.language)
        .bind(f.status.as_str())
        .bind(ts(Utc::now()))
        .bind(id.to_string())
        .bind(scope.org().to_string())
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.job(scope, id).await
    }

    async fn delete_job(&self, scope: Scope, id: Uuid) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM job_postings WHERE id = ? AND organization_id = ?")
            .bind(id.to_string())
            .bind(scope.org().to_string())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
