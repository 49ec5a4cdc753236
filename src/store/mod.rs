//! Storage behind traits: [`Store`] (durable: interviews, turns, the event log) and
//! [`HotState`] (checkpoints and single-use tickets). The embedded default is
//! [`sqlite::SqliteStore`] + [`memory::MemoryHot`]; Postgres and Redis implement the same traits.
//!
//! The database never touches audio: only text, timings and serialised events cross this line.

mod accounts_postgres;
mod accounts_sqlite;
mod assessments_postgres;
mod assessments_sqlite;
mod banks_postgres;
mod banks_sqlite;
mod candidates_postgres;
mod candidates_sqlite;
pub mod event_writer;
mod interviews_postgres;
mod interviews_sqlite;
mod jobs_postgres;
mod jobs_sqlite;
mod keys_postgres;
mod keys_sqlite;
pub mod memory;
mod notes_postgres;
mod notes_sqlite;
mod org_postgres;
mod org_sqlite;
pub mod postgres;
mod prompts_postgres;
mod prompts_sqlite;
pub mod redis;
pub mod sqlite;
mod webhooks_postgres;
mod webhooks_sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::interview::settings::InterviewSettings;

use crate::protocol::TurnKind;
use crate::protocol::{InterviewState, Speaker, TurnTimings};

pub type StoreResult<T> = Result<T, StoreError>;

/// The durable store behind its traits: interviews, turns and events ([`Store`]), recruiters'
/// accounts and what they manage (one database).
#[derive(Clone)]
pub struct Storage {
    pub store: std::sync::Arc<dyn Store>,
    pub accounts: std::sync::Arc<dyn crate::accounts::AccountStore>,
    pub jobs: std::sync::Arc<dyn crate::hiring::jobs::JobStore>,
    pub candidates: std::sync::Arc<dyn crate::hiring::candidates::CandidateStore>,
    pub interviews: std::sync::Arc<dyn crate::hiring::interviews::InterviewDirectory>,
    pub notices: std::sync::Arc<dyn crate::consent::NoticeStore>,
    pub audit: std::sync::Arc<dyn crate::audit::AuditStore>,
    pub keys: std::sync::Arc<dyn crate::accounts::keys::ApiKeyStore>,
    pub orgs: std::sync::Arc<dyn crate::accounts::organization::OrgStore>,
    pub webhooks: std::sync::Arc<dyn crate::webhooks::WebhookStore>,
    pub provider_keys: std::sync::Arc<dyn crate::providers::byok::ProviderKeyStore>,
    pub notes: std::sync::Arc<dyn crate::hiring::notes::NoteStore>,
    pub assessments: std::sync::Arc<dyn crate::assessment::AssessmentStore>,
    pub banks: std::sync::Arc<dyn crate::plan::library::QuestionBankStore>,
    pub prompts: std::sync::Arc<dyn crate::prompts::PromptStore>,
}

