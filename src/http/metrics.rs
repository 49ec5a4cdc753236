//! `GET /metrics` (Prometheus) and the middleware counting HTTP responses by route template and
//! status. `/metrics` answers loopback clients, or anyone with `Authorization: Bearer
//! <VIVA_METRICS_TOKEN>` when that is set; others get 404 (it is not part of the public API).

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api::principal::ClientIp;
use super::AppState;
use crate::metrics::{global, Gauges};

/// Counts every response of a matched route under its template (`/v1/jobs/{id}`).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    global().http_request(&route, res.status().as_u16());
    res
}

/// `GET /metrics`: Prometheus text. With `VIVA_METRICS_TOKEN` set, for bearers of that token;
/// otherwise for loopback clients only. Anyone else gets 404.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", body = String, content_type = "text/plain"),
        (status = 404, description = "Not for this client", body = crate::http::error::ErrorBody),
    ),
    security((), ("metrics" = [])))]
pub async fn metrics(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Response {
    let allowed = match &app.metrics_token {
        Some(token) => super::api::bearer(&headers).is_some_and(|t| {
            // Constant time: the token is a secret.
            t.len() == token.len()
                && t.bytes()
                    .zip(token.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        }),
        None => ip.is_some_and(|ip| ip.is_loopback()),
    };
    if !allowed {
        return crate::http::error::ApiError::NotFound.into_response();
    }
    let text = global().render(&Gauges {
        live_interviews: app.registry.len(),
        websocket_connections: app.stats.websockets() as usize,
    });
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
