//! The interview actor: owns one live conversation. Never touches a socket (it hands
//! [`Outbound`] messages to the attached connection's writer) and never blocks on a provider
//! (pipelines and STT run as tasks that report back through `internal`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

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
    close, ConnectionMessage, ControlAction, Event, InterviewState, Speaker, TurnKind, TurnTimings,
};
use crate::providers::{ProviderResult, SttResult};
use crate::store::{
    Checkpoint, InterviewStatus, ProviderNames, StoredEvent, TurnRecord, CHECKPOINT_VERSION,
};

mod lifecycle;
mod listening;
mod speaking;
mod writes;

use writes::TurnWrites;

const PROMPT_TEXT: &str = "Take your time, there is no rush. When you are ready, go ahead, \
                           or ask me to repeat the question.";
const NOT_CAUGHT_TEXT: &str = "Sorry, I did not catch that. Could you say it again?";
const WELCOME_BACK_TEXT: &str = "Welcome back. Please go on with your answer.";
const BUDGET_CLOSING_TEXT: &str = "We have reached the time available for this interview. Thank \
                                   you very much for your answers; the team will be in touch.";
const LONG_ANSWER_TEXT: &str = "That answer reached the time limit for one answer, so I have \
                                saved it. If you have more to add, just keep talking.";
const MAX_PROMPTS: u32 = 2;
/// How far `seq` skips after an unclean stop: more than the events a node can have sent but not
/// yet written (the event writers' queues hold 16 384 each).
const CRASH_SEQ_GAP: u64 = 1 << 16;
/// Checkpoints are written every turn, and this often while the interviewer speaks.
const SPEAKING_CHECKPOINT_EVERY: Duration = Duration::from_secs(5);

enum Internal {
    Speak(u64, SpeakMsg),
    Stt {
        utterance: u64,
        result: ProviderResult<SttResult>,
        stt_ms: u64,
    },
    /// The turn write task finished: `stored` turns from the front of the queue are durable.
    Written {
        stored: usize,
        error: Option<String>,
    },
}