impl Storage {
    pub fn of<S>(s: S) -> Self
    where
        S: Store
            + crate::accounts::AccountStore
            + crate::hiring::jobs::JobStore
            + crate::hiring::candidates::CandidateStore
            + crate::hiring::interviews::InterviewDirectory
            + crate::consent::NoticeStore
            + crate::audit::AuditStore
            + crate::accounts::keys::ApiKeyStore
            + crate::accounts::organization::OrgStore
            + crate::webhooks::WebhookStore
            + crate::providers::byok::ProviderKeyStore
            + crate::hiring::notes::NoteStore
            + crate::assessment::AssessmentStore
            + crate::plan::library::QuestionBankStore
            + crate::prompts::PromptStore,
    {
        let s = std::sync::Arc::new(s);
        Self {
            store: s.clone(),
            accounts: s.clone(),
            jobs: s.clone(),
            candidates: s.clone(),
            interviews: s.clone(),
            notices: s.clone(),
            audit: s.clone(),
            keys: s.clone(),
            orgs: s.clone(),
            webhooks: s.clone(),
            provider_keys: s.clone(),
            notes: s.clone(),
            assessments: s.clone(),
            banks: s.clone(),
            prompts: s,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database (group commit): {0}")]
    Batch(String),
    #[error("redis: {0}")]
    Redis(#[from] fred::error::Error),
    /// A unique rule refused the row (e.g. an email already in use).
    #[error("already exists: {0}")]
    Conflict(String),
    /// A write carried a lower fencing token than one the store has already seen for the
    /// interview: a newer owner drives it now (see [`Store::insert_turn`]).
    #[error("refused: a newer owner holds this interview")]
    Fenced,
}

impl StoreError {
    /// `Conflict` for a unique violation, else the database error as it is.
    pub(crate) fn unique(e: sqlx::Error, what: &str) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => Self::Conflict(what.into()),
            _ => Self::Database(e),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InterviewStatus {
    Scheduled,
    InProgress,
    Completed,
    Abandoned,
    /// Ended by a recruiter (`POST /v1/interviews/{id}/cancel`).
    Cancelled,
}

impl InterviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Abandoned => "abandoned",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "scheduled" => Self::Scheduled,
            "in_progress" => Self::InProgress,
            "completed" => Self::Completed,
            "abandoned" => Self::Abandoned,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Abandoned | Self::Cancelled)
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewInterview {
    pub role: String,
    pub job_description: Option<String>,
    pub resume: Option<String>,
    pub settings: InterviewSettings,
    /// The id of the candidate token that will open it (`None`: any valid candidate token).
    pub link_id: Option<String>,
    /// The candidate must accept the organization's notice before it starts (API-made
    /// interviews; `viva interview create` makes them without).
    pub consent_required: bool,
    /// What the interviewer will ask (built from the job and the résumé).
    pub plan: Option<Arc<crate::plan::Plan>>,
    /// The prompts it uses (its organization's active versions when it is made).
    pub prompts: Option<Arc<crate::prompts::PromptSet>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InterviewRecord {
    pub id: Uuid,
    pub role: String,
    pub job_description: Option<String>,
    pub resume: Option<String>,
    pub status: InterviewStatus,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub settings: InterviewSettings,
    /// The id of the candidate token that opens it now; `None`: any valid candidate token.
    pub link_id: Option<String>,
    pub consent_required: bool,
    pub consented_at: Option<DateTime<Utc>>,
    /// The organization it belongs to.
    pub organization_id: Uuid,
    /// What the interviewer asks; `None` for interviews made before plans were stored (the
    /// offline interviewer builds the same plan from the record).
    pub plan: Option<Arc<crate::plan::Plan>>,
    /// The prompts it uses; `None` for interviews made before prompts were kept (the server's
    /// defaults).
    pub prompts: Option<Arc<crate::prompts::PromptSet>>,
}

impl InterviewRecord {
    /// Whether a candidate token with this id still opens the interview (a re-issued link
    /// replaces the one before it).
    pub fn link_works(&self, jti: &str) -> bool {
        self.link_id.as_deref().is_none_or(|id| id == jti)
    }

    /// The candidate still has to accept the notice.
    pub fn needs_consent(&self) -> bool {
        self.consent_required && self.consented_at.is_none()
    }

    /// A new interview, not started yet.
    pub fn scheduled(new: &NewInterview) -> Self {
        Self {
            id: Uuid::now_v7(),
            role: new.role.clone(),
            job_description: new.job_description.clone(),
            resume: new.resume.clone(),
            status: InterviewStatus::Scheduled,
            created_at: Utc::now(),
            started_at: None,
            completed_at: None,
            settings: new.settings.clone(),
            link_id: new.link_id.clone(),
            consent_required: new.consent_required,
            consented_at: None,
            organization_id: crate::accounts::DEFAULT_ORG,
            plan: new.plan.clone(),
            prompts: new.prompts.clone(),
        }
    }
}

/// Which providers an interview ran on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderNames {
    pub stt: String,
    pub llm: String,
    pub tts: String,
}

/// What an interview has cost so far, in vendor units and an estimate in US dollars.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub stt_seconds: f64,
    pub tts_characters: u64,
    pub cost_usd: f64,
}

impl Usage {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn add(&mut self, other: &Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.stt_seconds += other.stt_seconds;
        self.tts_characters += other.tts_characters;
        self.cost_usd += other.cost_usd;
    }
}

/// One finished turn, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnRecord {
    pub interview_id: Uuid,
    pub seq: u32,
    pub speaker: Speaker,
    pub kind: TurnKind,
    pub text: String,
    pub transcribed: bool,
    pub interrupted: bool,
    pub audio_ms: u32,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    pub timings: Option<TurnTimings>,
    /// A question the hiring team suggested while watching, asked as written.
    #[serde(default)]
    pub suggested: bool,
    /// Why the interviewer asked this (the offline interviewer's plan decisions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<crate::plan::Decision>,
}

/// A serialised event of the replay log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub interview_id: Uuid,
    pub seq: u64,
    pub body: String,
}

