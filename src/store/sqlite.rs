//! The embedded default durable store: one SQLite file (WAL, synchronous=FULL).
//!
//! Writes go through one writer task and one connection, with group commit: whatever arrives
//! while a transaction is being made durable (turns, event-log batches) shares the next one.
//! Every caller still returns only once its write is durable. Writers never meet on SQLite's
//! lock, so none waits in its busy handler's sleeps; checkpoints run in the background.

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
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::{CancellationToken, DropGuard};
use uuid::Uuid;

use crate::interview::settings::InterviewSettings;

use super::{
    kind_str, parse_kind, parse_speaker, speaker_str, InterviewRecord, InterviewStatus,
    NewInterview, ProviderNames, Store, StoreError, StoreResult, StoredEvent, TurnRecord, Usage,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Clone)]
pub struct SqliteStore {
    /// Readers (WAL: they never block the writer).
    pub(super) pool: SqlitePool,
    /// The single write connection, shared by the group-commit task and rare direct writes.
    pub(super) writer: SqlitePool,
    writes: mpsc::Sender<Write>,
    /// Whether any webhook is on: while none is, a status change is one plain UPDATE (the
    /// embedded default is one process; the API that adds webhooks shares this store).
    pub(super) webhooks_on: Arc<std::sync::atomic::AtomicBool>,
    /// Stops the background checkpointer when the last handle is dropped.
    _checkpointer: Arc<DropGuard>,
}

/// A write waiting for the next group commit.
enum Write {
    Turn(TurnRecord, oneshot::Sender<Result<(), String>>),
    Events(Vec<StoredEvent>, oneshot::Sender<Result<(), String>>),
}

/// Most writes (turns or event batches) in one transaction.
const GROUP_COMMIT_MAX: usize = 256;

/// Event rows per INSERT statement (3 bound values each; SQLite allows 32,766).
const EVENT_ROWS_PER_INSERT: usize = 300;

/// How often the write-ahead log is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(2);

pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(super) fn parse_ts(s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?}: {e}")))
}

/// A plan as the `plan` column holds it (JSON text).
pub(super) fn plan_text(plan: &Option<std::sync::Arc<crate::plan::Plan>>) -> Option<String> {
    plan.as_ref()
        .map(|p| serde_json::to_string(p.as_ref()).expect("plans serialise"))
}

/// A stored plan; one this version does not understand is rebuilt by the interviewer.
fn plan_from(text: Option<String>) -> Option<std::sync::Arc<crate::plan::Plan>> {
    let text = text?;
    crate::plan::shared::parse(&text)
        .map_err(|e| tracing::warn!(error = %e, "stored plan not understood; rebuilt"))
        .ok()
}

/// Prompts as the `prompts` column holds them (JSON text).
pub(super) fn prompts_text(
    prompts: &Option<std::sync::Arc<crate::prompts::PromptSet>>,
) -> Option<String> {
    prompts
        .as_ref()
        .map(|p| serde_json::to_string(p.as_ref()).expect("prompt sets serialise"))
}

/// Stored prompts; a set this version does not understand is read as the server's defaults.
pub(super) fn prompts_from(
    text: Option<&str>,
) -> Option<std::sync::Arc<crate::prompts::PromptSet>> {
    crate::prompts::parse(text?)
        .map_err(|e| tracing::warn!(error = %e, "stored prompts not understood; the defaults used"))
        .ok()
}

/// A stored decision (kept only when understood: it explains, it never steers).
fn decision_from(text: Option<String>) -> Option<crate::plan::Decision> {
    serde_json::from_str(&text?).ok()
}

pub(super) fn opt_ts(s: Option<String>) -> StoreResult<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_ts).transpose()
}

