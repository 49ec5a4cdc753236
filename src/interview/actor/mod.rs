//! The interview actor: owns one live conversation. Never touches a socket (it hands
//! [`Outbound`] messages to the attached connection's writer) and never awaits a provider, the
//! store or the hot state on its loop: STT, reply pipelines, turn writes, checkpoints, the
//! lease and status writes run as tasks that report back. Only the way out (`Actor::finish`,
//! after the loop) waits, for the last writes and the final checkpoint.
//!
//! - `connection`: attaching and detaching the candidate, sending events.
//! - `watching`: the monitors (joining, leaving, listen-in audio, monitor-only messages) and
//!   the live board.
//! - `listening`: candidate audio and typed answers, utterances, STT results, commits.
//! - `speaking`: reply pipelines, paced playback, repeats and barge-in.
//! - `writes`: turn writes in conversation order, and the rule that an answer's final
//!   transcript precedes the reply (its single owner).
//! - `upkeep`: checkpoints and the ownership lease, off the loop.
//! - `lifecycle`: starting, ending, stopping, usage.
//! - `restore`: where a loaded interview resumes (pure, unit-tested).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::conversation::Conversation;
use super::events::EventLog;
use super::handle::{AttachError, Command, Connection, Outbound};
use super::listen::Ear;
use super::speak::{Playback, SpeakMsg};
use super::{Deps, Registry};
use crate::protocol::{close, ControlAction, InterviewState, TurnKind, TurnTimings};
use crate::providers::{ProviderResult, SttResult};
use crate::rate::Bucket;
use crate::store::Usage;

mod analysing;
mod connection;
mod lifecycle;
mod lines;
mod listening;
mod noticing;
mod preempting;
mod restore;
mod speaking;
mod upkeep;
mod watching;
mod writes;

pub(crate) use connection::same_secret;
use upkeep::Upkeep;
use writes::TurnWrites;

/// What the actor's own tasks report.
enum Internal {
    Stt {
        utterance: u64,
        result: ProviderResult<SttResult>,
        stt_ms: u64,
    },
    /// A preemptive reply's snapshot of the answer so far is transcribed (`preempting`).
    Preempted {
        gen: u64,
        result: ProviderResult<SttResult>,
    },
    /// The turn write task finished: `stored` turns from the front of the queue are durable.
    /// `fenced`: the store refused the next one, a newer owner having written.
    Written {
        stored: usize,
        error: Option<String>,
        fenced: bool,
    },
    /// An answer's analysis is ready (for the watchers).
    Analysed(Box<crate::protocol::monitor::MonitorEvent>),
    /// The hot state refused a checkpoint: a newer owner's is there.
    Fenced,
    /// A lease renewal: whether it is still ours. `cancelled`: the hiring team cancelled it
    /// through another node (with this reason).
    Lease {
        lease: upkeep::Renewal,
        cancelled: Option<Option<String>>,
        /// Messages other nodes left for this interview (`interview::remote::Mail`).
        mail: Vec<String>,
    },
}

