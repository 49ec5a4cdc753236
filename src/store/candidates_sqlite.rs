//! [`CandidateStore`] on the embedded SQLite store.

use async_trait::async_trait;
use chrono::Utc;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use super::sqlite::{parse_ts, parse_uuid, ts, SqliteStore};
use super::{StoreError, StoreResult};
use crate::accounts::Scope;
use crate::hiring::candidates::{Candidate, CandidateFields, CandidateStore};
use crate::hiring::{like_pattern, Page, PageRequest};

const COLUMNS: &str = "id, user_id, name, email, resume_text, created_at, updated_at";

fn candidate(r: &SqliteRow) -> StoreResult<Candidate> {
    Ok(Candidate {
        id: parse_uuid(r.try_get("id")?)?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        resume_text: r.try_get("resume_text")?,
        created_by: r
            .try_get::<Option<&str>, _>("user_id")?
            .map(parse_uuid)
            .transpose()?,
        created_at: parse_ts(r.try_get("created_at")?)?,
        updated_at: parse_ts(r.try_get("updated_at")?)?,
    })
}

#[async_trait]
impl CandidateStore for SqliteStore {
    async fn create_candidate(
        &self,
        scope: Scope,
        by: Option<Uuid>,
        c: &CandidateFields,
    ) -> StoreResult<Candidate> {
        let (id, now) = (Uuid::now_v7(), ts(Utc::now()));
        sqlx::query(
            "INSERT INTO candidates (id, organization_id, user_id, name, email, resume_text, \
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(scope.org().to_string())
        .bind(by.map(|u| u.to_string()))
        .bind(&c.name)
        .bind(&c.email)
        .bind(&c.resume_text)
        .bind(&now)
        .bind(&now)
        .execute(&self.writer)
        .await
        .map_err(|e| StoreError::unique(e, "a candidate with this email"))?;
        self.candidate(scope, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a candidate just written is missing".into()))
    }

    async fn candidate(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Candidate>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM candidates WHERE id = ? AND organization_id = ?"
        ))
        .bind(id.to_string())
        .bind(scope.org().to_string())
        .fetch_optional(&self.writer)
        .await?
        .as_ref()
        .map(candidate)
        .transpose()
    }

    async fn candidates(
        &self,
        scope: Scope,
        q: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<Candidate>> {
        let q = q.map(like_pattern);
        let filter = "organization_id = ?1 AND (?2 IS NULL OR lower(name) LIKE ?2 ESCAPE '\\' \
                      OR lower(email) LIKE ?2 ESCAPE '\\')";
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM candidates WHERE {filter}"))
                .bind(scope.org().to_string())
                .bind(&q)
                .fetch_one(&self.pool)
                .await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM candidates WHERE {filter} \
             ORDER BY created_at DESC, id DESC LIMIT ?3 OFFSET ?4"
        ))
        .bind(scope.org().to_string())
        .bind(&q)
        .bind(i64::from(page.per_page))
        .bind(page.offset() as i64)
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(candidate)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(page.of(items, total as u64))
    }

    async fn update_candidate(
        &self,
        scope: Scope,
        id: Uuid,
        c: &CandidateFields,
    ) -> StoreResult<Option<Candidate>> {
        let done = sqlx::query(
            "UPDATE candidates SET name = ?, email = ?, resume_text = ?, updated_at = ? \
             WHERE id = ? AND organization_id = ?",
        )
        .bind(&c.name)
        .bind(&c.email)
        .bind(&c.resume_text)
        .bind(ts(Utc::now()))
        .bind(id.to_string())
        .bind(scope.org().to_string())
        .execute(&self.writer)
        .await
        .map_err(|e| StoreError::unique(e, "a candidate with this email"))?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.candidate(scope, id).await
    }

    async fn delete_candidate(&self, scope: Scope, id: Uuid) -> StoreResult<Option<u64>> {
        let mut tx = self.writer.begin().await?;
        // Their interviews first: turns and events go with them (ON DELETE CASCADE).
        let interviews =
            sqlx::query("DELETE FROM interviews WHERE candidate_id = ? AND organization_id = ?")
                .bind(id.to_string())
                .bind(scope.org().to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        let done = sqlx::query("DELETE FROM candidates WHERE id = ? AND organization_id = ?")
            .bind(id.to_string())
            .bind(scope.org().to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(interviews))
    }
}
