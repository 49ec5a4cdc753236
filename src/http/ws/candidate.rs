//! `GET /v1/interviews/{id}/stream`: the candidate's WebSocket. After admission, the `hello`
//! handshake, then two I/O-only tasks: a reader that checks and forwards, a writer that sends.
//! When one ends the other is stopped; the interview actor is told the connection left.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::principal::{self, Authorized};
use super::socket::{self, Inbound, Reader, Refusal, Stop};
use super::{attach_candidate, attach_refusal, upgrade, ClientSlot};
use crate::audio::packet;
use crate::http::{AppState, HttpStats};
use crate::interview::handle::OUTBOUND_QUEUE;
use crate::interview::{AudioRejected, Connection, InterviewHandle, Outbound};
use crate::protocol::{close, AudioFormat, ClientMessage, MAX_ANSWER_CHARS, PROTOCOL_VERSION};

/// The candidate's stream (WebSocket; docs/protocol.md). Authenticated by the candidate token
/// as the `Sec-WebSocket-Protocol` `bearer.<token>` (with `viva.v1`), or by a single-use
/// `?ticket=`; refusals close with the protocol's codes.
#[utoipa::path(get, path = "/v1/interviews/{id}/stream", tag = "streams",
    params(
        ("id" = uuid::Uuid, Path, description = "The interview"),
        ("ticket" = Option<String>, Query, description = "A single-use ticket from `POST /v1/interviews/{id}/ticket`"),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol `viva.v1` (docs/protocol.md). A refused one (credentials, `Origin`, the interview) is closed with the protocol's close code and reason, which browsers can read"),
        (status = 503, description = "Too many connections (`Retry-After`)", body = crate::http::error::ErrorBody),
    ),
    security(("candidate" = [])))]
pub async fn stream(
    State(app): State<AppState>,
    slot: ClientSlot,
    auth: Authorized<principal::Candidate>,
    ws: WebSocketUpgrade,
) -> Response {
    let verdict = auth.verdict.map(|p| p.interview);
    upgrade(app, ws, slot, move |app, socket| {
        session(app, socket, verdict)
    })
}

/// What `hello` asks for.
struct Hello {
    resume_from: Option<u64>,
    resume_secret: Option<String>,
}

async fn session(app: AppState, socket: WebSocket, verdict: Result<uuid::Uuid, Refusal>) {
    let (mut sink, stream) = socket.split();
    let mut reader = Reader::new(stream, app.limits.idle_timeout);
    let id = match verdict {
        Ok(id) => id,
        Err(refusal) => return socket::refuse(&mut sink, &mut reader, Stop::Refuse(refusal)).await,
    };
    let hello = match read_hello(&mut reader, app.limits.hello_timeout).await {
        Ok(h) => h,
        Err(stop) => return socket::refuse(&mut sink, &mut reader, stop).await,
    };
    let conn_id = app.next_conn_id();
    let (out_tx, out_rx) = mpsc::channel(OUTBOUND_QUEUE);
    let conn = Connection::native(conn_id, out_tx.clone());
    let attached = attach_candidate(
        &app,
        id,
        &conn,
        hello.resume_from,
        hello.resume_secret.as_deref(),
    )
    .await;
    let handle = match attached {
        Ok(h) => h,
        Err(e) => {
            let refusal = attach_refusal(e);
            return socket::refuse(&mut sink, &mut reader, Stop::Refuse(refusal)).await;
        }
    };
    tracing::info!(interview = %id, conn = conn_id, "candidate connected");
    let writer = tokio::spawn(socket::write_loop(sink, out_rx));
    let stats = app.stats.clone();
    let reader = tokio::spawn(read_loop(reader, handle.clone(), conn_id, out_tx, stats));
    super::until_either_ends(&handle, conn_id, writer, reader).await;
    tracing::info!(interview = %id, conn = conn_id, "candidate disconnected");
}

/// Waits for `hello`: the protocol version and audio format this server speaks.
async fn read_hello<S>(reader: &mut Reader<S>, within: Duration) -> Result<Hello, Stop>
where
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let late = (close::BAD_MESSAGE, "no hello received in time");
    let text = match reader.next_before(Instant::now() + within, late).await? {
        Inbound::Text(t) => t,
        Inbound::Binary(_) => {
            return Err(Stop::Refuse((
                close::BAD_MESSAGE,
                "expected hello before audio",
            )))
        }
    };
    match serde_json::from_str::<ClientMessage>(&text) {
        Ok(ClientMessage::Hello {
            protocol,
            audio,
            resume_from,
            resume_secret,
        }) => {
            if protocol != PROTOCOL_VERSION {
                Err(Stop::Refuse((
                    close::UNSUPPORTED,
                    "unsupported protocol version; this server speaks 1",
                )))
            } else if audio != AudioFormat::opus_48k_mono_20ms() {
                Err(Stop::Refuse((
                    close::UNSUPPORTED,
                    "unsupported audio format; send Opus, 48 kHz, mono, 20 ms",
                )))
            } else {
                Ok(Hello {
                    resume_from,
                    resume_secret,
                })
            }
        }
        Ok(_) => Err(Stop::Refuse((
            close::BAD_MESSAGE,
            "the first message must be hello",
        ))),
        Err(_) => Err(Stop::Refuse((
            close::BAD_MESSAGE,
            "malformed message: expected hello JSON",
        ))),
    }
}

