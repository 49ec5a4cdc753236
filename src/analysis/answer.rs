//! Which question an answer answers: the interviewer's last question before it, and — when the
//! interviewer's decision names a planned question — that question's rubric and skills (a
//! follow-up is judged against its main question's rubric).

use crate::plan::Plan;
use crate::protocol::{Speaker, TurnKind};
use crate::store::TurnRecord;

use super::AnswerInput;

/// An answer with what it is judged against (owned: it travels to a task).
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerContext {
    /// The answer's turn and the question's.
    pub turn: u32,
    pub question_turn: u32,
    /// The planned question (`react-04`, `resume-project`), when the interviewer's decision
    /// named one.
    pub question_id: Option<String>,
    pub question: String,
    pub rubric: String,
    pub skills: Vec<String>,
    pub answer: String,
    pub audio_ms: u32,
    pub transcribed: bool,
}

impl AnswerContext {
    pub fn input(&self) -> AnswerInput<'_> {
        AnswerInput {
            question: &self.question,
            rubric: &self.rubric,
            skills: &self.skills,
            answer: &self.answer,
            audio_ms: self.audio_ms,
        }
    }
}

/// The context of the candidate turn `turn`, if it is an answer to a question.
pub fn context_of(plan: Option<&Plan>, turns: &[TurnRecord], turn: u32) -> Option<AnswerContext> {
    let at = turns.iter().position(|t| t.seq == turn)?;
    let answer = &turns[at];
    if answer.speaker != Speaker::Candidate {
        return None;
    }
    let question = turns[..at]
        .iter()
        .rev()
        .find(|t| t.speaker == Speaker::Interviewer && t.kind == TurnKind::Question)?;
    let planned = question
        .decision
        .as_ref()
        .and_then(|d| d.question_id.as_deref())
        .and_then(|id| plan?.pool.iter().find(|q| q.id == id));
    let mut skills: Vec<String> = planned.map(|q| q.skills.clone()).unwrap_or_default();
    if let Some(p) = plan {
        for s in &p.job_skills {
            if !skills.contains(s) {
                skills.push(s.clone());
            }
        }
    }
    Some(AnswerContext {
        turn,
        question_turn: question.seq,
        question_id: planned.map(|q| q.id.clone()),
        question: question.text.clone(),
        rubric: planned.map(|q| q.rubric.clone()).unwrap_or_default(),
        skills,
        answer: answer.text.clone(),
        audio_ms: answer.audio_ms,
        transcribed: answer.transcribed,
    })
}

/// Every answer of an interview with its context, in turn order.
pub fn answers(plan: Option<&Plan>, turns: &[TurnRecord]) -> Vec<AnswerContext> {
    turns
        .iter()
        .filter(|t| t.speaker == Speaker::Candidate)
        .filter_map(|t| context_of(plan, turns, t.seq))
        .collect()
}
