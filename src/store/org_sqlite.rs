//! Notices ([`NoticeStore`]) and the audit log ([`AuditStore`]) on the embedded SQLite store.

use async_trait::async_trait;
use chrono::Utc;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use super::sqlite::{opt_ts, parse_ts, parse_uuid, ts, SqliteStore};
use super::{StoreError, StoreResult};
use crate::accounts::Scope;
use crate::audit::{AuditEntry, AuditStore, Record};
use crate::consent::{Notice, NoticeStore};
use crate::hiring::{Page, PageRequest};

fn notice(r: &SqliteRow) -> StoreResult<Notice> {
    Ok(Notice {
        version: r.try_get::<i64, _>("version")? as u32,
        text: r.try_get("text")?,
        created_at: opt_ts(r.try_get("created_at")?)?,
    })
}

#[async_trait]
impl NoticeStore for SqliteStore {
    async fn current_notice(&self, org: Uuid) -> StoreResult<Option<Notice>> {
        sqlx::query(
            "SELECT version, text, created_at FROM notices WHERE organization_id = ? \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(org.to_string())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(notice)
        .transpose()
    }

    async fn add_notice(&self, org: Uuid, text: &str, by: Option<Uuid>) -> StoreResult<Notice> {
        // One statement on the one write connection: the next number cannot be taken twice.
        let row = sqlx::query(
            "INSERT INTO notices (organization_id, version, text, created_by, created_at) \
             SELECT ?1, coalesce(max(version), 0) + 1, ?2, ?3, ?4 FROM notices \
             WHERE organization_id = ?1 RETURNING version, text, created_at",
        )
        .bind(org.to_string())
        .bind(text)
        .bind(by.map(|u| u.to_string()))
        .bind(ts(Utc::now()))
        .fetch_one(&self.writer)
        .await
        .map_err(|e| StoreError::unique(e, "the notice changed at the same time; try again"))?;
        notice(&row)
    }
}

fn entry(r: &SqliteRow) -> StoreResult<AuditEntry> {
    let details: String = r.try_get("details")?;
    Ok(AuditEntry {
        id: parse_uuid(r.try_get("id")?)?,
        actor_id: r
            .try_get::<Option<&str>, _>("actor_id")?
            .map(parse_uuid)
            .transpose()?,
        action: r.try_get("action")?,
        target_kind: r.try_get("target_kind")?,
        target_id: r.try_get("target_id")?,
        ip: r.try_get("ip")?,
        details: serde_json::from_str(&details)
            .map_err(|e| StoreError::Corrupt(format!("audit details: {e}")))?,
        at: parse_ts(r.try_get("at")?)?,
    })
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append(&self, e: &Record<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_log (id, organization_id, actor_id, action, target_kind, \
             target_id, ip, details, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(e.org.to_string())
        .bind(e.actor_id.map(|u| u.to_string()))
        .bind(e.action)
        .bind(e.target.as_ref().map(|t| t.0))
        .bind(e.target.as_ref().map(|t| t.1.as_str()))
        .bind(e.ip)
        .bind(e.details.to_string())
        .bind(ts(Utc::now()))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn entries_in(
        &self,
        scope: Scope,
        action: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<AuditEntry>> {
        const WHERE: &str = "organization_id = ?1 AND (?2 IS NULL OR action = ?2)";
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM audit_log WHERE {WHERE}"))
                .bind(scope.org().to_string())
                .bind(action)
                .fetch_one(&self.pool)
                .await?;
        let rows = sqlx::query(&format!(
            "SELECT * FROM audit_log WHERE {WHERE} ORDER BY at DESC, id DESC LIMIT ?3 OFFSET ?4"
        ))
        .bind(scope.org().to_string())
        .bind(action)
        .bind(i64::from(page.per_page))
        .bind(page.offset() as i64)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(entry).collect::<StoreResult<_>>()?;
        Ok(page.of(items, total as u64))
    }
}
