//! `GET /v1/realtime`: the OpenAI Realtime protocol over a candidate's interview, so stock
//! Realtime clients and SDKs run a Viva interview unchanged (docs/realtime.md). The same actor,
//! durability, monitors and assessment as the native stream; only the wire differs.
//!
//! Three tasks per connection, as for the native stream: `inbound` reads and checks the
//! client's events and feeds the interview (its audio as 16 kHz PCM, no Opus round trip);
//! `outbound` turns what the interview sends into Realtime server events (`translate`); the
//! shared writer (`socket::write_loop`) only sends.

mod inbound;
mod outbound;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::time::timeout;
use uuid::Uuid;

use super::principal::{self, offered_protocols};
use super::socket::{self, Reader, Refusal, Stop, SEND_STALL};
use super::{attach_candidate, upgrade_as, ClientSlot, Wire};
use crate::auth::Audience;
use crate::http::AppState;
use crate::interview::handle::OUTBOUND_QUEUE;
use crate::interview::{AttachError, Connection};
use crate::protocol::close;
use crate::protocol::realtime::session::Session;
use crate::protocol::realtime::{Naming, RealtimeError};

/// The subprotocol browsers offer (with `openai-insecure-api-key.<token>`).
pub const SUBPROTOCOL: &str = "realtime";
const KEY_PREFIX: &str = "openai-insecure-api-key.";
const BETA_PROTOCOL: &str = "openai-beta.realtime-v1";
/// The largest message read: an append at its limit (`pcm_in::MAX_APPEND_CHARS`) with room to
/// spare, so a larger one is refused with an error event rather than by the socket.
const MAX_MESSAGE: usize = 256 * 1024;
/// Client events: audio comes as text, ~50 appends a second for 20 ms chunks; a 5 s burst.
const MESSAGE_BURST: f64 = 250.0;
const MESSAGE_RATE: f64 = 60.0;

/// What the connection's tasks share.
#[derive(Default)]
struct Shared {
    /// Input audio taken so far, in 16 kHz samples: where speech starts and stops, as the
    /// client counts (`audio_start_ms`).
    input_samples: AtomicU64,
    /// The interviewer's item being told, if any (a truncate may name it).
    response_item: Mutex<Option<String>>,
    limits: Limits,
}

/// Where the reader's limits stand (for `rate_limits.updated`).
#[derive(Default)]
struct Limits {
    messages: AtomicU32,
    messages_reset_ms: AtomicU32,
    audio_ms: AtomicU32,
    audio_reset_ms: AtomicU32,
}

impl Limits {
    fn to_json(&self) -> serde_json::Value {
        let get = |a: &AtomicU32| a.load(Ordering::Relaxed);
        serde_json::json!([
            {"name": "messages", "limit": MESSAGE_BURST as u32, "remaining": get(&self.messages),
             "reset_seconds": f64::from(get(&self.messages_reset_ms)) / 1000.0},
            {"name": "input_audio_ms", "limit": inbound::AUDIO_BURST_MS as u32,
             "remaining": get(&self.audio_ms),
             "reset_seconds": f64::from(get(&self.audio_reset_ms)) / 1000.0},
        ])
    }
}

/// What the reader asks the outbound task to tell the client.
enum ToClient {
    /// A server event outside the interview's events (`session.updated`, `…cleared`).
    Event(&'static str, serde_json::Value),
    Error(RealtimeError),
    /// A typed answer the client created.
    Typed(String),
    /// Tell the client why, then close.
    Close(Refusal),
}

/// The credentials and options of a Realtime request, read before the upgrade.
pub struct RealtimeAuth {
    verdict: Result<Uuid, Refusal>,
    naming: Naming,
    model: Option<String>,
}

#[derive(Deserialize)]
struct ModelQuery {
    model: Option<String>,
}

impl FromRequestParts<AppState> for RealtimeAuth {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let beta = parts
            .headers
            .get_all("openai-beta")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|p| p.trim() == "realtime=v1"))
            || offered_protocols(parts).any(|p| p == BETA_PROTOCOL);
        let model = Query::<ModelQuery>::from_request_parts(parts, app)
            .await
            .ok()
            .and_then(|Query(q)| q.model)
            .map(|m| m.chars().take(64).collect());
        Ok(Self {
            verdict: admit(parts, app).await,
            naming: if beta { Naming::Beta } else { Naming::Ga },
            model,
        })
    }
}

