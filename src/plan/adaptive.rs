//! The offline interviewer's decisions: which planned question comes next, at which difficulty,
//! and whether an answer earns a follow-up.
//!
//! A pure function of the plan and the conversation so far, replayed from the first turn: a
//! resumed interview decides exactly what it would have decided (none skipped, none repeated).
//! Phases go warm-up → core → advanced; the target difficulty starts from the phase (and the
//! job's seniority) and moves up one after a strong answer and down one after a weak one, as the
//! heuristic analyst scores them; a thin answer gets one follow-up. Questions the hiring team
//! suggested (asked as written) are not the plan's and are skipped by the replay.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::build::{Plan, PlannedQuestion, PROJECT_QUESTION};
use crate::analysis::{heuristic, AnswerInput};
use crate::protocol::{Speaker, TurnKind};
use crate::providers::ContextTurn;

/// A mean score at or above this is a strong answer (difficulty goes up).
pub const STRONG: f32 = 6.5;
/// Below this, a weak one (difficulty goes down).
pub const WEAK: f32 = 4.5;
/// An answer of fewer words (or, untranscribed, under 6 s of speech) is thin: it gets one
/// follow-up.
pub const THIN_WORDS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    WarmUp,
    Core,
    Advanced,
    Closing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Ask,
    FollowUp,
    Close,
}

/// One decision of the interviewer, stored with the turn that carries it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    pub action: Action,
    pub phase: Phase,
    /// The planned question asked (or followed up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_id: Option<String>,
    /// The main question's number, from 1.
    pub number: usize,
    /// The difficulty aimed at (1–5) and the chosen question's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_difficulty: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<u8>,
    /// The previous answer's mean score (0–10, heuristic), when it moved the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_score: Option<f32>,
    /// Why, in a sentence a recruiter can read.
    pub why: String,
}

struct Asked<'a> {
    decision: Decision,
    answer: Vec<&'a ContextTurn>,
}

#[derive(Default)]
struct State<'a> {
    asked: Vec<String>,
    covered: BTreeSet<String>,
    /// Difficulty steps earned (−2 to +2), and what moved it last (told with the next
    /// question).
    shift: i32,
    moved: &'static str,
    current: Option<Asked<'a>>,
}

/// How many of `n` main questions fall in the warm-up and the advanced phases.
fn phase_sizes(n: usize) -> (usize, usize) {
    match n {
        0 | 1 => (0, 0),
        2 => (1, 0),
        _ => (((n + 2) / 5).max(1), (n / 3).max(1)),
    }
}

pub fn phase_of(number: usize, n: usize) -> Phase {
    let (warm, advanced) = phase_sizes(n);
    if number <= warm {
        Phase::WarmUp
    } else if number > n - advanced {
        Phase::Advanced
    } else {
        Phase::Core
    }
}

fn base_difficulty(phase: Phase, seniority: Option<&str>) -> i32 {
    let level = match seniority {
        Some("intern" | "junior") => -1,
        Some("senior" | "lead" | "principal") => 1,
        _ => 0,
    };
    match phase {
        Phase::WarmUp => 1,
        Phase::Core => 3 + level.min(0),
        Phase::Advanced | Phase::Closing => 4 + level,
    }
}

fn question<'p>(plan: &'p Plan, id: &str) -> Option<&'p PlannedQuestion> {
    plan.pool.iter().find(|q| q.id == id)
}

