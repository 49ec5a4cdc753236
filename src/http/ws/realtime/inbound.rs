//! A Realtime client's events: checked, limited, and given to the interview. Its audio is
//! decoded here (`audio::pcm_in`) to the ear's 16 kHz and handed over in 20 ms frames. What
//! cannot be taken gets OpenAI's `error` event and the session goes on, as OpenAI's does; a
//! broken limit (a flood, audio faster than real time, an unreadable message) closes it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::Message;
use futures_util::Stream;
use serde_json::json;
use tokio::sync::mpsc;

use super::{Shared, ToClient};
use crate::audio::codec::LISTEN_FRAME;
use crate::audio::pcm_in::PcmIn;
use crate::http::ws::socket::{Inbound, Reader, Stop};
use crate::http::HttpStats;
use crate::interview::handle::Command;
use crate::interview::{AudioRejected, InterviewHandle};
use crate::protocol::realtime::session::Session;
use crate::protocol::realtime::{parse, ClientEvent, Naming, RealtimeError};
use crate::protocol::{close, MAX_ANSWER_CHARS};
use crate::rate::Bucket;

/// Audio may come faster than real time after a stall, but not for long: a 5 s burst,
/// refilled at 10 % above real time (in ms of audio), as on the native stream.
pub(super) const AUDIO_BURST_MS: f64 = 5000.0;
const AUDIO_MS_PER_S: f64 = 1100.0;

pub(super) struct Ctx {
    pub handle: InterviewHandle,
    pub conn_id: u64,
    pub to_client: mpsc::Sender<ToClient>,
    pub shared: Arc<Shared>,
    pub stats: Arc<HttpStats>,
    pub naming: Naming,
}

/// Reads the client's events until it leaves or breaks a limit.
pub(super) async fn read_loop<S>(mut reader: Reader<S>, ctx: Ctx, mut session: Session)
where
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let mut input = Input {
        pcm: PcmIn::new(session.format),
        pending: Vec::with_capacity(4 * LISTEN_FRAME),
        lost: 0,
        audio: Bucket::new(AUDIO_BURST_MS, AUDIO_MS_PER_S),
    };
    ctx.limits(&reader, &input);
    let stop = loop {
        let text = match reader.next().await {
            Ok(Inbound::Text(t)) => t,
            Ok(Inbound::Binary(_)) => {
                let e = RealtimeError::invalid(
                    "invalid_message",
                    "binary messages are not part of the Realtime protocol: send audio with input_audio_buffer.append",
                    None,
                );
                ctx.tell(ToClient::Error(e)).await;
                continue;
            }
            Err(stop) => break stop,
        };
        let envelope = match parse(&text) {
            Ok(e) => e,
            Err(e) => {
                ctx.tell(ToClient::Error(e)).await;
                continue;
            }
        };
        let about = envelope.event_id.clone();
        match on_event(&ctx, &mut session, &mut input, envelope.event).await {
            Ok(Next::Go) => {}
            Ok(Next::Stop(stop)) => break stop,
            Err(e) => ctx.tell(ToClient::Error(e.about(about))).await,
        }
        ctx.limits(&reader, &input);
    };
    let (refusal, unreadable) = match stop {
        Stop::Left => return reader.linger(false).await,
        Stop::Refuse(r) => (r, false),
        Stop::Unreadable(r) => (r, true),
    };
    tracing::info!(interview = %ctx.handle.id, conn = ctx.conn_id, code = refusal.0, reason = refusal.1, "closing realtime connection");
    ctx.tell(ToClient::Close(refusal)).await;
    ctx.handle.detach(ctx.conn_id, refusal.1).await;
    reader.linger(unreadable).await;
}

/// The client's audio on its way to the interview.
struct Input {
    pcm: PcmIn,
    /// 16 kHz samples short of a whole 20 ms frame.
    pending: Vec<i16>,
    /// Frames dropped at a full mailbox since the last one delivered.
    lost: u32,
    /// Audio taken, in ms, against real time.
    audio: Bucket,
}

enum Next {
    Go,
    Stop(Stop),
}

impl Ctx {
    async fn tell(&self, m: ToClient) {
        let _ = self.to_client.send(m).await;
    }

    /// Publishes where the limits stand, for `rate_limits.updated`.
    fn limits<S>(&self, reader: &Reader<S>, input: &Input)
    where
        S: Stream<Item = Result<Message, axum::Error>> + Unpin,
    {
        let (messages, messages_reset) = reader.messages_left();
        let (audio_ms, audio_reset) = input.audio.left();
        let l = &self.shared.limits;
        l.messages.store(messages as u32, Ordering::Relaxed);
        l.messages_reset_ms
            .store((messages_reset * 1000.0) as u32, Ordering::Relaxed);
        l.audio_ms.store(audio_ms as u32, Ordering::Relaxed);
        l.audio_reset_ms
            .store((audio_reset * 1000.0) as u32, Ordering::Relaxed);
    }

    fn stopped(&self) -> Next {
        // The interview ended or unloaded: its close is on the way through the writer.
        Next::Stop(Stop::Left)
    }
}

