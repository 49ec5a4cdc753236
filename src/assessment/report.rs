//! What an assessment holds, and the heuristic assessor that makes one from the stored
//! interview: every answer analysed (`crate::analysis::heuristic`), then aggregated. Every score
//! cites the turns it rests on (the protocol's `turn`, with offsets in ms from the interview's
//! start on the server's clock, as in the transcript), every quote is a substring of its turn's
//! text, and the recommendation is advisory.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::analysis::answer::{answers, AnswerContext};
use crate::analysis::{AnalysisStatus, Analyst, AnswerAnalysis, Method};
use crate::plan::adaptive::{STRONG, WEAK};
use crate::protocol::{Event, Speaker, TurnKind};
use crate::store::{InterviewRecord, TurnRecord};

/// The assessor's version, recorded in every assessment it makes.
pub const ASSESSOR_VERSION: &str = "assessor.v1";

/// A turn an assessment rests on, with a quote from it when there is one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cite {
    pub turn: u32,
    pub start_ms: i64,
    pub end_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
}

/// A score with what produced it and the turns it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScoreLine {
    pub name: String,
    pub score: f32,
    pub max: u32,
    pub rationale: String,
    pub evidence: Vec<Cite>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Overall {
    /// 0–100.
    pub score: u32,
    /// How it was computed.
    pub rubric: String,
    pub answers_scored: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SkillScore {
    pub skill: String,
    /// 0–100.
    pub score: u32,
    /// The answers it rests on.
    pub evidence: Vec<Cite>,
}

/// Where answers on a skill stopped being strong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SkillBoundary {
    pub skill: String,
    /// The hardest difficulty (1–5) answered strongly below the first that was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strong_up_to: Option<u8>,
    /// The easiest difficulty whose answer was not strong (`None`: every answer was strong).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<u8>,
    pub answers: usize,
}

/// One answer as assessed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AssessedAnswer {
    pub turn: u32,
    pub question_turn: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_id: Option<String>,
    pub question: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<u8>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub analysis: AnswerAnalysis,
}

/// A strength or a concern, with the answers it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    pub text: String,
    pub cites: Vec<Cite>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Advance,
    Hold,
    Decline,
}

/// Advice for the hiring team; a person decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Recommendation {
    pub decision: Decision,
    pub reasons: Vec<String>,
    /// Always `true`.
    pub advisory: bool,
    pub notice: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TurnLatency {
    /// The interviewer's turn.
    pub turn: u32,
    /// End of the candidate's turn to the interviewer's first audio.
    pub response_ms: u64,
    /// What the server itself added.
    pub server_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Degradation {
    /// The `error` event's code (`llm_fallback`, `tts_unavailable`, …).
    pub code: String,
    pub count: u32,
}

/// How the interview went on our side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Technical {
    pub latency: Vec<TurnLatency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_response_ms: Option<u64>,
    /// Interviewer turns the candidate spoke over.
    pub barge_ins: u32,
    pub degradations: Vec<Degradation>,
    /// Times the candidate came back mid-answer after losing the connection.
    pub resumed_mid_answer: u32,
    /// A fatal error, repeated degradations or slow replies: disturbed by our side.
    pub disturbed: bool,
    /// Offer the candidate a retake.
    pub retake_suggested: bool,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Versions {
    /// How the analyses are aggregated.
    pub assessor: String,
    /// Who analysed the answers (`heuristic-analyst.v1`, or the analyst prompt's version and
    /// the model).
    pub analyst: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
    /// The prompt versions the interview used, by name (`interviewer.v1`, `analyst.org.v2`).
    #[serde(default)]
    pub prompts: std::collections::BTreeMap<String, String>,
}

/// An interview's assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Assessment {
    pub interview_id: Uuid,
    /// `ready`.
    pub status: String,
    pub method: Method,
    pub generation: u32,
    pub generated_at: DateTime<Utc>,
    pub versions: Versions,
    pub summary: String,
    pub overall: Overall,
    /// The overall score, the four dimensions and the skills, each with its evidence.
    pub scores: Vec<ScoreLine>,
    pub skills: Vec<SkillScore>,
    pub skill_boundaries: Vec<SkillBoundary>,
    pub answers: Vec<AssessedAnswer>,
    pub strengths: Vec<Finding>,
    pub concerns: Vec<Finding>,
    pub recommendation: Recommendation,
    pub technical: Technical,
    /// Integrity signals for human review (interviews made with the organization's
    /// `integrity_signals` on); no score depends on them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<crate::integrity::Review>,
}