/// The words of an answer and whether it was thin (earns a follow-up), with its mean score.
fn judge(q: &PlannedQuestion, answer: &[&ContextTurn]) -> (bool, Option<f32>) {
    if answer.iter().any(|t| !t.transcribed) {
        let ms: u32 = answer.iter().map(|t| t.audio_ms).sum();
        return (ms < 6_000, None);
    }
    let text = answer
        .iter()
        .map(|t| t.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let a = heuristic::analyse(&AnswerInput {
        question: &q.text,
        rubric: &q.rubric,
        skills: &q.skills,
        answer: &text,
        audio_ms: answer.iter().map(|t| t.audio_ms).sum(),
    });
    // Thin: too short to show anything. (An answer that is long but off the rubric is judged
    // by its score, which moves the difficulty; a follow-up would only repeat the question.)
    let thin = text.split_whitespace().count() < THIN_WORDS;
    (thin, a.mean())
}

fn decide(plan: &Plan, state: &mut State) -> Decision {
    let mut previous_score = None;
    if let Some(cur) = &state.current {
        if cur.answer.is_empty() {
            // Asked, not answered yet (or resumed in between): the same again.
            return cur.decision.clone();
        }
        if let (Action::Ask, Some(q)) = (
            cur.decision.action,
            cur.decision
                .question_id
                .as_deref()
                .and_then(|id| question(plan, id)),
        ) {
            let (thin, score) = judge(q, &cur.answer);
            previous_score = score;
            if let Some(s) = score {
                if s >= STRONG {
                    state.shift = (state.shift + 1).min(2);
                    state.moved = "the last answer was strong";
                } else if s < WEAK {
                    state.shift = (state.shift - 1).max(-2);
                    state.moved = "the last answer was weak";
                }
            }
            if thin {
                let how = score.map_or("short".to_owned(), |s| format!("thin ({s}/10)"));
                return Decision {
                    action: Action::FollowUp,
                    question_id: Some(q.id.clone()),
                    previous_score,
                    why: format!("The answer to {} was {how}: one follow-up.", q.id),
                    ..cur.decision.clone()
                };
            }
        }
    }
    let number = state.asked.len() + 1;
    let close = |why: String| Decision {
        action: Action::Close,
        phase: Phase::Closing,
        question_id: None,
        number: number - 1,
        target_difficulty: None,
        difficulty: None,
        previous_score,
        why,
    };
    if number > plan.questions {
        return close(format!(
            "All {} planned questions were asked.",
            plan.questions
        ));
    }
    let phase = phase_of(number, plan.questions);
    let base = base_difficulty(phase, plan.seniority.as_deref());
    let target = if phase == Phase::WarmUp {
        (base + state.shift.max(0)).clamp(1, 2)
    } else {
        (base + state.shift).clamp(1, 5)
    } as u8;
    // The résumé's project opens the core.
    let project = (phase != Phase::WarmUp)
        .then(|| question(plan, PROJECT_QUESTION))
        .flatten()
        .filter(|q| !state.asked.contains(&q.id));
    let pick = project.or_else(|| {
        plan.pool
            .iter()
            .enumerate()
            .filter(|(_, q)| q.id != PROJECT_QUESTION && !state.asked.contains(&q.id))
            .min_by_key(|(i, q)| {
                let new_skill = q.skills.iter().any(|s| !state.covered.contains(s));
                (
                    q.difficulty.abs_diff(target),
                    !new_skill,
                    std::cmp::Reverse(q.fit),
                    *i,
                )
            })
            .map(|(_, q)| q)
    });
    let Some(q) = pick else {
        return close("The plan has no questions left.".into());
    };
    state.asked.push(q.id.clone());
    state.covered.extend(q.skills.iter().cloned());
    let phase_name = match phase {
        Phase::WarmUp => "Warm-up",
        Phase::Core => "Core",
        Phase::Advanced | Phase::Closing => "Advanced",
    };
    let mut why = format!(
        "{phase_name} question {number} of {}, aiming at difficulty {target}",
        plan.questions
    );
    let moved = std::mem::take(&mut state.moved);
    if !moved.is_empty() {
        why.push_str(&format!(" ({moved})"));
    }
    why.push_str(&format!("; {} ({}).", q.id, q.reason));
    Decision {
        action: Action::Ask,
        phase,
        question_id: Some(q.id.clone()),
        number,
        target_difficulty: Some(target),
        difficulty: Some(q.difficulty),
        previous_score,
        why,
    }
}

/// The decision for the interviewer's next reply, given the conversation so far.
pub fn next(plan: &Plan, turns: &[ContextTurn]) -> Decision {
    let mut state = State::default();
    for t in turns {
        match (t.speaker, t.kind) {
            (Speaker::Interviewer, TurnKind::Question) if !t.suggested => {
                let decision = decide(plan, &mut state);
                state.current = Some(Asked {
                    decision,
                    answer: Vec::new(),
                });
            }
            (Speaker::Candidate, _) => {
                if let Some(cur) = &mut state.current {
                    cur.answer.push(t);
                }
            }
            _ => {}
        }
    }
    decide(plan, &mut state)
}

/// The follow-up asked after a thin answer (one of three, by the question).
pub fn follow_up(question_id: &str) -> &'static str {
    const ASKS: [&str; 3] = [
        "Could you make that concrete? Walk me through a real example from your own work.",
        "Can you go one level deeper: how does it work, and why would you choose it?",
        "What trade-offs would you weigh there, and what could go wrong?",
    ];
    let i = question_id.bytes().map(usize::from).sum::<usize>() % ASKS.len();
    ASKS[i]
}

