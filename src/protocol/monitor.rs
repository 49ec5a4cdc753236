//! What only watchers of an interview get (docs/protocol.md, "Monitor-only messages"): the
//! candidate's input level and speech, connection events, degradations, who else is watching,
//! and the hiring team's notes and steering. None carries a `seq`: they are not in the
//! candidate's event log, whose `seq` stays gap-free. Levels, speech, connection events,
//! degradations and presence are live only; notes and steering are stored (`GET
//! /v1/interviews/{id}/notes`) and replayed to a monitor after its snapshot.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A monitor-only message (text frame, no `seq`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MonitorEvent {
    /// The candidate's input level over the last [`LEVEL_INTERVAL_MS`], a few times a second
    /// while the candidate is connected: the loudest 20 ms frame's RMS in dBFS (−100 is
    /// silence, 0 full scale), and whether the voice detector hears speech.
    Level { dbfs: f32, speaking: bool },
    /// The candidate started or stopped speaking (an utterance began or ended).
    Speech { speaking: bool },
    /// The candidate's connection: connected, dropped (with why), resumed, replaced.
    CandidateConnection {
        event: ConnectionChange,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A provider or the store failed and a fallback (or retry) took over.
    Degraded { stage: Stage, detail: String },
    /// Everyone watching now (sent when someone starts or stops watching).
    Watchers { watchers: Vec<WatcherView> },
    /// A note or steering action of the hiring team.
    Note {
        #[serde(flatten)]
        note: InterviewNote,
    },
    /// An answer's analysis, once the answer is committed (computed beside the interview: it
    /// never delays the next question). `question_turn` is the question it answers;
    /// `question_id` the planned question, when the interviewer's plan named one.
    Analysis {
        turn: u32,
        question_turn: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        question_id: Option<String>,
        analysis: Box<crate::analysis::AnswerAnalysis>,
    },
}

/// How often a level is sent.
pub const LEVEL_INTERVAL_MS: u32 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionChange {
    /// The candidate's first connection.
    Connected,
    /// The connection was lost or closed; the interview waits for a reconnect.
    Dropped,
    /// The candidate is back after a drop.
    Resumed,
    /// A newer connection (with the resume secret) took over.
    Replaced,
}

/// What degraded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Stt,
    Reply,
    Storage,
}

/// One watcher, as other watchers see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatcherView {
    /// The staff member's name, or "monitor link" for a monitor token.
    pub name: String,
    pub role: crate::accounts::Role,
    pub listening: bool,
}

/// What a stored note records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// A private note.
    Note,
    /// A question suggested to the interviewer (`text` is the question).
    SuggestedQuestion,
    /// The interview was ended from the monitor (`text` is the reason, if any).
    End,
}

impl NoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Note => "note",
            Self::SuggestedQuestion => "suggested_question",
            Self::End => "end",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "note" => Self::Note,
            "suggested_question" => Self::SuggestedQuestion,
            "end" => Self::End,
            _ => return None,
        })
    }
}

/// A note on an interview, or a steering action, as stored: never shown to the candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InterviewNote {
    pub id: Uuid,
    pub interview_id: Uuid,
    pub kind: NoteKind,
    pub text: String,
    /// Who wrote it (`null`: a monitor token or an API key's owner no longer there).
    pub author_id: Option<Uuid>,
    /// Their name as it was shown then.
    pub author: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_events_are_flat_json_without_seq() {
        let level = serde_json::to_value(MonitorEvent::Level {
            dbfs: -23.5,
            speaking: true,
        })
        .unwrap();
        assert_eq!(
            level,
            serde_json::json!({"type":"level","dbfs":-23.5,"speaking":true})
        );
        let note = MonitorEvent::Note {
            note: InterviewNote {
                id: Uuid::nil(),
                interview_id: Uuid::nil(),
                kind: NoteKind::SuggestedQuestion,
                text: "Why Rust?".into(),
                author_id: None,
                author: Some("Ana".into()),
                created_at: "2026-01-02T03:04:05Z".parse().unwrap(),
            },
        };
        let json = serde_json::to_value(&note).unwrap();
        assert_eq!(json["type"], "note");
        assert_eq!(json["kind"], "suggested_question");
        assert!(json.get("seq").is_none());
        assert_eq!(serde_json::from_value::<MonitorEvent>(json).unwrap(), note);
        let drop = serde_json::to_value(MonitorEvent::CandidateConnection {
            event: ConnectionChange::Dropped,
            reason: Some("connection lost".into()),
        })
        .unwrap();
        assert_eq!(
            drop,
            serde_json::json!({"type":"candidate_connection","event":"dropped","reason":"connection lost"})
        );
    }

    #[test]
    fn note_kinds_round_trip() {
        for k in [NoteKind::Note, NoteKind::SuggestedQuestion, NoteKind::End] {
            assert_eq!(NoteKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(NoteKind::parse("other"), None);
    }
}
