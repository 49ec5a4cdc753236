//! The assessment's words, written by a model (with `VIVA_ANALYST=openai`): a summary, and
//! strengths and concerns each citing the answers they rest on, from the answers as they were
//! scored — the scores, the overall score and the recommendation stay as the rules made them.
//! The model follows the interview's assessor prompt (`prompts/assessor.v1.md`, or the
//! organization's). A finding citing no answer of the interview is dropped; a reply that is not
//! what was asked for is sent back once, then the rules' own words stay (never a crash, never a
//! made-up citation).

use serde::Deserialize;
use serde_json::json;

use super::report::{Assessment, Cite, Finding};
use crate::analysis::model::ModelAnalyst;
use crate::prompts::{PromptName, PromptSet};

/// Longest summary kept, in characters.
const MAX_SUMMARY: usize = 600;
/// Longest finding kept, in characters.
const MAX_FINDING: usize = 300;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Output {
    summary: String,
    strengths: Vec<OutFinding>,
    concerns: Vec<OutFinding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutFinding {
    text: String,
    turns: Vec<u32>,
}

fn schema() -> serde_json::Value {
    let finding = json!({
        "type": "object", "additionalProperties": false, "required": ["text", "turns"],
        "properties": {
            "text": {"type": "string"},
            "turns": {"type": "array", "items": {"type": "integer"}},
        }
    });
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["summary", "strengths", "concerns"],
        "properties": {
            "summary": {"type": "string"},
            "strengths": {"type": "array", "items": finding, "maxItems": 3},
            "concerns": {"type": "array", "items": finding, "maxItems": 3},
        }
    })
}