/// The text of a planned question.
pub fn text<'p>(plan: &'p Plan, decision: &Decision) -> Option<&'p str> {
    decision
        .question_id
        .as_deref()
        .and_then(|id| question(plan, id))
        .map(|q| q.text.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::build::{build, PlanInput};

    fn asked(text: &str) -> ContextTurn {
        ContextTurn {
            speaker: Speaker::Interviewer,
            kind: TurnKind::Question,
            text: text.into(),
            transcribed: true,
            audio_ms: 3000,
            suggested: false,
        }
    }

    fn said(text: &str) -> ContextTurn {
        ContextTurn {
            speaker: Speaker::Candidate,
            kind: TurnKind::Answer,
            text: text.into(),
            transcribed: true,
            audio_ms: 400 * text.split_whitespace().count() as u32,
            suggested: false,
        }
    }

    fn react_plan(questions: usize) -> Plan {
        let skills: Vec<String> = ["React", "Hooks", "State"].map(String::from).to_vec();
        build(&PlanInput {
            role: "Frontend Engineer",
            skills: &skills,
            resume: "Projects:\n- Tidewatch — tide charts in React",
            questions,
            ..Default::default()
        })
    }

    /// Plays an interview: each answer is `strong` or not, and returns the decisions.
    fn play(plan: &Plan, strong: impl Fn(usize) -> bool) -> Vec<Decision> {
        let mut turns = Vec::new();
        let mut out = Vec::new();
        for i in 0..40 {
            let d = next(plan, &turns);
            out.push(d.clone());
            if d.action == Action::Close {
                break;
            }
            turns.push(asked("q"));
            let q = d
                .question_id
                .as_deref()
                .and_then(|id| question(plan, id))
                .unwrap();
            if strong(i) {
                // Every rubric word, with an example and a reason: long and covering.
                turns.push(said(&format!(
                    "For example, {} That matters because it keeps the design simple, but the \
                     trade-off is more code. First we measured, then we changed it, and finally \
                     we checked the result in production with real users.",
                    q.rubric
                )));
            } else {
                turns.push(said("I am not sure, no idea."));
            }
        }
        out
    }

    #[test]
    fn phases_run_in_order_and_the_resume_project_opens_the_core() {
        let plan = react_plan(6);
        let ds = play(&plan, |_| true);
        let phases: Vec<Phase> = ds.iter().map(|d| d.phase).collect();
        assert_eq!(
            phases,
            [
                Phase::WarmUp,
                Phase::Core,
                Phase::Core,
                Phase::Core,
                Phase::Advanced,
                Phase::Advanced,
                Phase::Closing
            ]
        );
        assert_eq!(ds[1].question_id.as_deref(), Some(PROJECT_QUESTION));
        assert!(ds.iter().all(|d| d.action != Action::FollowUp));
        let ids: BTreeSet<_> = ds.iter().filter_map(|d| d.question_id.clone()).collect();
        assert_eq!(ids.len(), 6, "no question twice");
    }

    #[test]
    fn difficulty_rises_after_strong_answers_and_falls_after_weak_ones() {
        let plan = react_plan(8);
        let strong = play(&plan, |_| true);
        let weak = play(&plan, |_| false);
        let last_target = |ds: &[Decision]| {
            ds.iter()
                .rev()
                .find_map(|d| (d.action == Action::Ask).then_some(d.target_difficulty))
                .flatten()
                .unwrap()
        };
        assert!(last_target(&strong) > last_target(&weak));
        assert!(strong.iter().any(|d| d.why.contains("was strong")));
        // Weak answers are thin: each main question gets exactly one follow-up.
        let follow_ups = weak.iter().filter(|d| d.action == Action::FollowUp).count();
        let mains = weak.iter().filter(|d| d.action == Action::Ask).count();
        assert_eq!(follow_ups, mains);
        assert!(weak.iter().any(|d| d.why.contains("was weak")));
    }

    #[test]
    fn a_resumed_or_steered_interview_decides_the_same() {
        let plan = react_plan(4);
        let mut turns = vec![asked("q0")];
        let first = next(&plan, &[]);
        // Asked, not answered yet: the same question again.
        assert_eq!(next(&plan, &turns), first);
        turns.push(said(
            "Hooks give function components state and effects, and custom hooks let us reuse \
             logic; for example a useFetch hook, because classes split one concern across \
             lifecycle methods and this-binding.",
        ));
        let second = next(&plan, &turns);
        // A question the hiring team suggested, and its answer, change nothing.
        let mut steered = turns.clone();
        steered.push(ContextTurn {
            suggested: true,
            ..asked("What is your notice period?")
        });
        steered.push(said("Four weeks."));
        assert_eq!(next(&plan, &steered), second);
        assert_ne!(second.question_id, first.question_id);
    }

    #[test]
    fn follow_ups_are_fixed_per_question() {
        assert_eq!(follow_up("react-01"), follow_up("react-01"));
        assert!(follow_up("x").ends_with('?') || follow_up("x").ends_with('.'));
    }
}
