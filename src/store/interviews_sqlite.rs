//! [`InterviewDirectory`] on the embedded SQLite store.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

use super::sqlite::{opt_ts, parse_ts, parse_uuid, ts, SqliteStore};
use super::{InterviewRecord, InterviewStatus, NewInterview, StoreError, StoreResult, StoredEvent};
use crate::accounts::Scope;
use crate::hiring::interviews::{
    InterviewDirectory, InterviewFilter, InterviewLinks, InterviewView, UsageView,
};
use crate::hiring::{Page, PageRequest};
use crate::interview::settings::InterviewSettings;

const COLUMNS: &str = "id, status, role, job_posting_id, candidate_id, created_by, created_at, \
                       started_at, completed_at, prompt_tokens, completion_tokens, stt_seconds, \
                       tts_characters, cost_usd, settings, consent_required, consented_at, \
                       cancel_reason, purged_at";

fn opt_uuid(r: &SqliteRow, col: &str) -> StoreResult<Option<Uuid>> {
    r.try_get::<Option<&str>, _>(col)?
        .map(parse_uuid)
        .transpose()
}

fn view(r: &SqliteRow) -> StoreResult<InterviewView> {
    let status: &str = r.try_get("status")?;
    Ok(InterviewView {
        id: parse_uuid(r.try_get("id")?)?,
        status: InterviewStatus::parse(status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
        role: r.try_get("role")?,
        job_id: opt_uuid(r, "job_posting_id")?,
        candidate_id: opt_uuid(r, "candidate_id")?,
        created_by: opt_uuid(r, "created_by")?,
        created_at: parse_ts(r.try_get("created_at")?)?,
        started_at: opt_ts(r.try_get("started_at")?)?,
        completed_at: opt_ts(r.try_get("completed_at")?)?,
        usage: UsageView {
            prompt_tokens: r.try_get::<i64, _>("prompt_tokens")? as u64,
            completion_tokens: r.try_get::<i64, _>("completion_tokens")? as u64,
            stt_seconds: r.try_get("stt_seconds")?,
            tts_characters: r.try_get::<i64, _>("tts_characters")? as u64,
            cost_usd: r.try_get("cost_usd")?,
        },
        settings: InterviewSettings::from_json(r.try_get("settings")?),
        consent_required: r.try_get("consent_required")?,
        consented_at: opt_ts(r.try_get("consented_at")?)?,
        cancel_reason: r.try_get("cancel_reason")?,
        purged_at: opt_ts(r.try_get("purged_at")?)?,
    })
}

const FILTER: &str = "organization_id = ?1 AND (?2 IS NULL OR status = ?2) \
                      AND (?3 IS NULL OR job_posting_id = ?3) AND (?4 IS NULL OR candidate_id = ?4) \
                      AND (?5 IS NULL OR created_at >= ?5) AND (?6 IS NULL OR created_at < ?6)";

/// `q` with [`FILTER`]'s six values bound.
fn filtered<'q>(
    q: &'q str,
    scope: Scope,
    f: &InterviewFilter,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    sqlx::query(q)
        .bind(scope.org().to_string())
        .bind(f.status.map(InterviewStatus::as_str))
        .bind(f.job_id.map(|u| u.to_string()))
        .bind(f.candidate_id.map(|u| u.to_string()))
        .bind(f.created_after.map(ts))
        .bind(f.created_before.map(ts))
}

