//! [`CandidateStore`] on Postgres.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use super::postgres::PgStore;
use super::{StoreError, StoreResult};
use crate::accounts::Scope;
use crate::hiring::candidates::{Candidate, CandidateFields, CandidateStore};
use crate::hiring::{like_pattern, Page, PageRequest};

const COLUMNS: &str = "id, user_id, name, email, resume_text, created_at, updated_at";

fn candidate(r: &PgRow) -> StoreResult<Candidate> {
    Ok(Candidate {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        resume_text: r.try_get("resume_text")?,
        created_by: r.try_get("user_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const FILTER: &str = "organization_id = $1 AND ($2::text IS NULL OR lower(name) LIKE $2 \
                      OR lower(email) LIKE $2)";

#[async_trait]
impl CandidateStore for PgStore {
    async fn create_candidate(
        &self,
        scope: Scope,
        by: Option<Uuid>,
        c: &CandidateFields,
    ) -> StoreResult<Candidate> {
        let row = sqlx::query(&format!(
            "INSERT INTO candidates (id, organization_id, user_id, name, email, resume_text) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        ))
        .bind(Uuid::now_v7())
        .bind(scope.org())
        .bind(by)
        .bind(&c.name)
        .bind(&c.email)
        .bind(&c.resume_text)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| StoreError::unique(e, "a candidate with this email"))?;
        candidate(&row)
    }

    async fn candidate(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Candidate>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM candidates WHERE id = $1 AND organization_id = $2"
        ))
        .bind(id)
        .bind(scope.org())
        .fetch_optional(&self.pool)
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
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM candidates WHERE {FILTER}"))
                .bind(scope.org())
                .bind(&q)
                .fetch_one(&self.pool)
                .await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM candidates WHERE {FILTER} \
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(scope.org())
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
        sqlx::query(&format!(
            "UPDATE candidates SET name = $3, email = $4, resume_text = $5, updated_at = now() \
             WHERE id = $1 AND organization_id = $2 RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(scope.org())
        .bind(&c.name)
        .bind(&c.email)
        .bind(&c.resume_text)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| StoreError::unique(e, "a candidate with this email"))?
        .as_ref()
        .map(candidate)
        .transpose()
    }

    async fn delete_candidate(&self, scope: Scope, id: Uuid) -> StoreResult<Option<u64>> {
        let mut tx = self.pool.begin().await?;
        // Their interviews first: turns, events and analyses go with them (ON DELETE CASCADE).
        let interviews =
            sqlx::query("DELETE FROM interviews WHERE candidate_id = $1 AND organization_id = $2")
                .bind(id)
                .bind(scope.org())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        let done = sqlx::query("DELETE FROM candidates WHERE id = $1 AND organization_id = $2")
            .bind(id)
            .bind(scope.org())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(interviews))
    }
}
