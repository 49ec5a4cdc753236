//! [`QuestionBankStore`] on the embedded SQLite store.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::sqlite::{parse_ts, ts, SqliteStore};
use super::{StoreError, StoreResult};
use crate::plan::bank::QuestionBank;
use crate::plan::library::{BankSummary, QuestionBankStore};

fn body_of(json: &str) -> StoreResult<QuestionBank> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("question bank: {e}")))
}

#[async_trait]
impl QuestionBankStore for SqliteStore {
    async fn add_bank(
        &self,
        org: Uuid,
        bank: &QuestionBank,
        by: Option<Uuid>,
    ) -> StoreResult<(QuestionBank, DateTime<Utc>)> {
        let now = Utc::now();
        // One writer: the next version is read and taken in one transaction.
        let mut tx = self.writer.begin().await?;
        let last: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) FROM question_banks \
             WHERE organization_id = ? AND name = ?",
        )
        .bind(org.to_string())
        .bind(&bank.name)
        .fetch_one(&mut *tx)
        .await?;
        let stored = QuestionBank {
            version: last as u32 + 1,
            ..bank.clone()
        };
        sqlx::query(
            "INSERT INTO question_banks (organization_id, name, version, title, questions, body, \
             created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(org.to_string())
        .bind(&stored.name)
        .bind(i64::from(stored.version))
        .bind(&stored.title)
        .bind(stored.questions.len() as i64)
        .bind(serde_json::to_string(&stored).expect("banks serialise"))
        .bind(by.map(|u| u.to_string()))
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((stored, now))
    }

    async fn org_bank(
        &self,
        org: Uuid,
        name: &str,
        version: Option<u32>,
    ) -> StoreResult<Option<QuestionBank>> {
        let body: Option<String> = sqlx::query_scalar(
            "SELECT body FROM question_banks WHERE organization_id = ?1 AND name = ?2 \
             AND (?3 IS NULL OR version = ?3) ORDER BY version DESC LIMIT 1",
        )
        .bind(org.to_string())
        .bind(name)
        .bind(version.map(i64::from))
        .fetch_optional(&self.pool)
        .await?;
        body.as_deref().map(body_of).transpose()
    }

    async fn org_banks(&self, org: Uuid) -> StoreResult<Vec<BankSummary>> {
        let rows = sqlx::query(
            "SELECT name, title, version, questions, created_at FROM question_banks b \
             WHERE organization_id = ?1 AND version = (SELECT MAX(version) FROM question_banks \
             WHERE organization_id = ?1 AND name = b.name) ORDER BY name",
        )
        .bind(org.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BankSummary {
                    name: r.try_get("name")?,
                    title: r.try_get("title")?,
                    version: r.try_get::<i64, _>("version")? as u32,
                    questions: r.try_get::<i64, _>("questions")? as usize,
                    source: "organization",
                    created_at: Some(parse_ts(r.try_get("created_at")?)?),
                })
            })
            .collect()
    }
}
