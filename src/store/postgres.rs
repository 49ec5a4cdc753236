//! The production durable store: PostgreSQL through sqlx, with compile-time checked queries
//! (the offline cache in `.sqlx/` lets the crate build without a database).
//!
//! Every write is its own transaction with synchronous commit: when a call returns, the row is
//! on the primary's disk. Postgres groups concurrent commits into one WAL flush by itself, so
//! there is no application-side group commit here (unlike the SQLite store's single writer).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use uuid::Uuid;

use crate::interview::settings::InterviewSettings;

use super::{
    kind_str, parse_kind, parse_speaker, speaker_str, InterviewRecord, InterviewStatus,
    NewInterview, ProviderNames, Store, StoreError, StoreResult, StoredEvent, TurnRecord, Usage,
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Pool settings for [`PgStore::connect`].
#[derive(Debug, Clone, Copy)]
pub struct PgSettings {
    pub max_connections: u32,
    /// How long a query waits for a pooled connection before failing (an outage surfaces as
    /// an error the actor handles, never as a hung interview).
    pub acquire_timeout: Duration,
    /// Run pending migrations on connect.
    pub migrate: bool,
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
            migrate: true,
        }
    }
}

#[derive(Clone)]
pub struct PgStore {
    pub(super) pool: PgPool,
}

impl PgStore {
    /// Connects to a `postgres://` URL and (unless told not to) runs migrations.
    pub async fn connect(url: &str, settings: PgSettings) -> StoreResult<Self> {
        let opts = PgConnectOptions::from_str(url)?.application_name("viva");
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(1)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(opts)
            .await?;
        if settings.migrate {
            MIGRATOR.run(&pool).await?;
        }
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

struct InterviewRow {
    id: Uuid,
    role: String,
    job_description: Option<String>,
    resume: Option<String>,
    status: String,
    created_at: chrono::DateTime<Utc>,
    started_at: Option<chrono::DateTime<Utc>>,
    completed_at: Option<chrono::DateTime<Utc>>,
    settings: serde_json::Value,
    link_id: Option<String>,
    consent_required: bool,
    consented_at: Option<chrono::DateTime<Utc>>,
    organization_id: Uuid,
    plan: Option<serde_json::Value>,
    prompts: Option<serde_json::Value>,
}

const INTERVIEW_COLUMNS: &str = "id, role, job_description, resume, status, created_at, \
    started_at, completed_at, settings, link_id, consent_required, consented_at, organization_id, \
    plan, prompts";

fn interview_row(r: &sqlx::postgres::PgRow) -> StoreResult<InterviewRow> {
    use sqlx::Row;
    Ok(InterviewRow {
        id: r.try_get("id")?,
        role: r.try_get("role")?,
        job_description: r.try_get("job_description")?,
        resume: r.try_get("resume")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        started_at: r.try_get("started_at")?,
        completed_at: r.try_get("completed_at")?,
        settings: r.try_get("settings")?,
        link_id: r.try_get("link_id")?,
        consent_required: r.try_get("consent_required")?,
        consented_at: r.try_get("consented_at")?,
        organization_id: r.try_get("organization_id")?,
        plan: r.try_get("plan")?,
        prompts: r.try_get("prompts")?,
    })
}

/// A plan as the `jsonb` column holds it.
pub(super) fn plan_json(
    plan: &Option<std::sync::Arc<crate::plan::Plan>>,
) -> Option<serde_json::Value> {
    plan.as_ref()
        .map(|p| serde_json::to_value(p.as_ref()).expect("plans serialise"))
}

/// Prompts as the `jsonb` column holds them.
pub(super) fn prompts_json(
    prompts: &Option<std::sync::Arc<crate::prompts::PromptSet>>,
) -> Option<serde_json::Value> {
    prompts
        .as_ref()
        .map(|p| serde_json::to_value(p.as_ref()).expect("prompt sets serialise"))
}

/// Settings as the `jsonb` column holds them.
pub(super) fn settings_json(s: &InterviewSettings) -> serde_json::Value {
    serde_json::to_value(s).expect("settings serialise")
}

impl TryFrom<InterviewRow> for InterviewRecord {
    type Error = StoreError;
    fn try_from(r: InterviewRow) -> StoreResult<Self> {
        Ok(Self {
            id: r.id,
            role: r.role,
            job_description: r.job_description,
            resume: r.resume,
            status: InterviewStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("status {:?}", r.status)))?,
            created_at: r.created_at,
            started_at: r.started_at,
            completed_at: r.completed_at,
            settings: serde_json::from_value(r.settings).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "interview settings not understood; using the defaults");
                InterviewSettings::default()
            }),
            link_id: r.link_id,
            consent_required: r.consent_required,
            consented_at: r.consented_at,
            organization_id: r.organization_id,
            plan: r.plan.and_then(|v| {
                crate::plan::shared::parse(&v.to_string())
                    .map_err(|e| tracing::warn!(error = %e, "stored plan not understood; rebuilt"))
                    .ok()
            }),
            prompts: r.prompts.and_then(|v| {
                crate::prompts::parse(&v.to_string())
                    .map_err(|e| tracing::warn!(error = %e, "stored prompts not understood; the defaults used"))
                    .ok()
            }),
        })
    }
}