/// What the assessor reads.
pub struct AssessInput<'a> {
    pub interview: &'a InterviewRecord,
    pub turns: &'a [TurnRecord],
    pub events: &'a [Event],
    pub generation: u32,
}

const DIMENSIONS: [&str; 4] = ["relevance", "completeness", "correctness", "clarity"];

fn dimension(a: &AnswerAnalysis, i: usize) -> f32 {
    a.scores.map_or(0.0, |s| {
        f32::from([s.relevance, s.completeness, s.correctness, s.clarity][i])
    })
}

fn round1(x: f32) -> f32 {
    (x * 10.0).round() / 10.0
}

/// The answers an assessment judges: every transcribed, non-empty answer with its question.
pub fn assessable(input: &AssessInput) -> Vec<AnswerContext> {
    answers(input.interview.plan.as_deref(), input.turns)
        .into_iter()
        .filter(|c| c.transcribed && !c.answer.trim().is_empty())
        .collect()
}

/// The assessment, from the answers' analyses (one per [`assessable`] answer, in order, by
/// `analyst`).
pub fn assess(
    input: &AssessInput,
    analysed: Vec<(AnswerContext, AnswerAnalysis)>,
    analyst: &Analyst,
) -> Assessment {
    let rec = input.interview;
    let origin = rec
        .started_at
        .or_else(|| input.turns.first().map(|t| t.started_at))
        .unwrap_or(rec.created_at);
    let ms = |t: DateTime<Utc>| (t - origin).num_milliseconds().max(0);
    let turn_of = |seq: u32| input.turns.iter().find(|t| t.seq == seq);
    let plan = rec.plan.as_deref();
    let assessed: Vec<AssessedAnswer> = analysed
        .into_iter()
        .map(|(c, analysis)| {
            let t = turn_of(c.turn).expect("an answer's turn");
            AssessedAnswer {
                turn: c.turn,
                question_turn: c.question_turn,
                question_id: c.question_id.clone(),
                question: c.question.clone(),
                difficulty: c
                    .question_id
                    .as_deref()
                    .and_then(|id| plan?.pool.iter().find(|q| q.id == id).map(|q| q.difficulty)),
                start_ms: ms(t.started_at),
                end_ms: ms(t.ended_at),
                analysis,
            }
        })
        .collect();
    let cite = |a: &AssessedAnswer| Cite {
        turn: a.turn,
        start_ms: a.start_ms,
        end_ms: a.end_ms,
        quote: a.analysis.evidence.first().map(|e| e.quote.clone()),
    };
    let scored: Vec<&AssessedAnswer> = assessed
        .iter()
        .filter(|a| a.analysis.mean().is_some())
        .collect();
    let n = scored.len();
    let mean_of = |xs: &[&AssessedAnswer]| -> f32 {
        if xs.is_empty() {
            0.0
        } else {
            xs.iter()
                .map(|a| a.analysis.mean().unwrap_or(0.0))
                .sum::<f32>()
                / xs.len() as f32
        }
    };
    let overall_score = (mean_of(&scored) * 10.0).round() as u32;
    let mut by_mean = scored.clone();
    by_mean.sort_by(|a, b| {
        b.analysis
            .mean()
            .partial_cmp(&a.analysis.mean())
            .expect("finite")
    });

    let mut scores = vec![ScoreLine {
        name: "Overall".into(),
        score: overall_score as f32,
        max: 100,
        rationale: format!("Mean of the four dimensions over {n} scored answers, × 10."),
        evidence: by_mean.iter().take(3).map(|a| cite(a)).collect(),
    }];
    for (i, name) in DIMENSIONS.iter().enumerate() {
        let mean = if n == 0 {
            0.0
        } else {
            scored
                .iter()
                .map(|a| dimension(&a.analysis, i))
                .sum::<f32>()
                / n as f32
        };
        let mut best = scored.clone();
        best.sort_by(|a, b| {
            dimension(&b.analysis, i)
                .partial_cmp(&dimension(&a.analysis, i))
                .expect("finite")
        });
        scores.push(ScoreLine {
            name: format!("{}{}", name[..1].to_uppercase(), &name[1..]),
            score: round1(mean),
            max: 10,
            rationale: match (*name, analyst.method()) {
                ("relevance", Method::Heuristic) => "How much of each answer is about its question (heuristic: question and rubric terms).",
                ("completeness", Method::Heuristic) => "Rubric points covered, length, examples, reasons, steps and trade-offs (heuristic).",
                ("correctness", Method::Heuristic) => "Rubric terms used, hedges counted against (heuristic: it cannot tell right from wrong).",
                (_, Method::Heuristic) => "Sentences of a readable length, filler words, speaking pace (heuristic).",
                ("relevance", Method::Model) => "How much of each answer addresses its question (the model's judgement).",
                ("completeness", Method::Model) => "How much of what a good answer covers it covers, with examples and reasons (the model's judgement).",
                ("correctness", Method::Model) => "Whether its technical statements are right (the model's judgement).",
                (_, Method::Model) => "Whether a listener can follow it (the model's judgement).",
            }
            .into(),
            evidence: best.iter().take(2).map(|a| cite(a)).collect(),
        });
    }

    // Per skill: the answers to questions tagged with it (and the job's skills named in them).
    let mut per_skill: BTreeMap<String, Vec<&AssessedAnswer>> = BTreeMap::new();
    for a in &scored {
        let tags = a
            .question_id
            .as_deref()
            .and_then(|id| plan?.pool.iter().find(|q| q.id == id))
            .map(|q| q.skills.clone())
            .unwrap_or_default();
        for t in tags {
            per_skill.entry(t).or_default().push(a);
        }
    }
    let skills: Vec<SkillScore> = per_skill
        .iter()
        .map(|(skill, xs)| SkillScore {
            skill: skill.clone(),
            score: (mean_of(xs) * 10.0).round() as u32,
            evidence: xs.iter().map(|a| cite(a)).collect(),
        })
        .collect();
    for s in &skills {
        scores.push(ScoreLine {
            name: format!("Skill: {}", s.skill),
            score: s.score as f32,
            max: 100,
            rationale: format!(
                "Mean over the {} answers on questions about it.",
                s.evidence.len()
            ),
            evidence: s.evidence.clone(),
        });
    }
    let skill_boundaries: Vec<SkillBoundary> = per_skill
        .iter()
        .filter_map(|(skill, xs)| {
            let mut rated: Vec<(u8, bool)> = xs
                .iter()
                .filter_map(|a| Some((a.difficulty?, a.analysis.mean()? >= STRONG)))
                .collect();
            if rated.is_empty() {
                return None;
            }
            rated.sort();
            let stopped_at = rated.iter().find(|(_, strong)| !strong).map(|(d, _)| *d);
            let strong_up_to = rated
                .iter()
                .filter(|(d, strong)| *strong && stopped_at.is_none_or(|s| *d < s))
                .map(|(d, _)| *d)
                .max();
            Some(SkillBoundary {
                skill: skill.clone(),
                strong_up_to,
                stopped_at,
                answers: rated.len(),
            })
        })
        .collect();

    let short = |q: &str| -> String {
        let q = q.trim();
        if q.chars().count() > 90 {
            format!("{}…", q.chars().take(90).collect::<String>())
        } else {
            q.to_owned()
        }
    };
    let strengths: Vec<Finding> = by_mean
        .iter()
        .filter(|a| a.analysis.mean().is_some_and(|m| m >= STRONG))
        .take(3)
        .map(|a| Finding {
            text: format!(
                "Strong answer to “{}”: {}",
                short(&a.question),
                a.analysis.feedback
            ),
            cites: vec![cite(a)],
        })
        .collect();
    let concerns: Vec<Finding> = by_mean
        .iter()
        .rev()
        .filter(|a| a.analysis.mean().is_some_and(|m| m < WEAK))
        .take(3)
        .map(|a| Finding {
            text: format!(
                "Weak answer to “{}”: {}",
                short(&a.question),
                a.analysis.feedback
            ),
            cites: vec![cite(a)],
        })
        .collect();

    let technical = technical(input);
    let mut reasons = Vec::new();
    let decision = if n < 3 {
        reasons.push(format!(
            "Only {n} answers could be scored: too few to judge."
        ));
        Decision::Hold
    } else if overall_score >= 70 && concerns.is_empty() {
        reasons.push(format!("Overall {overall_score}/100 with no weak answers."));
        Decision::Advance
    } else if overall_score >= 50 {
        reasons.push(format!(
            "Overall {overall_score}/100 with {} weak answers: worth a closer look.",
            concerns.len()
        ));
        Decision::Hold
    } else {
        reasons.push(format!("Overall {overall_score}/100."));
        Decision::Decline
    };
    if technical.disturbed {
        reasons.push(
            "The interview was disturbed on our side; consider offering a retake before deciding."
                .into(),
        );
    }
    let unscored = assessed
        .iter()
        .filter(|a| a.analysis.status == AnalysisStatus::Unscored)
        .count();
    let summary = format!(
        "{overall_score}/100 over {n} scored answers ({} strong, {} weak{}); advisory {}: {} \
         — read the answers.",
        strengths.len(),
        concerns.len(),
        if unscored > 0 {
            format!(", {unscored} not scored")
        } else {
            String::new()
        },
        match decision {
            Decision::Advance => "advance",
            Decision::Hold => "hold",
            Decision::Decline => "decline",
        },
        match analyst.method() {
            Method::Heuristic => "made by a heuristic from the transcript, not by a model",
            Method::Model => "answers scored by a language model, each score citing the answer",
        }
    );
    Assessment {
        interview_id: rec.id,
        status: "ready".into(),
        method: analyst.method(),
        generation: input.generation,
        generated_at: Utc::now(),
        versions: Versions {
            assessor: ASSESSOR_VERSION.into(),
            analyst: analyst.version(rec.prompts.as_deref()),
            bank: plan.map(|p| format!("{}@{}", p.bank, p.bank_version)),
            prompts: crate::prompts::versions_of(rec.prompts.as_deref()),
        },
        summary,
        overall: Overall {
            score: overall_score,
            rubric: "The mean of relevance, completeness, correctness and clarity (0–10 each) \
                     over the scored answers, × 10. Each dimension is a heuristic: the \
                     question's rubric and the job's skills covered, length and structure \
                     (examples, reasons, steps, trade-offs), filler words and pace."
                .into(),
            answers_scored: n,
        },
        scores,
        skills,
        skill_boundaries,
        answers: assessed,
        strengths,
        concerns,
        recommendation: Recommendation {
            decision,
            reasons,
            advisory: true,
            notice: "Advisory only. A person at the hiring organization reviews the interview \
                     and makes every decision."
                .into(),
        },
        technical,
        integrity: None,
    }
}

