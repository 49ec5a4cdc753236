//! One virtual candidate on the OpenAI Realtime endpoint (`--protocol realtime`): a voice app
//! that streams its microphone as `input_audio_buffer.append` events (24 kHz PCM16, 20 ms each,
//! speech when answering and silence otherwise), plays the interviewer's
//! `response.output_audio.delta`s and answers after each `response.done` — measured like the
//! native candidate, so the two protocols' figures stand side by side.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::session::{Plan, Track};
use crate::stats::{ErrorKind, Recorder};

const FRAME: Duration = Duration::from_millis(20);

/// The answer as the appends a Realtime app sends, and one append of silence.
pub struct Appends {
    pub speech: Vec<String>,
    pub silence: String,
}

impl Appends {
    /// From the answer's 48 kHz speech (`audio::answer_pcm`).
    pub fn new(pcm48: &[i16]) -> Self {
        let mut pcm24 = Vec::new();
        viva::audio::resample::Resampler::new(48_000, 24_000).process(pcm48, &mut pcm24);
        let append = |chunk: &[i16]| {
            let bytes: Vec<u8> = chunk.iter().flat_map(|s| s.to_le_bytes()).collect();
            let audio = base64::engine::general_purpose::STANDARD.encode(bytes);
            serde_json::json!({"type": "input_audio_buffer.append", "audio": audio}).to_string()
        };
        Self {
            speech: pcm24.chunks(480).map(append).collect(),
            silence: append(&[0; 480]),
        }
    }
}

/// Runs one Realtime session to the end of its answers. (Reconnects are the native client's:
/// a Realtime client cannot resume with a secret, see docs/realtime.md.)
pub async fn run(plan: Plan, appends: Arc<Appends>, rec: Recorder, deadline: Instant) {
    let started = Instant::now();
    match session(&plan, &appends, &rec, deadline, started).await {
        Ok(answered) => rec.completed(answered),
        Err(kind) => rec.error(kind),
    }
}

async fn session(
    plan: &Plan,
    appends: &Appends,
    rec: &Recorder,
    deadline: Instant,
    started: Instant,
) -> Result<u32, ErrorKind> {
    let connecting = Instant::now();
    let mut req = plan
        .ws_url
        .as_str()
        .into_client_request()
        .map_err(|_| ErrorKind::Connect)?;
    let bearer = format!("Bearer {}", plan.invite.candidate_token);
    req.headers_mut()
        .insert("Authorization", bearer.parse().expect("header value"));
    let ws = match tokio::time::timeout_at(deadline, tokio_tungstenite::connect_async(req)).await {
        Ok(Ok((ws, _))) => ws,
        _ => return Err(ErrorKind::Connect),
    };
    rec.connect(connecting.elapsed());
    let (mut sink, mut stream) = ws.split();
    let update = serde_json::json!({"type": "session.update", "session": {"type": "realtime",
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000},
                            "turn_detection": {"type": "server_vad"}}}}});
    sink.send(Message::text(update.to_string()))
        .await
        .map_err(|_| ErrorKind::Disconnected)?;

    let mut answered = 0u32;
    let mut first_audio = true;
    let mut mic: VecDeque<&String> = VecDeque::new();
    let mut tick = tokio::time::interval(FRAME);
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut speech_end: Option<Instant> = None;
    // The response being played: its playout starts with its first audio (its text may come
    // earlier), as the native client's starts at `audio_start`.
    let mut playing = false;
    let mut track: Option<Track> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let append = match mic.pop_front() {
                    Some(a) => {
                        if mic.is_empty() {
                            speech_end = Some(Instant::now());
                        }
                        a
                    }
                    None => &appends.silence,
                };
                if sink.send(Message::text(append.as_str())).await.is_err() {
                    return Err(ErrorKind::Disconnected);
                }
            }
            msg = stream.next() => {
                let now = Instant::now();
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(frame))) => {
                        return match frame.map(|f| u16::from(f.code)) {
                            // The interview ended after the last answer.
                            Some(1000) if answered >= plan.turns => Ok(answered),
                            Some(c) => Err(ErrorKind::Closed(c)),
                            None => Err(ErrorKind::Disconnected),
                        };
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return Err(ErrorKind::Disconnected),
                };
                let event: serde_json::Value =
                    serde_json::from_str(&text).map_err(|_| ErrorKind::Protocol)?;
                match event["type"].as_str().unwrap_or("") {
                    "response.created" => {
                        playing = true;
                        track = None;
                    }
                    "response.output_audio.delta" => {
                        if !playing {
                            continue;
                        }
                        let t = track.get_or_insert_with(|| Track::new(now));
                        if t.frames == 0 {
                            if std::mem::take(&mut first_audio) {
                                rec.first_audio(now - started);
                            }
                            if let Some(end) = speech_end.take() {
                                rec.turn(now - end);
                            }
                        }
                        if t.frame(now) {
                            rec.underrun();
                        }
                        // Barge in half a second into the question.
                        if t.frames == 25 && mic.is_empty() && answered < plan.turns
                            && plan.barge_in.get(answered as usize).copied().unwrap_or(false)
                        {
                            answered += 1;
                            mic.extend(appends.speech.iter());
                        }
                    }
                    "response.done" => {
                        playing = false;
                        track = None;
                        let timings = &event["response"]["viva"]["timings"];
                        if let Some(ms) = timings["server_ms"].as_u64() {
                            rec.server_added(Duration::from_millis(ms));
                        }
                        if let Some(ms) = timings["commit_ms"].as_u64() {
                            rec.commit(Duration::from_millis(ms));
                        }
                        if event["response"]["status"] == "cancelled" {
                            continue;
                        }
                        if answered < plan.turns {
                            answered += 1;
                            mic.extend(appends.speech.iter());
                        } else if mic.is_empty() && speech_end.is_none() {
                            // Every answer has had its reply: the app hangs up.
                            let _ = sink.send(Message::Close(None)).await;
                            return Ok(answered);
                        }
                    }
                    "error" => {
                        if event["error"]["type"] == "server_error" {
                            rec.error(ErrorKind::ServerError);
                        } else {
                            return Err(ErrorKind::Protocol);
                        }
                    }
                    _ => {}
                }
            }
            _ = tokio::time::sleep_until(deadline) => return Err(ErrorKind::Timeout),
        }
    }
}