/// Where the interview is in its life. (What clients see is the finer [`InterviewState`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Loaded; the conversation starts when the candidate first connects.
    Waiting,
    /// The conversation is under way.
    Live,
    /// Ends at the next turn of the loop, for this reason (asked from inside a step that
    /// cannot end it there).
    Ending(&'static str),
    /// Over, for this reason: the loop exits, the status is written, then everyone is closed.
    Ended(&'static str),
    /// Another node holds the lease now: the actor leaves without a final checkpoint.
    Moved,
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
    /// The reply pipeline: its task, and what it produces (read by the loop while no answer
    /// is committing; bounded, so a held-back pipeline waits).
    pipeline: Option<AbortHandle>,
    progress: Option<mpsc::Receiver<(u64, SpeakMsg)>>,
    started_at: DateTime<Utc>,
    text_sent: bool,
    timings: Option<ReplyTimings>,
    /// The `turn_metrics` sent when its audio started, stored with the turn.
    sent_timings: Option<TurnTimings>,
    /// The interview ends once this turn has played, for this reason (a closing of the server's).
    closes: Option<&'static str>,
    /// A question the hiring team suggested, asked as written.
    suggested: bool,
    /// The interviewer's decision this reply carries out (stored with the turn).
    decision: Option<crate::plan::Decision>,
}

/// Latency bookkeeping of a reply to the candidate.
struct ReplyTimings {
    turn_end: Instant,
    t: TurnTimings,
    /// A preemptive reply: when its model was asked (before `turn_end`).
    asked_at: Option<Instant>,
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
    let refusal = match Actor::load(id, deps, cancel).await {
        Ok(actor) => {
            actor.run(&mut rx).await;
            AttachError::Stopped
        }
        Err(e) => e,
    };
    // Anything that raced in is told why; after a stop the caller spawns a fresh actor.
    rx.close();
    while let Ok(cmd) = rx.try_recv() {
        match cmd {
            Command::Attach { reply, .. } => {
                let _ = reply.send(Err(refusal));
            }
            Command::Monitor { reply, .. } => {
                let _ = reply.send(Err(refusal));
            }
            _ => {}
        }
    }
    registry.remove(id, instance);
}

/// The hot-state mark that says the hiring team cancelled interview `id` through a node that
/// does not drive it: the driving node's next lease renewal finds it, and its interviewer closes.
pub fn cancelled_mark(id: Uuid) -> String {
    format!("cancelled:{id}")
}

/// A monitor attached to the interview.
struct Watcher {
    id: u64,
    tx: mpsc::Sender<Outbound>,
    /// Who it is; `who.listening`: also gets both sides' audio (`[channel, opus packet…]`,
    /// channel 0 the candidate, 1 the interviewer).
    who: crate::protocol::monitor::WatcherView,
}

/// Listen-in channels (the first byte of a monitor's binary frame).
pub const CHANNEL_CANDIDATE: u8 = 0;
pub const CHANNEL_INTERVIEWER: u8 = 1;

/// Suggested questions an interview holds before asking them.
pub const MAX_SUGGESTIONS: usize = 3;

struct Actor {
    id: Uuid,
    deps: Arc<Deps>,
    cancel: CancellationToken,
    internal_tx: mpsc::Sender<Internal>,
    internal_rx: mpsc::Receiver<Internal>,
    phase: Phase,
    /// What clients see.
    state: InterviewState,
    conn: Option<Connection>,
    /// Watchers; dropped when they fall behind.
    monitors: Vec<Watcher>,
    log: EventLog,
    conv: Conversation,
    ear: Ear,
    partials: Option<mpsc::Receiver<String>>,
    /// Client events taken (`integrity_signals`), up to the most kept.
    client_events: u32,
    /// The plan's terms for speech recognition, made at the first utterance.
    vocabulary: Option<crate::providers::Vocabulary>,
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
    end_silence_ms: u32,
    /// The Realtime client's `turn_detection` silence (0: none asked), which can lengthen
    /// `end_silence_ms`, never shorten it.
    client_silence_ms: u32,
    /// The utterance's latest live partial transcript, and the frame (of `frames_heard`) it
    /// came at: the words the adaptive end of turn judges at a pause.
    said_so_far: Option<(String, u64)>,
    /// What the pause in progress gets (`turns::policy`), once judged.
    pause_rule: Option<crate::turns::policy::PauseRule>,
    /// Frames of the candidate's audio heard so far.
    frames_heard: u64,
    /// A reply prepared during the pause in progress (`preempting`), not yet the interviewer's.
    preemption: Option<Box<preempting::Preemption>>,
    /// Preemptive replies prepared for the answer in progress.
    preempts: u32,
    /// Encodes a Realtime client's PCM for a recording or a listening watcher, made when first
    /// needed.
    pcm_encoder: Option<Box<crate::audio::codec::FrameEncoder>>,
    silence_ms: u32,
    prompts: u32,
    /// The candidate dropped mid-answer: invited to go on when back.
    welcome_back: bool,
    /// Turn writes in conversation order; answers waiting for theirs hold the reply back.
    writes: TurnWrites,
    /// Checkpoints and the lease.
    upkeep: Upkeep,
    /// This owner's lease generation, its fencing token (`None`: the hot state was down when
    /// the interview loaded; the first renewal that reaches it sets it).
    lease_gen: Option<u64>,
    /// The store's fence when the interview loaded: the token while `lease_gen` is unknown.
    store_fence: u64,
    /// The `in_progress` status write, which the final status write waits for.
    status_write: Option<JoinHandle<()>>,
    /// Vendor usage not yet added to the interview's record.
    usage: Usage,
    /// Proof of holding the live session (`ready.resume_secret`); a newcomer without it is
    /// refused while the holder is connected and for `takeover_hold` after it left.
    resume_secret: String,
    /// When the holder's connection last dropped.
    holder_left: Option<Instant>,
    /// Another node asked for the interview and may have it: the loop ends (final checkpoint,
    /// lease given up).
    handing_over: bool,
    /// Without a connection, the actor unloads at this time.
    grace_until: Option<Instant>,
    /// Interviewer replies begun that count against `max_replies`.
    replies: u32,
    /// The budget closing has begun.
    budget_closed: bool,
    /// The hiring team cancelled the interview: nothing more is asked.
    cancelled: bool,
    /// Questions the hiring team suggested while watching, asked at the next turn boundaries
    /// (kept in memory only: a suggestion pending when the actor unloads is dropped).
    suggestions: std::collections::VecDeque<String>,
    /// The reply about to start is the suggestion taken from `suggestions`.
    next_suggested: bool,
    /// Watcher ids given out so far.
    watchers_joined: u64,
    /// Someone watches from another node (until when, and whether they listen in).
    remote: Option<(Instant, bool)>,
    /// Both sides' audio to the recording, when this interview is recorded.
    recorder: Option<crate::recording::Recorder>,
    /// Times the candidate's connection dropped.
    drops: u32,
    /// A provider or the store degraded during this interview.
    degraded: bool,
    /// The live status last published to the board.
    board_status: Option<crate::protocol::live::LiveStatus>,
    /// Levels measured since the last one on the board.
    levels: u32,
    /// This interview's providers: the server's, or built with its organization's own keys.
    providers: crate::providers::Providers,
    speak: Arc<crate::interview::speak::SpeakDeps>,
    /// Typed answers: a few at once, then a few a minute, per interview (not per connection,
    /// so reconnecting does not refill it).
    typed: Bucket,
}

impl Actor {
    async fn run(mut self, rx: &mut mpsc::Receiver<Command>) {
        let (code, reason) = loop {
            let wake = self.wake_at();
            // The reply's progress waits while an answer commits (its transcript goes first).
            let hold_reply = self.writes.committing();
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => {
                    break (close::SERVICE_RESTART, "server restarting; reconnect to resume");
                }
                Some(msg) = self.internal_rx.recv() => self.on_internal(msg),
                Some(done) = self.upkeep.checkpoint_written() => self.writes_checkpointed(done),
                progress = speaking::next_progress(&mut self.speaking), if !hold_reply => {
                    self.on_progress(progress);
                }
                partial = recv_opt(&mut self.partials) => match partial {
                    Some(text) => self.on_partial(text),
                    None => self.partials = None,
                },
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd),
                    None => break (close::SERVICE_RESTART, "interview unloaded"),
                },
                _ = sleep_until_opt(wake) => {}
            }
            self.pump();
            self.kick_writes();
            if let Phase::Ending(reason) = self.phase {
                self.end(reason);
            }
            if self.handing_over {
                break (
                    close::SERVICE_RESTART,
                    "interview moved to another node; reconnect",
                );
            }
            match self.phase {
                Phase::Ended(_) => break (close::ENDED, "interview ended"),
                Phase::Moved => {
                    self.leave_board();
                    return;
                }
                _ => {}
            }
            // One clock read per wake-up (this loop runs for every audio frame).
            let now = Instant::now();
            if self.state == InterviewState::Speaking && self.upkeep.checkpoint_due(now) {
                self.checkpoint();
            }
            if self.upkeep.lease_due(now) {
                self.upkeep.renew_lease(
                    self.id,
                    &self.deps,
                    self.internal_tx.clone(),
                    self.lease_claim(),
                );
            }
            if self.grace_until.is_some_and(|g| now >= g) {
                tracing::info!(interview = %self.id, "grace period over; unloading");
                break (close::SERVICE_RESTART, "interview unloaded");
            }
        };
        self.finish().await;
        self.leave_board();
        self.send(Outbound::Close(code, reason));
        self.close_monitors(code, reason);
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
            .chain(self.upkeep.wake_at())
            .min()
    }

    /// Whether the conversation is over (nothing more is taken from the candidate).
    fn is_over(&self) -> bool {
        matches!(self.phase, Phase::Ended(_) | Phase::Moved)
    }

    fn on_internal(&mut self, msg: Internal) {
        match msg {
            Internal::Written {
                stored,
                error,
                fenced,
            } => self.on_written(stored, error, fenced),
            Internal::Analysed(event) => self.tell_monitors(&event),
            Internal::Fenced => self.moved("a newer owner checkpointed this interview"),
            Internal::Stt {
                utterance,
                result,
                stt_ms,
            } => self.on_stt(utterance, result, stt_ms),
            Internal::Preempted { gen, result } => self.on_preempted(gen, result),
            Internal::Lease {
                lease,
                cancelled,
                mail,
            } => {
                if let Some(reason) = cancelled {
                    self.cancel_by_staff(reason);
                }
                for m in mail {
                    self.on_mail(&m);
                }
                self.on_lease(lease);
            }
        }
    }

    fn on_command(&mut self, cmd: Command) {
        // Commands from a connection count only from the attached one, while the interview runs.
        let from_holder = |this: &Self, conn_id: u64| {
            this.conn.as_ref().is_some_and(|c| c.id == conn_id) && !this.is_over()
        };
        match cmd {
            Command::Attach {
                conn,
                resume_from,
                resume_secret,
                reply,
            } => {
                let _ = reply.send(self.attach(conn, resume_from, resume_secret));
            }
            Command::Detach { conn_id, reason } => {
                if self.conn.as_ref().is_some_and(|c| c.id == conn_id) {
                    self.conn = None;
                    self.detached(reason);
                }
            }
            Command::Audio {
                conn_id,
                packet,
                lost,
            } => {
                if from_holder(self, conn_id) {
                    self.on_audio(&packet, lost);
                }
            }
            Command::Pcm { conn_id, pcm, lost } => {
                if from_holder(self, conn_id) {
                    self.on_pcm(&pcm, lost);
                }
            }
            Command::CommitInput { conn_id, reply } => {
                let committed = from_holder(self, conn_id) && self.commit_input();
                let _ = reply.send(committed);
            }
            Command::ClearInput { conn_id } => {
                if from_holder(self, conn_id) {
                    self.clear_input();
                }
            }
            Command::StopSpeaking { conn_id } => {
                if from_holder(self, conn_id) {
                    self.interrupt();
                }
            }
            Command::TurnSilence { conn_id, ms } => {
                if from_holder(self, conn_id) {
                    self.client_silence_ms = ms;
                }
            }
            Command::AnswerText { conn_id, text } => {
                if from_holder(self, conn_id) {
                    if self.typed.take() {
                        self.on_text_answer(text);
                    } else {
                        tracing::info!(interview = %self.id, "typed answers too fast; closing the connection");
                        self.send(Outbound::Close(close::POLICY, "typed answers too fast"));
                        self.conn = None;
                        self.detached("typed answers too fast");
                    }
                }
            }
            Command::ClientEvent {
                conn_id,
                event,
                chars,
            } => {
                if from_holder(self, conn_id) {
                    self.on_client_event(event, chars);
                }
            }
            Command::Control { conn_id, action } => {
                if from_holder(self, conn_id) {
                    match action {
                        ControlAction::End => self.end("candidate_ended"),
                        ControlAction::Repeat => self.repeat(),
                    }
                }
            }
            Command::Monitor { joining, reply } => {
                let _ = reply.send(self.add_monitor(joining));
            }
            Command::Unwatch { id } => self.remove_monitor(id),
            Command::Note { note } => {
                self.tell_monitors(&crate::protocol::monitor::MonitorEvent::Note { note });
            }
            Command::Cancel { reason } => self.cancel_by_staff(reason),
            Command::Suggest { text, reply } => {
                let _ = reply.send(self.suggest(text));
            }
            Command::DropCandidate => {
                if self.conn.is_some() {
                    self.send(Outbound::Close(close::UNAUTHORIZED, "link replaced"));
                    self.conn = None;
                    self.detached("link replaced");
                }
            }
            Command::HandOver {
                resume_secret,
                reply,
            } => {
                let _ = reply.send(self.hand_over(resume_secret.as_deref()));
            }
            Command::Snapshot { reply } => {
                let _ = reply.send(self.conv.snapshot(self.state, self.log.last_seq()));
            }
        }
    }
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
