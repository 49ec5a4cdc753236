//! Interviews as recruiters see them: made for a candidate and a job of the organization,
//! listed and filtered. One creation function serves the API and `viva interview create`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::accounts::Scope;
use crate::auth::{Audience, Auth};
use crate::interview::settings::InterviewSettings;
use crate::store::{InterviewRecord, InterviewStatus, NewInterview, StoreResult};

/// What an interview was made for, and by whom.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterviewLinks {
    pub job_id: Option<Uuid>,
    pub candidate_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
}

/// Vendor usage and its estimated cost so far.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct UsageView {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub stt_seconds: f64,
    pub tts_characters: u64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
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
    pub settings: InterviewSettings,
    /// The candidate must accept the organization's notice before it starts.
    pub consent_required: bool,
    /// When the candidate accepted it.
    pub consented_at: Option<DateTime<Utc>>,
    /// Why it was cancelled, as the recruiter said it.
    pub cancel_reason: Option<String>,
    /// When its transcript and events were deleted (past the organization's retention).
    pub purged_at: Option<DateTime<Utc>>,
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
    /// Cancels an interview that has not ended: `false` if it is not in the scope or has ended.
    /// Final: an actor that ends it afterwards does not change its status.
    async fn cancel_in(&self, scope: Scope, id: Uuid, reason: Option<&str>) -> StoreResult<bool>;
    /// Makes the candidate token with id `link_id` the only one that opens the interview:
    /// `false` if it is not in the scope or has ended.
    async fn relink_in(&self, scope: Scope, id: Uuid, link_id: &str) -> StoreResult<bool>;
    /// Records the candidate's consent to notice `version` (the latest consent counts).
    async fn record_consent(&self, id: Uuid, version: u32, ip: Option<&str>) -> StoreResult<()>;
    /// Deletes the transcripts, event logs, analyses and résumé / job description copies of
    /// `org`'s interviews made before `cutoff` that are not live, marking them purged: how many.
    async fn purge_before(&self, org: Uuid, cutoff: DateTime<Utc>) -> StoreResult<u64>;
    /// The interviews [`purge_before`](Self::purge_before) would purge now (their recordings
    /// go first).
    async fn purgeable_before(&self, org: Uuid, cutoff: DateTime<Utc>) -> StoreResult<Vec<Uuid>>;
    /// Newest first.
    async fn interviews_in(
        &self,
        scope: Scope,
        filter: &InterviewFilter,
        page: PageRequest,
    ) -> StoreResult<Page<InterviewView>>;
}

/// Every interview of `scope` matching `filter`, newest first: all pages, or the first
/// `max_pages` of [`PageRequest::MAX_PER_PAGE`].
pub async fn all_in(
    dir: &dyn InterviewDirectory,
    scope: Scope,
    filter: &InterviewFilter,
    max_pages: Option<u32>,
) -> StoreResult<Vec<InterviewView>> {
    let mut all = Vec::new();
    for page in 1..=max_pages.unwrap_or(u32::MAX) {
        let per_page = Some(PageRequest::MAX_PER_PAGE);
        let got = dir
            .interviews_in(scope, filter, PageRequest::new(Some(page), per_page))
            .await?;
        let last = page >= got.pages;
        all.extend(got.items);
        if last {
            break;
        }
    }
    Ok(all)
}

/// A new interview and what opens it: what `viva interview create` prints, and what the API
/// answers with.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub interview_id: Uuid,
    pub candidate_token: String,
    /// The candidate's link: the token travels in the fragment, which browsers never send.
    pub url: String,
    /// Token to watch the interview live (`/v1/interviews/{id}/monitor`), as the role it was
    /// made for (`viva interview create --monitor-role`).
    pub monitor_token: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    #[serde(skip)]
    pub record: Option<InterviewRecord>,
}

/// Makes an interview in `scope` and the credentials that open it (the one function behind
/// `viva interview create` and `POST /v1/interviews`); its monitor token acts as `monitor_role`.
pub async fn create(
    dir: &dyn InterviewDirectory,
    auth: &Auth,
    public_url: &str,
    scope: Scope,
    new: &NewInterview,
    links: &InterviewLinks,
    monitor_role: crate::accounts::Role,
) -> StoreResult<Created> {
    let link_id = Uuid::new_v4().to_string();
    let new = NewInterview {
        link_id: Some(link_id.clone()),
        ..new.clone()
    };
    let rec = dir.create_in(scope, &new, links).await?;
    let link = Link::issue(auth, public_url, rec.id, link_id);
    Ok(Created {
        interview_id: rec.id,
        url: link.url,
        candidate_token: link.token,
        monitor_token: auth.issue_monitor(rec.id, monitor_role),
        expires_at: link.expires_at,
        record: Some(rec),
    })
}

/// A candidate's link to one interview.
pub struct Link {
    pub token: String,
    /// The token travels in the fragment, which browsers never send.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

impl Link {
    /// The link whose token has id `link_id`.
    pub fn issue(auth: &Auth, public_url: &str, interview: Uuid, link_id: String) -> Self {
        let token = auth.issue_with_id(Audience::Candidate, interview, link_id);
        Self {
            url: format!("{public_url}/interview/{interview}#token={token}"),
            token,
            expires_at: Utc::now() + chrono::Duration::from_std(auth.ttl()).unwrap_or_default(),
        }
    }
}

/// Re-issues an interview's candidate link: the new one works, the one before stops working.
/// `None`: not in the scope, or ended.
pub async fn relink(
    dir: &dyn InterviewDirectory,
    auth: &Auth,
    public_url: &str,
    scope: Scope,
    id: Uuid,
) -> StoreResult<Option<Link>> {
    let link_id = Uuid::new_v4().to_string();
    if !dir.relink_in(scope, id, &link_id).await? {
        return Ok(None);
    }
    Ok(Some(Link::issue(auth, public_url, id, link_id)))
}
