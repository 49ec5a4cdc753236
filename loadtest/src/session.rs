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
    /// Reconnects allowed (after 1012, 1013 or a dropped connection), resuming each time.
    pub reconnects: u32,
}

/// Playout check of one interviewer turn.
pub(crate) struct Track {
    /// When frame 0 plays.
    start: Instant,
    pub(crate) frames: u32,
}

impl Track {
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            start: now + JITTER,
            frames: 0,
        }
    }

    /// Returns true on an underrun (the frame missed its slot); playout then continues from now.
    pub(crate) fn frame(&mut self, now: Instant) -> bool {
        let due = self.start + FRAME * self.frames;
        let late = now > due;
        if late {
            self.start = now + JITTER - FRAME * self.frames;
        }
        self.frames += 1;
        late
    }
}

/// Why one connection of a session ended.
enum End {
    /// The interview ended after the last answer (or the session finished): done.
    Done,
    Failed(ErrorKind),
}

impl ErrorKind {
    /// Closes a client reconnects after (docs/protocol.md): a node restarting or draining
    /// (1012), another node driving the interview for now (1013), a dropped connection, or a
    /// node that could not be reached.
    fn resumable(self) -> bool {
        matches!(
            self,
            ErrorKind::Closed(1001 | 1006 | 1011 | 1012 | 1013)
                | ErrorKind::Disconnected
                | ErrorKind::Connect
        )
    }
}

/// What a session carries from one connection to the next.
#[derive(Default)]
struct Resume {
    /// The last event's `seq`, and the resume secret of the last `ready`.
    last_seq: Option<u64>,
    secret: Option<String>,
    /// Answers given (spoken) so far.
    answered: u32,
    /// Final transcripts received: answers the server committed.
    committed: u32,
    first_audio: bool,
    ending: bool,
    /// When the last connection was lost (for the resume time).
    lost_at: Option<Instant>,
}

