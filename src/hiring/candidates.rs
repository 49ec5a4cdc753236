//! Candidates: the people recruiters interview, with their résumé as text.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::accounts::Scope;
use crate::store::StoreResult;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    /// The résumé as text (typed in, or extracted from an upload).
    pub resume_text: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a recruiter sets on a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateFields {
    pub name: String,
    pub email: String,
    pub resume_text: String,
}

pub const MAX_NAME: usize = 200;
/// About 40 pages of text.
pub const MAX_RESUME: usize = 100_000;

impl CandidateFields {
    /// Trims and checks; the message names the field.
    pub fn validated(mut self) -> Result<Self, String> {
        self.name = self.name.trim().to_owned();
        self.email = self.email.trim().to_owned();
        self.resume_text = self.resume_text.trim().to_owned();
        let n = self.name.chars().count();
        if n == 0 || n > MAX_NAME {
            return Err(format!("name: 1 to {MAX_NAME} characters"));
        }
        if !crate::accounts::is_plausible_email(&self.email) {
            return Err("email: an email address".into());
        }
        if self.resume_text.chars().count() > MAX_RESUME {
            return Err(format!("resume_text: at most {MAX_RESUME} characters"));
        }
        Ok(self)
    }
}

/// Candidates in the durable store, always within one organization; an email is unique within
/// it, regardless of case (`StoreError::Conflict`).
#[async_trait]
pub trait CandidateStore: Send + Sync + 'static {
    async fn create_candidate(
        &self,
        scope: Scope,
        by: Option<Uuid>,
        c: &CandidateFields,
    ) -> StoreResult<Candidate>;
    async fn candidate(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Candidate>>;
    /// `q`: a part of the name or email (any case).
    async fn candidates(
        &self,
        scope: Scope,
        q: Option<&str>,
        page: PageRequest,
    ) -> StoreResult<Page<Candidate>>;
    async fn update_candidate(
        &self,
        scope: Scope,
        id: Uuid,
        c: &CandidateFields,
    ) -> StoreResult<Option<Candidate>>;
    /// Deletes the candidate and their interviews with everything held about them (turns,
    /// events, analyses), in one transaction: the number of interviews deleted, or `None` if
    /// there is no such candidate in the organization.
    async fn delete_candidate(&self, scope: Scope, id: Uuid) -> StoreResult<Option<u64>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_trimmed_and_checked() {
        let ok = CandidateFields {
            name: " Ada Lovelace ".into(),
            email: " ada@example.com ".into(),
            resume_text: "Notes on the Analytical Engine.".into(),
        };
        let v = ok.clone().validated().unwrap();
        assert_eq!(
            (v.name.as_str(), v.email.as_str()),
            ("Ada Lovelace", "ada@example.com")
        );
        for (bad, field) in [
            (
                CandidateFields {
                    name: "".into(),
                    ..ok.clone()
                },
                "name",
            ),
            (
                CandidateFields {
                    email: "ada".into(),
                    ..ok.clone()
                },
                "email",
            ),
            (
                CandidateFields {
                    email: "@example.com".into(),
                    ..ok.clone()
                },
                "email",
            ),
            (
                CandidateFields {
                    email: "a da@example.com".into(),
                    ..ok.clone()
                },
                "email",
            ),
            (
                CandidateFields {
                    resume_text: "x".repeat(MAX_RESUME + 1),
                    ..ok.clone()
                },
                "resume_text",
            ),
        ] {
            assert!(bad.validated().unwrap_err().starts_with(field));
        }
    }
}