/// Durable storage.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn create_interview(&self, new: &NewInterview) -> StoreResult<InterviewRecord>;
    async fn get_interview(&self, id: Uuid) -> StoreResult<Option<InterviewRecord>>;
    /// Moves an interview to `status`, stamping `started_at`/`completed_at` the first time. A
    /// cancelled interview stays cancelled.
    async fn set_status(
        &self,
        id: Uuid,
        status: InterviewStatus,
        providers: Option<&ProviderNames>,
    ) -> StoreResult<()>;
    /// Idempotent on `(interview_id, seq)`: writing the same turn twice stores it once.
    /// `fence` is the writer's fencing token (its lease generation): a write carrying a lower
    /// token than the highest the store has seen for the interview is refused with
    /// [`StoreError::Fenced`], so an owner that lost its lease cannot write after the new owner
    /// has. (SQLite is one node's store, with no shared leases: it keeps no fence.)
    async fn insert_turn(&self, turn: &TurnRecord, fence: u64) -> StoreResult<()>;
    /// The highest fencing token a turn write of interview `id` carried (0: none yet).
    async fn fence(&self, id: Uuid) -> StoreResult<u64>;
    /// Raises interview `id`'s fence to `fence` before its new owner reads the turns, so an
    /// older owner can write nothing the new one has not read; `false` if the fence is higher
    /// already (a newer owner exists).
    async fn claim_fence(&self, id: Uuid, fence: u64) -> StoreResult<bool>;
    async fn turns(&self, id: Uuid) -> StoreResult<Vec<TurnRecord>>;
    /// Idempotent on `(interview_id, seq)`.
    async fn append_events(&self, events: &[StoredEvent]) -> StoreResult<()>;
    /// The newest `limit` events with `seq > after`, oldest first.
    async fn events_after(&self, id: Uuid, after: u64, limit: u32)
        -> StoreResult<Vec<StoredEvent>>;
    async fn max_event_seq(&self, id: Uuid) -> StoreResult<u64>;
    /// Adds to an interview's usage counters and records the model and prompt version used.
    async fn add_usage(
        &self,
        id: Uuid,
        usage: &Usage,
        llm_model: Option<&str>,
        prompt_version: Option<&str>,
    ) -> StoreResult<()>;
    async fn usage(&self, id: Uuid) -> StoreResult<Usage>;
    /// Stores a client event of the interview (integrity signals); `n` orders events stamped in
    /// the same millisecond (writes may land in any order).
    async fn add_client_signal(
        &self,
        id: Uuid,
        n: u32,
        signal: &crate::integrity::ClientSignal,
    ) -> StoreResult<()>;
    /// The interview's client events, in the order they came.
    async fn client_signals(&self, id: Uuid) -> StoreResult<Vec<crate::integrity::ClientSignal>>;
    /// Whether the store answers now (health checks).
    async fn ping(&self) -> StoreResult<()>;
}

/// Storage failures since start, shown by `/health`: outages are logged and counted, never
/// silent.
#[derive(Debug, Default)]
pub struct StorageCounters {
    pub checkpoint_failures: std::sync::atomic::AtomicU64,
    pub turn_write_failures: std::sync::atomic::AtomicU64,
    pub event_write_failures: std::sync::atomic::AtomicU64,
    pub stream_write_failures: std::sync::atomic::AtomicU64,
    pub events_dropped: std::sync::atomic::AtomicU64,
}

impl StorageCounters {
    pub fn count(c: &std::sync::atomic::AtomicU64) {
        c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn to_json(&self) -> serde_json::Value {
        let get = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        serde_json::json!({
            "checkpoint_failures": get(&self.checkpoint_failures),
            "turn_write_failures": get(&self.turn_write_failures),
            "event_write_failures": get(&self.event_write_failures),
            "stream_write_failures": get(&self.stream_write_failures),
            "events_dropped": get(&self.events_dropped),
        })
    }
}

/// Compact, versioned hot checkpoint of a live interview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub v: u32,
    pub interview_id: Uuid,
    pub next_seq: u64,
    pub next_turn: u32,
    pub state: InterviewState,
    pub updated_at: DateTime<Utc>,
    /// Turns the durable store has not accepted yet (it is down), oldest first: another node
    /// resuming the interview writes them before anything else.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsaved: Vec<TurnRecord>,
    /// Written by an actor's final checkpoint as it stopped cleanly. Absent or false: the owner
    /// may have died, and events it sent may be lost, so the next owner skips ahead in `seq`.
    #[serde(default)]
    pub clean: bool,
    /// The candidate's resume secret, so a restarted or other node honours it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_secret: Option<String>,
    /// The candidate was connected when this was written: the next owner keeps the session for
    /// it (the takeover hold) as if it had just dropped.
    #[serde(default)]
    pub holder_connected: bool,
    /// The writer's fencing token: a checkpoint carrying a lower one than the stored
    /// checkpoint's is refused ([`StoreError::Fenced`]), so a stale owner cannot overwrite
    /// what the new owner left.
    #[serde(default)]
    pub fence: u64,
}

