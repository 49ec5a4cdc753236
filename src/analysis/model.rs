//! The model analyst: an OpenAI-compatible chat model asked for a structured analysis (JSON
//! schema response format, temperature 0), checked before it is used — scores 0–10, a short
//! feedback line, evidence kept only where it is in the answer word for word. Malformed or
//! invalid output is sent back once to be repaired; a second failure (or a timeout, twice) is
//! `unscored`: never a crash, never a made-up score.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::answer::AnswerContext;
use super::{AnalysisStatus, AnswerAnalysis, Evidence, Method, Scores};
use crate::prompts::{PromptName, PromptSet};
use crate::providers::remote::Remote;

/// Longest feedback line kept, in characters.
const MAX_FEEDBACK: usize = 400;
/// Attempts: the first, and one repair or retry.
const ATTEMPTS: usize = 2;

pub struct ModelAnalyst {
    pub remote: Arc<Remote>,
    pub model: String,
    /// One request's limit.
    pub timeout: Duration,
}

/// What the model must answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Output {
    relevance: i64,
    completeness: i64,
    correctness: i64,
    clarity: i64,
    feedback: String,
    recommendations: Vec<String>,
    evidence: Vec<String>,
}

fn schema() -> serde_json::Value {
    let score = json!({"type": "integer", "minimum": 0, "maximum": 10});
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["relevance", "completeness", "correctness", "clarity", "feedback",
                     "recommendations", "evidence"],
        "properties": {
            "relevance": score, "completeness": score, "correctness": score, "clarity": score,
            "feedback": {"type": "string"},
            "recommendations": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            "evidence": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        }
    })
}

/// A model's JSON reply without the Markdown fence some servers wrap it in even when asked not to.
pub(crate) fn unfenced(text: &str) -> &str {
    text.trim()
        .trim_start_matches("```json")
        .trim_start_matches("```")
        .trim_end_matches("```")
        .trim()
}

/// Checks the model's text and turns it into an analysis of `answer`; the error says what was
/// wrong (sent back to the model for one repair).
pub fn parse(text: &str, answer: &str) -> Result<AnswerAnalysis, String> {
    let trimmed = unfenced(text);
    let out: Output =
        serde_json::from_str(trimmed).map_err(|e| format!("not the JSON asked for: {e}"))?;
    let score = |name: &str, v: i64| {
        u8::try_from(v)
            .ok()
            .filter(|v| *v <= 10)
            .ok_or_else(|| format!("{name} must be an integer from 0 to 10, not {v}"))
    };
    let scores = Scores {
        relevance: score("relevance", out.relevance)?,
        completeness: score("completeness", out.completeness)?,
        correctness: score("correctness", out.correctness)?,
        clarity: score("clarity", out.clarity)?,
    };
    let feedback = out.feedback.trim();
    if feedback.is_empty() {
        return Err("feedback is empty".into());
    }
    let feedback: String = feedback.chars().take(MAX_FEEDBACK).collect();
    // Evidence the answer does not contain word for word is dropped, never shown.
    let mut evidence: Vec<Evidence> = out
        .evidence
        .iter()
        .filter_map(|q| Evidence::find(answer, q))
        .collect();
    evidence.sort_by_key(|e| e.start);
    evidence.dedup();
    Ok(AnswerAnalysis {
        status: AnalysisStatus::Scored,
        method: Method::Model,
        scores: Some(scores),
        feedback,
        recommendations: out
            .recommendations
            .into_iter()
            .map(|r| r.trim().chars().take(MAX_FEEDBACK).collect::<String>())
            .filter(|r| !r.is_empty())
            .take(3)
            .collect(),
        evidence,
        covered: Vec::new(),
        missing: Vec::new(),
    })
}

/// An answer the model could not score (the reason for people, no data).
pub fn unscored(why: &str) -> AnswerAnalysis {
    AnswerAnalysis {
        status: AnalysisStatus::Unscored,
        method: Method::Model,
        scores: None,
        feedback: format!("Not scored: {why}."),
        recommendations: Vec::new(),
        evidence: Vec::new(),
        covered: Vec::new(),
        missing: Vec::new(),
    }
}

impl ModelAnalyst {
    fn question(ctx: &AnswerContext) -> String {
        format!(
            "Question: {}\nWhat a good answer covers: {}\nSkills the job needs: {}\n\nThe \
             candidate's answer, verbatim:\n<<<\n{}\n>>>",
            ctx.question,
            if ctx.rubric.is_empty() {
                "(not given: judge from the question)"
            } else {
                &ctx.rubric
            },
            if ctx.skills.is_empty() {
                "(none given)".to_owned()
            } else {
                ctx.skills.join(", ")
            },
            ctx.answer
        )
    }

