//! The hiring team's notes on an interview: `GET` and `POST /v1/interviews/{id}/notes`, and the
//! one function every note and steering action is stored through (a watching recruiter's
//! `note`, `suggest_question` and `end` too): stored, audited, shown to those watching here.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::body::Body;
use super::path_id;
use super::principal::{ClientIp, Staff};
use super::Items;
use crate::accounts::{Role, Scope};
use crate::audit;
use crate::hiring::notes::{Author, InterviewNote, NoteKind};
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::protocol::MAX_NOTE_CHARS;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    /// From 1 to 2000 characters.
    text: String,
}

/// `GET /v1/interviews/{id}/notes` (viewer) → the interview's notes and steering actions,
/// oldest first.
#[utoipa::path(get, path = "/v1/interviews/{id}/notes", tag = "interviews",
    params(("id" = Uuid, Path, description = "The interview")),
    responses((status = 200, description = "Notes, suggested questions and ends from the monitor, oldest first", body = Items<InterviewNote>)),
    security(("bearer" = [])))]
pub async fn list_notes(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
) -> Result<Json<Items<InterviewNote>>, ApiError> {
    let id = path_id(&raw)?;
    let items = app
        .notes
        .notes_in(staff.scope(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(Items { items }))
}

/// `POST /v1/interviews/{id}/notes {text}` (recruiter) → 201, the note: private to the hiring
/// team, timestamped, shown live to those watching.
#[utoipa::path(post, path = "/v1/interviews/{id}/notes", tag = "interviews",
    params(("id" = Uuid, Path, description = "The interview")),
    request_body = NewNote,
    responses((status = 201, description = "Added", body = InterviewNote)),
    security(("bearer" = [])))]
pub async fn add_note(
    State(app): State<AppState>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(raw): Path<String>,
    Body(new): Body<NewNote>,
) -> Result<(StatusCode, Json<InterviewNote>), ApiError> {
    staff.require(Role::Recruiter)?;
    let id = path_id(&raw)?;
    let text = checked(&new.text, MAX_NOTE_CHARS)?;
    let author = author_of(&app, Some(staff.user)).await;
    let ip = ip.map(|i| i.to_string());
    let entry = staff.record("interview.note_added").ip(ip.as_deref());
    let note = add(
        &app,
        staff.scope(),
        id,
        author,
        NoteKind::Note,
        &text,
        Some(entry),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(note)))
}

/// `text` trimmed, from 1 to `max` characters (else 400).
pub(crate) fn checked(text: &str, max: usize) -> Result<String, ApiError> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > max {
        return Err(ApiError::bad_request(format!(
            "text: from 1 to {max} characters"
        )));
    }
    Ok(text.to_owned())
}

/// The author of a note by `user` (their name, else their email); nobody for a monitor token.
pub(crate) async fn author_of(app: &AppState, user: Option<Uuid>) -> Author {
    let Some(id) = user else {
        return Author::default();
    };
    let name = match app.accounts.store.user(id).await {
        Ok(Some(u)) => Some(u.name.filter(|n| !n.trim().is_empty()).unwrap_or(u.email)),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read a note's author");
            None
        }
    };
    Author { id: Some(id), name }
}

/// Stores a note or steering action on interview `id` of `scope`, records `entry` (if any) in
/// the audit log, and shows it to those watching on this node. Not found: 404.
pub(crate) async fn add(
    app: &AppState,
    scope: Scope,
    id: Uuid,
    author: Author,
    kind: NoteKind,
    text: &str,
    entry: Option<audit::Record<'_>>,
) -> Result<InterviewNote, ApiError> {
    let note = app
        .notes
        .add_note_in(scope, id, &author, kind, text)
        .await?
        .ok_or(ApiError::NotFound)?;
    match app.registry.get(id) {
        Some(handle) => {
            handle.note(note.clone()).await;
        }
        // Those watching on the node that drives it (if one does) are told through the hot
        // state; the note is stored either way.
        None => {
            let mail = crate::interview::remote::Mail::Note { note: note.clone() }.to_json();
            let ttl = crate::interview::remote::MAIL_TTL;
            if let Err(e) = app.hot.send_mail(id, &mail, ttl).await {
                tracing::debug!(interview = %id, error = %e, "note not passed to the driving node");
            }
        }
    }
    let details = match kind {
        // A private note's words stay out of the audit log (only the note's id is there).
        NoteKind::Note => json!({ "note": note.id }),
        _ => json!({ "note": note.id, "text": text }),
    };
    if let Some(entry) = entry {
        let entry = entry.target("interview", id).details(details);
        audit::record(app.audit.as_ref(), entry).await;
    }
    Ok(note)
}
