//! Per-answer analysis (issue #16): how well one answer met its question, on four dimensions,
//! with the evidence it rests on. Two analysts give the same shape:
//!
//! - [`heuristic`]: the embedded default, no model — rubric and skill coverage, length and
//!   structure, filler words and speech rate. Labelled `heuristic` wherever it appears.
//! - [`model`]: an OpenAI-compatible model asked for structured output, validated, repaired or
//!   retried once, else `unscored`.
//!
//! [`Analyst`] is the one a server is configured with (`VIVA_ANALYST`).
//!
//! Evidence is always an exact substring of the stored answer ([`Evidence::find`]): a quote that
//! is not in the answer is dropped, never shown.

pub mod answer;
pub mod heuristic;
pub mod model;
pub mod text;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// What produced an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The offline analyst: counts and word lists, not understanding.
    Heuristic,
    /// A language model's judgement.
    Model,
}

/// Four dimensions, each 0–10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scores {
    /// Does the answer address the question?
    pub relevance: u8,
    /// Does it cover what a good answer covers (the rubric), with examples and reasons?
    pub completeness: u8,
    /// Is it technically right? (The heuristic can only count the rubric's terms used.)
    pub correctness: u8,
    /// Is it clear: sentences, few fillers, a steady pace?
    pub clarity: u8,
}

impl Scores {
    /// The mean of the four, 0–10 with one decimal.
    pub fn mean(&self) -> f32 {
        let sum = u32::from(self.relevance)
            + u32::from(self.completeness)
            + u32::from(self.correctness)
            + u32::from(self.clarity);
        (sum as f32 / 4.0 * 10.0).round() / 10.0
    }
}

/// A quote from the answer: `text` is exactly `answer[start..end]` (byte offsets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evidence {
    pub quote: String,
    pub start: usize,
    pub end: usize,
}

impl Evidence {
    /// The quote where it is in `answer`, or `None` when it is not there word for word (a
    /// made-up quote is dropped).
    pub fn find(answer: &str, quote: &str) -> Option<Evidence> {
        let quote = quote.trim();
        if quote.is_empty() {
            return None;
        }
        answer.find(quote).map(|start| Evidence {
            quote: quote.to_owned(),
            start,
            end: start + quote.len(),
        })
    }
}

/// The analysis of one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AnswerAnalysis {
    /// `scored`, or `unscored` when no analyst could give a valid result (never a made-up one).
    pub status: AnalysisStatus,
    pub method: Method,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<Scores>,
    /// One line for the recruiter.
    pub feedback: String,
    /// What the candidate could study or practise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recommendations: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// Rubric terms the answer used, and those it did not (the heuristic's working, shown so a
    /// recruiter can check it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covered: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisStatus {
    Scored,
    Unscored,
}

impl AnswerAnalysis {
    /// The mean score, when scored.
    pub fn mean(&self) -> Option<f32> {
        self.scores.map(|s| s.mean())
    }
}

/// The analyst a server uses, for live analyses and assessments.
#[derive(Clone)]
pub enum Analyst {
    Heuristic,
    Model(Arc<model::ModelAnalyst>),
}

/// The heuristic analyst's version, recorded with what it made.
pub const HEURISTIC_VERSION: &str = "heuristic-analyst.v1";

impl Analyst {
    /// One answer's analysis; a model analyst follows the interview's analyst prompt.
    pub async fn analyse(
        &self,
        ctx: &answer::AnswerContext,
        prompts: Option<&crate::prompts::PromptSet>,
    ) -> AnswerAnalysis {
        match self {
            Self::Heuristic => heuristic::analyse(&ctx.input()),
            Self::Model(m) => m.analyse(ctx, prompts).await,
        }
    }

    pub fn method(&self) -> Method {
        match self {
            Self::Heuristic => Method::Heuristic,
            Self::Model(_) => Method::Model,
        }
    }

    /// What made an analysis: the analyst's version — the heuristic's, or the analyst prompt's
    /// the interview uses (and the model).
    pub fn version(&self, prompts: Option<&crate::prompts::PromptSet>) -> String {
        match self {
            Self::Heuristic => HEURISTIC_VERSION.into(),
            Self::Model(m) => format!(
                "{} ({})",
                crate::prompts::version_of(prompts, crate::prompts::PromptName::Analyst),
                m.model
            ),
        }
    }
}

/// What an analyst is given: the question as planned and the answer as stored.
#[derive(Debug, Clone, Default)]
pub struct AnswerInput<'a> {
    pub question: &'a str,
    /// What a good answer covers (a bank question's rubric); empty when unknown.
    pub rubric: &'a str,
    /// The question's skill tags and the job's skills.
    pub skills: &'a [String],
    pub answer: &'a str,
    /// Length of the spoken answer (0 when typed).
    pub audio_ms: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_is_kept_only_when_it_is_in_the_answer_word_for_word() {
        let answer = "I would use a reducer here. It keeps transitions in one place.";
        let e = Evidence::find(answer, " It keeps transitions in one place. ").unwrap();
        assert_eq!(&answer[e.start..e.end], e.quote);
        assert!(Evidence::find(answer, "I would use Redux").is_none());
        assert!(Evidence::find(answer, "  ").is_none());
    }

    #[test]
    fn the_mean_has_one_decimal() {
        let s = Scores {
            relevance: 7,
            completeness: 6,
            correctness: 6,
            clarity: 8,
        };
        assert_eq!(s.mean(), 6.8);
    }
}
