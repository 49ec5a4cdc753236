//! The WebSocket endpoints: `candidate` (the interview stream), `monitor` (a staff member's
//! live view of one interview: watch, listen in, steer) and `live` (the organization's running
//! interviews), built from shared parts: `principal` (who may connect to an interview, an
//! extractor), `staff` (the hiring team's sockets: their extractor and session end), `socket`
//! (limits, the writer, closing). A new protocol adapter reuses those.

pub mod candidate;
pub mod live;
pub mod monitor;
pub mod principal;
pub mod realtime;
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
use crate::interview::{handoff, AttachError, InterviewHandle};
use crate::protocol::{close, MAX_TEXT_BYTES, SUBPROTOCOL};
use socket::{Refusal, MAX_WRITE_BUFFER};

/// What an endpoint's socket speaks: the subprotocol it picks if the client offers it (never
/// echoing a token), and the largest message it reads.
#[derive(Clone, Copy)]
pub(crate) struct Wire {
    pub subprotocol: &'static str,
    pub max_message: usize,
}

/// Viva's own protocol (docs/protocol.md).
const VIVA: Wire = Wire {
    subprotocol: SUBPROTOCOL,
    max_message: MAX_TEXT_BYTES,
};

/// Picks the wire's subprotocol if offered and sizes the socket for 20 ms packets: a 4 KiB
/// read buffer, no write buffering, and a bounded backlog of unsent bytes.
fn negotiate(ws: WebSocketUpgrade, wire: Wire) -> WebSocketUpgrade {
    let offered = ws
        .requested_protocols()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == wire.subprotocol);
    let ws = if offered {
        ws.protocols([wire.subprotocol])
    } else {
        ws
    };
    ws.read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(wire.max_message)
        .max_frame_size(wire.max_message)
}

/// Upgrades (sized by [`negotiate`]) and runs `session` on the socket, tracked for shutdown,
/// holding the client's slot until it ends.
fn upgrade<F, Fut>(app: AppState, ws: WebSocketUpgrade, slot: ClientSlot, session: F) -> Response
where
    F: FnOnce(AppState, WebSocket) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    upgrade_as(app, ws, VIVA, slot, session)
}

/// [`upgrade`] for another wire.
fn upgrade_as<F, Fut>(
    app: AppState,
    ws: WebSocketUpgrade,
    wire: Wire,
    slot: ClientSlot,
    session: F,
) -> Response
where
    F: FnOnce(AppState, WebSocket) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    if app.draining() {
        // Before the upgrade: a load balancer sends the retry to another node.
        return ApiError::Draining.into_response();
    }
    let tracker = app.tracker.clone();
    negotiate(ws, wire).on_upgrade(move |socket| {
        tracker.track_future(async move {
            let stats = app.stats.clone();
            stats.websocket_opened();
            session(app, socket).await;
            stats.websocket_closed();
            drop(slot);
        })
    })
}

/// Takes interview `id` over from the node that drives it (`interview::handoff`), waiting at
/// most a lease's length (a dead owner's lease expires in that time). `None`: it is this
/// node's to load now.
async fn take_over(app: &AppState, id: Uuid, secret: Option<&str>) -> Option<AttachError> {
    let deps = app.registry.deps();
    let wait = deps.cfg.lease_ttl + std::time::Duration::from_secs(1);
    let shutdown = app.registry.shutdown_token();
    tokio::select! {
        outcome = handoff::take_over(&deps.hot, &deps.cfg.node, deps.cfg.lease_ttl, id, secret, wait) => {
            handoff::refusal(outcome)
        }
        _ = shutdown.cancelled() => Some(AttachError::Draining),
    }
}

/// Attaches `conn` to interview `id`; if another node drives it, the connection is held while
/// the interview comes here.
async fn attach_candidate(
    app: &AppState,
    id: Uuid,
    conn: &crate::interview::Connection,
    resume_from: Option<u64>,
    secret: Option<&str>,
) -> Result<InterviewHandle, AttachError> {
    let attach = || {
        on_actor(app, id, |h| {
            let conn = conn.clone();
            let secret = secret.map(str::to_owned);
            async move { h.attach(conn, resume_from, secret).await }
        })
    };
    let attached = match attach().await {
        Err(AttachError::Elsewhere) => match take_over(app, id, secret).await {
            None => attach().await,
            Some(e) => Err(e),
        },
        other => other,
    };
    attached.map(|(h, ())| h)
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

/// A candidate connection's reader and writer tasks, until one ends; then the interview is told
/// the connection left. If the writer ended (the server closed — replaced, ended, restarting —
/// or the client stopped reading), the reader runs until the client's close (its frames are
/// ignored), for a bounded time; if the reader ended, the actor drops its sender on detach and
/// the writer flushes (a close, if the reader queued one) and ends.
async fn until_either_ends(
    handle: &InterviewHandle,
    conn_id: u64,
    mut writer: tokio::task::JoinHandle<()>,
    mut reader: tokio::task::JoinHandle<()>,
) {
    tokio::select! {
        _ = &mut writer => {
            handle.detach(conn_id, "connection lost").await;
            if tokio::time::timeout(socket::CLOSE_DRAIN, &mut reader).await.is_err() {
                reader.abort();
            }
        }
        _ = &mut reader => {
            handle.detach(conn_id, "connection closed").await;
            if tokio::time::timeout(std::time::Duration::from_secs(2), &mut writer).await.is_err() {
                writer.abort();
            }
        }
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
