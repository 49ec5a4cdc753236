//! Plain HTTP endpoints: health, what candidates' tokens open, and the recruiters' REST API v1.
//!
//! - [`principal`]: who a request speaks for (the staff extractor; organization scoping).
//! - [`candidate`]: what a candidate token opens — a WebSocket ticket, the notice, consent.
//! - [`org`]: `/v1/org`, `/v1/org/notice` and `/v1/audit` — the organization's settings, its
//!   notice and its audit log.
//! - [`keys`]: `/v1/api-keys` — service accounts.
//! - [`webhooks`]: `/v1/webhooks` — signed notifications and their deliveries.
//! - [`body`]: JSON bodies: unknown fields refused, size-limited, errors in the envelope.
//! - [`sessions`]: `/v1/auth/*` — sign-in, refresh, sign-out, me.
//! - [`jobs`]: `/v1/jobs` — job postings.
//! - [`candidates`]: `/v1/candidates` — the people interviewed.
//! - [`interviews`]: `/v1/interviews` — made for a candidate and a job, listed, filtered,
//!   re-linked; [`interview_record`]: their transcripts and event logs; [`interview_cancel`]:
//!   ending one for the hiring team.
//! - [`users`]: `/v1/users` — the organization's staff, and accepting an invitation.

pub mod body;
pub mod candidate;
pub mod candidate_history;
pub mod candidates;
pub mod interview_assessment;
pub mod interview_cancel;
pub mod interview_notes;
pub mod interview_plan;
pub mod interview_record;
pub mod interview_recordings;
pub mod interviews;
pub mod jobs;
pub mod keys;
pub mod org;
pub mod principal;
pub mod prompts;
pub mod question_banks;
pub mod sessions;
pub mod users;
pub mod webhooks;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};
use std::time::Duration;

use uuid::Uuid;

use super::error::ApiError;
use super::AppState;
use crate::store::StoreError;

const HEALTH_PROBE: Duration = Duration::from_secs(1);

/// A whole list, unpaged: `{items}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// `/ready`'s answer while the node can take interviews.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// Always `ready` (a node that is not answers 503 with the error envelope).
    status: &'static str,
}

/// `GET /health`: always 200 while the process serves (interviews go on through storage
/// outages); `status` is `degraded` and names the part while the store or hot state is down.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "Serving. `status` is `ok`, or `degraded` naming the part that is down; also live interviews, storage failures, recogniser and audio counters, connections", body = Object)))]
pub async fn health(State(app): State<AppState>) -> Json<Value> {
    let probe = |ok: Result<Result<(), StoreError>, _>| match ok {
        Ok(Ok(())) => "ok",
        _ => "unavailable",
    };
    let (store, hot) = tokio::join!(
        tokio::time::timeout(HEALTH_PROBE, app.store.ping()),
        tokio::time::timeout(HEALTH_PROBE, app.hot.ping()),
    );
    let (store, hot) = (probe(store), probe(hot));
    let status = if store == "ok" && hot == "ok" {
        "ok"
    } else {
        "degraded"
    };
    Json(json!({
        "status": status,
        "store": store,
        "hot": hot,
        "live_interviews": app.registry.len(),
        "storage_failures": app.registry.deps().events.counters().to_json(),
        "stt": app.registry.deps().providers.stt.stats(),
        "audio": { "frames_dropped": app.stats.audio_frames_dropped() },
        "connections": { "open": app.connections.open(), "max": app.connections.max_total() },
    }))
}

/// At most `limit` hits a minute on `key` (hot state: shared by the nodes with Redis), else
/// 429 with `Retry-After`. Fails open: a hot-state outage locks nobody out.
pub(crate) async fn per_minute(app: &AppState, key: &str, limit: u32) -> Result<(), ApiError> {
    let window = Duration::from_secs(60);
    match app.hot.rate_limit(key, limit, window).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ApiError::too_many(window)),
        Err(e) => {
            tracing::warn!(error = %e, "rate limit unavailable; allowing");
            Ok(())
        }
    }
}

/// A resource id from the path: one that is not a UUID names nothing (404).
pub(crate) fn path_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound)
}

/// `GET /ready`: 200 while the store and the hot state answer within a second, else 503 (the
/// error envelope, `details` naming what is down) — for a load balancer to route around a node
/// that cannot take new interviews; 503 at once while the node drains (SIGTERM). `/health` is
/// liveness.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses(
        (status = 200, description = "The store and hot state answer", body = Ready),
        (status = 503, description = "Not ready: `details.unavailable` names the parts; or draining (shutting down: `Retry-After: 1`)", body = crate::http::error::ErrorBody),
    ))]
pub async fn ready(State(app): State<AppState>) -> Result<Json<Ready>, ApiError> {
    if app.draining() {
        return Err(ApiError::Draining);
    }
    let (store, hot) = tokio::join!(
        tokio::time::timeout(HEALTH_PROBE, app.store.ping()),
        tokio::time::timeout(HEALTH_PROBE, app.hot.ping()),
    );
    let down: Vec<&str> = [("store", store), ("hot", hot)]
        .into_iter()
        .filter(|(_, r)| !matches!(r, Ok(Ok(()))))
        .map(|(name, _)| name)
        .collect();
    if down.is_empty() {
        Ok(Json(Ready { status: "ready" }))
    } else {
        Err(ApiError::NotReady(down.join(", ")))
    }
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}
