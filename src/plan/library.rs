//! The banks an organization can use: the built-in ones and its own imports (versioned: an
//! import of an existing name is its next version; interviews use the newest). Lookups go
//! through the shared hot state (`viva:cache:bank:<org>:<name>`), refreshed on every import, so
//! every node sees a new version at once.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::bank::{built_in, built_in_names, QuestionBank};
use super::build::LEGACY_TEMPLATES;
use crate::store::{HotState, StoreResult};

/// How long a bank stays cached (imports refresh it sooner).
pub const CACHE_TTL: Duration = Duration::from_secs(3600);

/// A bank as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BankSummary {
    pub name: String,
    pub title: String,
    pub version: u32,
    pub questions: usize,
    /// `built_in`, or `organization` (imported).
    pub source: &'static str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait QuestionBankStore: Send + Sync + 'static {
    /// Stores `bank` as the next version of its name in `org`; the bank as stored.
    async fn add_bank(
        &self,
        org: Uuid,
        bank: &QuestionBank,
        by: Option<Uuid>,
    ) -> StoreResult<(QuestionBank, DateTime<Utc>)>;
    /// A bank of `org` (the newest version, or `version`).
    async fn org_bank(
        &self,
        org: Uuid,
        name: &str,
        version: Option<u32>,
    ) -> StoreResult<Option<QuestionBank>>;
    /// The newest version of each of `org`'s banks, by name.
    async fn org_banks(&self, org: Uuid) -> StoreResult<Vec<BankSummary>>;
}

/// Whether `name` belongs to the server (a built-in bank or a legacy template name).
pub fn reserved(name: &str) -> bool {
    built_in_names().any(|n| n == name) || LEGACY_TEMPLATES.iter().any(|(old, _)| *old == name)
}

fn cache_key(org: Uuid, name: &str) -> String {
    format!("bank:{org}:{name}")
}

#[derive(Clone)]
pub struct Library {
    pub store: Arc<dyn QuestionBankStore>,
    pub hot: Arc<dyn HotState>,
}

impl Library {
    /// Imports `bank` into `org` (its next version) and refreshes the cache.
    pub async fn import(
        &self,
        org: Uuid,
        bank: &QuestionBank,
        by: Option<Uuid>,
    ) -> StoreResult<(QuestionBank, DateTime<Utc>)> {
        let (stored, at) = self.store.add_bank(org, bank, by).await?;
        let json = serde_json::to_string(&stored).expect("banks serialise");
        if let Err(e) = self
            .hot
            .put_cached(&cache_key(org, &stored.name), &json, CACHE_TTL)
            .await
        {
            tracing::warn!(error = %e, "bank cache not refreshed; readers use the store");
        }
        Ok((stored, at))
    }

    /// The organization's bank named `name` (newest version): from the cache, else the store
    /// (then cached). Built-in names are not looked up here.
    pub async fn org_bank(&self, org: Uuid, name: &str) -> StoreResult<Option<QuestionBank>> {
        let key = cache_key(org, name);
        match self.hot.cached(&key).await {
            Ok(Some(json)) => {
                if let Ok(bank) = serde_json::from_str(&json) {
                    return Ok(Some(bank));
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "bank cache not read; using the store"),
        }
        let bank = self.store.org_bank(org, name, None).await?;
        if let Some(b) = &bank {
            let json = serde_json::to_string(b).expect("banks serialise");
            let _ = self.hot.put_cached(&key, &json, CACHE_TTL).await;
        }
        Ok(bank)
    }

    /// Every bank `org` can use: the built-in ones, then its own.
    pub async fn list(&self, org: Uuid) -> StoreResult<Vec<BankSummary>> {
        let mut out: Vec<BankSummary> = built_in_names()
            .filter_map(built_in)
            .map(|b| BankSummary {
                name: b.name.clone(),
                title: b.title.clone(),
                version: b.version,
                questions: b.questions.len(),
                source: "built_in",
                created_at: None,
            })
            .collect();
        out.extend(self.store.org_banks(org).await?);
        Ok(out)
    }
}
