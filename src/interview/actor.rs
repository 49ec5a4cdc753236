//! The interview actor: owns one live conversation. Never touches a socket (it hands
//! [`Outbound`] messages to the attached connection's writer) and never blocks on a provider
//! (pipelines and STT run as tasks that report back through `internal`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::conversation::{heard_text, Conversation};
use super::events::{EventLog, Replay};
use super::handle::{AttachError, Command, Connection, Outbound};
use super::listen::{Ear, Hearing};
use super::speak::{self, Playback, Source, SpeakMsg};
use super::{is_open_question, Deps, Registry};
use crate::protocol::{
    close, ConnectionMessage, ControlAction, Event, InterviewState, Speaker, TurnTimings,
};
use crate::providers::{ProviderResult, SttResult, TurnKind};
use crate::store::{
    Checkpoint, InterviewStatus, ProviderNames, StoredEvent, TurnRecord, CHECKPOINT_VERSION,
};

const PROMPT_TEXT: &str = "Take your time, there is no rush. When you are ready, go ahead, \
                           or ask me to repeat the question.";
const NOT_CAUGHT_TEXT: &str = "Sorry, I did not catch that. Could you say it again?";
const WELCOME_BACK_TEXT: &str = "Welcome back. Please go on with your answer.";
const MAX_PROMPTS: u32 = 2;

enum Internal {
    Speak(u64, SpeakMsg),
    Stt {
        utterance: u64,
        result: ProviderResult<SttResult>,
        stt_ms: u64,
    },
}

/// A candidate utterance whose transcript is being finalised.
struct PendingAnswer {
    started_at: DateTime<Utc>,
    ended_at: DateTime<Utc>,
    audio_ms: u32,
    turn: Option<u32>,
}

/// The interviewer turn being produced and played.
struct Speaking {
    playback: Playback,
    kind: TurnKind,
    /// Whether the turn is stored when done (a repeat is not).
    store: bool,
    gen: u64,
    pipeline: Option<AbortHandle>,
    started_at: DateTime<Utc>,
    text_sent: bool,
    timings: Option<ReplyTimings>,
}

/// Latency bookkeeping of a reply to the candidate.
struct ReplyTimings {
    turn_end: Instant,
    t: TurnTimings,
}

/// Loads an interview and runs its actor until it ends, expires or the server shuts down.
pub async fn run(
    id: Uuid,
    instance: u64,
    mut rx: mpsc::Receiver<Command>,
    registry: Registry,
    cancel: CancellationToken,
) {
    let deps = registry.deps().clone();
    match Actor::load(id, deps, cancel).await {
        Ok(actor) => actor.run(&mut rx).await,
        Err(e) => {
            rx.close();
            while let Ok(cmd) = rx.try_recv() {
                if let Command::Attach { reply, .. } = cmd {
                    let _ = reply.send(Err(e));
                }
            }
        }
    }
    rx.close();
    // Anything that raced in is told the actor stopped; the caller spawns a fresh one.
    while let Ok(cmd) = rx.try_recv() {
        if let Command::Attach { reply, .. } = cmd {
            let _ = reply.send(Err(AttachError::Stopped));
        }
    }
    registry.remove(id, instance);
}

struct Actor {
    id: Uuid,
    deps: Arc<Deps>,
    cancel: CancellationToken,
    internal_tx: mpsc::Sender<Internal>,
    internal_rx: mpsc::Receiver<Internal>,
    conn: Option<Connection>,
    log: EventLog,
    conv: Conversation,
    state: InterviewState,
    started: bool,
    ended: bool,
    ear: Ear,
    partials: Option<mpsc::Receiver<String>>,
    /// Turn number of the utterance in progress, once a partial has named it.
    utterance_turn: Option<u32>,
    utterance_started: Option<DateTime<Utc>>,
    next_utterance: u64,
    pending: BTreeMap<u64, PendingAnswer>,
    results: BTreeMap<u64, (ProviderResult<SttResult>, u64)>,
    next_commit: u64,
    speaking: Option<Speaking>,
    gen: u64,
    last_reply: Option<Playback>,
    reply_timings: Option<ReplyTimings>,
    grace_until: Option<Instant>,
    end_silence_ms: u32,
    silence_ms: u32,
    prompts: u32,
    welcome_back: bool,
    unsaved: Vec<TurnRecord>,
}