pub async fn run(
    plan: Plan,
    speech: Arc<Vec<Bytes>>,
    silence: Bytes,
    rec: Recorder,
    deadline: Instant,
) {
    let started = Instant::now();
    let mut st = Resume {
        first_audio: true,
        ..Resume::default()
    };
    let mut left = plan.reconnects;
    let mut backoff = Duration::from_millis(250);
    loop {
        let end = connection(&plan, &speech, &silence, &rec, deadline, started, &mut st).await;
        match end {
            End::Done => {
                rec.completed(st.answered);
                break;
            }
            End::Failed(kind) if kind.resumable() && left > 0 && Instant::now() < deadline => {
                left -= 1;
                rec.reconnect();
                st.lost_at.get_or_insert_with(Instant::now);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            End::Failed(kind) => {
                rec.error(kind);
                break;
            }
        }
    }
    if plan.reconnects > 0 {
        rec.committed(plan.invite.interview_id, st.committed);
    }
}

/// One connection: hello (resuming after `st.last_seq` with `st.secret`), then the interview
/// until it ends or the connection does.
async fn connection(
    plan: &Plan,
    speech: &Arc<Vec<Bytes>>,
    silence: &Bytes,
    rec: &Recorder,
    deadline: Instant,
    started: Instant,
    st: &mut Resume,
) -> End {
    let connecting = Instant::now();
    let mut req = match plan.ws_url.as_str().into_client_request() {
        Ok(r) => r,
        Err(_) => return End::Failed(ErrorKind::Connect),
    };
    let protocols = format!("viva.v1, bearer.{}", plan.invite.candidate_token);
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        protocols.parse().expect("header value"),
    );
    let ws = match tokio::time::timeout_at(deadline, tokio_tungstenite::connect_async(req)).await {
        Ok(Ok((ws, _))) => ws,
        _ => return End::Failed(ErrorKind::Connect),
    };
    if st.last_seq.is_none() {
        rec.connect(connecting.elapsed());
    }
    let (mut sink, mut stream) = ws.split();
    let hello = serde_json::json!({
        "type": "hello", "protocol": 1,
        "resume_from": st.last_seq, "resume_secret": st.secret,
        "audio": {"codec": "opus", "sample_rate": 48000, "channels": 1, "frame_ms": 20},
    });
    if sink.send(Message::text(hello.to_string())).await.is_err() {
        return End::Failed(ErrorKind::Disconnected);
    }

    let mut mic: VecDeque<Bytes> = VecDeque::new();
    let mut tick = tokio::time::interval(FRAME);
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut speech_end: Option<Instant> = None;
    let mut track: Option<Track> = None;
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
                    return End::Failed(ErrorKind::Disconnected);
                }
            }
            msg = stream.next() => {
                let now = Instant::now();
                match msg {
                    Some(Ok(Message::Binary(_))) => {
                        let Some(t) = track.as_mut() else { continue };
                        if t.frames == 0 {
                            if std::mem::take(&mut st.first_audio) {
                                rec.first_audio(now - started);
                            }
                            if let Some(lost) = st.lost_at.take() {
                                rec.resume(now - lost);
                            }
                            if let Some(end) = speech_end.take() {
                                rec.turn(now - end);
                            }
                        }
                        if t.frame(now) {
                            rec.underrun();
                        }
                        // Barge in half a second into the question.
                        if t.frames == 25 && mic.is_empty() && st.answered < plan.turns
                            && plan.barge_in.get(st.answered as usize).copied().unwrap_or(false)
                        {
                            st.answered += 1;
                            mic.extend(speech.iter().cloned());
                        }
                    }
                    Some(Ok(Message::Text(t))) => match serde_json::from_str::<ServerMessage>(&t) {
                        Ok(ServerMessage::Event(e)) => {
                            st.last_seq = Some(e.seq);
                            match e.event {
                                Event::AudioStart { .. } => track = Some(Track::new(now)),
                                Event::AudioInterrupted { .. } => track = None,
                                Event::AudioEnd { .. } => {
                                    track = None;
                                    if st.answered < plan.turns {
                                        st.answered += 1;
                                        mic.extend(speech.iter().cloned());
                                    } else if mic.is_empty() && speech_end.is_none() && !st.ending {
                                        // Every answer has had its reply: done.
                                        st.ending = true;
                                        let end = serde_json::json!({"type": "control", "action": "end"});
                                        if sink.send(Message::text(end.to_string())).await.is_err() {
                                            return End::Failed(ErrorKind::Disconnected);
                                        }
                                    }
                                }
                                Event::Transcript { is_final: true, .. } => st.committed += 1,
                                Event::TurnMetrics { timings, .. } => {
                                    rec.server_added(Duration::from_millis(timings.server_ms));
                                    rec.commit(Duration::from_millis(timings.commit_ms));
                                }
                                Event::Error { fatal: true, .. } => rec.error(ErrorKind::ServerError),
                                // The interviewer closed the interview after the last answer.
                                Event::Ended { .. } => st.ending = true,
                                _ => {}
                            }
                        }
                        Ok(ServerMessage::Connection(ConnectionMessage::Ready { resume_secret, .. })) => {
                            st.secret = resume_secret.or(st.secret.take());
                        }
                        Ok(ServerMessage::Connection(ConnectionMessage::Resync { snapshot })) => {
                            st.last_seq = Some(snapshot.last_seq);
                        }
                        // Only monitors steer.
                        Ok(ServerMessage::Connection(ConnectionMessage::Steered { .. })) => {
                            return End::Failed(ErrorKind::Protocol)
                        }
                        Err(_) => return End::Failed(ErrorKind::Protocol),
                    },
                    Some(Ok(Message::Close(frame))) => {
                        let code = frame.map(|f| u16::from(f.code));
                        return match code {
                            Some(4010) if st.ending => End::Done,
                            Some(c) => End::Failed(ErrorKind::Closed(c)),
                            None => End::Failed(ErrorKind::Disconnected),
                        };
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return End::Failed(ErrorKind::Disconnected),
                }
            }
            _ = tokio::time::sleep_until(deadline) => return End::Failed(ErrorKind::Timeout),
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
