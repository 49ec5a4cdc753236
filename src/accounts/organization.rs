//! An organization's settings (`GET/PATCH /v1/org`): its name, how long interview data is kept,
//! whether integrity signals are collected, and the settings its interviews start from.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::interview::settings::InterviewSettings;
use crate::store::StoreResult;

/// Days interview data may be kept, at least and at most.
pub const RETENTION_DAYS: std::ops::RangeInclusive<u32> = 1..=3650;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrgSettings {
    pub id: Uuid,
    pub name: String,
    /// Transcripts, events and analyses of interviews older than this are deleted.
    pub retention_days: u32,
    /// Whether integrity signals (tab switches, pasted answers) are collected (off by default).
    pub integrity_signals: bool,
    /// What `POST /v1/interviews` starts from; a request's own fields win.
    pub interview_defaults: InterviewSettings,
    pub created_at: DateTime<Utc>,
}

/// A change; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct OrgChanges {
    pub name: Option<String>,
    pub retention_days: Option<u32>,
    pub integrity_signals: Option<bool>,
    pub interview_defaults: Option<InterviewSettings>,
}

#[async_trait]
pub trait OrgStore: Send + Sync + 'static {
    async fn org_settings(&self, org: Uuid) -> StoreResult<Option<OrgSettings>>;
    /// Applies `changes` and returns the result (`None`: no such organization). A name another
    /// organization has is a conflict.
    async fn update_org(&self, org: Uuid, changes: &OrgChanges)
        -> StoreResult<Option<OrgSettings>>;
    /// Every organization and how long it keeps data (the retention task's list).
    async fn retention_of_all(&self) -> StoreResult<Vec<(Uuid, u32)>>;
}