impl Actor {
    async fn load(
        id: Uuid,
        deps: Arc<Deps>,
        cancel: CancellationToken,
    ) -> Result<Self, AttachError> {
        let internal = |e: crate::store::StoreError| {
            tracing::error!(interview = %id, error = %e, "cannot load interview");
            AttachError::Internal
        };
        let interview = deps
            .store
            .get_interview(id)
            .await
            .map_err(internal)?
            .ok_or(AttachError::NotFound)?;
        if interview.status.is_finished() {
            return Err(AttachError::Ended);
        }
        let turns = deps.store.turns(id).await.map_err(internal)?;
        let checkpoint = match deps.hot.load_checkpoint(id).await {
            Ok(cp) => cp.filter(|c| c.v == CHECKPOINT_VERSION),
            Err(e) => {
                tracing::warn!(interview = %id, error = %e, "hot checkpoint unavailable; using durable state");
                None
            }
        };
        let stored_seq = deps.store.max_event_seq(id).await.map_err(internal)?;
        let next_seq = checkpoint
            .as_ref()
            .map_or(1, |c| c.next_seq)
            .max(stored_seq + 1);
        let window = deps.cfg.replay_window;
        let history = deps
            .store
            .events_after(id, 0, window as u32)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|e| (e.seq, e.body))
            .collect();
        let next_turn = checkpoint.as_ref().map_or(0, |c| c.next_turn);
        let ear = Ear::new(deps.cfg.vad_aggressiveness, deps.cfg.endpoint).map_err(|e| {
            tracing::error!(error = %e, "cannot create Opus decoder");
            AttachError::Internal
        })?;
        let (internal_tx, internal_rx) = mpsc::channel(256);
        let end_silence_ms = deps.cfg.end_silence_ms;
        Ok(Self {
            id,
            log: EventLog::new(next_seq, history, window),
            conv: Conversation::new(interview, turns, next_turn),
            deps,
            cancel,
            internal_tx,
            internal_rx,
            conn: None,
            state: InterviewState::Thinking,
            started: false,
            ended: false,
            ear,
            partials: None,
            utterance_turn: None,
            utterance_started: None,
            next_utterance: 0,
            pending: BTreeMap::new(),
            results: BTreeMap::new(),
            next_commit: 0,
            speaking: None,
            gen: 0,
            last_reply: None,
            reply_timings: None,
            grace_until: None,
            end_silence_ms,
            silence_ms: 0,
            prompts: 0,
            welcome_back: false,
            unsaved: Vec::new(),
        })
    }

    async fn run(mut self, rx: &mut mpsc::Receiver<Command>) {
        loop {
            let wake = self.wake_at();
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => {
                    self.stop(close::SERVICE_RESTART, "server restarting; reconnect to resume").await;
                    return;
                }
                Some(msg) = self.internal_rx.recv() => self.on_internal(msg).await,
                partial = recv_opt(&mut self.partials) => match partial {
                    Some(text) => self.on_partial(text),
                    None => self.partials = None,
                },
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd).await,
                    None => { self.stop(close::SERVICE_RESTART, "interview unloaded").await; return; }
                },
                _ = sleep_until_opt(wake) => {}
            }
            self.pump().await;
            if self.ended {
                self.checkpoint().await;
                return;
            }
            if self.grace_until.is_some_and(|g| Instant::now() >= g) {
                tracing::info!(interview = %self.id, "grace period over; unloading");
                self.stop(close::SERVICE_RESTART, "interview unloaded")
                    .await;
                return;
            }
        }
    }

    fn wake_at(&self) -> Option<Instant> {
        let playback = self
            .speaking
            .as_ref()
            .filter(|_| self.conn.is_some())
            .and_then(|s| s.playback.wake_at(self.deps.cfg.playout_lead));
        match (playback, self.grace_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ---- events and connection -------------------------------------------------------------

    /// Logs an event, sends it to the connection and queues its durable copy.
    fn emit(&mut self, event: Event) {
        let (seq, json) = self.log.append(event);
        self.deps.events.append(StoredEvent {
            interview_id: self.id,
            seq,
            body: json.to_string(),
        });
        self.send(Outbound::Text(json));
    }

    fn send(&mut self, msg: Outbound) {
        let Some(conn) = &self.conn else { return };
        if conn.tx.try_send(msg).is_err() {
            tracing::warn!(interview = %self.id, conn = conn.id, "client not reading; disconnecting");
            let conn = self.conn.take().expect("checked");
            let _ = conn
                .tx
                .try_send(Outbound::Close(close::POLICY, "client not reading"));
            self.detached();
        }
    }

    fn set_state(&mut self, state: InterviewState) {
        if self.state != state {
            self.state = state;
            self.emit(Event::State { state });
        }
    }

    async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Attach {
                conn,
                resume_from,
                reply,
            } => {
                let _ = reply.send(self.attach(conn, resume_from).await);
            }
            Command::Detach { conn_id } => {
                if self.conn.as_ref().is_some_and(|c| c.id == conn_id) {
                    self.conn = None;
                    self.detached();
                }
            }
            Command::Audio { conn_id, packet } => {
                if self.conn.as_ref().is_some_and(|c| c.id == conn_id) && !self.ended {
                    self.on_audio(&packet).await;
                }
            }
            Command::AnswerText { conn_id, text } => {
                if self.conn.as_ref().is_some_and(|c| c.id == conn_id) && !self.ended {
                    self.on_text_answer(text).await;
                }
            }
            Command::Control { conn_id, action } => {
                if self.conn.as_ref().is_some_and(|c| c.id == conn_id) && !self.ended {
                    match action {
                        ControlAction::End => self.end("candidate_ended").await,
                        ControlAction::Repeat => self.repeat(),
                    }
                }
            }
            Command::Snapshot { reply } => {
                let _ = reply.send(self.conv.snapshot(self.state, self.log.last_seq()));
            }
        }
    }

    async fn attach(
        &mut self,
        conn: Connection,
        resume_from: Option<u64>,
    ) -> Result<(), AttachError> {
        if self.ended {
            return Err(AttachError::Ended);
        }
        if let Some(old) = self.conn.take() {
            let _ = old.tx.try_send(Outbound::Close(
                close::REPLACED,
                "replaced by a newer connection",
            ));
        }
        let resumed = self.started || !self.conv.turns.is_empty();
        let ready = ConnectionMessage::Ready {
            interview_id: self.id,
            resumed,
            state: self.state,
            last_seq: self.log.last_seq(),
        };
        let mut batch = vec![to_json(&ready)];
        if let Some(after) = resume_from {
            match self.log.replay_after(after) {
                Replay::Events(events) => batch.extend(events),
                Replay::Resync => batch.push(to_json(&ConnectionMessage::Resync {
                    snapshot: self.conv.snapshot(self.state, self.log.last_seq()),
                })),
            }
        }
        conn.tx
            .try_send(Outbound::Batch(batch))
            .map_err(|_| AttachError::Stopped)?;
        self.conn = Some(conn);
        self.grace_until = None;
        if !self.started {
            self.start_conversation().await;
        } else if let Some(s) = &mut self.speaking {
            // This connection has not heard the turn in progress: play it from the start.
            s.playback.restart();
        } else if std::mem::take(&mut self.welcome_back) {
            self.begin_reply(
                Source::Fixed(WELCOME_BACK_TEXT.into()),
                TurnKind::Notice,
                true,
            );
        }
        Ok(())
    }

    fn detached(&mut self) {
        self.grace_until = Some(Instant::now() + self.deps.cfg.grace);
        // An answer cut off by the drop is committed as said so far; the candidate is invited
        // to go on when they are back.
        if let Some(stt) = self.ear.cut() {
            self.welcome_back = true;
            self.finish_utterance(stt, 0);
        }
    }

    async fn start_conversation(&mut self) {
        self.started = true;
        if self.conv.interview.status == InterviewStatus::Scheduled {
            let p = &self.deps.providers;
            let names = ProviderNames {
                stt: p.stt.name().to_owned(),
                llm: p.llm.name().to_owned(),
                tts: p.tts.name().to_owned(),
            };
            if let Err(e) = self
                .deps
                .store
                .set_status(self.id, InterviewStatus::InProgress, Some(&names))
                .await
            {
                tracing::warn!(interview = %self.id, error = %e, "cannot mark interview started");
            }
            self.conv.interview.status = InterviewStatus::InProgress;
        }
        if self.conv.awaiting_answer() {
            // Restored after the question was asked but before an answer was committed.
            let q = self
                .conv
                .last_question()
                .map(|t| t.text.clone())
                .unwrap_or_default();
            let text = format!(
                "Sorry, we were disconnected for a moment. Here is the question again. {q}"
            );
            self.begin_reply(Source::Fixed(text), TurnKind::Notice, true);
        } else {
            self.begin_reply(Source::Model(self.conv.context()), TurnKind::Question, true);
        }
    }

    // ---- listening ---------------------------------------------------------------------------

    async fn on_audio(&mut self, packet: &[u8]) {
        let stt = self.deps.providers.stt.clone();
        let mut partials_rx = None;
        let hearing = self.ear.hear(packet, self.end_silence_ms, || {
            let (tx, rx) = mpsc::channel(8);
            partials_rx = Some(rx);
            stt.start(tx)
        });
        match hearing {
            Hearing::Quiet => {
                if self.state == InterviewState::Listening && self.pending.is_empty() {
                    self.silence_ms += crate::protocol::FRAME_MS;
                    if self.silence_ms >= self.deps.cfg.silence_prompt_ms
                        && self.prompts < MAX_PROMPTS
                    {
                        self.prompts += 1;
                        self.silence_ms = 0;
                        self.begin_reply(Source::Fixed(PROMPT_TEXT.into()), TurnKind::Prompt, true);
                    }
                }
            }
            Hearing::Start => {
                self.partials = partials_rx;
                self.utterance_started = Some(Utc::now());
                self.utterance_turn = None;
                self.silence_ms = 0;
                // The candidate may interrupt the interviewer; the interviewer never interrupts.
                self.interrupt().await;
                self.set_state(InterviewState::Listening);
            }
            Hearing::Continue => {}
            Hearing::End {
                stt, utterance_ms, ..
            } => {
                let utterance_ms = utterance_ms.saturating_sub(self.end_silence_ms);
                self.finish_utterance(stt, utterance_ms);
                self.reply_timings = Some(ReplyTimings {
                    turn_end: Instant::now(),
                    t: TurnTimings {
                        endpoint_ms: u64::from(self.end_silence_ms),
                        ..Default::default()
                    },
                });
                self.set_state(InterviewState::Thinking);
            }
            Hearing::Noise => {
                self.partials = None;
                self.utterance_turn = None;
            }
        }
    }

    fn on_partial(&mut self, text: String) {
        let turn = match self.utterance_turn {
            Some(t) => t,
            None => {
                let t = self.conv.alloc_turn();
                self.utterance_turn = Some(t);
                t
            }
        };
        self.emit(Event::Transcript {
            turn,
            text,
            is_final: false,
        });
    }

    /// Hands a finished utterance to STT (as a task); answers commit in the order spoken.
    fn finish_utterance(&mut self, stt: Box<dyn crate::providers::SttSession>, audio_ms: u32) {
        let utterance = self.next_utterance;
        self.next_utterance += 1;
        self.partials = None;
        self.pending.insert(
            utterance,
            PendingAnswer {
                started_at: self.utterance_started.take().unwrap_or_else(Utc::now),
                ended_at: Utc::now(),
                audio_ms,
                turn: self.utterance_turn.take(),
            },
        );
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let result = stt.finish().await;
            let stt_ms = t0.elapsed().as_millis() as u64;
            let _ = tx
                .send(Internal::Stt {
                    utterance,
                    result,
                    stt_ms,
                })
                .await;
        });
    }

    async fn on_text_answer(&mut self, text: String) {
        let text = text.trim().to_owned();
        if text.is_empty() {
            return;
        }
        self.interrupt().await;
        let turn = self.conv.alloc_turn();
        let now = Utc::now();
        self.commit_answer(turn, text, true, 0, now, now).await;
        self.reply_timings = Some(ReplyTimings {
            turn_end: Instant::now(),
            t: TurnTimings::default(),
        });
        self.maybe_reply();
    }

    async fn commit_answer(
        &mut self,
        turn: u32,
        text: String,
        transcribed: bool,
        audio_ms: u32,
        started_at: DateTime<Utc>,
        ended_at: DateTime<Utc>,
    ) {
        let rec = TurnRecord {
            interview_id: self.id,
            seq: turn,
            speaker: Speaker::Candidate,
            kind: TurnKind::Answer,
            text: text.clone(),
            transcribed,
            interrupted: false,
            audio_ms,
            started_at,
            ended_at,
            timings: None,
        };
        let t0 = Instant::now();
        // Durable before its final transcript is sent and before the next question.
        self.persist(rec).await;
        if let Some(r) = &mut self.reply_timings {
            r.t.commit_ms = t0.elapsed().as_millis() as u64;
        }
        self.emit(Event::Transcript {
            turn,
            text,
            is_final: true,
        });
        self.prompts = 0;
        self.silence_ms = 0;
        self.checkpoint().await;
    }

    /// Starts the interviewer's reply once every answer is committed and nobody is speaking.
    fn maybe_reply(&mut self) {
        let idle = !self.ear.in_utterance() && self.pending.is_empty() && self.speaking.is_none();
        let answered = self
            .conv
            .turns
            .last()
            .is_some_and(|t| t.speaker == Speaker::Candidate);
        if idle && answered && !self.ended && !self.welcome_back {
            self.begin_reply(Source::Model(self.conv.context()), TurnKind::Question, true);
        }
    }

    // ---- speaking ------------------------------------------------------------------------------

    fn begin_reply(&mut self, source: Source, kind: TurnKind, store: bool) {
        self.gen += 1;
        let gen = self.gen;
        let turn = self.conv.alloc_turn();
        let (tx, mut rx) = mpsc::channel(64);
        let internal = self.internal_tx.clone();
        let deps = self.deps.speak.clone();
        let task = tokio::spawn(async move {
            let forward = async {
                while let Some((g, m)) = rx.recv().await {
                    if internal.send(Internal::Speak(g, m)).await.is_err() {
                        break;
                    }
                }
            };
            tokio::join!(speak::run(gen, source, deps, tx), forward);
        });
        let timings = if kind == TurnKind::Question {
            self.reply_timings.take()
        } else {
            None
        };
        self.speaking = Some(Speaking {
            playback: Playback::new(turn),
            kind,
            store,
            gen,
            pipeline: Some(task.abort_handle()),
            started_at: Utc::now(),
            text_sent: false,
            timings,
        });
        self.set_state(InterviewState::Thinking);
    }

    fn repeat(&mut self) {
        if self.speaking.is_some() || self.ear.in_utterance() || !self.pending.is_empty() {
            return;
        }
        let Some(last) = &self.last_reply else {
            // No audio kept (e.g. after a restore): speak the last question again, unstored.
            if let Some(q) = self.conv.last_question().map(|t| t.text.clone()) {
                self.begin_reply(Source::Fixed(q), TurnKind::Notice, false);
            }
            return;
        };
        let playback = Playback::replay(
            last.turn,
            last.text.clone(),
            last.frames.clone(),
            last.sentences.clone(),
        );
        let (turn, text) = (last.turn, last.text.clone());
        self.gen += 1;
        self.speaking = Some(Speaking {
            playback,
            kind: TurnKind::Question,
            store: false,
            gen: self.gen,
            pipeline: None,
            started_at: Utc::now(),
            text_sent: true,
            timings: None,
        });
        self.emit(Event::AgentText {
            turn,
            text,
            is_final: true,
        });
    }

    async fn on_internal(&mut self, msg: Internal) {
        match msg {
            Internal::Speak(gen, m) => self.on_speak(gen, m),
            Internal::Stt {
                utterance,
                result,
                stt_ms,
            } => {
                self.results.insert(utterance, (result, stt_ms));
                // Commit strictly in the order the candidate spoke.
                while let Some((result, stt_ms)) = self.results.remove(&self.next_commit) {
                    let p = self
                        .pending
                        .remove(&self.next_commit)
                        .expect("pending answer");
                    self.next_commit += 1;
                    if let Some(r) = &mut self.reply_timings {
                        r.t.stt_ms = stt_ms;
                    }
                    match result {
                        Ok(r) => {
                            let turn = p.turn.unwrap_or_else(|| self.conv.alloc_turn());
                            self.commit_answer(
                                turn,
                                r.text,
                                r.transcribed,
                                p.audio_ms,
                                p.started_at,
                                p.ended_at,
                            )
                            .await;
                        }
                        Err(e) => {
                            tracing::warn!(interview = %self.id, error = %e, "speech-to-text failed");
                            self.emit(Event::Error {
                                code: "stt_failed".into(),
                                message: "The answer could not be transcribed; the candidate is asked to repeat it.".into(),
                                fatal: false,
                            });
                            if self.speaking.is_none() {
                                self.begin_reply(
                                    Source::Fixed(NOT_CAUGHT_TEXT.into()),
                                    TurnKind::Notice,
                                    true,
                                );
                            }
                        }
                    }
                }
                self.maybe_reply();
            }
        }
    }

    fn on_speak(&mut self, gen: u64, m: SpeakMsg) {
        let Some(s) = self.speaking.as_mut().filter(|s| s.gen == gen) else {
            return;
        };
        let turn = s.playback.turn;
        match m {
            SpeakMsg::LlmFirstToken(d) => {
                if let Some(t) = &mut s.timings {
                    t.t.llm_first_token_ms = d.as_millis() as u64;
                }
            }
            SpeakMsg::TtsFirstAudio(d) => {
                if let Some(t) = &mut s.timings {
                    t.t.tts_first_audio_ms = d.as_millis() as u64;
                }
            }
            SpeakMsg::TextSentence(text) => {
                s.text_sent = true;
                self.emit(Event::AgentText {
                    turn,
                    text,
                    is_final: false,
                });
            }
            SpeakMsg::TextDone {
                text,
                end_interview,
            } => {
                s.playback.text = text.clone();
                s.playback.text_done = true;
                s.playback.end_interview = end_interview;
                if !text.is_empty() {
                    s.text_sent = true;
                    self.emit(Event::AgentText {
                        turn,
                        text,
                        is_final: true,
                    });
                }
            }
            SpeakMsg::Frames(frames) => s.playback.frames.extend(frames),
            SpeakMsg::SentenceDone { text, .. } => {
                let end = s.playback.frames.len();
                s.playback.sentences.push((text, end));
            }
            SpeakMsg::AudioDone => s.playback.audio_done = true,
            SpeakMsg::Failed { stage, error } => {
                tracing::warn!(interview = %self.id, stage, error = %error, "reply pipeline stage failed");
                let (code, message) = match stage {
                    "tts" => (
                        "tts_unavailable",
                        "Speech synthesis failed; the question is shown as text only.",
                    ),
                    _ => (
                        "llm_unavailable",
                        "The interviewer could not prepare a reply.",
                    ),
                };
                self.emit(Event::Error {
                    code: code.into(),
                    message: message.into(),
                    fatal: false,
                });
            }
        }
    }

    /// Sends due audio frames and finishes the turn once it has been played.
    async fn pump(&mut self) {
        if self.conn.is_none() {
            return;
        }
        let now = Instant::now();
        let lead = self.deps.cfg.playout_lead;
        let Some(s) = self.speaking.as_mut() else {
            return;
        };
        let starting = !s.playback.audio_started() && s.playback.next < s.playback.frames.len();
        let turn = s.playback.turn;
        if starting {
            let metrics = s.timings.take().map(|r| {
                let mut t = r.t;
                t.response_ms = r.turn_end.elapsed().as_millis() as u64;
                t.server_ms = t
                    .response_ms
                    .saturating_sub(t.stt_ms + t.llm_first_token_ms + t.tts_first_audio_ms);
                t
            });
            self.emit(Event::AudioStart { turn });
            self.set_state(InterviewState::Speaking);
            if let Some(timings) = metrics {
                self.emit(Event::TurnMetrics { turn, timings });
            }
        }
        let Some(s) = self.speaking.as_mut() else {
            return;
        };
        let frames: Vec<_> = s.playback.due(now, lead).to_vec();
        for f in frames {
            self.send(Outbound::Audio(f));
        }
        if self
            .speaking
            .as_ref()
            .is_some_and(|s| s.playback.finished(now))
        {
            self.finish_reply().await;
        }
    }

    async fn finish_reply(&mut self) {
        let Some(s) = self.speaking.take() else {
            return;
        };
        let pb = s.playback;
        if s.store && !pb.text.is_empty() {
            self.persist(TurnRecord {
                interview_id: self.id,
                seq: pb.turn,
                speaker: Speaker::Interviewer,
                kind: s.kind,
                text: pb.text.clone(),
                transcribed: true,
                interrupted: false,
                audio_ms: pb.audio_ms(),
                started_at: s.started_at,
                ended_at: Utc::now(),
                timings: None,
            })
            .await;
        }
        if pb.audio_started() {
            self.emit(Event::AudioEnd { turn: pb.turn });
        }
        if s.kind == TurnKind::Question {
            self.end_silence_ms = if is_open_question(&pb.text) {
                self.deps.cfg.open_end_silence_ms
            } else {
                self.deps.cfg.end_silence_ms
            };
        }
        let end = pb.end_interview;
        if !pb.frames.is_empty() && s.store {
            self.last_reply = Some(pb);
        }
        self.checkpoint().await;
        if end {
            self.end("completed").await;
        } else {
            self.silence_ms = 0;
            self.set_state(InterviewState::Listening);
            self.maybe_reply();
        }
    }

    /// Stops the interviewer (barge-in, typed answer). Stores only the words actually heard.
    async fn interrupt(&mut self) {
        let Some(s) = self.speaking.take() else {
            return;
        };
        if let Some(p) = &s.pipeline {
            p.abort();
        }
        let pb = s.playback;
        if !pb.audio_started() {
            if s.text_sent {
                self.emit(Event::AudioInterrupted {
                    turn: pb.turn,
                    played_ms: 0,
                });
            }
            return;
        }
        let played_ms = pb.played_ms(Instant::now());
        self.emit(Event::AudioInterrupted {
            turn: pb.turn,
            played_ms,
        });
        let heard = heard_text(&pb.sentence_ends_ms(), played_ms);
        if s.store && !heard.is_empty() {
            self.emit(Event::AgentText {
                turn: pb.turn,
                text: heard.clone(),
                is_final: true,
            });
            self.persist(TurnRecord {
                interview_id: self.id,
                seq: pb.turn,
                speaker: Speaker::Interviewer,
                kind: s.kind,
                text: heard,
                transcribed: true,
                interrupted: true,
                audio_ms: played_ms as u32,
                started_at: s.started_at,
                ended_at: Utc::now(),
                timings: None,
            })
            .await;
        }
    }

    // ---- persistence and lifecycle -------------------------------------------------------------

    /// Writes a turn durably (earlier unsaved turns first, in order) and adds it to the context.
    async fn persist(&mut self, rec: TurnRecord) {
        self.conv.push(rec.clone());
        self.unsaved.push(rec);
        while let Some(first) = self.unsaved.first() {
            match self.deps.store.insert_turn(first).await {
                Ok(()) => {
                    self.unsaved.remove(0);
                }
                Err(e) => {
                    tracing::error!(interview = %self.id, error = %e, unsaved = self.unsaved.len(), "turn not stored yet");
                    self.emit(Event::Error {
                        code: "storage_degraded".into(),
                        message: "The transcript is kept in memory and will be stored when the database is back.".into(),
                        fatal: false,
                    });
                    break;
                }
            }
        }
    }

    async fn checkpoint(&mut self) {
        let cp = Checkpoint {
            v: CHECKPOINT_VERSION,
            interview_id: self.id,
            next_seq: self.log.next_seq(),
            next_turn: self.conv.next_turn(),
            state: self.state,
            updated_at: Utc::now(),
        };
        if let Err(e) = self.deps.hot.save_checkpoint(&cp).await {
            tracing::warn!(interview = %self.id, error = %e, "checkpoint failed");
        }
    }

    async fn end(&mut self, reason: &str) {
        self.interrupt().await;
        self.set_state(InterviewState::Ended);
        self.emit(Event::Ended {
            reason: reason.to_owned(),
        });
        if let Err(e) = self
            .deps
            .store
            .set_status(self.id, InterviewStatus::Completed, None)
            .await
        {
            tracing::error!(interview = %self.id, error = %e, "cannot mark interview completed");
        }
        self.send(Outbound::Close(close::ENDED, "interview ended"));
        self.conn = None;
        self.ended = true;
    }

    /// Final checkpoint, then the connection is closed with a code it can resume from.
    async fn stop(&mut self, code: u16, reason: &'static str) {
        if let Some(s) = self.speaking.take() {
            if let Some(p) = s.pipeline {
                p.abort();
            }
        }
        self.checkpoint().await;
        self.send(Outbound::Close(code, reason));
        self.conn = None;
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(v).expect("protocol types serialise"))
}

async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
