//! The model instructions an interview uses, by name: `interviewer` (the remote interviewer's
//! system prompt), `analyst` (the per-answer analyst's) and `assessor` (the model that writes an
//! assessment's summary, strengths and concerns from the scored answers). The server's defaults are the
//! versioned files under `prompts/`; an organization may add its own versions (`POST
//! /v1/prompts`), one active per name. An interview takes the active versions when it is made
//! and keeps them ([`PromptSet`], stored with it), so what it and its assessment used is on
//! record and later edits change no interview already made.
//!
//! (The assessment's scores are aggregated by code, not a model: its version is
//! [`crate::assessment::report::ASSESSOR_VERSION`].)

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::store::StoreResult;

/// The interviewer's default instructions.
pub const INTERVIEWER: &str = include_str!("../../prompts/interviewer.v1.md");
pub const INTERVIEWER_VERSION: &str = "interviewer.v1";
/// The analyst's default instructions.
pub const ANALYST: &str = include_str!("../../prompts/analyst.v1.md");
pub const ANALYST_VERSION: &str = "analyst.v1";
/// The assessment writer's default instructions (its summary, strengths and concerns).
pub const ASSESSOR: &str = include_str!("../../prompts/assessor.v1.md");
pub const ASSESSOR_VERSION: &str = "assessor.v1";

/// The longest prompt accepted.
pub const MAX_PROMPT_BYTES: usize = 16 * 1024;

/// What a prompt instructs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptName {
    Interviewer,
    Analyst,
    Assessor,
}

impl PromptName {
    pub const ALL: [PromptName; 3] = [Self::Interviewer, Self::Analyst, Self::Assessor];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interviewer => "interviewer",
            Self::Analyst => "analyst",
            Self::Assessor => "assessor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.as_str() == s)
    }

    /// The server's default text and its version.
    pub fn default_prompt(self) -> (&'static str, &'static str) {
        match self {
            Self::Interviewer => (INTERVIEWER, INTERVIEWER_VERSION),
            Self::Analyst => (ANALYST, ANALYST_VERSION),
            Self::Assessor => (ASSESSOR, ASSESSOR_VERSION),
        }
    }

    /// The `{placeholders}` the server fills in this prompt; those marked required must appear.
    pub fn placeholders(self) -> &'static [(&'static str, bool)] {
        match self {
            Self::Interviewer => &[
                ("role", false),
                ("job_description", false),
                ("resume", false),
                ("max_questions", false),
                // How the model says the interview is over: without it, it never ends by itself.
                ("end_marker", true),
            ],
            // The question, rubric and answer (or the scored answers) travel as the user message.
            Self::Analyst | Self::Assessor => &[],
        }
    }

    /// The label an organization's version `n` is recorded as (`interviewer.org.v3`).
    pub fn org_label(self, version: u32) -> String {
        format!("{}.org.v{version}", self.as_str())
    }
}

/// Why a prompt is refused: said to the admin as written.
pub fn check(name: PromptName, body: &str) -> Result<(), String> {
    if body.trim().is_empty() {
        return Err("body: the prompt is empty".into());
    }
    if body.len() > MAX_PROMPT_BYTES {
        return Err(format!(
            "body: {} bytes; at most {MAX_PROMPT_BYTES}",
            body.len()
        ));
    }
    let known = name.placeholders();
    let used = placeholders_in(body);
    let unknown: Vec<&str> = used
        .iter()
        .filter(|p| !known.iter().any(|(k, _)| k == *p))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        let allowed: Vec<String> = known.iter().map(|(k, _)| format!("{{{k}}}")).collect();
        return Err(format!(
            "body: unknown placeholder {} (the {} prompt takes {})",
            unknown
                .iter()
                .map(|u| format!("{{{u}}}"))
                .collect::<Vec<_>>()
                .join(", "),
            name.as_str(),
            if allowed.is_empty() {
                "none".into()
            } else {
                allowed.join(", ")
            }
        ));
    }
    if let Some((missing, _)) = known
        .iter()
        .find(|(k, required)| *required && !used.iter().any(|u| u == k))
    {
        return Err(format!(
            "body: the {} prompt must contain {{{missing}}}",
            name.as_str()
        ));
    }
    Ok(())
}

/// `{name}` placeholders (lower-case letters and `_`), in order of first use.
fn placeholders_in(body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find('}') else { break };
        let inner = &rest[..close];
        if !inner.is_empty()
            && inner.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && !out.iter().any(|o| o == inner)
        {
            out.push(inner.to_owned());
        }
    }
    out
}

/// One prompt as an interview uses it: its version label, and its text when it is an
/// organization's (the server's defaults are not copied into every interview).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsedPrompt {
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// The prompts an interview uses, fixed when it is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PromptSet {
    /// By name; a name not here uses the server's default.
    #[serde(flatten)]
    pub used: BTreeMap<PromptName, UsedPrompt>,
}

impl PromptSet {
    /// An interview's set from an organization's versions (the active ones).
    pub fn from_active(active: &[StoredPrompt]) -> Self {
        Self {
            used: active
                .iter()
                .filter(|p| p.active)
                .map(|p| {
                    let used = UsedPrompt {
                        version: p.name.org_label(p.version),
                        text: Some(p.body.clone()),
                    };
                    (p.name, used)
                })
                .collect(),
        }
    }