#[async_trait]
impl InterviewDirectory for SqliteStore {
    async fn create_in(
        &self,
        scope: Scope,
        new: &NewInterview,
        links: &InterviewLinks,
    ) -> StoreResult<InterviewRecord> {
        let rec = InterviewRecord {
            organization_id: scope.org(),
            ..InterviewRecord::scheduled(new)
        };
        sqlx::query(
            "INSERT INTO interviews (id, organization_id, job_posting_id, candidate_id, created_by, \
             role, job_description, resume, status, created_at, settings, link_id, \
             consent_required, plan, prompts) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(rec.id.to_string())
        .bind(scope.org().to_string())
        .bind(links.job_id.map(|u| u.to_string()))
        .bind(links.candidate_id.map(|u| u.to_string()))
        .bind(links.created_by.map(|u| u.to_string()))
        .bind(&rec.role)
        .bind(&rec.job_description)
        .bind(&rec.resume)
        .bind(rec.status.as_str())
        .bind(ts(rec.created_at))
        .bind(rec.settings.to_json())
        .bind(&rec.link_id)
        .bind(rec.consent_required)
        .bind(super::sqlite::plan_text(&rec.plan))
        .bind(super::sqlite::prompts_text(&rec.prompts))
        .execute(&self.writer)
        .await?;
        Ok(rec)
    }

    async fn interview_in(&self, scope: Scope, id: Uuid) -> StoreResult<Option<InterviewView>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM interviews WHERE id = ? AND organization_id = ?"
        ))
        .bind(id.to_string())
        .bind(scope.org().to_string())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(view)
        .transpose()
    }

    async fn events_in(
        &self,
        scope: Scope,
        id: Uuid,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT e.seq, e.body FROM events e JOIN interviews i ON i.id = e.interview_id \
             WHERE e.interview_id = ? AND i.organization_id = ? AND e.seq > ? \
             ORDER BY e.seq LIMIT ?",
        )
        .bind(id.to_string())
        .bind(scope.org().to_string())
        .bind(after as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredEvent {
                    interview_id: id,
                    seq: r.try_get::<i64, _>("seq")? as u64,
                    body: r.try_get("body")?,
                })
            })
            .collect()
    }

    async fn cancel_in(&self, scope: Scope, id: Uuid, reason: Option<&str>) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query(
            "UPDATE interviews SET status = 'cancelled', cancel_reason = ?, \
             completed_at = coalesce(completed_at, ?) \
             WHERE id = ? AND organization_id = ? AND status IN ('scheduled', 'in_progress')",
        )
        .bind(reason)
        .bind(ts(chrono::Utc::now()))
        .bind(id.to_string())
        .bind(scope.org().to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        // The webhook deliveries announcing it, in the same transaction (the outbox).
        super::webhooks_sqlite::enqueue(&mut tx, id, "interview.cancelled").await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn relink_in(&self, scope: Scope, id: Uuid, link_id: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE interviews SET link_id = ? WHERE id = ? AND organization_id = ? \
             AND status IN ('scheduled', 'in_progress')",
        )
        .bind(link_id)
        .bind(id.to_string())
        .bind(scope.org().to_string())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_consent(&self, id: Uuid, version: u32, ip: Option<&str>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE interviews SET consented_at = ?, consent_notice_version = ?, consent_ip = ? \
             WHERE id = ?",
        )
        .bind(ts(chrono::Utc::now()))
        .bind(i64::from(version))
        .bind(ip)
        .bind(id.to_string())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn purgeable_before(&self, org: Uuid, cutoff: DateTime<Utc>) -> StoreResult<Vec<Uuid>> {
        sqlx::query(
            "SELECT id FROM interviews WHERE organization_id = ?1 AND created_at < ?2 \
             AND purged_at IS NULL AND status <> 'in_progress'",
        )
        .bind(org.to_string())
        .bind(ts(cutoff))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| parse_uuid(r.try_get("id")?))
        .collect()
    }

    async fn purge_before(&self, org: Uuid, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        const OLD: &str = "organization_id = ?1 AND created_at < ?2 AND purged_at IS NULL \
                           AND status <> 'in_progress'";
        let mut tx = self.writer.begin().await?;
        for table in [
            "turns",
            "events",
            "assessments",
            "assessment_jobs",
            "interview_notes",
        ] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE interview_id IN (SELECT id FROM interviews WHERE {OLD})"
            ))
            .bind(org.to_string())
            .bind(ts(cutoff))
            .execute(&mut *tx)
            .await?;
        }
        let purged = sqlx::query(&format!(
            "UPDATE interviews SET purged_at = ?3, resume = NULL, job_description = NULL \
             WHERE {OLD}"
        ))
        .bind(org.to_string())
        .bind(ts(cutoff))
        .bind(ts(chrono::Utc::now()))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(purged)
    }

    async fn interviews_in(
        &self,
        scope: Scope,
        f: &InterviewFilter,
        page: PageRequest,
    ) -> StoreResult<Page<InterviewView>> {
        let bind = |q| filtered(q, scope, f);
        let count = format!("SELECT count(*) AS n FROM interviews WHERE {FILTER}");
        let total: i64 = bind(&count).fetch_one(&self.pool).await?.try_get("n")?;
        let list = format!(
            "SELECT {COLUMNS} FROM interviews WHERE {FILTER} \
             ORDER BY created_at DESC, id DESC LIMIT ?7 OFFSET ?8"
        );
        let rows = bind(&list)
            .bind(i64::from(page.per_page))
            .bind(page.offset() as i64)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(view).collect::<StoreResult<Vec<_>>>()?;
        Ok(page.of(items, total as u64))
    }
}
