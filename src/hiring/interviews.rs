//! Interviews as recruiters see them: made for a candidate and a job of the organization,
//! listed and filtered. One creation function serves the API and `viva interview create`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::accounts::Scope;
use crate::auth::{Audience, Auth};
use crate::store::{InterviewRecord, InterviewStatus, NewInterview, StoreResult};

/// What an interview was made for, and by whom.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterviewLinks {
    pub job_id: Option<Uuid>,
    pub candidate_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
}

/// Vendor usage and its estimated cost so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageView {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub stt_seconds: f64,
    pub tts_characters: u64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterviewView {
    pub id: Uuid,
    pub status: InterviewStatus,
    /// The role interviewed for (the job's title when made for a job).
    pub role: String,
    pub job_id: Option<Uuid>,
    pub candidate_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub usage: UsageView,
}

/// `GET /v1/interviews` filters; all optional.
#[derive(Debug, Clone, Default)]
pub struct InterviewFilter {
    pub status: Option<InterviewStatus>,
    pub job_id: Option<Uuid>,
    pub candidate_id: Option<Uuid>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
}

/// Interviews of one organization in the durable store.
#[async_trait]
pub trait InterviewDirectory: Send + Sync + 'static {
    async fn create_in(
        &self,
        scope: Scope,
        new: &NewInterview,
        links: &InterviewLinks,
    ) -> StoreResult<InterviewRecord>;
    async fn interview_in(&self, scope: Scope, id: Uuid) -> StoreResult<Option<InterviewView>>;
    /// The interview's event log (as sent, `seq` order), the first `limit` events with
    /// `seq > after`; empty for an interview not in the scope.
    async fn events_in(
        &self,
        scope: Scope,
        id: Uuid,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<crate::store::StoredEvent>>;
    /// Newest first.
    async fn interviews_in(
        &self,
        scope: Scope,
        filter: &InterviewFilter,
        page: PageRequest,
    ) -> StoreResult<Page<InterviewView>>;
}

/// A new interview and what opens it: what `viva interview create` prints, and what the API
/// answers with.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub interview_id: Uuid,
    pub candidate_token: String,
    /// The candidate's link: the token travels in the fragment, which browsers never send.
    pub url: String,
    /// Read-only token to watch the interview live (`/v1/interviews/{id}/monitor`).
    pub monitor_token: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    #[serde(skip)]
    pub record: Option<InterviewRecord>,
}

/// Makes an interview in `scope` and the credentials that open it (the one function behind
/// `viva interview create` and `POST /v1/interviews`).
pub async fn create(
    dir: &dyn InterviewDirectory,
    auth: &Auth,
    public_url: &str,
    scope: Scope,
    new: &NewInterview,
    links: &InterviewLinks,
) -> StoreResult<Created> {
    let rec = dir.create_in(scope, new, links).await?;
    let token = auth.issue(rec.id);
    Ok(Created {
        interview_id: rec.id,
        url: format!("{public_url}/interview/{}#token={token}", rec.id),
        candidate_token: token,
        monitor_token: auth.issue_for(Audience::Monitor, rec.id),
        expires_at: Utc::now() + chrono::Duration::from_std(auth.ttl()).unwrap_or_default(),
        record: Some(rec),
    })
}
