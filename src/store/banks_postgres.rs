//! [`QuestionBankStore`] on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::postgres::PgStore;
use super::{StoreError, StoreResult};
use crate::plan::bank::QuestionBank;
use crate::plan::library::{BankSummary, QuestionBankStore};

#[async_trait]
impl QuestionBankStore for PgStore {
    async fn add_bank(
        &self,
        org: Uuid,
        bank: &QuestionBank,
        by: Option<Uuid>,
    ) -> StoreResult<(QuestionBank, DateTime<Utc>)> {
        let mut tx = self.pool().begin().await?;
        // Imports of one name in one organization take their versions in turn.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("question_banks:{org}:{}", bank.name))
            .execute(&mut *tx)
            .await?;
        let last: i32 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) FROM question_banks \
             WHERE organization_id = $1 AND name = $2",
        )
        .bind(org)
        .bind(&bank.name)
        .fetch_one(&mut *tx)
        .await?;
        let stored = QuestionBank {
            version: last as u32 + 1,
            ..bank.clone()
        };
        let at: DateTime<Utc> = sqlx::query_scalar(
            "INSERT INTO question_banks (organization_id, name, version, title, questions, body, \
             created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING created_at",
        )
        .bind(org)
        .bind(&stored.name)
        .bind(stored.version as i32)
        .bind(&stored.title)
        .bind(stored.questions.len() as i32)
        .bind(serde_json::to_value(&stored).expect("banks serialise"))
        .bind(by)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((stored, at))
    }

    async fn org_bank(
        &self,
        org: Uuid,
        name: &str,
        version: Option<u32>,
    ) -> StoreResult<Option<QuestionBank>> {
        let body: Option<serde_json::Value> = sqlx::query_scalar(
            "SELECT body FROM question_banks WHERE organization_id = $1 AND name = $2 \
             AND ($3::int IS NULL OR version = $3) ORDER BY version DESC LIMIT 1",
        )
        .bind(org)
        .bind(name)
        .bind(version.map(|v| v as i32))
        .fetch_optional(self.pool())
        .await?;
        body.map(|b| {
            serde_json::from_value(b)
                .map_err(|e| StoreError::Corrupt(format!("question bank: {e}")))
        })
        .transpose()
    }

    async fn org_banks(&self, org: Uuid) -> StoreResult<Vec<BankSummary>> {
        let rows = sqlx::query(
            "SELECT DISTINCT ON (name) name, title, version, questions, created_at \
             FROM question_banks WHERE organization_id = $1 ORDER BY name, version DESC",
        )
        .bind(org)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BankSummary {
                    name: r.try_get("name")?,
                    title: r.try_get("title")?,
                    version: r.try_get::<i32, _>("version")? as u32,
                    questions: r.try_get::<i32, _>("questions")? as usize,
                    source: "organization",
                    created_at: Some(r.try_get("created_at")?),
                })
            })
            .collect()
    }
}