/// What the model is shown: the scored answers and what the rules concluded.
fn brief(a: &Assessment) -> String {
    let answers: Vec<serde_json::Value> = a
        .answers
        .iter()
        .map(|x| {
            json!({
                "turn": x.turn,
                "question": x.question,
                "difficulty": x.difficulty,
                "scores": x.analysis.scores,
                "feedback": x.analysis.feedback,
                "quotes": x.analysis.evidence.iter().map(|e| &e.quote).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "overall": a.overall.score,
        "recommendation": a.recommendation.decision,
        "reasons": a.recommendation.reasons,
        "skills": a.skills.iter().map(|s| json!({"skill": s.skill, "score": s.score})).collect::<Vec<_>>(),
        "answers": answers,
    })
    .to_string()
}

/// Checks the model's text against the assessment; the error says what was wrong.
fn parse(text: &str, a: &Assessment) -> Result<(String, Vec<Finding>, Vec<Finding>), String> {
    let trimmed = crate::analysis::model::unfenced(text);
    let out: Output =
        serde_json::from_str(trimmed).map_err(|e| format!("not the JSON asked for: {e}"))?;
    let summary = out.summary.trim();
    if summary.is_empty() {
        return Err("summary is empty".into());
    }
    let cite = |turn: u32| {
        a.answers.iter().find(|x| x.turn == turn).map(|x| Cite {
            turn,
            start_ms: x.start_ms,
            end_ms: x.end_ms,
            quote: x.analysis.evidence.first().map(|e| e.quote.clone()),
        })
    };
    let findings = |list: Vec<OutFinding>| -> Vec<Finding> {
        list.into_iter()
            .filter_map(|f| {
                let text: String = f.text.trim().chars().take(MAX_FINDING).collect();
                let mut turns = f.turns;
                turns.sort_unstable();
                turns.dedup();
                let cites: Vec<Cite> = turns.into_iter().filter_map(cite).collect();
                (!text.is_empty() && !cites.is_empty()).then_some(Finding { text, cites })
            })
            .take(3)
            .collect()
    };
    Ok((
        summary.chars().take(MAX_SUMMARY).collect(),
        findings(out.strengths),
        findings(out.concerns),
    ))
}

/// Rewrites `a`'s summary, strengths and concerns in the model's words when it gives valid
/// ones; otherwise leaves the rules' words (and says why in the log). Returns whether the model
/// wrote them.
pub async fn write(model: &ModelAnalyst, a: &mut Assessment, prompts: Option<&PromptSet>) -> bool {
    if a.answers.is_empty() {
        return false;
    }
    let instructions = crate::prompts::text_of(prompts, PromptName::Assessor);
    let mut messages = vec![
        json!({"role": "system", "content": instructions}),
        json!({"role": "user", "content": brief(a)}),
    ];
    let mut why = String::new();
    for _ in 0..2 {
        match model.ask(&messages, "assessment_summary", schema()).await {
            Ok(text) => match parse(&text, a) {
                Ok((summary, strengths, concerns)) => {
                    a.summary = format!(
                        "{summary} (Written by a language model from the scored answers; the \
                         scores and the advisory recommendation are the rules'.)"
                    );
                    // A list the model left empty keeps the rules' findings.
                    if !strengths.is_empty() {
                        a.strengths = strengths;
                    }
                    if !concerns.is_empty() {
                        a.concerns = concerns;
                    }
                    return true;
                }
                Err(e) => {
                    messages.push(json!({"role": "assistant", "content": text}));
                    messages.push(json!({"role": "user", "content": format!(
                        "That reply was not usable: {e}. Reply again with JSON only, matching the schema."
                    )}));
                    why = e;
                }
            },
            Err(e) => why = e,
        }
    }
    tracing::warn!(interview = %a.interview_id, reason = %why, "the model did not write the assessment's summary; the rules' words stay");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_cite_only_the_interviews_answers_and_bad_replies_say_why() {
        let a: Assessment = serde_json::from_value(json!({
            "interview_id": uuid::Uuid::nil(), "status": "ready", "method": "model",
            "generation": 1, "generated_at": "2026-12-01T00:00:00Z",
            "versions": {"assessor": "assessor.v1", "analyst": "analyst.v1 (m)"},
            "summary": "rules", "overall": {"score": 60, "rubric": "r", "answers_scored": 1},
            "scores": [], "skills": [], "skill_boundaries": [],
            "answers": [{"turn": 3, "question_turn": 2, "question": "Q?", "start_ms": 1000,
                "end_ms": 4000, "analysis": {"status": "scored", "method": "model",
                "scores": {"relevance": 6, "completeness": 6, "correctness": 6, "clarity": 6},
                "feedback": "ok", "recommendations": [], "evidence": [
                    {"quote": "I used a reducer", "start": 0, "end": 16}],
                "covered": [], "missing": []}}],
            "strengths": [], "concerns": [],
            "recommendation": {"decision": "hold", "reasons": [], "advisory": true, "notice": "n"},
            "technical": {"latency": [], "median_response_ms": null, "barge_ins": 0,
                "degradations": [], "resumed_mid_answer": 0, "disturbed": false,
                "retake_suggested": false, "note": "n"}
        }))
        .unwrap();
        let reply = json!({
            "summary": "Solid on state.",
            "strengths": [{"text": "Chose a reducer for related state.", "turns": [3, 99]},
                          {"text": "Invented.", "turns": [99]}],
            "concerns": [],
        })
        .to_string();
        let (summary, strengths, concerns) = parse(&reply, &a).unwrap();
        assert_eq!(summary, "Solid on state.");
        assert_eq!(
            strengths.len(),
            1,
            "the finding citing no answer is dropped"
        );
        assert_eq!(
            strengths[0].cites,
            [Cite {
                turn: 3,
                start_ms: 1000,
                end_ms: 4000,
                quote: Some("I used a reducer".into())
            }]
        );
        assert!(concerns.is_empty());
        assert!(parse(
            "{\"summary\": \"\", \"strengths\": [], \"concerns\": []}",
            &a
        )
        .unwrap_err()
        .contains("empty"));
        assert!(parse("no", &a).unwrap_err().starts_with("not the JSON"));
    }
}