fn technical(input: &AssessInput) -> Technical {
    let latency: Vec<TurnLatency> = input
        .turns
        .iter()
        .filter(|t| t.speaker == Speaker::Interviewer)
        .filter_map(|t| {
            let x = t.timings.as_ref()?;
            (x.response_ms > 0).then_some(TurnLatency {
                turn: t.seq,
                response_ms: x.response_ms,
                server_ms: x.server_ms,
            })
        })
        .collect();
    let mut sorted: Vec<u64> = latency.iter().map(|l| l.response_ms).collect();
    sorted.sort_unstable();
    let median = sorted.get(sorted.len() / 2).copied();
    let barge_ins = input
        .turns
        .iter()
        .filter(|t| t.speaker == Speaker::Interviewer && t.interrupted)
        .count() as u32;
    let resumed = input
        .turns
        .iter()
        .filter(|t| t.kind == TurnKind::Notice && t.text.starts_with("Welcome back"))
        .count() as u32;
    let mut codes: BTreeMap<String, u32> = BTreeMap::new();
    let mut fatal = false;
    for e in input.events {
        if let Event::Error { code, fatal: f, .. } = e {
            *codes.entry(code.clone()).or_default() += 1;
            fatal |= *f;
        }
    }
    let degradations: Vec<Degradation> = codes
        .into_iter()
        .map(|(code, count)| Degradation { code, count })
        .collect();
    let degraded: u32 = degradations.iter().map(|d| d.count).sum();
    let slow = median.is_some_and(|m| m > 3_000);
    let disturbed = fatal || degraded >= 2 || slow;
    let note = if disturbed {
        let mut why = Vec::new();
        if fatal {
            why.push("a fatal error".to_owned());
        }
        if degraded >= 2 {
            why.push(format!("{degraded} degradations"));
        }
        if slow {
            why.push(format!(
                "a median reply time of {} ms",
                median.unwrap_or_default()
            ));
        }
        format!(
            "Disturbed on our side ({}): the candidate may not have shown their best; offer a retake.",
            why.join(", ")
        )
    } else {
        "No disturbance on our side was recorded.".into()
    };
    Technical {
        latency,
        median_response_ms: median,
        barge_ins,
        degradations,
        resumed_mid_answer: resumed,
        disturbed,
        retake_suggested: disturbed,
        note,
    }
}