pub(super) fn parse_uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("uuid {s:?}: {e}")))
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs migrations.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        Self::connect(SqliteConnectOptions::new().filename(path)).await
    }

    /// Opens a `sqlite:` URL (e.g. from `DATABASE_URL`).
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        Self::connect(SqliteConnectOptions::from_str(url)?).await
    }

    async fn connect(opts: SqliteConnectOptions) -> StoreResult<Self> {
        // Durable commits (WAL, synchronous=FULL). No checkpoint inside a commit (it would stall
        // that turn's write for as long as copying the log takes); a background task checkpoints
        // passively instead.
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("wal_autocheckpoint", "0");
        // Migrations run on a connection of their own, closed before the store's are opened: a
        // migration may change the schema in ways (a widened CHECK) that a connection open
        // during it would not see.
        let migrator = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts.clone())
            .await?;
        // Another process (`viva interview create` beside `viva serve`) may be migrating the same
        // fresh file: each migration is one transaction, so a retry sees it applied.
        let mut attempt = 0;
        loop {
            match MIGRATOR.run(&migrator).await {
                Ok(()) => break,
                Err(e) if attempt < 5 => {
                    attempt += 1;
                    tracing::debug!(error = %e, attempt, "migration raced; retrying");
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        migrator.close().await;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts.clone())
            .await?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        let webhooks_on: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM webhooks WHERE disabled_at IS NULL)")
                .fetch_one(&pool)
                .await?;
        let stop = CancellationToken::new();
        // On a reader connection: a passive checkpoint needs no write lock, and the one write
        // connection stays free for commits.
        tokio::spawn(checkpoint_loop(pool.clone(), stop.clone()));
        let (writes, rx) = mpsc::channel(4 * GROUP_COMMIT_MAX);
        tokio::spawn(group_commit(writer.clone(), rx));
        Ok(Self {
            pool,
            writer,
            writes,
            webhooks_on: Arc::new(std::sync::atomic::AtomicBool::new(webhooks_on)),
            _checkpointer: Arc::new(stop.drop_guard()),
        })
    }

    /// Queues a write for the next group commit and waits until it is durable.
    async fn write(
        &self,
        op: impl FnOnce(oneshot::Sender<Result<(), String>>) -> Write,
    ) -> StoreResult<()> {
        let (done, result) = oneshot::channel();
        let stopped = || StoreError::Batch("writer stopped".into());
        self.writes.send(op(done)).await.map_err(|_| stopped())?;
        result
            .await
            .map_err(|_| stopped())?
            .map_err(StoreError::Batch)
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
            settings: InterviewSettings::from_json(row.try_get("settings")?),
            link_id: row.try_get("link_id")?,
            consent_required: row.try_get("consent_required")?,
            consented_at: opt_ts(row.try_get("consented_at")?)?,
            organization_id: parse_uuid(row.try_get("organization_id")?)?,
            plan: plan_from(row.try_get("plan")?),
            prompts: prompts_from(row.try_get::<Option<String>, _>("prompts")?.as_deref()),
        })
    }

    fn turn(row: &SqliteRow) -> StoreResult<TurnRecord> {
        let speaker: String = row.try_get("speaker")?;
        let kind: String = row.try_get("kind")?;
        let timings: Option<String> = row.try_get("timings")?;
        Ok(TurnRecord {
            interview_id: parse_uuid(&row.try_get::<String, _>("interview_id")?)?,
            seq: row.try_get::<i64, _>("seq")? as u32,
            speaker: parse_speaker(&speaker)?,
            kind: parse_kind(&kind)?,
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
            suggested: row.try_get("suggested")?,
            decision: decision_from(row.try_get("decision")?),
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_interview(&self, new: &NewInterview) -> StoreResult<InterviewRecord> {
        let rec = InterviewRecord::scheduled(new);
        sqlx::query(
            "INSERT INTO interviews (id, role, job_description, resume, status, created_at, \
             settings, link_id, consent_required, plan, prompts) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(rec.id.to_string())
        .bind(&rec.role)
        .bind(&rec.job_description)
        .bind(&rec.resume)
        .bind(rec.status.as_str())
        .bind(ts(rec.created_at))
        .bind(rec.settings.to_json())
        .bind(&rec.link_id)
        .bind(rec.consent_required)
        .bind(plan_text(&rec.plan))
        .bind(prompts_text(&rec.prompts))
        .execute(&self.writer)
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
        const UPDATE: &str = "UPDATE interviews SET status = ?,
               started_at = CASE WHEN ? = 'in_progress' THEN COALESCE(started_at, ?) ELSE started_at END,
               completed_at = CASE WHEN ? IN ('completed', 'abandoned', 'cancelled') THEN COALESCE(completed_at, ?) ELSE completed_at END,
               stt_provider = COALESCE(?, stt_provider),
               llm_provider = COALESCE(?, llm_provider),
               tts_provider = COALESCE(?, tts_provider)
             WHERE id = ? AND status <> 'cancelled'";
        let now = ts(Utc::now());
        let update = || {
            sqlx::query(UPDATE)
                .bind(status.as_str())
                .bind(status.as_str())
                .bind(now.clone())
                .bind(status.as_str())
                .bind(now.clone())
                .bind(providers.map(|p| p.stt.clone()))
                .bind(providers.map(|p| p.llm.clone()))
                .bind(providers.map(|p| p.tts.clone()))
                .bind(id.to_string())
        };
        let event = crate::webhooks::event_for(status);
        let completed = status == InterviewStatus::Completed;
        if !completed
            && (event.is_none() || !self.webhooks_on.load(std::sync::atomic::Ordering::Relaxed))
        {
            // Nothing to announce or queue: one statement, as before webhooks.
            update().execute(&self.writer).await?;
            return Ok(());
        }
        // One transaction: the change, and the webhook deliveries announcing it (the outbox).
        let mut tx = self.writer.begin().await?;
        let before: Option<String> =
            sqlx::query_scalar("SELECT status FROM interviews WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let changed = update().execute(&mut *tx).await?.rows_affected() == 1
            && before.as_deref() != Some(status.as_str());
        if let Some(event) = event.filter(|_| changed) {
            super::webhooks_sqlite::enqueue(&mut tx, id, event).await?;
        }
        // A completed interview is assessed: its job is queued with the change.
        if changed && completed {
            super::assessments_sqlite::enqueue(&mut tx, id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// One node's store (in-process hot state, no shared leases): the fence is not checked.
    async fn insert_turn(&self, t: &TurnRecord, _fence: u64) -> StoreResult<()> {
        self.write(|done| Write::Turn(t.clone(), done)).await
    }

    async fn fence(&self, _id: Uuid) -> StoreResult<u64> {
        Ok(0)
    }

    async fn claim_fence(&self, _id: Uuid, _fence: u64) -> StoreResult<bool> {
        Ok(true)
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
        self.write(|done| Write::Events(events.to_vec(), done))
            .await
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

    async fn add_usage(
        &self,
        id: Uuid,
        u: &Usage,
        llm_model: Option<&str>,
        prompt_version: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE interviews SET
               prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?,
               stt_seconds = stt_seconds + ?, tts_characters = tts_characters + ?,
               cost_usd = cost_usd + ?, llm_model = COALESCE(?, llm_model),
               prompt_version = COALESCE(?, prompt_version)
             WHERE id = ?",
        )
        .bind(u.prompt_tokens as i64)
        .bind(u.completion_tokens as i64)
        .bind(u.stt_seconds)
        .bind(u.tts_characters as i64)
        .bind(u.cost_usd)
        .bind(llm_model)
        .bind(prompt_version)
        .bind(id.to_string())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn usage(&self, id: Uuid) -> StoreResult<Usage> {
        let row = sqlx::query(
            "SELECT prompt_tokens, completion_tokens, stt_seconds, tts_characters, cost_usd
             FROM interviews WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| -> StoreResult<Usage> {
            Ok(Usage {
                prompt_tokens: r.try_get::<i64, _>("prompt_tokens")? as u64,
                completion_tokens: r.try_get::<i64, _>("completion_tokens")? as u64,
                stt_seconds: r.try_get("stt_seconds")?,
                tts_characters: r.try_get::<i64, _>("tts_characters")? as u64,
                cost_usd: r.try_get("cost_usd")?,
            })
        })
        .transpose()
        .map(Option::unwrap_or_default)
    }

    async fn add_client_signal(
        &self,
        id: Uuid,
        n: u32,
        signal: &crate::integrity::ClientSignal,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO client_signals (interview_id, n, kind, at_ms, chars) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(i64::from(n))
        .bind(signal.kind.as_str())
        .bind(signal.at_ms)
        .bind(signal.chars.map(i64::from))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn client_signals(&self, id: Uuid) -> StoreResult<Vec<crate::integrity::ClientSignal>> {
        let rows = sqlx::query(
            "SELECT kind, at_ms, chars FROM client_signals WHERE interview_id = ? ORDER BY at_ms, n",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                crate::integrity::ClientSignal::stored(
                    r.try_get("kind")?,
                    r.try_get("at_ms")?,
                    r.try_get("chars")?,
                )
            })
            .collect()
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Copies the write-ahead log back into the database file without blocking writers.
async fn checkpoint_loop(pool: SqlitePool, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(CHECKPOINT_EVERY) => {}
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    }
}

/// Writes what is queued in shared transactions until every store handle is gone. Answers
/// and other turns go first, in their own transaction: a turn waits for at most one event-log
/// transaction already in flight, never for the events queued beside it.
async fn group_commit(pool: SqlitePool, mut rx: mpsc::Receiver<Write>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < GROUP_COMMIT_MAX {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (turns, events): (Vec<Write>, Vec<Write>) = batch
            .into_iter()
            .partition(|op| matches!(op, Write::Turn(..)));
        for part in [turns, events] {
            if part.is_empty() {
                continue;
            }
            let t0 = std::time::Instant::now();
            let result = write_batch(&pool, &part).await.map_err(|e| e.to_string());
            if t0.elapsed() > Duration::from_millis(20) {
                tracing::debug!(
                    ms = t0.elapsed().as_millis() as u64,
                    writes = part.len(),
                    "slow group commit"
                );
            }
            for op in part {
                let (Write::Turn(_, done) | Write::Events(_, done)) = op;
                let _ = done.send(result.clone());
            }
        }
    }
}

/// One transaction; idempotent on `(interview_id, seq)` for turns and events alike.
async fn write_batch(pool: &SqlitePool, batch: &[Write]) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    let turns: Vec<&TurnRecord> = batch
        .iter()
        .filter_map(|op| match op {
            Write::Turn(t, _) => Some(t),
            Write::Events(..) => None,
        })
        .collect();
    if !turns.is_empty() {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO turns (interview_id, seq, speaker, kind, text, transcribed, interrupted, \
             audio_ms, started_at, ended_at, timings, suggested, decision) ",
        );
        q.push_values(turns, |mut row, t| {
            let timings = t
                .timings
                .as_ref()
                .map(|x| serde_json::to_string(x).expect("timings serialise"));
            row.push_bind(t.interview_id.to_string())
                .push_bind(i64::from(t.seq))
                .push_bind(speaker_str(t.speaker))
                .push_bind(kind_str(t.kind))
                .push_bind(t.text.clone())
                .push_bind(t.transcribed)
                .push_bind(t.interrupted)
                .push_bind(i64::from(t.audio_ms))
                .push_bind(ts(t.started_at))
                .push_bind(ts(t.ended_at))
                .push_bind(timings)
                .push_bind(t.suggested)
                .push_bind(
                    t.decision
                        .as_ref()
                        .map(|d| serde_json::to_string(d).expect("decisions serialise")),
                );
        });
        q.push(" ON CONFLICT (interview_id, seq) DO NOTHING");
        q.build().execute(&mut *tx).await?;
    }
    let events: Vec<&StoredEvent> = batch
        .iter()
        .filter_map(|op| match op {
            Write::Events(e, _) => Some(e),
            Write::Turn(..) => None,
        })
        .flatten()
        .collect();
    for chunk in events.chunks(EVENT_ROWS_PER_INSERT) {
        let mut q = sqlx::QueryBuilder::new("INSERT INTO events (interview_id, seq, body) ");
        q.push_values(chunk, |mut row, e| {
            row.push_bind(e.interview_id.to_string())
                .push_bind(e.seq as i64)
                .push_bind(e.body.clone());
        });
        q.push(" ON CONFLICT (interview_id, seq) DO NOTHING");
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
