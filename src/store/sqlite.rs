//! The embedded default durable store: one SQLite file (WAL, synchronous=FULL).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::Row;
use uuid::Uuid;

use super::{
    InterviewRecord, InterviewStatus, NewInterview, ProviderNames, Store, StoreError, StoreResult,
    StoredEvent, TurnRecord,
};
use crate::protocol::Speaker;
use crate::providers::TurnKind;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
}

fn opt_ts(s: Option<String>) -> StoreResult<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_ts).transpose()
}

fn parse_uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("uuid {s:?}: {e}")))
}

fn speaker_str(s: Speaker) -> &'static str {
    match s {
        Speaker::Interviewer => "interviewer",
        Speaker::Candidate => "candidate",
    }
}

fn kind_str(k: TurnKind) -> &'static str {
    match k {
        TurnKind::Question => "question",
        TurnKind::Prompt => "prompt",
        TurnKind::Notice => "notice",
        TurnKind::Answer => "answer",
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs migrations.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        Self::connect(opts).await
    }

    /// Opens a `sqlite:` URL (e.g. from `DATABASE_URL`).
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        Self::connect(opts).await
    }

    async fn connect(opts: SqliteConnectOptions) -> StoreResult<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        // Another process (`viva interview create` beside `viva serve`) may be migrating the same
        // fresh file: each migration is one transaction, so a retry sees it applied.
        let mut attempt = 0;
        loop {
            match MIGRATOR.run(&pool).await {
                Ok(()) => break,
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "migration raced; retrying");
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Self { pool })
    }

    fn interview(row: &SqliteRow) -> StoreResult<InterviewRecord> {
        let status: String = row.try_get("status")?;
        Ok(InterviewRecord {
            id: parse_uuid(&row.try_get::<String, _>("id")?)?,
            role: row.try_get("role")?,
            job_description: row.try_get("job_description")?,
            resume: row.try_get("resume")?,
            status: InterviewStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
            created_at: parse_ts(&row.try_get::<String, _>("created_at")?)?,
            started_at: opt_ts(row.try_get("started_at")?)?,
            completed_at: opt_ts(row.try_get("completed_at")?)?,
        })
    }

    fn turn(row: &SqliteRow) -> StoreResult<TurnRecord> {
        let speaker: String = row.try_get("speaker")?;
        let kind: String = row.try_get("kind")?;
        let timings: Option<String> = row.try_get("timings")?;
        Ok(TurnRecord {
            interview_id: parse_uuid(&row.try_get::<String, _>("interview_id")?)?,
            seq: row.try_get::<i64, _>("seq")? as u32,
            speaker: match speaker.as_str() {
                "interviewer" => Speaker::Interviewer,
                "candidate" => Speaker::Candidate,
                other => return Err(StoreError::Corrupt(format!("speaker {other:?}"))),
            },
            kind: serde_json::from_value(serde_json::Value::String(kind.clone()))
                .map_err(|_| StoreError::Corrupt(format!("kind {kind:?}")))?,
            text: row.try_get("text")?,
            transcribed: row.try_get("transcribed")?,
            interrupted: row.try_get("interrupted")?,
            audio_ms: row.try_get::<i64, _>("audio_ms")? as u32,
            started_at: parse_ts(&row.try_get::<String, _>("started_at")?)?,
            ended_at: parse_ts(&row.try_get::<String, _>("ended_at")?)?,
            timings: timings
                .map(|t| serde_json::from_str(&t))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("timings: {e}")))?,
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_interview(&self, new: &NewInterview) -> StoreResult<InterviewRecord> {
        let rec = InterviewRecord::scheduled(new);
        sqlx::query(
            "INSERT INTO interviews (id, role, job_description, resume, status, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(rec.id.to_string())
        .bind(&rec.role)
        .bind(&rec.job_description)
        .bind(&rec.resume)
        .bind(rec.status.as_str())
        .bind(ts(rec.created_at))
        .execute(&self.pool)
        .await?;
        Ok(rec)
    }

    async fn get_interview(&self, id: Uuid) -> StoreResult<Option<InterviewRecord>> {
        let row = sqlx::query("SELECT * FROM interviews WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(Self::interview).transpose()
    }

    async fn set_status(
        &self,
        id: Uuid,
        status: InterviewStatus,
        providers: Option<&ProviderNames>,
    ) -> StoreResult<()> {
        let now = ts(Utc::now());
        sqlx::query(
            "UPDATE interviews SET status = ?,
               started_at = CASE WHEN ? = 'in_progress' THEN COALESCE(started_at, ?) ELSE started_at END,
               completed_at = CASE WHEN ? IN ('completed', 'abandoned') THEN COALESCE(completed_at, ?) ELSE completed_at END,
               stt_provider = COALESCE(?, stt_provider),
               llm_provider = COALESCE(?, llm_provider),
               tts_provider = COALESCE(?, tts_provider)
             WHERE id = ?",
        )
        .bind(status.as_str())
        .bind(status.as_str())
        .bind(&now)
        .bind(status.as_str())
        .bind(&now)
        .bind(providers.map(|p| p.stt.as_str()))
        .bind(providers.map(|p| p.llm.as_str()))
        .bind(providers.map(|p| p.tts.as_str()))
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn insert_turn(&self, t: &TurnRecord) -> StoreResult<()> {
        let timings = t
            .timings
            .as_ref()
            .map(|x| serde_json::to_string(x).expect("timings serialise"));
        sqlx::query(
            "INSERT INTO turns (interview_id, seq, speaker, kind, text, transcribed, interrupted,
                                audio_ms, started_at, ended_at, timings)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (interview_id, seq) DO NOTHING",
        )
        .bind(t.interview_id.to_string())
        .bind(i64::from(t.seq))
        .bind(speaker_str(t.speaker))
        .bind(kind_str(t.kind))
        .bind(&t.text)
        .bind(t.transcribed)
        .bind(t.interrupted)
        .bind(i64::from(t.audio_ms))
        .bind(ts(t.started_at))
        .bind(ts(t.ended_at))
        .bind(timings)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn turns(&self, id: Uuid) -> StoreResult<Vec<TurnRecord>> {
        let rows = sqlx::query("SELECT * FROM turns WHERE interview_id = ? ORDER BY seq")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(Self::turn).collect()
    }

    async fn append_events(&self, events: &[StoredEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for e in events {
            sqlx::query(
                "INSERT INTO events (interview_id, seq, body) VALUES (?, ?, ?)
                 ON CONFLICT (interview_id, seq) DO NOTHING",
            )
            .bind(e.interview_id.to_string())
            .bind(e.seq as i64)
            .bind(&e.body)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn events_after(
        &self,
        id: Uuid,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT seq, body FROM (
                SELECT seq, body FROM events WHERE interview_id = ? AND seq > ?
                ORDER BY seq DESC LIMIT ?
             ) ORDER BY seq",
        )
        .bind(id.to_string())
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

    async fn max_event_seq(&self, id: Uuid) -> StoreResult<u64> {
        let max: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM events WHERE interview_id = ?")
                .bind(id.to_string())
                .fetch_one(&self.pool)
                .await?;
        Ok(max.unwrap_or(0) as u64)
    }
}