/// Checks and forwards what the candidate sends until it leaves or breaks a limit.
async fn read_loop<S>(
    mut reader: Reader<S>,
    handle: InterviewHandle,
    conn_id: u64,
    out: mpsc::Sender<Outbound>,
    stats: Arc<HttpStats>,
) where
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let mut lost: u32 = 0;
    let stop = loop {
        let msg = match reader.next().await {
            Ok(m) => m,
            Err(stop) => break stop,
        };
        match msg {
            Inbound::Binary(b) => {
                if packet::check_20ms(&b).is_err() {
                    break Stop::Refuse((
                        close::BAD_MESSAGE,
                        "invalid Opus packet (RFC 6716 3.4) or not 20 ms",
                    ));
                }
                match handle.audio(conn_id, b, lost) {
                    Ok(()) => lost = 0,
                    Err(AudioRejected::Full) => {
                        lost = lost.saturating_add(1);
                        let total = stats.count_dropped_frame();
                        if total.is_power_of_two() {
                            tracing::warn!(interview = %handle.id, total, "interview mailbox full; audio frames dropped");
                        }
                    }
                    // The interview ended or unloaded: its close is on the way through the
                    // writer; wait for the client's, so closing does not reset the connection.
                    Err(AudioRejected::Stopped) => break Stop::Left,
                }
            }
            Inbound::Text(t) => {
                let delivered = match serde_json::from_str::<ClientMessage>(&t) {
                    Ok(ClientMessage::AnswerText { text }) => {
                        if text.chars().count() > MAX_ANSWER_CHARS {
                            break Stop::Refuse((
                                close::POLICY,
                                "typed answer too long (over 2000 characters)",
                            ));
                        }
                        handle.answer_text(conn_id, text).await
                    }
                    Ok(ClientMessage::Control { action }) => handle.control(conn_id, action).await,
                    Ok(ClientMessage::ClientEvent { event, chars }) => {
                        handle.client_event(conn_id, event, chars).await
                    }
                    Ok(ClientMessage::Hello { .. }) => {
                        break Stop::Refuse((close::BAD_MESSAGE, "hello already received"))
                    }
                    Err(_) => break Stop::Refuse((close::BAD_MESSAGE, "malformed message")),
                };
                if !delivered {
                    break Stop::Left;
                }
            }
        }
    };
    let (refusal, unreadable) = match stop {
        // The client left (nothing to wait for), or the interview stopped taking its frames.
        Stop::Left => return reader.linger(false).await,
        Stop::Refuse(r) => (r, false),
        Stop::Unreadable(r) => (r, true),
    };
    tracing::info!(interview = %handle.id, conn = conn_id, code = refusal.0, reason = refusal.1, "closing connection");
    let _ = out.send(Outbound::Close(refusal.0, refusal.1)).await;
    // Stop feeding the interview, but keep the socket open until the client has the close.
    handle.detach(conn_id, refusal.1).await;
    reader.linger(unreadable).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interview::handle::Command;

    fn packets(n: usize) -> Vec<Result<Message, axum::Error>> {
        let p = crate::audio::client::silence_packet();
        (0..n).map(|_| Ok(Message::Binary(p.clone()))).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn frames_dropped_at_a_full_mailbox_are_counted_and_reported_with_the_next() {
        // A mailbox of one that nobody reads yet: the first frame fits, the next four drop.
        let (tx, mut mailbox) = mpsc::channel(1);
        let handle = InterviewHandle::new(uuid::Uuid::nil(), 1, tx);
        let (frames_tx, frames_rx) = mpsc::unbounded_channel();
        for f in packets(5) {
            frames_tx.send(f).unwrap();
        }
        let frames_rx = Box::pin(futures_util::stream::unfold(
            frames_rx,
            |mut rx| async move { rx.recv().await.map(|m| (m, rx)) },
        ));
        let stats = Arc::new(HttpStats::default());
        let (out, _out_rx) = mpsc::channel(4);
        let reader = Reader::new(frames_rx, Duration::from_secs(60));
        let task = tokio::spawn(read_loop(reader, handle, 7, out, stats.clone()));
        let lost_of = |c: Option<Command>| match c {
            Some(Command::Audio {
                conn_id: 7, lost, ..
            }) => lost,
            other => panic!("expected audio, got {other:?}"),
        };
        while stats.audio_frames_dropped() < 4 {
            tokio::task::yield_now().await;
        }
        assert_eq!(lost_of(mailbox.recv().await), 0);
        // Room again: the next frame carries the count of the four lost before it.
        frames_tx.send(packets(1).pop().unwrap()).unwrap();
        assert_eq!(lost_of(mailbox.recv().await), 4);
        assert_eq!(stats.audio_frames_dropped(), 4);
        drop(frames_tx);
        task.await.unwrap();
    }
}
