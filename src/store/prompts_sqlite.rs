//! [`PromptStore`] on the embedded SQLite store.

use async_trait::async_trait;
use chrono::Utc;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use super::sqlite::{parse_ts, parse_uuid, ts, SqliteStore};
use super::{StoreError, StoreResult};
use crate::prompts::{PromptName, PromptStore, StoredPrompt};

fn prompt(r: &SqliteRow) -> StoreResult<StoredPrompt> {
    let name: String = r.try_get("name")?;
    Ok(StoredPrompt {
        name: PromptName::parse(&name)
            .ok_or_else(|| StoreError::Corrupt(format!("prompt name {name:?}")))?,
        version: r.try_get::<i64, _>("version")? as u32,
        body: r.try_get("body")?,
        active: r.try_get("active")?,
        created_by: r
            .try_get::<Option<String>, _>("created_by")?
            .as_deref()
            .map(parse_uuid)
            .transpose()?,
        created_at: parse_ts(r.try_get("created_at")?)?,
    })
}

const COLUMNS: &str = "name, version, body, active, created_by, created_at";

#[async_trait]
impl PromptStore for SqliteStore {
    async fn add_prompt(
        &self,
        org: Uuid,
        name: PromptName,
        body: &str,
        by: Option<Uuid>,
    ) -> StoreResult<StoredPrompt> {
        let now = Utc::now();
        // One writer: the next version is read, taken and made active in one transaction.
        let mut tx = self.writer.begin().await?;
        let last: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) FROM prompts WHERE organization_id = ? AND name = ?",
        )
        .bind(org.to_string())
        .bind(name.as_str())
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE prompts SET active = 0 WHERE organization_id = ? AND name = ?")
            .bind(org.to_string())
            .bind(name.as_str())
            .execute(&mut *tx)
            .await?;
        let stored = StoredPrompt {
            name,
            version: last as u32 + 1,
            body: body.to_owned(),
            active: true,
            created_by: by,
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO prompts (organization_id, name, version, body, active, created_by, \
             created_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
        )
        .bind(org.to_string())
        .bind(name.as_str())
        .bind(i64::from(stored.version))
        .bind(body)
        .bind(by.map(|u| u.to_string()))
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn activate_prompt(
        &self,
        org: Uuid,
        name: PromptName,
        version: Option<u32>,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        if let Some(v) = version {
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM prompts WHERE organization_id = ? AND name = ? AND version = ?",
            )
            .bind(org.to_string())
            .bind(name.as_str())
            .bind(i64::from(v))
            .fetch_optional(&mut *tx)
            .await?;
            if exists.is_none() {
                return Ok(false);
            }
        }
        sqlx::query(
            "UPDATE prompts SET active = 0 WHERE organization_id = ? AND name = ? AND active = 1",
        )
        .bind(org.to_string())
        .bind(name.as_str())
        .execute(&mut *tx)
        .await?;
        if let Some(v) = version {
            sqlx::query(
                "UPDATE prompts SET active = 1 WHERE organization_id = ? AND name = ? AND version = ?",
            )
            .bind(org.to_string())
            .bind(name.as_str())
            .bind(i64::from(v))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn org_prompts(&self, org: Uuid) -> StoreResult<Vec<StoredPrompt>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM prompts WHERE organization_id = ? ORDER BY name, version DESC"
        ))
        .bind(org.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(prompt)
        .collect()
    }
}
