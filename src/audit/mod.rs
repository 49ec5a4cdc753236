//! The audit log: who did what in an organization, when, from which address. Sign-ins (and
//! failed ones), user and key changes, deletions, cancels, re-issued links, notice changes and
//! retention runs are recorded; `GET /v1/audit` (admins) reads it, newest first.
//!
//! Writing an entry never fails the action it records: a store error is logged.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::accounts::Scope;
use crate::hiring::{Page, PageRequest};
use crate::store::StoreResult;

/// One entry.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    /// The user who acted; `None` for the server itself or an unknown email.
    pub actor_id: Option<Uuid>,
    /// What happened: `login`, `login_failed`, `logout`, `user.created`, `user.updated`,
    /// `user.disabled`, `user.password_reset`, `job.deleted`, `candidate.deleted`,
    /// `interview.cancelled`, `interview.link_reissued`, `org.notice_updated`, … (docs/api.md).
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub details: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// An entry about to be written.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub org: Uuid,
    pub actor_id: Option<Uuid>,
    pub action: &'a str,
    pub target: Option<(&'a str, String)>,
    pub ip: Option<&'a str>,
    pub details: serde_json::Value,
    /// The API key the actor acted with (kept in `details.api_key`).
    pub api_key: Option<Uuid>,
}

impl<'a> Record<'a> {
    pub fn new(org: Uuid, actor_id: Option<Uuid>, action: &'a str) -> Self {
        Self {
            org,
            actor_id,
            action,
            target: None,
            ip: None,
            details: serde_json::Value::Object(Default::default()),
            api_key: None,
        }
    }

    pub fn via_key(mut self, key: Option<Uuid>) -> Self {
        self.api_key = key;
        self
    }

    pub fn target(mut self, kind: &'a str, id: impl ToString) -> Self {
        self.target = Some((kind, id.to_string()));
        self
    }

    pub fn ip(mut self, ip: Option<&'a str>) -> Self {
        self.ip = ip;
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    async fn append(&self, entry: &Record<'_>) -> StoreResult<()>;
    /// Newest first; `action` filters by one action.
    async fn entries_in(
        &self,
        scope: Scope,
        action: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<AuditEntry>>;
}

/// Writes `entry`; a failure is logged, never returned (the action it records has happened).
pub async fn record(store: &dyn AuditStore, mut entry: Record<'_>) {
    if let Some(key) = entry.api_key {
        if let serde_json::Value::Object(d) = &mut entry.details {
            d.insert("api_key".into(), key.to_string().into());
        }
    }
    if let Err(e) = store.append(&entry).await {
        tracing::error!(error = %e, action = entry.action, "audit entry not written");
    }
}
