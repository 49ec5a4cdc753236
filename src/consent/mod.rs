//! What a candidate is told before an AI interview, and their consent to it. Each organization
//! has a notice (versioned: `PUT /v1/org/notice` adds a version); until it writes one, the
//! server's [`DEFAULT_NOTICE`] (version 0) applies. An interview made through the API does not
//! start until its candidate has accepted the current version (`POST
//! /v1/interviews/{id}/consent`); the stream refuses it with close 4012 until then.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::store::StoreResult;

/// How long an organization keeps interview data unless it says otherwise (days).
pub const DEFAULT_RETENTION_DAYS: u32 = 365;

/// The longest notice, in characters.
pub const MAX_NOTICE_CHARS: usize = 20_000;

/// The server's notice, for organizations that have not written their own.
pub const DEFAULT_NOTICE: &str = "\
This interview is conducted by an AI interviewer, not a person.

- Your voice is recorded and transcribed into text while you speak.
- Your answers are assessed against the role's requirements, with the help of automated \
analysis; a person at the hiring organization reviews the assessment and makes every decision.
- The transcript and the assessment are kept for {retention_days} days, then deleted.
- If you would rather not be interviewed by an AI, or need an accommodation, contact the \
hiring organization before you start: they will offer you an alternative process.

By continuing you agree to take this interview on these terms.";

/// A version of an organization's notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Notice {
    /// 0: the server's default notice.
    pub version: u32,
    pub text: String,
    /// When this version was written (`None` for the default).
    pub created_at: Option<DateTime<Utc>>,
}

impl Notice {
    /// The server's notice, for an organization keeping data `retention_days`.
    pub fn default_for(retention_days: u32) -> Self {
        Self {
            version: 0,
            text: DEFAULT_NOTICE.replace("{retention_days}", &retention_days.to_string()),
            created_at: None,
        }
    }
}

#[async_trait]
pub trait NoticeStore: Send + Sync + 'static {
    /// The organization's newest notice, if it wrote one.
    async fn current_notice(&self, org: Uuid) -> StoreResult<Option<Notice>>;
    /// Adds a version (the next number) and returns it.
    async fn add_notice(&self, org: Uuid, text: &str, by: Option<Uuid>) -> StoreResult<Notice>;
}

/// The notice in force for `org`.
pub async fn notice_of(
    store: &dyn NoticeStore,
    org: Uuid,
    retention_days: u32,
) -> StoreResult<Notice> {
    Ok(store
        .current_notice(org)
        .await?
        .unwrap_or_else(|| Notice::default_for(retention_days)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_notice_says_how_long_data_is_kept() {
        let n = Notice::default_for(90);
        assert_eq!(n.version, 0);
        assert!(n.text.contains("kept for 90 days"), "{}", n.text);
        assert!(!n.text.contains('{'));
    }
}