/// A candidate utterance whose transcript is being finalised.
struct PendingAnswer {
    started_at: DateTime<Utc>,
    ended_at: DateTime<Utc>,
    audio_ms: u32,
    turn: Option<u32>,
    /// Cut at the longest answer allowed: the candidate is told once it is stored.
    capped: bool,
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
    /// The `turn_metrics` sent when its audio started, stored with the turn.
    sent_timings: Option<TurnTimings>,
    /// The interview ends once this turn has played, for this reason (a closing of the server's).
    closes: Option<&'static str>,
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
                match cmd {
                    Command::Attach { reply, .. } | Command::Monitor { reply, .. } => {
                        let _ = reply.send(Err(e));
                    }
                    _ => {}
                }
            }
        }
    }
    rx.close();
    // Anything that raced in is told the actor stopped; the caller spawns a fresh one.
    while let Ok(cmd) = rx.try_recv() {
        match cmd {
            Command::Attach { reply, .. } | Command::Monitor { reply, .. } => {
                let _ = reply.send(Err(AttachError::Stopped));
            }
            _ => {}
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
    /// Read-only watchers; dropped when they fall behind.
    monitors: Vec<mpsc::Sender<Outbound>>,
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
    /// Turn writes in conversation order; answers waiting for theirs hold interviewer audio.
    writes: TurnWrites,
    /// When the ownership lease is next renewed.
    lease_renew_at: Instant,
    /// When the last hot checkpoint was written.
    last_checkpoint: Instant,
    /// Vendor usage not yet added to the interview's record.
    usage: crate::store::Usage,
    /// The final checkpoint is being written (it is marked clean).
    stopping: bool,
    /// Reply progress held back while answers are committing, so events stay in conversation
    /// order (an answer's final transcript before the reply's text).
    deferred: Vec<(u64, SpeakMsg)>,
    /// Proof of holding the live session (`ready.resume_secret`); a newcomer without it is
    /// refused while the holder is connected and for `takeover_hold` after it left.
    resume_secret: String,
    /// When the holder's connection last dropped.
    holder_left: Option<Instant>,
    /// Interviewer replies begun that count against `max_replies`.
    replies: u32,
    /// The budget closing has begun.
    budget_closed: bool,
    /// End the interview at the next turn of the loop, for this reason.
    end_requested: Option<&'static str>,
    /// Typed answers: a few at once, then a few a minute, per interview (not per connection,
    /// so reconnecting does not refill it).
    typed: crate::rate::Bucket,
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
        // One node drives an interview: take its lease first. Without Redis nobody can say
        // who holds it, and the interview goes on (hot state is never a reason to refuse one).
        match deps
            .hot
            .acquire_lease(id, &deps.cfg.node, deps.cfg.lease_ttl)
            .await
        {
            Ok(true) => {}
            Ok(false) => return Err(AttachError::Elsewhere),
            Err(e) => tracing::warn!(interview = %id, error = %e, "lease unavailable; going on"),
        }
        let mut turns = deps.store.turns(id).await.map_err(internal)?;
        let checkpoint = match deps.hot.load_checkpoint(id).await {
            Ok(cp) => cp.filter(|c| c.v == CHECKPOINT_VERSION),
            Err(e) => {
                tracing::warn!(interview = %id, error = %e, "hot checkpoint unavailable; using durable state");
                None
            }
        };
        // Turns the last owner could not store: they join the conversation and are written first.
        let last_stored = turns.last().map(|t| t.seq);
        let restored: Vec<TurnRecord> = checkpoint
            .as_ref()
            .map(|c| c.unsaved.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|t| last_stored.is_none_or(|s| t.seq > s))
            .collect();
        if !restored.is_empty() {
            tracing::warn!(interview = %id, turns = restored.len(), "restoring turns not yet stored");
        }
        turns.extend(restored.iter().cloned());
        let stored_seq = deps.store.max_event_seq(id).await.map_err(internal)?;
        let window = deps.cfg.replay_window;
        // The live stream first (it has what an outage kept from the store), else the store.
        let streamed = match deps.hot.read_events(id, 0, Duration::ZERO).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(interview = %id, error = %e, "live stream unavailable; replaying from the store");
                Vec::new()
            }
        };
        let streamed_seq = streamed.last().map_or(0, |e| e.seq);
        let history: Vec<(u64, String)> = if streamed_seq > 0 && streamed_seq >= stored_seq {
            let skip = streamed.len().saturating_sub(window);
            streamed
                .into_iter()
                .skip(skip)
                .map(|e| (e.seq, e.body))
                .collect()
        } else {
            deps.store
                .events_after(id, 0, window as u32)
                .await
                .map_err(internal)?
                .into_iter()
                .map(|e| (e.seq, e.body))
                .collect()
        };
        let mut next_seq = checkpoint
            .as_ref()
            .map_or(1, |c| c.next_seq)
            .max(stored_seq + 1)
            .max(streamed_seq + 1);
        // A previous owner that did not stop cleanly may have sent events that reached neither
        // the stream nor the store: numbering on from what was kept would give those seqs to
        // new events. Skip past anything it could have sent; a client that saw them gets a
        // resync, never a seq it has seen before.
        let ran_before = checkpoint.is_some() || stored_seq > 0 || streamed_seq > 0;
        if ran_before && !checkpoint.as_ref().is_some_and(|c| c.clean) {
            tracing::info!(interview = %id, "previous owner did not stop cleanly; seq skips ahead");
            next_seq += CRASH_SEQ_GAP;
        }
        let next_turn = checkpoint.as_ref().map_or(0, |c| c.next_turn);
        // A candidate connected when the last owner stopped (a restart, a crash, a move) gets
        // the hold period to come back, with its secret.
        let kept_secret = checkpoint.as_ref().and_then(|c| c.resume_secret.clone());
        let holder_left = checkpoint
            .as_ref()
            .is_some_and(|c| c.holder_connected && c.resume_secret.is_some())
            .then(Instant::now);
        let ear = Ear::new(deps.cfg.vad_aggressiveness, deps.cfg.endpoint).map_err(|e| {
            tracing::error!(error = %e, "cannot create Opus decoder");
            AttachError::Internal
        })?;
        let (internal_tx, internal_rx) = mpsc::channel(256);
        let lease_renew_at = Instant::now() + deps.cfg.lease_ttl / 3;
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
            monitors: Vec::new(),
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
            writes: TurnWrites::new(restored),
            lease_renew_at,
            last_checkpoint: Instant::now(),
            usage: Default::default(),
            stopping: false,
            deferred: Vec::new(),
            resume_secret: kept_secret.unwrap_or_else(crate::auth::new_ticket),
            holder_left,
            replies: 0,
            budget_closed: false,
            end_requested: None,
            typed: crate::rate::Bucket::new(
                crate::protocol::TYPED_ANSWERS_BURST,
                crate::protocol::TYPED_ANSWERS_PER_MINUTE / 60.0,
            ),
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
            self.kick_writes();
            if let Some(reason) = self.end_requested.take() {
                if !self.ended {
                    self.end(reason).await;
                }
            }
            if self.ended {
                self.finish().await;
                return;
            }
            // One clock read per wake-up (this loop runs for every audio frame).
            let now = Instant::now();
            if self.state == InterviewState::Speaking
                && now >= self.last_checkpoint + SPEAKING_CHECKPOINT_EVERY
            {
                self.checkpoint().await;
            }
            if now >= self.lease_renew_at && !self.renew_lease().await {
                tracing::warn!(interview = %self.id, "lease lost: another node drives this interview now");
                self.send(Outbound::Close(
                    close::TRY_AGAIN,
                    "interview moved; reconnect",
                ));
                self.close_monitors(close::TRY_AGAIN, "interview moved; reconnect");
                return;
            }
            if self.grace_until.is_some_and(|g| now >= g) {
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
        [playback, self.grace_until, self.writes.retry_at()]
            .into_iter()
            .flatten()
            .chain(std::iter::once(self.lease_renew_at))
            .min()
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
        self.monitors
            .retain(|m| match m.try_send(Outbound::Text(json.clone())) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!("monitor not reading; dropping it");
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        self.send(Outbound::Text(json));
    }

    /// The first message of every connection. `resumed`: the interview had already started.
    /// The resume secret goes to the candidate's connection only.
    fn ready(&self, resume_secret: Option<String>) -> ConnectionMessage {
        ConnectionMessage::Ready {
            interview_id: self.id,
            resumed: self.started || !self.conv.turns.is_empty(),
            state: self.state,
            last_seq: self.log.last_seq(),
            resume_secret,
        }
    }

    /// The full state, for clients that cannot be caught up by replay.
    fn resync(&self) -> ConnectionMessage {
        ConnectionMessage::Resync {
            snapshot: self.conv.snapshot(self.state, self.log.last_seq()),
        }
    }

    /// Closes every monitor (the interview ended or is unloading).
    fn close_monitors(&mut self, code: u16, reason: &'static str) {
        for m in self.monitors.drain(..) {
            let _ = m.try_send(Outbound::Close(code, reason));
        }
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
                resume_secret,
                reply,
            } => {
                let _ = reply.send(self.attach(conn, resume_from, resume_secret).await);
            }
            Command::Detach { conn_id } => {
                if self.conn.as_ref().is_some_and(|c| c.id == conn_id) {
                    self.conn = None;
                    self.detached();
                }
            }
            Command::Audio {
                conn_id,
                packet,
                lost,
            } => {
                if self.conn.as_ref().is_some_and(|c| c.id == conn_id) && !self.ended {
                    self.on_audio(&packet, lost).await;
                }
            }
            Command::AnswerText { conn_id, text } => {
                if self.conn.as_ref().is_some_and(|c| c.id == conn_id) && !self.ended {
                    if self.typed.take() {
                        self.on_text_answer(text).await;
                    } else {
                        tracing::info!(interview = %self.id, "typed answers too fast; closing the connection");
                        self.send(Outbound::Close(close::POLICY, "typed answers too fast"));
                        self.conn = None;
                        self.detached();
                    }
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
            Command::Monitor { tx, reply } => {
                let (ready, resync) = (self.ready(None), self.resync());
                let ok = tx
                    .try_send(Outbound::Batch(vec![to_json(&ready), to_json(&resync)]))
                    .is_ok();
                if ok {
                    self.monitors.push(tx);
                }
                let _ = reply.send(if ok {
                    Ok(())
                } else {
                    Err(AttachError::Stopped)
                });
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
        resume_secret: Option<String>,
    ) -> Result<(), AttachError> {
        if self.ended {
            return Err(AttachError::Ended);
        }
        let proven = resume_secret
            .as_deref()
            .is_some_and(|s| same_secret(s, &self.resume_secret));
        let held = self.conn.is_some()
            || self
                .holder_left
                .is_some_and(|left| Instant::now() < left + self.deps.cfg.takeover_hold);
        if held && !proven {
            tracing::info!(interview = %self.id, "refused a second connection without the resume secret");
            return Err(AttachError::Busy);
        }
        if !proven {
            // A new holder (first connection, or a takeover after the hold): the old secret
            // no longer works.
            self.resume_secret = crate::auth::new_ticket();
        }
        if let Some(old) = self.conn.take() {
            let _ = old.tx.try_send(Outbound::Close(
                close::REPLACED,
                "replaced by a newer connection",
            ));
        }
        let mut batch = vec![to_json(&self.ready(Some(self.resume_secret.clone())))];
        if let Some(after) = resume_from {
            match self.log.replay_after(after) {
                Replay::Events(events) => batch.extend(events),
                Replay::Resync => batch.push(to_json(&self.resync())),
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
        let now = Instant::now();
        self.holder_left = Some(now);
        self.grace_until = Some(now + self.deps.cfg.grace);
        // An answer cut off by the drop is committed as said so far; the candidate is invited
        // to go on when they are back.
        if let Some(stt) = self.ear.cut() {
            self.welcome_back = true;
            self.finish_utterance(stt, 0, false);
        }
    }
}

/// Compares secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
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