/// The candidate token (`Authorization: Bearer`, as the SDKs send their `api_key`, or the
/// `openai-insecure-api-key.` subprotocol browsers use) and the interview it opens, checked as
/// the native stream checks them.
async fn admit(parts: &Parts, app: &AppState) -> Result<Uuid, Refusal> {
    principal::origin_allowed(parts, app)?;
    let bearer = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let token = bearer
        .or_else(|| offered_protocols(parts).find_map(|p| p.strip_prefix(KEY_PREFIX)))
        .ok_or((close::UNAUTHORIZED, "missing credentials"))?;
    let claims = app
        .auth
        .verify_claims(Audience::Candidate, token)
        .map_err(|_| (close::UNAUTHORIZED, "invalid or expired token"))?;
    principal::not_revoked(app, &claims.jti).await?;
    match app.store.get_interview(claims.interview).await {
        Ok(Some(i)) => {
            principal::candidate_may_enter(&i, Some(&claims.jti))?;
            Ok(i.id)
        }
        Ok(None) => Err((close::NOT_FOUND, "no such interview")),
        Err(e) => {
            tracing::error!(error = %e, "interview lookup failed");
            Err((close::INTERNAL, "internal error"))
        }
    }
}

/// A stock OpenAI Realtime client runs the interview its candidate token opens (WebSocket;
/// docs/realtime.md).
#[utoipa::path(get, path = "/v1/realtime", tag = "streams",
    params(
        ("model" = Option<String>, Query, description = "Accepted and ignored: the interviewer is Viva's (shown back as the session's `model`)"),
    ),
    responses(
        (status = 101, description = "Switching to the OpenAI Realtime protocol (docs/realtime.md); `realtime` is picked if offered. Authenticated by the candidate token as `Authorization: Bearer <token>` or the subprotocol `openai-insecure-api-key.<token>`; `OpenAI-Beta: realtime=v1` (or the subprotocol `openai-beta.realtime-v1`) asks for the beta event names. A refused connection gets an OpenAI-shaped `error` event, then a close code"),
        (status = 503, description = "Too many connections, or the server is draining (`Retry-After`)", body = crate::http::error::ErrorBody),
    ),
    security(("candidate" = [])))]
pub async fn realtime(
    State(app): State<AppState>,
    slot: ClientSlot,
    auth: RealtimeAuth,
    ws: WebSocketUpgrade,
) -> Response {
    let wire = Wire {
        subprotocol: SUBPROTOCOL,
        max_message: MAX_MESSAGE,
    };
    upgrade_as(app, ws, wire, slot, move |app, socket| {
        session(app, socket, auth)
    })
}

