//! [`ApiKeyStore`] and [`OrgStore`] on Postgres.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use super::postgres::{settings_json, PgStore};
use super::{StoreError, StoreResult};
use crate::accounts::keys::{ApiKey, ApiKeyStore, NewKey};
use crate::accounts::organization::{OrgChanges, OrgSettings, OrgStore};
use crate::accounts::{Role, Scope};

const KEY_COLUMNS: &str =
    "id, organization_id, name, role, prefix, created_by, created_at, revoked_at";

fn key(r: &PgRow) -> StoreResult<ApiKey> {
    let role: &str = r.try_get("role")?;
    Ok(ApiKey {
        id: r.try_get("id")?,
        organization_id: r.try_get("organization_id")?,
        name: r.try_get("name")?,
        role: Role::parse(role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        prefix: r.try_get("prefix")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

#[async_trait]
impl ApiKeyStore for PgStore {
    async fn create_key(&self, k: &NewKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO access_keys (id, organization_id, name, role, prefix, key_hash, \
             created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(k.key.id)
        .bind(k.key.organization_id)
        .bind(&k.key.name)
        .bind(k.key.role.as_str())
        .bind(&k.key.prefix)
        .bind(&k.hash)
        .bind(k.key.created_by)
        .bind(k.key.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn keys_in(&self, scope: Scope) -> StoreResult<Vec<ApiKey>> {
        let rows = sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM access_keys WHERE organization_id = $1 \
             AND revoked_at IS NULL ORDER BY created_at DESC"
        ))
        .bind(scope.org())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(key).collect()
    }

    async fn revoke_key(&self, scope: Scope, id: Uuid) -> StoreResult<Option<ApiKey>> {
        sqlx::query(&format!(
            "UPDATE access_keys SET revoked_at = now() WHERE id = $1 AND organization_id = $2 \
             AND revoked_at IS NULL RETURNING {KEY_COLUMNS}"
        ))
        .bind(id)
        .bind(scope.org())
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(key)
        .transpose()
    }

    async fn key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKey>> {
        sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM access_keys WHERE key_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(hash)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(key)
        .transpose()
    }

    async fn working_key(&self, id: Uuid) -> StoreResult<Option<ApiKey>> {
        sqlx::query(&format!(
            "SELECT {KEY_COLUMNS} FROM access_keys WHERE id = $1 AND revoked_at IS NULL"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(key)
        .transpose()
    }
}

const ORG_COLUMNS: &str =
    "id, name, retention_days, integrity_signals, interview_defaults, created_at";

fn org(r: &PgRow) -> StoreResult<OrgSettings> {
    Ok(OrgSettings {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        retention_days: r.try_get::<i32, _>("retention_days")? as u32,
        integrity_signals: r.try_get("integrity_signals")?,
        interview_defaults: serde_json::from_value(r.try_get("interview_defaults")?)
            .unwrap_or_default(),
        created_at: r.try_get("created_at")?,
    })
}

#[async_trait]
impl OrgStore for PgStore {
    async fn org_settings(&self, id: Uuid) -> StoreResult<Option<OrgSettings>> {
        sqlx::query(&format!(
            "SELECT {ORG_COLUMNS} FROM organizations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(org)
        .transpose()
    }

    async fn update_org(&self, id: Uuid, c: &OrgChanges) -> StoreResult<Option<OrgSettings>> {
        sqlx::query(&format!(
            "UPDATE organizations SET name = coalesce($1, name), \
             retention_days = coalesce($2, retention_days), \
             integrity_signals = coalesce($3, integrity_signals), \
             interview_defaults = coalesce($4, interview_defaults) \
             WHERE id = $5 RETURNING {ORG_COLUMNS}"
        ))
        .bind(&c.name)
        .bind(c.retention_days.map(|d| d as i32))
        .bind(c.integrity_signals)
        .bind(c.interview_defaults.as_ref().map(settings_json))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::unique(e, "name: another organization has this name"))?
        .as_ref()
        .map(org)
        .transpose()
    }

    async fn retention_of_all(&self) -> StoreResult<Vec<(Uuid, u32)>> {
        let rows = sqlx::query("SELECT id, retention_days FROM organizations")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    r.try_get::<i32, _>("retention_days")? as u32,
                ))
            })
            .collect()
    }
}

#[async_trait]
impl crate::providers::byok::ProviderKeyStore for PgStore {
    async fn set_provider_key(
        &self,
        org: Uuid,
        vendor: &str,
        sealed: &str,
        last4: &str,
        by: Option<Uuid>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO provider_keys (organization_id, vendor, sealed, last4, updated_by) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (organization_id, vendor) \
             DO UPDATE SET sealed = excluded.sealed, last4 = excluded.last4, \
             updated_by = excluded.updated_by, updated_at = now()",
        )
        .bind(org)
        .bind(vendor)
        .bind(sealed)
        .bind(last4)
        .bind(by)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn delete_provider_key(&self, org: Uuid, vendor: &str) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM provider_keys WHERE organization_id = $1 AND vendor = $2")
                .bind(org)
                .bind(vendor)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn provider_keys(
        &self,
        org: Uuid,
    ) -> StoreResult<Vec<crate::providers::byok::StoredKey>> {
        let rows = sqlx::query(
            "SELECT vendor, sealed, last4, updated_at FROM provider_keys \
             WHERE organization_id = $1 ORDER BY vendor",
        )
        .bind(org)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(crate::providers::byok::StoredKey {
                    vendor: r.try_get("vendor")?,
                    sealed: r.try_get("sealed")?,
                    last4: r.try_get("last4")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }
}
