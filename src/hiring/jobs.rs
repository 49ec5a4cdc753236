//! Job postings.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::accounts::Scope;
use crate::store::StoreResult;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Open,
    Closed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Seniority {
    Intern,
    Junior,
    Mid,
    Senior,
    Lead,
    Principal,
}

impl Seniority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intern => "intern",
            Self::Junior => "junior",
            Self::Mid => "mid",
            Self::Senior => "senior",
            Self::Lead => "lead",
            Self::Principal => "principal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Job {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub skills: Vec<String>,
    pub seniority: Option<Seniority>,
    /// BCP 47 tag of the interview language (`en`, `de`, `pt-BR`).
    pub language: String,
    pub status: JobStatus,
    /// The staff user who created it.
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Everything a job has that its author sets (creation and full updates alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFields {
    pub title: String,
    pub description: String,
    pub skills: Vec<String>,
    pub seniority: Option<Seniority>,
    pub language: String,
    pub status: JobStatus,
}

/// Limits on a job's fields (checked at the API, held by the schema where it can).
pub const MAX_TITLE: usize = 200;
pub const MAX_DESCRIPTION: usize = 20_000;
pub const MAX_SKILLS: usize = 50;
pub const MAX_SKILL: usize = 100;

impl JobFields {
    /// Trims and checks; the message names the field.
    pub fn validated(mut self) -> Result<Self, String> {
        self.title = self.title.trim().to_owned();
        self.description = self.description.trim().to_owned();
        self.language = self.language.trim().to_owned();
        let n = self.title.chars().count();
        if n == 0 || n > MAX_TITLE {
            return Err(format!("title: 1 to {MAX_TITLE} characters"));
        }
        if self.description.chars().count() > MAX_DESCRIPTION {
            return Err(format!("description: at most {MAX_DESCRIPTION} characters"));
        }
        let mut skills: Vec<String> = Vec::new();
        for s in self.skills.iter().map(|s| s.trim()) {
            if s.is_empty() || s.chars().count() > MAX_SKILL {
                return Err(format!("skills: each 1 to {MAX_SKILL} characters"));
            }
            if !skills.iter().any(|k| k.eq_ignore_ascii_case(s)) {
                skills.push(s.to_owned());
            }
        }
        if skills.len() > MAX_SKILLS {
            return Err(format!("skills: at most {MAX_SKILLS}"));
        }
        self.skills = skills;
        if !is_language_tag(&self.language) {
            return Err("language: a language tag such as en, de or pt-BR".into());
        }
        Ok(self)
    }
}

/// A plausible BCP 47 tag: a 2–3 letter language, then 2–8 character alphanumeric subtags.
fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let lang = parts.next().unwrap_or_default();
    (2..=3).contains(&lang.len())
        && lang.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Job postings in the durable store, always within one organization.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    async fn create_job(&self, scope: Scope, by: Option<Uuid>, job: &JobFields)
        -> StoreResult<Job>;
    async fn job(&self, scope: Scope, id: Uuid) -> StoreResult<Option<Job>>;
    async fn jobs(
        &self,
        scope: Scope,
        status: Option<JobStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<Job>>;
    /// Replaces the fields; `None` if there is no such job in the scope.
    async fn update_job(&self, scope: Scope, id: Uuid, job: &JobFields)
        -> StoreResult<Option<Job>>;
    /// `false` if there is no such job in the scope.
    async fn delete_job(&self, scope: Scope, id: Uuid) -> StoreResult<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> JobFields {
        JobFields {
            title: "  Data Engineer ".into(),
            description: "Pipelines.".into(),
            skills: vec!["SQL".into(), " sql ".into(), "Rust".into()],
            seniority: Some(Seniority::Senior),
            language: "pt-BR".into(),
            status: JobStatus::Open,
        }
    }

    #[test]
    fn fields_are_trimmed_deduplicated_and_checked() {
        let f = fields().validated().unwrap();
        assert_eq!(f.title, "Data Engineer");
        assert_eq!(f.skills, ["SQL", "Rust"]);
        for (bad, field) in [
            (
                JobFields {
                    title: " ".into(),
                    ..fields()
                },
                "title",
            ),
            (
                JobFields {
                    title: "x".repeat(201),
                    ..fields()
                },
                "title",
            ),
            (
                JobFields {
                    skills: vec!["".into()],
                    ..fields()
                },
                "skills",
            ),
            (
                JobFields {
                    skills: (0..51).map(|i| format!("s{i}")).collect(),
                    ..fields()
                },
                "skills",
            ),
            (
                JobFields {
                    language: "english".into(),
                    ..fields()
                },
                "language",
            ),
            (
                JobFields {
                    language: "en-".into(),
                    ..fields()
                },
                "language",
            ),
        ] {
            assert!(bad.validated().unwrap_err().starts_with(field));
        }
    }
}
