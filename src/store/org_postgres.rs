//! Notices ([`NoticeStore`]) and the audit log ([`AuditStore`]) on Postgres.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use super::postgres::PgStore;
use super::{StoreError, StoreResult};
use crate::accounts::Scope;
use crate::audit::{AuditEntry, AuditStore, Record};
use crate::consent::{Notice, NoticeStore};
use crate::hiring::{Page, PageRequest};

fn notice(r: &PgRow) -> StoreResult<Notice> {
    Ok(Notice {
        version: r.try_get::<i32, _>("version")? as u32,
        text: r.try_get("text")?,
        created_at: r.try_get("created_at")?,
    })
}

#[async_trait]
impl NoticeStore for PgStore {
    async fn current_notice(&self, org: Uuid) -> StoreResult<Option<Notice>> {
        sqlx::query(
            "SELECT version, text, created_at FROM notices WHERE organization_id = $1 \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(org)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(notice)
        .transpose()
    }

    async fn add_notice(&self, org: Uuid, text: &str, by: Option<Uuid>) -> StoreResult<Notice> {
        // Two writers at once: one takes the number, the other gets a conflict (409).
        let row = sqlx::query(
            "INSERT INTO notices (organization_id, version, text, created_by) \
             SELECT $1, coalesce(max(version), 0) + 1, $2, $3 FROM notices \
             WHERE organization_id = $1 RETURNING version, text, created_at",
        )
        .bind(org)
        .bind(text)
        .bind(by)
        .fetch_one(self.pool())
        .await
        .map_err(|e| StoreError::unique(e, "the notice changed at the same time; try again"))?;
        notice(&row)
    }
}

fn entry(r: &PgRow) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        id: r.try_get("id")?,
        actor_id: r.try_get("actor_id")?,
        action: r.try_get("action")?,
        target_kind: r.try_get("target_kind")?,
        target_id: r.try_get("target_id")?,
        ip: r.try_get("ip")?,
        details: r.try_get("details")?,
        at: r.try_get("at")?,
    })
}

#[async_trait]
impl AuditStore for PgStore {
    async fn append(&self, e: &Record<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, organization_id, actor_id, action, target_kind, \
             target_id, ip, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Uuid::now_v7())
        .bind(e.org)
        .bind(e.actor_id)
        .bind(e.action)
        .bind(e.target.as_ref().map(|t| t.0))
        .bind(e.target.as_ref().map(|t| t.1.as_str()))
        .bind(e.ip)
        .bind(&e.details)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn entries_in(
        &self,
        scope: Scope,
        action: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<AuditEntry>> {
        const WHERE: &str = "organization_id = $1 AND ($2::text IS NULL OR action = $2)";
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM audit_log WHERE {WHERE}"))
                .bind(scope.org())
                .bind(action)
                .fetch_one(self.pool())
                .await?;
        let rows = sqlx::query(&format!(
            "SELECT * FROM audit_log WHERE {WHERE} ORDER BY at DESC, id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(scope.org())
        .bind(action)
        .bind(i64::from(page.per_page))
        .bind(page.offset() as i64)
        .fetch_all(self.pool())
        .await?;
        let items = rows.iter().map(entry).collect::<StoreResult<_>>()?;
        Ok(page.of(items, total as u64))
    }
}
