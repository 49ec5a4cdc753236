//! An interview's recordings (`recording`): `GET /v1/interviews/{id}/recordings` lists the
//! files (each side, from where in the interview it starts), `GET
//! /v1/interviews/{id}/recordings/{file}` is one Ogg Opus file. Viewers and up, of the
//! interview's organization (another's is 404).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::principal::Staff;
use super::{path_id, Items};
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::recording::{parse_key, RecordingPart};

/// The recorded files of an interview, by side and start.
#[utoipa::path(get, path = "/v1/interviews/{id}/recordings", tag = "interviews",
    params(("id" = Uuid, Path, description = "The interview")),
    responses((status = 200, description = "Its recordings (none when it was not recorded): Ogg Opus files, one per side for each stretch a node drove it, `offset_ms` from the interview's start (the transcript's clock)", body = Items<RecordingPart>)),
    security(("bearer" = [])))]
pub async fn list_recordings(
    State(app): State<AppState>,
    staff: Staff,
    Path(raw): Path<String>,
) -> Result<Json<Items<RecordingPart>>, ApiError> {
    let id = path_id(&raw)?;
    app.interviews
        .interview_in(staff.scope(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let Some(recordings) = &app.registry.deps().recordings else {
        return Ok(Json(Items { items: Vec::new() }));
    };
    let keys = recordings
        .store
        .list(&format!("{id}/"))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let mut items: Vec<RecordingPart> = keys
        .iter()
        .filter_map(|k| {
            let (side, offset_ms) = parse_key(k)?;
            let file = k.rsplit('/').next()?;
            Some(RecordingPart {
                side,
                offset_ms,
                url: format!("/v1/interviews/{id}/recordings/{file}"),
            })
        })
        .collect();
    items.sort_by_key(|p| (p.offset_ms, p.side.as_str()));
    Ok(Json(Items { items }))
}

/// One recorded file (`audio/ogg`).
#[utoipa::path(get, path = "/v1/interviews/{id}/recordings/{file}", tag = "interviews",
    params(
        ("id" = Uuid, Path, description = "The interview"),
        ("file" = String, Path, description = "A file the list names: `<side>-<offset_ms>.ogg`"),
    ),
    responses((status = 200, description = "The Ogg Opus file", content_type = "audio/ogg", body = Vec<u8>)),
    security(("bearer" = [])))]
pub async fn get_recording(
    State(app): State<AppState>,
    staff: Staff,
    Path((raw, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = path_id(&raw)?;
    app.interviews
        .interview_in(staff.scope(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let key = format!("{id}/{file}");
    // Only names the server makes: `<side>-<digits>.ogg` (nothing else reaches the store).
    let (side, offset) = parse_key(&key).ok_or(ApiError::NotFound)?;
    let key = crate::recording::key(id, side, offset);
    let recordings = app
        .registry
        .deps()
        .recordings
        .as_ref()
        .ok_or(ApiError::NotFound)?;
    let bytes = recordings
        .store
        .get(&key)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .ok_or(ApiError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "audio/ogg"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        bytes,
    )
        .into_response())
}
