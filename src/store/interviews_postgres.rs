//! [`InterviewDirectory`] on Postgres.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

use super::postgres::PgStore;
use super::{InterviewRecord, InterviewStatus, NewInterview, StoreError, StoreResult, StoredEvent};
use crate::accounts::Scope;
use crate::hiring::interviews::{
    InterviewDirectory, InterviewFilter, InterviewLinks, InterviewView, UsageView,
};
use crate::hiring::{Page, PageRequest};

const COLUMNS: &str = "id, status, role, job_posting_id, candidate_id, created_by, created_at, \
                       started_at, completed_at, prompt_tokens, completion_tokens, stt_seconds, \
                       tts_characters, cost_usd::float8 AS cost_usd, settings, consent_required, \
                       consented_at, cancel_reason, purged_at";

fn view(r: &PgRow) -> StoreResult<InterviewView> {
    let status: &str = r.try_get("status")?;
    Ok(InterviewView {
        id: r.try_get("id")?,
        status: InterviewStatus::parse(status)
            .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
        role: r.try_get("role")?,
        job_id: r.try_get("job_posting_id")?,
        candidate_id: r.try_get("candidate_id")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        completed_at: r.try_get("completed_at")?,
        usage: UsageView {
            prompt_tokens: r.try_get::<i64, _>("prompt_tokens")? as u64,
            completion_tokens: r.try_get::<i64, _>("completion_tokens")? as u64,
            stt_seconds: r.try_get("stt_seconds")?,
            tts_characters: r.try_get::<i64, _>("tts_characters")? as u64,
            cost_usd: r.try_get("cost_usd")?,
        },
        settings: serde_json::from_value(r.try_get("settings")?).unwrap_or_default(),
        consent_required: r.try_get("consent_required")?,
        consented_at: r.try_get("consented_at")?,
        cancel_reason: r.try_get("cancel_reason")?,
        purged_at: r.try_get("purged_at")?,
    })
}

const FILTER: &str = "organization_id = $1 AND ($2::text IS NULL OR status = $2) \
                      AND ($3::uuid IS NULL OR job_posting_id = $3) \
                      AND ($4::uuid IS NULL OR candidate_id = $4) \
                      AND ($5::timestamptz IS NULL OR created_at >= $5) \
                      AND ($6::timestamptz IS NULL OR created_at < $6)";

/// `q` with [`FILTER`]'s six values bound.
fn filtered<'q>(
    q: &'q str,
    scope: Scope,
    f: &InterviewFilter,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(q)
        .bind(scope.org())
        .bind(f.status.map(InterviewStatus::as_str))
        .bind(f.job_id)
        .bind(f.candidate_id)
        .bind(f.created_after)
        .bind(f.created_before)
}

#[async_trait]
impl InterviewDirectory for PgStore {
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(rec.id)
        .bind(scope.org())
        .bind(links.job_id)
        .bind(links.candidate_id)
        .bind(links.created_by)
        .bind(&rec.role)
        .bind(&rec.job_description)
        .bind(&rec.resume)
        .bind(rec.status.as_str())
        .bind(rec.created_at)
        .bind(super::postgres::settings_json(&rec.settings))
        .bind(&rec.link_id)
        .bind(rec.consent_required)
        .bind(super::postgres::plan_json(&rec.plan))
        .bind(super::postgres::prompts_json(&rec.prompts))
        .execute(&self.pool)
        .await?;
        Ok(rec)
    }

    async fn interview_in(&self, scope: Scope, id: Uuid) -> StoreResult<Option<InterviewView>> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM interviews WHERE id = $1 AND organization_id = $2"
        ))
        .bind(id)
        .bind(scope.org())
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
            "SELECT e.seq, e.body::text AS body FROM events e \
             JOIN interviews i ON i.id = e.interview_id \
             WHERE e.interview_id = $1 AND i.organization_id = $2 AND e.seq > $3 \
             ORDER BY e.seq LIMIT $4",
        )
        .bind(id)
        .bind(scope.org())
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
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE interviews SET status = 'cancelled', cancel_reason = $1, \
             completed_at = coalesce(completed_at, now()) \
             WHERE id = $2 AND organization_id = $3 AND status IN ('scheduled', 'in_progress')",
        )
        .bind(reason)
        .bind(id)
        .bind(scope.org())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        // The webhook deliveries announcing it, in the same transaction (the outbox).
        super::webhooks_postgres::enqueue(&mut tx, id, "interview.cancelled").await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn relink_in(&self, scope: Scope, id: Uuid, link_id: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE interviews SET link_id = $1 WHERE id = $2 AND organization_id = $3 \
             AND status IN ('scheduled', 'in_progress')",
        )
        .bind(link_id)
        .bind(id)
        .bind(scope.org())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_consent(&self, id: Uuid, version: u32, ip: Option<&str>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE interviews SET consented_at = now(), consent_notice_version = $1, \
             consent_ip = $2 WHERE id = $3",
        )
        .bind(version as i32)
        .bind(ip)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn purgeable_before(&self, org: Uuid, cutoff: DateTime<Utc>) -> StoreResult<Vec<Uuid>> {
        sqlx::query(
            "SELECT id FROM interviews WHERE organization_id = $1 AND created_at < $2 \
             AND purged_at IS NULL AND status <> 'in_progress'",
        )
        .bind(org)
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| r.try_get("id").map_err(Into::into))
        .collect()
    }

    async fn purge_before(&self, org: Uuid, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        const OLD: &str = "organization_id = $1 AND created_at < $2 AND purged_at IS NULL \
                           AND status <> 'in_progress'";
        let mut tx = self.pool.begin().await?;
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
            .bind(org)
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        }
        let purged = sqlx::query(&format!(
            "UPDATE interviews SET purged_at = now(), resume = NULL, job_description = NULL \
             WHERE {OLD}"
        ))
        .bind(org)
        .bind(cutoff)
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
             ORDER BY created_at DESC, id DESC LIMIT $7 OFFSET $8"
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
