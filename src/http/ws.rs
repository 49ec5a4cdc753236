//! `GET /v1/interviews/{id}/stream`: the candidate's WebSocket. Authentication and the `hello`
//! handshake, then two I/O-only tasks: a reader that checks and forwards, a writer that sends.
//! When one ends the other is stopped; the interview actor is told the connection left.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};
use uuid::Uuid;

use super::AppState;
use crate::audio::packet;
use crate::auth::Audience;
use crate::interview::handle::OUTBOUND_QUEUE;
use crate::interview::{AttachError, AudioRejected, Connection, InterviewHandle, Outbound};
use crate::protocol::{
    close, AudioFormat, ClientMessage, BEARER_PREFIX, MAX_BINARY_BYTES, MAX_TEXT_BYTES,
    PROTOCOL_VERSION, SUBPROTOCOL,
};

/// Audio may arrive faster than real time after a network stall, but not for long:
/// a 5 s burst, refilled at 10 % above real time.
const AUDIO_BURST: f64 = 250.0;
const AUDIO_RATE: f64 = 55.0;
const TEXT_BURST: f64 = 20.0;
const TEXT_RATE: f64 = 10.0;
const PING_EVERY: Duration = Duration::from_secs(20);
const CLOSE_DRAIN: Duration = Duration::from_secs(2);

type Refusal = (u16, &'static str);

#[derive(Deserialize)]
pub struct StreamQuery {
    ticket: Option<String>,
}

/// Subprotocol entries offered by the client (one header may list several).
fn offered(ws: &WebSocketUpgrade) -> Vec<String> {
    ws.requested_protocols()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_owned())
        .collect()
}

/// Picks `viva.v1` if offered (never echoing the token), sizes the socket for 20 ms packets
/// (a 4 KiB read buffer, no write buffering), and returns the bearer token if one was offered.
fn negotiate(ws: WebSocketUpgrade) -> (WebSocketUpgrade, Option<String>) {
    let protocols = offered(&ws);
    let bearer = protocols
        .iter()
        .find_map(|p| p.strip_prefix(BEARER_PREFIX))
        .map(str::to_owned);
    let ws = if protocols.iter().any(|p| p == SUBPROTOCOL) {
        ws.protocols([SUBPROTOCOL])
    } else {
        ws
    };
    let ws = ws
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(MAX_TEXT_BYTES)
        .max_frame_size(MAX_TEXT_BYTES);
    (ws, bearer)
}

pub async fn stream(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<StreamQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let (ws, bearer) = negotiate(ws);
    let verdict = authorize(
        &app,
        &id,
        Audience::Candidate,
        bearer.as_deref(),
        query.ticket.as_deref(),
    )
    .await;
    let tracker = app.tracker.clone();
    ws.on_upgrade(move |socket| tracker.track_future(session(app, socket, verdict)))
}

/// `GET /v1/interviews/{id}/monitor`: watch an interview live, read-only, with a monitor token.
pub async fn monitor(
    State(app): State<AppState>,
    Path(id): Path<String>,
    ws: WebSocketUpgrade,
) -> Response {
    let (ws, bearer) = negotiate(ws);
    let verdict = authorize(&app, &id, Audience::Monitor, bearer.as_deref(), None).await;
    let tracker = app.tracker.clone();
    ws.on_upgrade(move |socket| tracker.track_future(monitor_session(app, socket, verdict)))
}

async fn monitor_session(app: AppState, socket: WebSocket, verdict: Result<Uuid, Refusal>) {
    let (mut sink, mut stream) = socket.split();
    let id = match verdict {
        Ok(id) => id,
        Err(refusal) => return refuse(&mut sink, &mut stream, refusal).await,
    };
    let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
    let attached = match on_actor(&app, id, |h| {
        let tx = tx.clone();
        async move { h.monitor(tx).await }
    })
    .await
    {
        // Another node drives it: watch through the shared live stream.
        Err(AttachError::Elsewhere) => super::relay::relay(app.clone(), id, tx.clone()).await,
        other => other.map(|_| ()),
    };
    if let Err(e) = attached {
        return refuse(&mut sink, &mut stream, attach_refusal(e)).await;
    }
    drop(tx);
    let mut writer = tokio::spawn(write_loop(sink, rx));
    // A monitor only listens: what it sends is read and ignored, until it closes.
    let reader = async {
        while let Some(Ok(m)) = stream.next().await {
            if let Message::Close(_) = m {
                break;
            }
        }
    };
    tokio::select! {
        _ = &mut writer => {}
        _ = reader => writer.abort(),
    }
}

