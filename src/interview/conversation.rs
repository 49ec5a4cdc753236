//! The conversation an actor owns: the interview, its committed turns, and what the model sees.

use std::sync::Arc;

use crate::protocol::TurnKind;
use crate::protocol::{InterviewState, Snapshot, Speaker, TranscriptEntry};
use crate::providers::{ContextTurn, InterviewContext};
use crate::store::{InterviewRecord, TurnRecord};

pub struct Conversation {
    pub interview: InterviewRecord,
    pub turns: Vec<TurnRecord>,
    next_turn: u32,
}

impl Conversation {
    pub fn new(interview: InterviewRecord, turns: Vec<TurnRecord>, next_turn: u32) -> Self {
        let after_turns = turns.last().map_or(0, |t| t.seq + 1);
        Self {
            interview,
            turns,
            next_turn: next_turn.max(after_turns),
        }
    }

    pub fn next_turn(&self) -> u32 {
        self.next_turn
    }

    /// Allocates the number of a new turn.
    pub fn alloc_turn(&mut self) -> u32 {
        let t = self.next_turn;
        self.next_turn += 1;
        t
    }

    pub fn push(&mut self, turn: TurnRecord) {
        self.turns.push(turn);
    }

    /// The interviewer's last question or prompt, for "repeat" and reconnect notices.
    pub fn last_question(&self) -> Option<&TurnRecord> {
        self.turns
            .iter()
            .rev()
            .find(|t| t.speaker == Speaker::Interviewer && t.kind == TurnKind::Question)
    }

    /// Whether the candidate spoke last: the interviewer owes a reply. Text-only notices (shown,
    /// not spoken: no duration) do not take the turn.
    pub fn answered(&self) -> bool {
        self.turns
            .iter()
            .rev()
            .find(|t| !is_text_notice(t))
            .is_some_and(|t| t.speaker == Speaker::Candidate)
    }

    /// Whether the last committed turn is an interviewer question still waiting for an answer.
    pub fn awaiting_answer(&self) -> bool {
        matches!(
            self.turns.iter().rev().find(|t| t.kind != TurnKind::Prompt && t.kind != TurnKind::Notice),
            Some(t) if t.speaker == Speaker::Interviewer
        )
    }

    /// Bytes of text in the conversation (what the transcript stores).
    pub fn text_bytes(&self) -> usize {
        self.turns.iter().map(|t| t.text.len()).sum()
    }

    pub fn context(&self) -> Arc<InterviewContext> {
        Arc::new(InterviewContext {
            role: self.interview.role.clone(),
            job_description: self.interview.job_description.clone(),
            resume: self.interview.resume.clone(),
            settings: self.interview.settings.clone(),
            plan: self.interview.plan.clone(),
            prompts: self.interview.prompts.clone(),
            turns: self
                .turns
                .iter()
                .map(|t| ContextTurn {
                    speaker: t.speaker,
                    kind: t.kind,
                    text: t.text.clone(),
                    transcribed: t.transcribed,
                    audio_ms: t.audio_ms,
                    suggested: t.suggested,
                })
                .collect(),
        })
    }

    pub fn snapshot(&self, state: InterviewState, last_seq: u64) -> Snapshot {
        Snapshot {
            interview_id: self.interview.id,
            state,
            last_seq,
            questions: self
                .turns
                .iter()
                .filter(|t| t.speaker == Speaker::Interviewer && t.kind == TurnKind::Question)
                .map(|t| t.text.clone())
                .collect(),
            transcript: self
                .turns
                .iter()
                .map(|t| TranscriptEntry {
                    turn: t.seq,
                    speaker: t.speaker,
                    text: t.text.clone(),
                    interrupted: t.interrupted,
                })
                .collect(),
        }
    }
}

/// The words of an interrupted reply that were actually heard.
///
/// `sentences` are the spoken sentences with the playout time (ms) at which each ends. Whole
/// sentences that finished before `played_ms` are kept; of the sentence being spoken, the share
/// of words proportional to the time played into it.
pub fn heard_text(sentences: &[(String, u64)], played_ms: u64) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut start = 0u64;
    for (text, end) in sentences {
        if *end <= played_ms {
            out.push(text);
            start = *end;
            continue;
        }
        let span = end.saturating_sub(start).max(1);
        let into = played_ms.saturating_sub(start);
        let words: Vec<&str> = text.split_whitespace().collect();
        let n = (words.len() as u64 * into / span) as usize;
        let partial = words[..n.min(words.len())].join(" ");
        let mut joined = out.join(" ");
        if !partial.is_empty() {
            if !joined.is_empty() {
                joined.push(' ');
            }
            joined.push_str(&partial);
            joined.push('…');
        }
        return joined;
    }
    out.join(" ")
}

/// A notice shown as text only (the answer-length notice): it has no duration.
pub fn is_text_notice(t: &TurnRecord) -> bool {
    t.kind == TurnKind::Notice && t.audio_ms == 0 && t.started_at == t.ended_at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heard_text_cuts_at_played_words() {
        let s = vec![
            ("Thank you.".to_string(), 1000),
            ("Tell me about a hard bug you fixed.".to_string(), 4000),
        ];
        assert_eq!(heard_text(&s, 0), "");
        assert_eq!(heard_text(&s, 500), "Thank…");
        assert_eq!(heard_text(&s, 1000), "Thank you.");
        // 1.5 s into a 3 s sentence of 8 words: 4 words.
        assert_eq!(heard_text(&s, 2500), "Thank you. Tell me about a…");
        assert_eq!(
            heard_text(&s, 9000),
            "Thank you. Tell me about a hard bug you fixed."
        );
    }
}