#[derive(sqlx::FromRow)]
struct TurnRow {
    interview_id: Uuid,
    seq: i32,
    speaker: String,
    kind: String,
    text: String,
    transcribed: bool,
    interrupted: bool,
    audio_ms: i32,
    started_at: chrono::DateTime<Utc>,
    ended_at: chrono::DateTime<Utc>,
    timings: Option<serde_json::Value>,
    suggested: bool,
    decision: Option<serde_json::Value>,
}

impl TryFrom<TurnRow> for TurnRecord {
    type Error = StoreError;
    fn try_from(r: TurnRow) -> StoreResult<Self> {
        Ok(Self {
            interview_id: r.interview_id,
            seq: r.seq as u32,
            speaker: parse_speaker(&r.speaker)?,
            kind: parse_kind(&r.kind)?,
            text: r.text,
            transcribed: r.transcribed,
            interrupted: r.interrupted,
            audio_ms: r.audio_ms as u32,
            started_at: r.started_at,
            ended_at: r.ended_at,
            timings: r
                .timings
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("timings: {e}")))?,
            suggested: r.suggested,
            decision: r.decision.and_then(|v| serde_json::from_value(v).ok()),
        })
    }
}

#[async_trait]
impl Store for PgStore {
    async fn create_interview(&self, new: &NewInterview) -> StoreResult<InterviewRecord> {
        let rec = InterviewRecord::scheduled(new);
        sqlx::query(
            "INSERT INTO interviews (id, role, job_description, resume, status, created_at, \
             settings, link_id, consent_required, plan, prompts) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(rec.id)
        .bind(&rec.role)
        .bind(&rec.job_description)
        .bind(&rec.resume)
        .bind(rec.status.as_str())
        .bind(rec.created_at)
        .bind(settings_json(&rec.settings))
        .bind(&rec.link_id)
        .bind(rec.consent_required)
        .bind(plan_json(&rec.plan))
        .bind(prompts_json(&rec.prompts))
        .execute(&self.pool)
        .await?;
        Ok(rec)
    }

    async fn get_interview(&self, id: Uuid) -> StoreResult<Option<InterviewRecord>> {
        sqlx::query(&format!(
            "SELECT {INTERVIEW_COLUMNS} FROM interviews WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| interview_row(&r).and_then(InterviewRecord::try_from))
        .transpose()
    }

    async fn set_status(
        &self,
        id: Uuid,
        status: InterviewStatus,
        providers: Option<&ProviderNames>,
    ) -> StoreResult<()> {
        // One transaction: the change, and the webhook deliveries announcing it (the outbox).
        let mut tx = self.pool.begin().await?;
        let before: Option<String> =
            sqlx::query_scalar("SELECT status FROM interviews WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let changed = sqlx::query(
            "UPDATE interviews SET status = $1,
               started_at = CASE WHEN $1 = 'in_progress' THEN COALESCE(started_at, now()) ELSE started_at END,
               completed_at = CASE WHEN $1 IN ('completed', 'abandoned', 'cancelled') THEN COALESCE(completed_at, now()) ELSE completed_at END,
               stt_provider = COALESCE($2, stt_provider),
               llm_provider = COALESCE($3, llm_provider),
               tts_provider = COALESCE($4, tts_provider)
             WHERE id = $5 AND status <> 'cancelled'",
        )
        .bind(status.as_str())
        .bind(providers.map(|p| p.stt.as_str()))
        .bind(providers.map(|p| p.llm.as_str()))
        .bind(providers.map(|p| p.tts.as_str()))
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1
            && before.as_deref() != Some(status.as_str());
        if let Some(event) = crate::webhooks::event_for(status).filter(|_| changed) {
            super::webhooks_postgres::enqueue(&mut tx, id, event).await?;
        }
        // A completed interview is assessed: its job is queued with the change.
        if changed && status == InterviewStatus::Completed {
            super::assessments_postgres::enqueue(&mut tx, id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn insert_turn(&self, t: &TurnRecord, fence: u64) -> StoreResult<()> {
        let timings = t
            .timings
            .as_ref()
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("timings: {e}")))?;
        let response_ms = t
            .timings
            .as_ref()
            .map(|x| x.response_ms.min(i32::MAX as u64) as i32)
            .filter(|ms| *ms > 0);
        // The fence first: the interview's row is locked by the UPDATE, so a newer owner's
        // write in flight is waited for and its higher token seen (then nothing is written).
        let admitted: bool = sqlx::query_scalar(
            "WITH fenced AS (
                 UPDATE interviews SET fence = $15 WHERE id = $1 AND fence <= $15 RETURNING id
             ), written AS (
                 INSERT INTO turns (interview_id, seq, speaker, kind, text, transcribed,
                                    interrupted, audio_ms, started_at, ended_at,
                                    response_latency_ms, timings, suggested, decision, fence)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15
                 FROM fenced
                 ON CONFLICT (interview_id, seq) DO NOTHING
                 RETURNING 1
             )
             SELECT EXISTS (SELECT 1 FROM fenced)",
        )
        .bind(t.interview_id)
        .bind(t.seq as i32)
        .bind(speaker_str(t.speaker))
        .bind(kind_str(t.kind))
        .bind(&t.text)
        .bind(t.transcribed)
        .bind(t.interrupted)
        .bind(t.audio_ms as i32)
        .bind(t.started_at)
        .bind(t.ended_at)
        .bind(response_ms)
        .bind(timings)
        .bind(t.suggested)
        .bind(
            t.decision
                .as_ref()
                .map(|d| serde_json::to_value(d).expect("decisions serialise")),
        )
        .bind(fence.min(i64::MAX as u64) as i64)
        .fetch_one(&self.pool)
        .await?;
        if !admitted {
            // A newer owner's token, or no such interview (deleted): nothing was written.
            return Err(StoreError::Fenced);
        }
        Ok(())
    }

    async fn claim_fence(&self, id: Uuid, fence: u64) -> StoreResult<bool> {
        let claimed = sqlx::query("UPDATE interviews SET fence = $2 WHERE id = $1 AND fence <= $2")
            .bind(id)
            .bind(fence.min(i64::MAX as u64) as i64)
            .execute(&self.pool)
            .await?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn fence(&self, id: Uuid) -> StoreResult<u64> {
        let fence: Option<i64> = sqlx::query_scalar("SELECT fence FROM interviews WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(fence.unwrap_or(0).max(0) as u64)
    }

    async fn turns(&self, id: Uuid) -> StoreResult<Vec<TurnRecord>> {
        sqlx::query_as::<_, TurnRow>(
            "SELECT interview_id, seq, speaker, kind, text, transcribed, interrupted, audio_ms,
                    started_at, ended_at, timings, suggested, decision
             FROM turns WHERE interview_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(TurnRecord::try_from)
        .collect()
    }

    async fn append_events(&self, events: &[StoredEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = events.iter().map(|e| e.interview_id).collect();
        let seqs: Vec<i64> = events.iter().map(|e| e.seq as i64).collect();
        let bodies: Vec<String> = events.iter().map(|e| e.body.clone()).collect();
        sqlx::query!(
            "INSERT INTO events (interview_id, seq, body)
             SELECT i, s, b::json FROM UNNEST($1::uuid[], $2::bigint[], $3::text[]) AS u(i, s, b)
             ON CONFLICT (interview_id, seq) DO NOTHING",
            &ids,
            &seqs,
            &bodies,
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn events_after(
        &self,
        id: Uuid,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>> {
        let rows = sqlx::query!(
            r#"SELECT seq AS "seq!", body AS "body!" FROM (
                 SELECT seq, body::text AS body FROM events
                 WHERE interview_id = $1 AND seq > $2
                 ORDER BY seq DESC LIMIT $3
               ) newest ORDER BY seq"#,
            id,
            after as i64,
            i64::from(limit),
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| StoredEvent {
                interview_id: id,
                seq: r.seq as u64,
                body: r.body,
            })
            .collect())
    }

    async fn max_event_seq(&self, id: Uuid) -> StoreResult<u64> {
        let max = sqlx::query_scalar!("SELECT MAX(seq) FROM events WHERE interview_id = $1", id)
            .fetch_one(&self.pool)
            .await?;
        Ok(max.unwrap_or(0) as u64)
    }

    async fn add_usage(
        &self,
        id: Uuid,
        u: &Usage,
        llm_model: Option<&str>,
        prompt_version: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query!(
            "UPDATE interviews SET
               prompt_tokens = prompt_tokens + $2,
               completion_tokens = completion_tokens + $3,
               stt_seconds = stt_seconds + $4,
               tts_characters = tts_characters + $5,
               cost_usd = cost_usd + $6::float8::numeric,
               llm_model = COALESCE($7, llm_model),
               prompt_version = COALESCE($8, prompt_version)
             WHERE id = $1",
            id,
            u.prompt_tokens as i64,
            u.completion_tokens as i64,
            u.stt_seconds,
            u.tts_characters as i64,
            u.cost_usd,
            llm_model,
            prompt_version,
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn usage(&self, id: Uuid) -> StoreResult<Usage> {
        let r = sqlx::query!(
            r#"SELECT prompt_tokens, completion_tokens, stt_seconds, tts_characters,
                      cost_usd::float8 AS "cost_usd!"
               FROM interviews WHERE id = $1"#,
            id
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(|r| Usage {
            prompt_tokens: r.prompt_tokens as u64,
            completion_tokens: r.completion_tokens as u64,
            stt_seconds: r.stt_seconds,
            tts_characters: r.tts_characters as u64,
            cost_usd: r.cost_usd,
        })
        .unwrap_or_default())
    }

    async fn add_client_signal(
        &self,
        id: Uuid,
        n: u32,
        signal: &crate::integrity::ClientSignal,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO client_signals (interview_id, n, kind, at_ms, chars) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(n as i32)
        .bind(signal.kind.as_str())
        .bind(signal.at_ms)
        .bind(signal.chars.map(|c| c as i32))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn client_signals(&self, id: Uuid) -> StoreResult<Vec<crate::integrity::ClientSignal>> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT kind, at_ms, chars FROM client_signals WHERE interview_id = $1 ORDER BY at_ms, n",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                crate::integrity::ClientSignal::stored(
                    r.try_get("kind")?,
                    r.try_get("at_ms")?,
                    r.try_get::<Option<i32>, _>("chars")?.map(i64::from),
                )
            })
            .collect()
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