/// Decides who may connect. Browsers cannot read an HTTP status of a failed upgrade, so the
/// answer is delivered as a close code after the upgrade.
async fn authorize(
    app: &AppState,
    id: &str,
    audience: Audience,
    bearer: Option<&str>,
    ticket: Option<&str>,
) -> Result<Uuid, Refusal> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Err((close::NOT_FOUND, "no such interview"));
    };
    let for_id = match (bearer, ticket) {
        (Some(token), _) => app
            .auth
            .verify_for(audience, token)
            .map_err(|_| (close::UNAUTHORIZED, "invalid or expired token"))?,
        (None, Some(ticket)) => match app.hot.take_ticket(ticket).await {
            Ok(Some(id)) => id,
            Ok(None) => return Err((close::UNAUTHORIZED, "invalid, used or expired ticket")),
            Err(e) => {
                tracing::error!(error = %e, "ticket lookup failed");
                return Err((close::INTERNAL, "internal error"));
            }
        },
        (None, None) => return Err((close::UNAUTHORIZED, "missing credentials")),
    };
    if for_id != id {
        return Err((close::FORBIDDEN, "credentials are for another interview"));
    }
    match app.store.get_interview(id).await {
        Ok(Some(i)) if i.status.is_finished() => Err((close::ENDED, "interview ended")),
        Ok(Some(_)) => Ok(id),
        Ok(None) => Err((close::NOT_FOUND, "no such interview")),
        Err(e) => {
            tracing::error!(error = %e, "interview lookup failed");
            Err((close::INTERNAL, "internal error"))
        }
    }
}

async fn close_with(sink: &mut SplitSink<WebSocket, Message>, (code, reason): Refusal) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = sink.send(Message::Close(Some(frame))).await;
}

/// Completes the closing handshake: reads (and discards) until the client's close, for a
/// bounded time. Dropping a socket with unread data makes the kernel reset the connection,
/// which can destroy the close frame (and its reason) before the client reads it.
async fn drain(stream: &mut SplitStream<WebSocket>) {
    let _ = timeout(CLOSE_DRAIN, async {
        while let Some(Ok(m)) = stream.next().await {
            if let Message::Close(_) = m {
                break;
            }
        }
    })
    .await;
}

/// Refuses a connection that never reached an interview.
async fn refuse(
    sink: &mut SplitSink<WebSocket, Message>,
    stream: &mut SplitStream<WebSocket>,
    refusal: Refusal,
) {
    close_with(sink, refusal).await;
    drain(stream).await;
}

async fn session(app: AppState, socket: WebSocket, verdict: Result<Uuid, Refusal>) {
    let (mut sink, mut stream) = socket.split();
    let id = match verdict {
        Ok(id) => id,
        Err(refusal) => return refuse(&mut sink, &mut stream, refusal).await,
    };
    let resume_from = match read_hello(&mut stream, app.limits.hello_timeout).await {
        Ok(r) => r,
        Err(Some(refusal)) => return refuse(&mut sink, &mut stream, refusal).await,
        Err(None) => return,
    };
    let conn_id = app.next_conn_id();
    let (out_tx, out_rx) = mpsc::channel(OUTBOUND_QUEUE);
    let conn = Connection {
        id: conn_id,
        tx: out_tx.clone(),
    };
    let attached = on_actor(&app, id, |h| {
        let conn = conn.clone();
        async move { h.attach(conn, resume_from).await }
    })
    .await;
    let handle = match attached {
        Ok(h) => h,
        Err(e) => return refuse(&mut sink, &mut stream, attach_refusal(e)).await,
    };
    tracing::info!(interview = %id, conn = conn_id, "candidate connected");
    let mut writer = tokio::spawn(write_loop(sink, out_rx));
    let mut reader = tokio::spawn(read_loop(
        stream,
        handle.clone(),
        conn_id,
        out_tx,
        app.limits.idle_timeout,
    ));
    tokio::select! {
        _ = &mut writer => {
            // The server closed (replaced, ended, restarting): the reader runs until the
            // client's close (its frames are ignored by the actor), for a bounded time.
            handle.detach(conn_id).await;
            if timeout(CLOSE_DRAIN, &mut reader).await.is_err() {
                reader.abort();
            }
        }
        _ = &mut reader => {
            // The actor drops its sender on detach; the writer then flushes (a close, if the
            // reader queued one) and ends.
            handle.detach(conn_id).await;
            if timeout(Duration::from_secs(2), &mut writer).await.is_err() {
                writer.abort();
            }
        }
    }
    tracing::info!(interview = %id, conn = conn_id, "candidate disconnected");
}

