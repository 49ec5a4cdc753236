//! The WebSocket endpoints: `candidate` (the interview stream), `monitor` (a staff member's
//! live view of one interview: watch, listen in, steer) and `live` (the organization's running
//! interviews), built from shared parts: `principal` (who may connect to an interview, an
//! extractor), `staff` (the hiring team's sockets: their extractor and session end), `socket`
//! (limits, the writer, closing). A new protocol adapter reuses those.

pub mod candidate;
pub mod live;
pub mod monitor;
pub mod principal;
pub mod socket;
pub mod staff;

use std::net::{IpAddr, SocketAddr};

use axum::extract::ws::WebSocket;
use axum::extract::{ConnectInfo, FromRequestParts, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::admission::{Full, Slot};
use super::error::ApiError;
use super::AppState;
use crate::interview::{AttachError, InterviewHandle};
use crate::protocol::{close, MAX_TEXT_BYTES, SUBPROTOCOL};
use socket::{Refusal, MAX_WRITE_BUFFER};

/// Picks `viva.v1` if offered (never echoing the token) and sizes the socket for 20 ms packets:
/// a 4 KiB read buffer, no write buffering, and a bounded backlog of unsent bytes.
fn negotiate(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    let offered = ws
        .requested_protocols()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == SUBPROTOCOL);
    let ws = if offered {
        ws.protocols([SUBPROTOCOL])
    } else {
        ws
    };
    ws.read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(MAX_TEXT_BYTES)
        .max_frame_size(MAX_TEXT_BYTES)
}

/// Upgrades (sized by [`negotiate`]) and runs `session` on the socket, tracked for shutdown,
/// holding the client's slot until it ends.
fn upgrade<F, Fut>(app: AppState, ws: WebSocketUpgrade, slot: ClientSlot, session: F) -> Response
where
    F: FnOnce(AppState, WebSocket) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    if app.draining() {
        // Before the upgrade: a load balancer sends the retry to another node.
        return ApiError::Draining.into_response();
    }
    let tracker = app.tracker.clone();
    negotiate(ws).on_upgrade(move |socket| {
        tracker.track_future(async move {
            let stats = app.stats.clone();
            stats.websocket_opened();
            session(app, socket).await;
            stats.websocket_closed();
            drop(slot);
        })
    })
}

fn attach_refusal(e: AttachError) -> Refusal {
    match e {
        AttachError::NotFound => (close::NOT_FOUND, "no such interview"),
        AttachError::Ended => (close::ENDED, "interview ended"),
        AttachError::Elsewhere => (close::TRY_AGAIN, "interview is live on another node"),
        AttachError::Busy => (close::LIVE_ELSEWHERE, "live in another tab or device"),
        AttachError::Draining => (close::SERVICE_RESTART, "server restarting; reconnect"),
        AttachError::Stopped | AttachError::Internal => (close::INTERNAL, "internal error"),
    }
}

/// Runs `f` on the interview's actor, spawning a fresh one if the old one just stopped.
async fn on_actor<F, Fut, T>(
    app: &AppState,
    id: Uuid,
    f: F,
) -> Result<(InterviewHandle, T), AttachError>
where
    F: Fn(InterviewHandle) -> Fut,
    Fut: std::future::Future<Output = Result<T, AttachError>>,
{
    for _ in 0..3 {
        let handle = app.registry.get_or_spawn(id);
        match f(handle.clone()).await {
            Ok(t) => return Ok((handle, t)),
            Err(AttachError::Stopped) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(AttachError::Stopped)
}

/// A WebSocket's place under the per-client cap when it comes through a trusted proxy (the TCP
/// peer, counted at accept, is then the proxy): the client is the `X-Forwarded-For` address.
/// Over the cap: HTTP 503 with `Retry-After`.
pub struct ClientSlot(#[allow(dead_code)] Option<Slot>);

impl FromRequestParts<AppState> for ClientSlot {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(Self(None));
        };
        if !app.connections.is_trusted_proxy(peer.ip()) {
            return Ok(Self(None));
        }
        let Some(client) = forwarded_client(parts, app) else {
            return Ok(Self(None));
        };
        match app.connections.client_slot(client) {
            Ok(slot) => Ok(Self(Some(slot))),
            Err(Full::Client | Full::Node) => {
                tracing::warn!(client = %client, "too many connections from one client");
                Err(ApiError::Busy)
            }
        }
    }
}

/// The nearest `X-Forwarded-For` address that is not itself a trusted proxy.
pub(crate) fn forwarded_client(parts: &Parts, app: &AppState) -> Option<IpAddr> {
    let hops: Vec<IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse().ok())
        .collect();
    hops.iter()
        .rev()
        .find(|ip| !app.connections.is_trusted_proxy(**ip))
        .or(hops.first())
        .copied()
}