    /// One structured request (`name`, `schema`: the response format): the reply's text, or
    /// why there is none (for people, no data).
    pub(crate) async fn ask(
        &self,
        messages: &[serde_json::Value],
        name: &str,
        schema: serde_json::Value,
    ) -> Result<String, String> {
        let settings = &self.remote.settings;
        let body = json!({
            "model": self.model,
            "stream": false,
            "temperature": 0,
            "messages": messages,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": name, "strict": true, "schema": schema}},
        });
        let req = crate::providers::openai::authorized(
            self.remote
                .http
                .post(settings.openai.url("chat/completions")),
            &self.remote,
        )
        .timeout(self.timeout)
        .json(&body);
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                "the model did not answer in time".to_owned()
            } else {
                "the model could not be reached".to_owned()
            }
        })?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("the model answered {}", status.as_u16()));
        }
        let v: serde_json::Value = resp
            .json()
            .await
            .map_err(|_| "the model's reply was not JSON".to_owned())?;
        v["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "the model's reply had no content".to_owned())
    }

    /// The analysis of one answer (`prompts`: the interview's, else the server's defaults):
    /// scored, or `unscored` with the reason.
    pub async fn analyse(
        &self,
        ctx: &AnswerContext,
        prompts: Option<&PromptSet>,
    ) -> AnswerAnalysis {
        let instructions = crate::prompts::text_of(prompts, PromptName::Analyst);
        let mut messages = vec![
            json!({"role": "system", "content": instructions}),
            json!({"role": "user", "content": Self::question(ctx)}),
        ];
        let mut why = String::new();
        for attempt in 0..ATTEMPTS {
            match self.ask(&messages, "answer_analysis", schema()).await {
                Ok(text) => match parse(&text, &ctx.answer) {
                    Ok(a) => return a,
                    Err(e) => {
                        tracing::info!(turn = ctx.turn, attempt, error = %e, "analysis malformed; asking for a repair");
                        messages.push(json!({"role": "assistant", "content": text}));
                        messages.push(json!({"role": "user", "content": format!(
                            "That reply could not be used: {e}. Reply again with JSON only, \
                             matching the schema.")}));
                        why = "the model's analysis was malformed twice".into();
                    }
                },
                Err(e) => {
                    tracing::info!(turn = ctx.turn, attempt, error = %e, "analysis request failed");
                    why = e;
                }
            }
        }
        unscored(&why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = "I would use a reducer. It keeps related transitions in one place.";

    #[test]
    fn a_valid_reply_is_used_and_invented_quotes_are_dropped() {
        let reply = r#"{"relevance": 8, "completeness": 6, "correctness": 9, "clarity": 7,
            "feedback": "Knows when to use a reducer.", "recommendations": ["Mention testing."],
            "evidence": ["It keeps related transitions in one place.", "I love Redux"]}"#;
        let a = parse(&format!("```json\n{reply}\n```"), ANSWER).unwrap();
        assert_eq!(a.method, Method::Model);
        assert_eq!(a.scores.unwrap().correctness, 9);
        assert_eq!(a.evidence.len(), 1, "the invented quote is dropped");
        assert_eq!(
            &ANSWER[a.evidence[0].start..a.evidence[0].end],
            a.evidence[0].quote
        );
    }

    #[test]
    fn malformed_or_out_of_range_replies_say_why() {
        assert!(parse("Sure! Here is my analysis", ANSWER)
            .unwrap_err()
            .starts_with("not the JSON"));
        let high = r#"{"relevance": 11, "completeness": 6, "correctness": 9, "clarity": 7,
            "feedback": "x", "recommendations": [], "evidence": []}"#;
        assert!(parse(high, ANSWER)
            .unwrap_err()
            .contains("relevance must be"));
        let empty = r#"{"relevance": 1, "completeness": 6, "correctness": 9, "clarity": 7,
            "feedback": " ", "recommendations": [], "evidence": []}"#;
        assert_eq!(parse(empty, ANSWER).unwrap_err(), "feedback is empty");
        let u = unscored("the model did not answer in time");
        assert_eq!((u.status, u.scores), (AnalysisStatus::Unscored, None));
    }
}