    /// The text of `name` for this interview.
    pub fn text(&self, name: PromptName) -> &str {
        self.used
            .get(&name)
            .and_then(|u| u.text.as_deref())
            .unwrap_or(name.default_prompt().0)
    }

    /// The version of `name` this interview uses.
    pub fn version(&self, name: PromptName) -> &str {
        self.used
            .get(&name)
            .map_or(name.default_prompt().1, |u| u.version.as_str())
    }
}

static SETS: crate::interned::Interned<PromptSet> = crate::interned::Interned::new();

/// A set stored as `json`: the copy already in memory, if an interview holds one.
pub fn parse(json: &str) -> Result<std::sync::Arc<PromptSet>, serde_json::Error> {
    SETS.parse(json)
}

/// Every name's version for an interview that may have no set (what it records and shows).
pub fn versions_of(set: Option<&PromptSet>) -> BTreeMap<String, String> {
    PromptName::ALL
        .into_iter()
        .map(|n| (n.as_str().to_owned(), version_of(set, n).to_owned()))
        .collect()
}

/// The text of `name` for an interview that may have no set (made before prompts were kept).
pub fn text_of(set: Option<&PromptSet>, name: PromptName) -> &str {
    set.map_or(name.default_prompt().0, |s| s.text(name))
}

/// The version of `name` for an interview that may have no set.
pub fn version_of(set: Option<&PromptSet>, name: PromptName) -> &str {
    set.map_or(name.default_prompt().1, |s| s.version(name))
}

/// An organization's version of a prompt, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPrompt {
    pub name: PromptName,
    pub version: u32,
    pub body: String,
    pub active: bool,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[async_trait]
pub trait PromptStore: Send + Sync + 'static {
    /// Stores `body` as `name`'s next version and makes it the active one.
    async fn add_prompt(
        &self,
        org: Uuid,
        name: PromptName,
        body: &str,
        by: Option<Uuid>,
    ) -> StoreResult<StoredPrompt>;
    /// Makes `version` the active one (`None`: none — the server's default). `false`: no such
    /// version.
    async fn activate_prompt(
        &self,
        org: Uuid,
        name: PromptName,
        version: Option<u32>,
    ) -> StoreResult<bool>;
    /// Every version of every name, newest first.
    async fn org_prompts(&self, org: Uuid) -> StoreResult<Vec<StoredPrompt>>;
}

/// The prompts a new interview in `org` takes: the organization's active versions.
pub async fn for_new_interview(
    store: &dyn PromptStore,
    org: Uuid,
) -> StoreResult<std::sync::Arc<PromptSet>> {
    Ok(std::sync::Arc::new(PromptSet::from_active(
        &store.org_prompts(org).await?,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_prompts_pass_their_own_checks() {
        for name in PromptName::ALL {
            let (text, version) = name.default_prompt();
            assert_eq!(check(name, text), Ok(()), "{version}");
            assert!(version.starts_with(name.as_str()));
        }
    }

    #[test]
    fn a_prompt_is_refused_with_what_to_change() {
        let i = PromptName::Interviewer;
        assert_eq!(check(i, "  "), Err("body: the prompt is empty".into()));
        assert_eq!(
            check(i, "Interview for {role} about {salary}. {end_marker}"),
            Err(
                "body: unknown placeholder {salary} (the interviewer prompt takes {role}, \
                 {job_description}, {resume}, {max_questions}, {end_marker})"
                    .into()
            )
        );
        assert_eq!(
            check(i, "Interview for {role}."),
            Err("body: the interviewer prompt must contain {end_marker}".into())
        );
        assert_eq!(
            check(PromptName::Analyst, "Score it. {answer}"),
            Err("body: unknown placeholder {answer} (the analyst prompt takes none)".into())
        );
        // JSON in a prompt is not a placeholder.
        assert_eq!(
            check(PromptName::Analyst, r#"Reply like {"relevance": 3}."#),
            Ok(())
        );
        let long = "x".repeat(MAX_PROMPT_BYTES + 1);
        assert!(check(PromptName::Analyst, &long)
            .unwrap_err()
            .contains("at most"));
    }

    #[test]
    fn an_interview_uses_its_organizations_active_versions_else_the_defaults() {
        let now = Utc::now();
        let stored = |version, active| StoredPrompt {
            name: PromptName::Analyst,
            version,
            body: format!("Analyst v{version}"),
            active,
            created_by: None,
            created_at: now,
        };
        let set = PromptSet::from_active(&[stored(2, true), stored(1, false)]);
        assert_eq!(set.text(PromptName::Analyst), "Analyst v2");
        assert_eq!(set.version(PromptName::Analyst), "analyst.org.v2");
        assert_eq!(set.text(PromptName::Interviewer), INTERVIEWER);
        assert_eq!(
            versions_of(Some(&set)),
            BTreeMap::from([
                ("analyst".to_owned(), "analyst.org.v2".to_owned()),
                ("assessor".to_owned(), "assessor.v1".to_owned()),
                ("interviewer".to_owned(), "interviewer.v1".to_owned())
            ])
        );
        // Stored and read back as JSON, the defaults carry no text.
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(serde_json::from_str::<PromptSet>(&json).unwrap(), set);
        assert_eq!(text_of(None, PromptName::Interviewer), INTERVIEWER);
        assert_eq!(version_of(None, PromptName::Analyst), ANALYST_VERSION);
    }
}