fn attach_refusal(e: AttachError) -> Refusal {
    match e {
        AttachError::NotFound => (close::NOT_FOUND, "no such interview"),
        AttachError::Ended => (close::ENDED, "interview ended"),
        AttachError::Elsewhere => (close::TRY_AGAIN, "interview is live on another node"),
        AttachError::Stopped | AttachError::Internal => (close::INTERNAL, "internal error"),
    }
}

/// Runs `f` on the interview's actor, spawning a fresh one if the old one just stopped.
async fn on_actor<F, Fut>(app: &AppState, id: Uuid, f: F) -> Result<InterviewHandle, AttachError>
where
    F: Fn(InterviewHandle) -> Fut,
    Fut: std::future::Future<Output = Result<(), AttachError>>,
{
    for _ in 0..3 {
        let handle = app.registry.get_or_spawn(id);
        match f(handle.clone()).await {
            Ok(()) => return Ok(handle),
            Err(AttachError::Stopped) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(AttachError::Stopped)
}

/// Waits for `hello`. `Err(None)`: the client left; `Err(Some(_))`: refuse with that close.
async fn read_hello(
    stream: &mut SplitStream<WebSocket>,
    within: Duration,
) -> Result<Option<u64>, Option<Refusal>> {
    let deadline = Instant::now() + within;
    loop {
        let msg = match timeout(deadline - Instant::now(), stream.next()).await {
            Err(_) => return Err(Some((close::BAD_MESSAGE, "no hello received in time"))),
            Ok(None) => return Err(None),
            Ok(Some(Err(e))) => return Err(read_error(&e)),
            Ok(Some(Ok(m))) => m,
        };
        let text = match msg {
            Message::Text(t) => t,
            Message::Binary(_) => {
                return Err(Some((close::BAD_MESSAGE, "expected hello before audio")))
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) => return Err(None),
        };
        return match serde_json::from_str::<ClientMessage>(&text) {
            Ok(ClientMessage::Hello {
                protocol,
                audio,
                resume_from,
            }) => {
                if protocol != PROTOCOL_VERSION {
                    Err(Some((
                        close::UNSUPPORTED,
                        "unsupported protocol version; this server speaks 1",
                    )))
                } else if audio != AudioFormat::opus_48k_mono_20ms() {
                    Err(Some((
                        close::UNSUPPORTED,
                        "unsupported audio format; send Opus, 48 kHz, mono, 20 ms",
                    )))
                } else {
                    Ok(resume_from)
                }
            }
            Ok(_) => Err(Some((
                close::BAD_MESSAGE,
                "the first message must be hello",
            ))),
            Err(_) => Err(Some((
                close::BAD_MESSAGE,
                "malformed message: expected hello JSON",
            ))),
        };
    }
}

/// Maps a read error to a refusal: oversized messages get 4008, broken connections nothing.
fn read_error(e: &axum::Error) -> Option<Refusal> {
    let text = format!("{e} {:?}", std::error::Error::source(e));
    if text.contains("Space limit exceeded")
        || text.contains("too long")
        || text.contains("too big")
    {
        Some((close::POLICY, "message too large"))
    } else {
        None
    }
}

async fn write_loop(mut sink: SplitSink<WebSocket, Message>, mut rx: mpsc::Receiver<Outbound>) {
    let mut ping = tokio::time::interval_at(Instant::now() + PING_EVERY, PING_EVERY);
    loop {
        let result = tokio::select! {
            msg = rx.recv() => match msg {
                Some(Outbound::Text(t)) => sink.send(Message::Text(t)).await,
                Some(Outbound::Audio(b)) => sink.send(Message::Binary(b)).await,
                Some(Outbound::Batch(all)) => {
                    let mut r = Ok(());
                    for t in all {
                        r = sink.feed(Message::Text(t)).await;
                        if r.is_err() { break; }
                    }
                    if r.is_ok() { sink.flush().await } else { r }
                }
                Some(Outbound::Close(code, reason)) => {
                    close_with(&mut sink, (code, reason)).await;
                    return;
                }
                None => {
                    let _ = sink.close().await;
                    return;
                }
            },
            _ = ping.tick() => sink.send(Message::Ping(Default::default())).await,
        };
        if result.is_err() {
            return;
        }
    }
}

/// A token bucket on tokio's clock.
struct Bucket {
    tokens: f64,
    burst: f64,
    rate: f64,
    at: Instant,
}

impl Bucket {
    fn new(burst: f64, rate: f64) -> Self {
        Self {
            tokens: burst,
            burst,
            rate,
            at: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + (now - self.at).as_secs_f64() * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn read_loop(
    mut stream: SplitStream<WebSocket>,
    handle: InterviewHandle,
    conn_id: u64,
    out: mpsc::Sender<Outbound>,
    idle: Duration,
) {
    let mut audio = Bucket::new(AUDIO_BURST, AUDIO_RATE);
    let mut texts = Bucket::new(TEXT_BURST, TEXT_RATE);
    let mut dropped = 0u64;
    let mut unreadable = false;
    let refusal = loop {
        let msg = match timeout(idle, stream.next()).await {
            Err(_) => break (close::POLICY, "idle: no messages received"),
            Ok(None) => return,
            Ok(Some(Err(e))) => match read_error(&e) {
                // The stream cannot be read past an oversized message: linger instead of draining.
                Some(r) => {
                    unreadable = true;
                    break r;
                }
                None => return,
            },
            Ok(Some(Ok(m))) => m,
        };
        match msg {
            Message::Binary(b) => {
                if b.len() > MAX_BINARY_BYTES {
                    break (close::POLICY, "binary message over 1500 bytes");
                }
                if !audio.take() {
                    break (close::POLICY, "audio faster than real time");
                }
                if packet::check_20ms(&b).is_err() {
                    break (
                        close::BAD_MESSAGE,
                        "invalid Opus packet (RFC 6716 3.4) or not 20 ms",
                    );
                }
                match handle.audio(conn_id, b) {
                    Ok(()) => {}
                    Err(AudioRejected::Full) => {
                        dropped += 1;
                        if dropped.is_power_of_two() {
                            tracing::warn!(interview = %handle.id, dropped, "interview mailbox full; audio frames dropped");
                        }
                    }
                    Err(AudioRejected::Stopped) => return,
                }
            }
            Message::Text(t) => {
                if !texts.take() {
                    break (close::POLICY, "too many messages");
                }
                let delivered = match serde_json::from_str::<ClientMessage>(&t) {
                    Ok(ClientMessage::AnswerText { text }) => {
                        handle.answer_text(conn_id, text).await
                    }
                    Ok(ClientMessage::Control { action }) => handle.control(conn_id, action).await,
                    Ok(ClientMessage::Hello { .. }) => {
                        break (close::BAD_MESSAGE, "hello already received")
                    }
                    Err(_) => break (close::BAD_MESSAGE, "malformed message"),
                };
                if !delivered {
                    return;
                }
            }
            Message::Ping(_) | Message::Pong(_) => {}
            Message::Close(_) => return,
        }
    };
    tracing::info!(interview = %handle.id, conn = conn_id, code = refusal.0, reason = refusal.1, "closing connection");
    let _ = out.send(Outbound::Close(refusal.0, refusal.1)).await;
    // Stop feeding the interview, but keep the socket open until the client has the close.
    handle.detach(conn_id).await;
    if unreadable {
        tokio::time::sleep(CLOSE_DRAIN).await;
    } else {
        drain(&mut stream).await;
    }
}