pub const CHECKPOINT_VERSION: u32 = 2;

/// How a node asks for an interview's lease ([`HotState::acquire_lease`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Taking it, to drive the interview: a new generation, above `floor` (the store's
    /// [`Store::fence`], so a hot state that lost its counter still hands out a higher one) —
    /// or, if `node` holds it already at a generation not below `floor`, that one.
    Take { floor: u64 },
    /// Renewing generation `held`: kept while `node` holds it, or while it is free and nobody
    /// took it since (an expiry nobody used); otherwise `None`.
    Renew { held: u64 },
}

impl Claim {
    /// The mode and number the hot state's script reads.
    pub fn parts(self) -> (&'static str, u64) {
        match self {
            Claim::Take { floor } => ("take", floor),
            Claim::Renew { held } => ("renew", held),
        }
    }
}

/// One item of an interview's live feed to watchers on other nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedItem {
    /// A monitor-only message (JSON, docs/protocol.md).
    Text(String),
    /// A listen-in frame: channel byte, then an Opus packet.
    Audio(bytes::Bytes),
}

/// Hot, rebuildable state shared by the nodes: checkpoints, single-use tickets, ownership
/// leases, the capped live event stream, revoked tokens and rate-limit counters. Nothing here
/// is the only copy of an answer once the durable store has it.
#[async_trait]
pub trait HotState: Send + Sync + 'static {
    /// Saves a checkpoint, unless the stored one carries a higher `fence` ([`StoreError::Fenced`]).
    async fn save_checkpoint(&self, cp: &Checkpoint) -> StoreResult<()>;
    async fn load_checkpoint(&self, id: Uuid) -> StoreResult<Option<Checkpoint>>;
    async fn put_ticket(&self, ticket: &str, interview_id: Uuid, ttl: Duration) -> StoreResult<()>;
    /// Consumes a ticket: returns its interview once, if it has not expired.
    async fn take_ticket(&self, ticket: &str) -> StoreResult<Option<Uuid>>;
    /// Takes or renews the lease on a live interview for `node` (see [`Claim`]) and returns
    /// its generation, the fencing token of the holder's writes, which grows with every new
    /// holder. `None`: another node holds it (or, renewing, took it since).
    async fn acquire_lease(
        &self,
        id: Uuid,
        node: &str,
        ttl: Duration,
        claim: Claim,
    ) -> StoreResult<Option<u64>>;
    /// The node holding the lease, if any.
    async fn lease_holder(&self, id: Uuid) -> StoreResult<Option<String>>;
    /// Gives the lease up, if `node` still holds it.
    async fn release_lease(&self, id: Uuid, node: &str) -> StoreResult<()>;
    /// Appends events (in seq order) to the interview's live stream, capped at about `cap`
    /// entries. Idempotent per seq.
    async fn publish_events(&self, events: &[StoredEvent], cap: usize) -> StoreResult<()>;
    /// Events with `seq > after` from the live stream, oldest first, waiting up to `wait` for
    /// the first one. Backends without a shared stream return nothing.
    async fn read_events(
        &self,
        id: Uuid,
        after: u64,
        wait: Duration,
    ) -> StoreResult<Vec<StoredEvent>>;
    /// Marks a token id revoked until `ttl` has passed (its own expiry).
    async fn revoke_token(&self, jti: &str, ttl: Duration) -> StoreResult<()>;
    async fn is_revoked(&self, jti: &str) -> StoreResult<bool>;
    /// Counts one hit on `key` in a fixed window; `false` once more than `limit` hits fell in
    /// the current window.
    async fn rate_limit(&self, key: &str, limit: u32, window: Duration) -> StoreResult<bool>;
    /// Whether the hot state answers now (health checks).
    async fn ping(&self) -> StoreResult<()>;
    /// Drops what is held about interview `id` (its checkpoint and live event stream): its
    /// data was deleted.
    async fn forget(&self, id: Uuid) -> StoreResult<()>;

    /// Leaves a message for the node that drives interview `id` (a watcher's suggestion or
    /// note, a remote watcher's heartbeat), kept for `ttl`; it is taken at that node's next
    /// lease renewal. Backends with one node only (in-process) have no other node to tell.
    async fn send_mail(&self, _id: Uuid, _body: &str, _ttl: Duration) -> StoreResult<()> {
        Ok(())
    }
    /// Asks every node for an interview (`interview::handoff::Ask`, JSON): its owner answers.
    /// Backends with one node only have nobody to ask.
    async fn ask_handoff(&self, _ask: &str) -> StoreResult<()> {
        Ok(())
    }
    /// The asks of other nodes, as they come (`None`: this backend has no other nodes). The
    /// subscription outlives outages (it is made again on reconnect).
    async fn handoff_asks(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<String>>> {
        Ok(None)
    }
    /// Records the owner's answer to handoff request `request`, for `ttl`.
    async fn answer_handoff(
        &self,
        _request: &str,
        _answer: &str,
        _ttl: Duration,
    ) -> StoreResult<()> {
        Ok(())
    }
    /// The owner's answer to handoff request `request`, once there is one.
    async fn handoff_answer(&self, _request: &str) -> StoreResult<Option<String>> {
        Ok(None)
    }
    /// Takes every message left for interview `id`, oldest first.
    async fn take_mail(&self, _id: Uuid) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }
    /// Appends what watchers on other nodes get besides the events (monitor-only messages,
    /// listen-in audio) to each interview's short live feed.
    async fn publish_feed(&self, _items: &[(Uuid, FeedItem)]) -> StoreResult<()> {
        Ok(())
    }
    /// Shares interview `id`'s live status (JSON; `None`: it left this node) with the other
    /// nodes' live boards, for `ttl` unless shared again.
    async fn put_live(&self, _id: Uuid, _status: Option<&str>, _ttl: Duration) -> StoreResult<()> {
        Ok(())
    }
    /// The shared live statuses of `ids` (in order; `None`: none shared).
    async fn live(&self, ids: &[Uuid]) -> StoreResult<Vec<Option<String>>> {
        Ok(vec![None; ids.len()])
    }
    /// Caches `value` (rebuildable from the durable store: organizations' question banks) under
    /// `key` for `ttl`, shared by the nodes.
    async fn put_cached(&self, _key: &str, _value: &str, _ttl: Duration) -> StoreResult<()> {
        Ok(())
    }
    /// A cached value, if it is there and fresh.
    async fn cached(&self, _key: &str) -> StoreResult<Option<String>> {
        Ok(None)
    }
    /// Feed items after `after` (`None`: from now on), waiting up to `wait` for the first, and
    /// where the next read continues. Backends without a shared feed wait and return nothing.
    async fn read_feed(
        &self,
        _id: Uuid,
        after: Option<String>,
        wait: Duration,
    ) -> StoreResult<(Vec<FeedItem>, Option<String>)> {
        tokio::time::sleep(wait).await;
        Ok((Vec::new(), after))
    }
}

pub(crate) fn speaker_str(s: Speaker) -> &'static str {
    match s {
        Speaker::Interviewer => "interviewer",
        Speaker::Candidate => "candidate",
    }
}

pub(crate) fn parse_speaker(s: &str) -> StoreResult<Speaker> {
    match s {
        "interviewer" => Ok(Speaker::Interviewer),
        "candidate" => Ok(Speaker::Candidate),
        other => Err(StoreError::Corrupt(format!("speaker {other:?}"))),
    }
}

pub(crate) fn kind_str(k: TurnKind) -> &'static str {
    match k {
        TurnKind::Question => "question",
        TurnKind::Prompt => "prompt",
        TurnKind::Notice => "notice",
        TurnKind::Answer => "answer",
    }
}

pub(crate) fn parse_kind(s: &str) -> StoreResult<TurnKind> {
    Ok(match s {
        "question" => TurnKind::Question,
        "prompt" => TurnKind::Prompt,
        "notice" => TurnKind::Notice,
        "answer" => TurnKind::Answer,
        other => return Err(StoreError::Corrupt(format!("kind {other:?}"))),
    })
}
