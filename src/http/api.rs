//! Plain HTTP endpoints: health and WebSocket tickets.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use uuid::Uuid;

use super::error::ApiError;
use super::AppState;
use crate::auth::{new_ticket, TICKET_TTL};

pub async fn health(State(app): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "ok", "live_interviews": app.registry.len() }))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// `POST /v1/interviews/{id}/ticket` with `Authorization: Bearer <candidate token>`:
/// a single-use ticket, valid for 60 s, for clients that cannot set WebSocket subprotocols.
pub async fn ticket(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    let token = bearer(&headers).ok_or(ApiError::Unauthorized)?;
    let for_id = app.auth.verify(token).map_err(|_| ApiError::Unauthorized)?;
    if for_id != id {
        return Err(ApiError::Forbidden);
    }
    let interview = app
        .store
        .get_interview(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if interview.status.is_finished() {
        return Err(ApiError::Ended);
    }
    let ticket = new_ticket();
    app.hot.put_ticket(&ticket, id, TICKET_TTL).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "ticket": ticket, "expires_in_secs": TICKET_TTL.as_secs() })),
    ))
}
