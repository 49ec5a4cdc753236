//! The live board (`GET /v1/live`, docs/protocol.md "The live board"): an organization's
//! running interviews, a snapshot then updates as they start, change, drop, resume and end.
//! Server to client only; text frames, no `seq` (a reconnecting board gets a fresh snapshot).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::InterviewState;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveMessage {
    /// First: every interview of the organization in progress.
    Snapshot { interviews: Vec<LiveCard> },
    /// An interview started (its candidate connected for the first time).
    Started { interview: LiveCard },
    /// What changed in a running interview: its whole live status. `live` is `null` when no
    /// node has it loaded (the candidate left and has not come back yet).
    Update {
        interview_id: Uuid,
        live: Option<LiveStatus>,
    },
    /// The candidate's input level (about once a second), for the card's meter.
    Level { interview_id: Uuid, dbfs: f32 },
    /// The interview ended (`reason` as in the candidate's `ended` event).
    Ended { interview_id: Uuid, reason: String },
}

/// One running interview on the board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveCard {
    pub interview_id: Uuid,
    /// The role interviewed for (the job's title when made for a job).
    pub role: String,
    pub job_id: Option<Uuid>,
    pub candidate_id: Option<Uuid>,
    pub candidate_name: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    /// `null` when its live status is not known here (on another node of a cluster, or not
    /// loaded).
    pub live: Option<LiveStatus>,
}

/// A running interview's live status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveStatus {
    pub state: InterviewState,
    /// When the conversation started.
    pub started_at: Option<DateTime<Utc>>,
    /// Main questions asked so far.
    pub question: u32,
    /// Main questions planned (`null`: no set number).
    pub questions: Option<u32>,
    pub candidate_connected: bool,
    /// Times the candidate's connection dropped.
    pub drops: u32,
    /// A provider or the store degraded during the interview.
    pub degraded: bool,
    /// Monitors watching it on this node.
    pub watchers: u32,
}