async fn on_event(
    ctx: &Ctx,
    session: &mut Session,
    input: &mut Input,
    event: ClientEvent,
) -> Result<Next, RealtimeError> {
    match event {
        ClientEvent::InputAudioAppend { audio } => return append(ctx, input, &audio),
        ClientEvent::SessionUpdate { session: update } => {
            session.apply(&update)?;
            if input.pcm.format() != session.format {
                input.pcm = PcmIn::new(session.format);
            }
            let cmd = Command::TurnSilence {
                conn_id: ctx.conn_id,
                ms: session.silence_ms(),
            };
            if !ctx.handle.realtime(cmd).await {
                return Ok(ctx.stopped());
            }
            ctx.tell(ToClient::Event(
                "session.updated",
                json!({"session": session.to_json(ctx.naming)}),
            ))
            .await;
        }
        ClientEvent::InputAudioCommit => {
            match ctx.handle.commit_input(ctx.conn_id).await {
                None => return Ok(ctx.stopped()),
                // Its events (`committed`, then the transcription) come from the interview.
                Some(true) => {}
                Some(false) => {
                    return Err(RealtimeError::invalid(
                        "input_audio_buffer_commit_empty",
                        "no speech to commit: nothing has been said since the last turn",
                        None,
                    ))
                }
            }
        }
        ClientEvent::InputAudioClear => {
            input.pending.clear();
            let cmd = Command::ClearInput {
                conn_id: ctx.conn_id,
            };
            if !ctx.handle.realtime(cmd).await {
                return Ok(ctx.stopped());
            }
            ctx.tell(ToClient::Event("input_audio_buffer.cleared", json!({})))
                .await;
        }
        ClientEvent::ItemCreate { item } => {
            let text = item.answer_text()?;
            if text.trim().is_empty() {
                return Err(RealtimeError::invalid(
                    "empty_answer",
                    "a typed answer needs some text",
                    Some("item.content"),
                ));
            }
            if text.chars().count() > MAX_ANSWER_CHARS {
                return Err(RealtimeError::invalid(
                    "answer_too_long",
                    &format!("a typed answer holds at most {MAX_ANSWER_CHARS} characters"),
                    Some("item.content"),
                ));
            }
            ctx.tell(ToClient::Typed(text.clone())).await;
            if !ctx.handle.answer_text(ctx.conn_id, text).await {
                return Ok(ctx.stopped());
            }
        }
        ClientEvent::ItemTruncate { item_id, .. } => {
            let current = ctx
                .shared
                .response_item
                .lock()
                .expect("not poisoned")
                .clone();
            if current.as_deref() != Some(item_id.as_str()) {
                return Err(RealtimeError::invalid(
                    "item_not_truncatable",
                    "only the interviewer's turn being spoken can be truncated; Viva keeps what it played of the others",
                    Some("item_id"),
                ));
            }
            // As a barge-in: the interviewer stops, the turn keeps what was heard, and
            // `conversation.item.truncated` says how much.
            return stop_speaking(ctx).await;
        }
        ClientEvent::ResponseCancel { .. } | ClientEvent::OutputAudioClear => {
            return stop_speaking(ctx).await;
        }
        // The interviewer answers every answer on its own: a request for a response is taken
        // as said, and its `instructions` (the client's) are not.
        ClientEvent::ResponseCreate { .. } => {}
        ClientEvent::ItemDelete { .. } => {
            return Err(RealtimeError::invalid(
                "unsupported_event",
                "an interview's conversation cannot be edited",
                Some("type"),
            ))
        }
        ClientEvent::ItemRetrieve { .. } => {
            return Err(RealtimeError::invalid(
                "unsupported_event",
                "items cannot be retrieved: the transcript is the events already sent",
                Some("type"),
            ))
        }
    }
    Ok(Next::Go)
}

async fn stop_speaking(ctx: &Ctx) -> Result<Next, RealtimeError> {
    let cmd = Command::StopSpeaking {
        conn_id: ctx.conn_id,
    };
    if !ctx.handle.realtime(cmd).await {
        return Ok(ctx.stopped());
    }
    Ok(Next::Go)
}

/// Decodes an append and hands its whole 20 ms frames to the interview, never waiting: at a
/// full mailbox they are dropped, and the next ones say how many (heard as silence).
fn append(ctx: &Ctx, input: &mut Input, audio_b64: &str) -> Result<Next, RealtimeError> {
    let before = input.pending.len();
    input.pcm.push(audio_b64, &mut input.pending)?;
    let added_ms = (input.pending.len() - before) as f64 / 16.0;
    if !input.audio.take_n(added_ms) {
        return Ok(Next::Stop(Stop::Refuse((
            close::POLICY,
            "audio faster than real time",
        ))));
    }
    ctx.shared
        .input_samples
        .fetch_add((input.pending.len() - before) as u64, Ordering::Relaxed);
    let whole = input.pending.len() / LISTEN_FRAME * LISTEN_FRAME;
    if whole == 0 {
        return Ok(Next::Go);
    }
    let frames: Box<[i16]> = input.pending.drain(..whole).collect();
    let n = (whole / LISTEN_FRAME) as u32;
    match ctx.handle.pcm(ctx.conn_id, frames, input.lost) {
        Ok(()) => input.lost = 0,
        Err(AudioRejected::Full) => {
            input.lost = input.lost.saturating_add(n);
            for _ in 0..n {
                let total = ctx.stats.count_dropped_frame();
                if total.is_power_of_two() {
                    tracing::warn!(interview = %ctx.handle.id, total, "interview mailbox full; audio frames dropped");
                }
            }
        }
        Err(AudioRejected::Stopped) => return Ok(ctx.stopped()),
    }
    Ok(Next::Go)
}