async fn session(app: AppState, socket: WebSocket, auth: RealtimeAuth) {
    let (mut sink, stream) = socket.split();
    let mut reader =
        Reader::new(stream, app.limits.idle_timeout).with_message_rate(MESSAGE_BURST, MESSAGE_RATE);
    let naming = auth.naming;
    let refuse = |refusal: Refusal| {
        let event = error_for(refusal).event(&format!("event_{}", Uuid::new_v4().simple()));
        (event, refusal)
    };
    let id = match auth.verdict {
        Ok(id) => id,
        Err(refusal) => {
            let (event, refusal) = refuse(refusal);
            let _ = timeout(
                SEND_STALL,
                sink.send(Message::Text(event.to_string().into())),
            )
            .await;
            return socket::refuse(&mut sink, &mut reader, Stop::Refuse(refusal)).await;
        }
    };
    let conn_id = app.next_conn_id();
    let (actor_tx, actor_rx) = mpsc::channel(OUTBOUND_QUEUE);
    let conn = Connection::realtime(conn_id, actor_tx);
    let handle = match attach_candidate(&app, id, &conn, None, None).await {
        Ok(h) => h,
        Err(e) => {
            let (event, refusal) = refuse(attach_refusal(e));
            let _ = timeout(
                SEND_STALL,
                sink.send(Message::Text(event.to_string().into())),
            )
            .await;
            return socket::refuse(&mut sink, &mut reader, Stop::Refuse(refusal)).await;
        }
    };
    drop(conn);
    tracing::info!(interview = %id, conn = conn_id, ?naming, "realtime client connected");
    let shared = Arc::new(Shared::default());
    let session = Session::new(
        format!("sess_{}", conn_id),
        auth.model,
        app.registry.deps().cfg.end_silence_ms,
    );
    let (out_tx, out_rx) = mpsc::channel(OUTBOUND_QUEUE);
    let (to_client, from_reader) = mpsc::channel(64);
    let writer = tokio::spawn(socket::write_loop(sink, out_rx));
    let translator = outbound::Outbound::new(naming, shared.clone(), session.to_json(naming));
    let translating = tokio::spawn(translator.run(actor_rx, from_reader, out_tx));
    let ctx = inbound::Ctx {
        handle: handle.clone(),
        conn_id,
        to_client,
        shared,
        stats: app.stats.clone(),
        naming,
    };
    let reader = tokio::spawn(inbound::read_loop(reader, ctx, session));
    // When the reader ends, the actor drops its sender on detach; the translator then ends,
    // and the writer flushes (a close, if one was queued) and ends.
    super::until_either_ends(&handle, conn_id, writer, reader).await;
    translating.abort();
    tracing::info!(interview = %id, conn = conn_id, "realtime client disconnected");
}

/// How a refused attach closes a Realtime connection. A second connection during the takeover
/// hold gets 1013, which the SDKs retry: a Realtime client cannot show the resume secret, so
/// its reconnect is let in once the hold has passed.
fn attach_refusal(e: AttachError) -> Refusal {
    match e {
        AttachError::Busy => (
            close::TRY_AGAIN,
            "the interview is held for its connection; try again later",
        ),
        other => super::attach_refusal(other),
    }
}

/// The error event a refusal is told with, before its close.
fn error_for((code, reason): Refusal) -> RealtimeError {
    let (kind, error_code, message): (&'static str, &'static str, String) = match code {
        close::UNAUTHORIZED => (
            "invalid_request_error",
            "invalid_api_key",
            format!("{reason}: use the candidate's interview token as the API key"),
        ),
        close::FORBIDDEN => ("invalid_request_error", "origin_not_allowed", reason.into()),
        close::NOT_FOUND => ("invalid_request_error", "interview_not_found", reason.into()),
        close::ENDED => ("invalid_request_error", "interview_ended", reason.into()),
        close::CONSENT_REQUIRED => (
            "invalid_request_error",
            "consent_required",
            "this interview asks for the candidate's consent first: give it on the interview page or with POST /v1/interviews/{id}/consent".into(),
        ),
        close::POLICY | close::BAD_MESSAGE => ("invalid_request_error", "policy_violation", reason.into()),
        close::TRY_AGAIN => ("server_error", "try_again", reason.into()),
        close::SERVICE_RESTART => ("server_error", "service_restart", reason.into()),
        close::LIVE_ELSEWHERE | close::REPLACED => {
            ("invalid_request_error", "session_replaced", reason.into())
        }
        _ => ("server_error", "server_error", reason.into()),
    };
    RealtimeError {
        kind,
        code: error_code,
        message,
        param: None,
        event_id: None,
    }
}
