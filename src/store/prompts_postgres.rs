//! [`PromptStore`] on Postgres.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use super::postgres::PgStore;
use super::{StoreError, StoreResult};
use crate::prompts::{PromptName, PromptStore, StoredPrompt};

fn prompt(r: &PgRow) -> StoreResult<StoredPrompt> {
    let name: String = r.try_get("name")?;
    Ok(StoredPrompt {
        name: PromptName::parse(&name)
            .ok_or_else(|| StoreError::Corrupt(format!("prompt name {name:?}")))?,
        version: r.try_get::<i32, _>("version")? as u32,
        body: r.try_get("body")?,
        active: r.try_get("active")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

const COLUMNS: &str = "name, version, body, active, created_by, created_at";

/// Changes to one name in one organization take their turn (versions and the active one).
async fn lock(tx: &mut sqlx::PgConnection, org: Uuid, name: PromptName) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind(format!("prompts:{org}:{}", name.as_str()))
        .execute(tx)
        .await?;
    Ok(())
}

#[async_trait]
impl PromptStore for PgStore {
    async fn add_prompt(
        &self,
        org: Uuid,
        name: PromptName,
        body: &str,
        by: Option<Uuid>,
    ) -> StoreResult<StoredPrompt> {
        let mut tx = self.pool().begin().await?;
        lock(&mut tx, org, name).await?;
        sqlx::query("UPDATE prompts SET active = false WHERE organization_id = $1 AND name = $2")
            .bind(org)
            .bind(name.as_str())
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(&format!(
            "INSERT INTO prompts (organization_id, name, version, body, active, created_by) \
             SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, true, $4 FROM prompts \
             WHERE organization_id = $1 AND name = $2 RETURNING {COLUMNS}"
        ))
        .bind(org)
        .bind(name.as_str())
        .bind(body)
        .bind(by)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        prompt(&row)
    }

    async fn activate_prompt(
        &self,
        org: Uuid,
        name: PromptName,
        version: Option<u32>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await?;
        lock(&mut tx, org, name).await?;
        if let Some(v) = version {
            let exists: Option<i32> = sqlx::query_scalar(
                "SELECT version FROM prompts WHERE organization_id = $1 AND name = $2 \
                 AND version = $3",
            )
            .bind(org)
            .bind(name.as_str())
            .bind(v as i32)
            .fetch_optional(&mut *tx)
            .await?;
            if exists.is_none() {
                return Ok(false);
            }
        }
        sqlx::query(
            "UPDATE prompts SET active = false WHERE organization_id = $1 AND name = $2 AND active",
        )
        .bind(org)
        .bind(name.as_str())
        .execute(&mut *tx)
        .await?;
        if let Some(v) = version {
            sqlx::query(
                "UPDATE prompts SET active = true WHERE organization_id = $1 AND name = $2 \
                 AND version = $3",
            )
            .bind(org)
            .bind(name.as_str())
            .bind(v as i32)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn org_prompts(&self, org: Uuid) -> StoreResult<Vec<StoredPrompt>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM prompts WHERE organization_id = $1 ORDER BY name, version DESC"
        ))
        .bind(org)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(prompt)
        .collect()
    }
}
