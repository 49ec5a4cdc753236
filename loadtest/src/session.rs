//! One virtual candidate: a real WebSocket, a microphone that always streams one Opus packet per
//! 20 ms (speech when answering, silence otherwise), and a player that checks the interviewer's
//! audio arrives in time.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use viva::protocol::{ConnectionMessage, Event, ServerMessage};

use crate::stats::{ErrorKind, Recorder};
use crate::Invite;

/// The simulated client's jitter buffer: a frame later than this behind its slot is a gap.
pub const JITTER: Duration = Duration::from_millis(60);
const FRAME: Duration = Duration::from_millis(20);

/// What this candidate does.
#[derive(Debug, Clone)]
pub struct Plan {
    pub invite: Invite,
    pub ws_url: String,
    pub monitor_url: String,
    /// Answers to give (each followed by the interviewer's reply).
    pub turns: u32,
    /// For each answer: barge in on the question instead of waiting for it to finish.
    pub barge_in: Vec<bool>,
}

/// Playout check of one interviewer turn.
struct Track {
    /// When frame 0 plays.
    start: Instant,
    frames: u32,
}

impl Track {
    fn new(now: Instant) -> Self {
        Self {
            start: now + JITTER,
            frames: 0,
        }
    }

    /// Returns true on an underrun (the frame missed its slot); playout then continues from now.
    fn frame(&mut self, now: Instant) -> bool {
        let due = self.start + FRAME * self.frames;
        let late = now > due;
        if late {
            self.start = now + JITTER - FRAME * self.frames;
        }
        self.frames += 1;
        late
    }
}

pub async fn run(
    plan: Plan,
    speech: Arc<Vec<Bytes>>,
    silence: Bytes,
    rec: Recorder,
    deadline: Instant,
) {
    let started = Instant::now();
    let mut req = match plan.ws_url.as_str().into_client_request() {
        Ok(r) => r,
        Err(_) => return rec.error(ErrorKind::Connect),
    };
    let protocols = format!("viva.v1, bearer.{}", plan.invite.candidate_token);
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        protocols.parse().expect("header value"),
    );
    let ws = match tokio::time::timeout_at(deadline, tokio_tungstenite::connect_async(req)).await {
        Ok(Ok((ws, _))) => ws,
        _ => return rec.error(ErrorKind::Connect),
    };
    rec.connect(started.elapsed());
    let (mut sink, mut stream) = ws.split();
    let hello = serde_json::json!({
        "type": "hello", "protocol": 1, "resume_from": null,
        "audio": {"codec": "opus", "sample_rate": 48000, "channels": 1, "frame_ms": 20},
    });
    if sink.send(Message::text(hello.to_string())).await.is_err() {
        return rec.error(ErrorKind::Disconnected);
    }

    let mut mic: VecDeque<Bytes> = VecDeque::new();
    let mut tick = tokio::time::interval(FRAME);
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut answered = 0u32;
    let mut speech_end: Option<Instant> = None;
    let mut track: Option<Track> = None;
    let mut first_audio = true;
    let mut ending = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let packet = match mic.pop_front() {
                    Some(p) => {
                        if mic.is_empty() {
                            speech_end = Some(Instant::now());
                        }
                        p
                    }
                    None => silence.clone(),
                };
                if sink.send(Message::binary(packet)).await.is_err() {
                    return rec.error(ErrorKind::Disconnected);
                }
            }
            msg = stream.next() => {
                let now = Instant::now();
                match msg {
                    Some(Ok(Message::Binary(_))) => {
                        let Some(t) = track.as_mut() else { continue };
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
                            mic.extend(speech.iter().cloned());
                        }
                    }
                    Some(Ok(Message::Text(t))) => match serde_json::from_str::<ServerMessage>(&t) {
                        Ok(ServerMessage::Event(e)) => match e.event {
                            Event::AudioStart { .. } => track = Some(Track::new(now)),
                            Event::AudioInterrupted { .. } => track = None,
                            Event::AudioEnd { .. } => {
                                track = None;
                                if answered < plan.turns {
                                    answered += 1;
                                    mic.extend(speech.iter().cloned());
                                } else if mic.is_empty() && speech_end.is_none() && !ending {
                                    // Every answer has had its reply: done.
                                    ending = true;
                                    let end = serde_json::json!({"type": "control", "action": "end"});
                                    if sink.send(Message::text(end.to_string())).await.is_err() {
                                        return rec.error(ErrorKind::Disconnected);
                                    }
                                }
                            }
                            Event::TurnMetrics { timings, .. } => {
                                rec.server_added(Duration::from_millis(timings.server_ms));
                                rec.commit(Duration::from_millis(timings.commit_ms));
                            }
                            Event::Error { fatal: true, .. } => rec.error(ErrorKind::ServerError),
                            // The interviewer closed the interview after the last answer.
                            Event::Ended { .. } => ending = true,
                            _ => {}
                        },
                        Ok(ServerMessage::Connection(ConnectionMessage::Ready { .. })) => {}
                        Ok(ServerMessage::Connection(ConnectionMessage::Resync { .. })) => {}
                        // Only monitors steer.
                        Ok(ServerMessage::Connection(ConnectionMessage::Steered { .. })) => {
                            return rec.error(ErrorKind::Protocol)
                        }
                        Err(_) => return rec.error(ErrorKind::Protocol),
                    },
                    Some(Ok(Message::Close(frame))) => {
                        let code = frame.map(|f| u16::from(f.code));
                        return match code {
                            Some(4010) if ending => rec.completed(answered),
                            Some(c) => rec.error(ErrorKind::Closed(c)),
                            None => rec.error(ErrorKind::Disconnected),
                        };
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return rec.error(ErrorKind::Disconnected),
                }
            }
            _ = tokio::time::sleep_until(deadline) => return rec.error(ErrorKind::Timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn frames_later_than_their_slot_are_underruns() {
        let t0 = Instant::now();
        let mut t = Track::new(t0);
        // Ten frames arriving at once (sent ahead), then on time.
        for _ in 0..10 {
            assert!(!t.frame(t0));
        }
        assert!(!t.frame(t0 + Duration::from_millis(200)));
        // Frame 11 is due at 60 + 220 ms; arriving at 400 ms is a gap.
        assert!(t.frame(t0 + Duration::from_millis(400)));
        // Playout continued from then: the next frame on its new slot is fine.
        assert!(!t.frame(t0 + Duration::from_millis(420)));
    }
}
