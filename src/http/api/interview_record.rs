//! What an interview left: its transcript (`/v1/interviews/{id}/transcript`) and its event log
//! (`/v1/interviews/{id}/events`), as the organization's staff read them.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::path_id;
use super::principal::Staff;
use crate::hiring::interviews::InterviewView;
use crate::http::error::ApiError;
use crate::http::AppState;

/// One turn of a transcript, its times in milliseconds from the interview's start on the
/// server's clock (stable across reconnects: they are the stored times).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TranscriptTurn {
    /// The protocol's `turn` number.
    turn: u32,
    speaker: crate::protocol::Speaker,
    kind: crate::protocol::TurnKind,
    text: String,
    /// `false`: speech kept without a transcript (no recogniser was available).
    transcribed: bool,
    /// The interviewer was cut off: `text` is what was heard.
    interrupted: bool,
    /// A question the hiring team suggested while watching, asked as written.
    suggested: bool,
    start_ms: i64,
    end_ms: i64,
}

/// An interview's transcript: its turns in order, times from `started_at`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Transcript {
    pub interview_id: Uuid,
    /// When the interview started (its first turn, or when it was made, if it never started).
    pub started_at: DateTime<Utc>,
    pub turns: Vec<TranscriptTurn>,
}

/// `GET /v1/interviews/{id}/transcript` → `{interview_id, started_at, turns: [...]}`.
#[utoipa::path(get, path = "/v1/interviews/{id}/transcript", tag = "interviews",
    params(("id" = Uuid, Path, description = "The interview")),
    responses((status = 200, description = "The transcript", body = Transcript)),
    security(("bearer" = [])))]
pub async fn transcript(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
) -> Result<Json<Transcript>, ApiError> {
    let view = app
        .interviews
        .interview_in(staff.scope(), path_id(&raw)?)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(transcript_of(&app, &view).await?))
}

/// An interview's transcript as `/transcript` answers it.
pub(crate) async fn transcript_of(
    app: &AppState,
    view: &InterviewView,
) -> Result<Transcript, ApiError> {
    let turns = app.store.turns(view.id).await?;
    // The interview's start: when it was started, else its first turn.
    let origin = view
        .started_at
        .or_else(|| turns.first().map(|t| t.started_at))
        .unwrap_or(view.created_at);
    let ms = |t: DateTime<Utc>| (t - origin).num_milliseconds().max(0);
    let turns: Vec<TranscriptTurn> = turns
        .into_iter()
        .map(|t| TranscriptTurn {
            turn: t.seq,
            speaker: t.speaker,
            kind: t.kind,
            start_ms: ms(t.started_at),
            end_ms: ms(t.ended_at),
            text: t.text,
            transcribed: t.transcribed,
            interrupted: t.interrupted,
            suggested: t.suggested,
        })
        .collect();
    Ok(Transcript {
        interview_id: view.id,
        started_at: origin,
        turns,
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    after_seq: Option<u64>,
    limit: Option<u32>,
}

/// A page of an interview's event log.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// The protocol's event envelopes (`{seq, type, …}`, docs/protocol.md), in `seq` order.
    items: Vec<Value>,
    /// The last `seq` here (`after_seq` when empty): ask for `after_seq` = this next.
    next_after_seq: u64,
}

/// Events a page of the log may hold, at most.
const MAX_EVENTS: u32 = 1000;

/// `GET /v1/interviews/{id}/events?after_seq=N&limit=` → `{items, next_after_seq}`: the
/// interview's event log as the candidate received it (the protocol's events, `seq` order), the
/// first `limit` (100; at most 1000) with `seq > N`. Page on with `after_seq=next_after_seq`.
#[utoipa::path(get, path = "/v1/interviews/{id}/events", tag = "interviews",
    params(("id" = Uuid, Path, description = "The interview"), EventsQuery),
    responses((status = 200, description = "Events with `seq` above `after_seq`", body = EventPage)),
    security(("bearer" = [])))]
pub async fn events(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<EventPage>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let id = path_id(&raw)?;
    app.interviews
        .interview_in(staff.scope(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let after = q.after_seq.unwrap_or(0);
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_EVENTS);
    let events = app
        .interviews
        .events_in(staff.scope(), id, after, limit)
        .await?;
    let next = events.last().map_or(after, |e| e.seq);
    let items = events
        .into_iter()
        .map(|e| serde_json::from_str::<Value>(&e.body))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(EventPage {
        items,
        next_after_seq: next,
    }))
}
