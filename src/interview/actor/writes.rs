//! Turn writes: every turn goes to the durable store in conversation order, through one write
//! task at a time, so the actor never waits on the database.
//!
//! What a turn's write gates waits for it: an answer's final transcript, and the end of an
//! interviewer turn (`audio_end`, `listening`, the end of the interview). "Durable" is the
//! store, or during an outage the hot checkpoint (so another node can write the turns); waiting
//! turns are retried with backoff. Past `max_unsaved_turns` waiting turns the interviewer stops
//! asking questions until the store is back.
//!
//! This module owns the rule that **an answer's final transcript precedes the reply**: while
//! an answer is committing ([`TurnWrites::committing`]) the loop does not read the reply
//! pipeline's progress (no reply text goes out) and no interviewer audio starts.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::{Actor, Internal};
use crate::protocol::{Event, TurnKind};
use crate::store::{StorageCounters, StoreError, TurnRecord};

const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(8);

/// What waits for a turn's write.
pub(super) enum AfterWrite {
    /// An answer's final transcript.
    Transcript { text: String, since: Instant },
    /// The end of an interviewer turn; `end`: the interview ends after it, for this reason.
    ReplyDone {
        audio_started: bool,
        end: Option<&'static str>,
    },
    /// A text notice (not spoken): sent once it is stored.
    Notice { text: String },
}

pub(super) struct TurnWrites {
    /// Not yet durable in the store, oldest first.
    queue: VecDeque<TurnRecord>,
    in_flight: bool,
    retry_at: Option<Instant>,
    backoff: Duration,
    /// An outage has been announced and not yet seen to end.
    degraded: bool,
    /// Questions are held back until the queue drains below `max_unsaved_turns`.
    pub(super) paused: bool,
    /// By turn, in conversation order.
    after: Vec<(u32, AfterWrite)>,
    /// After a failed write: the checkpoint (by number) that keeps the waiting turns up to
    /// this one; what waits for them goes on once it is written.
    checkpoint_wait: Option<(u64, u32)>,
}

impl TurnWrites {
    /// `restored`: turns a previous owner could not store (from its checkpoint).
    pub(super) fn new(restored: Vec<TurnRecord>) -> Self {
        Self {
            queue: restored.into(),
            in_flight: false,
            retry_at: None,
            backoff: FIRST_RETRY,
            degraded: false,
            paused: false,
            after: Vec::new(),
            checkpoint_wait: None,
        }
    }

    /// Answers are waiting for their write: the reply waits (no text, no audio start).
    pub(super) fn committing(&self) -> bool {
        self.after
            .iter()
            .any(|(_, a)| matches!(a, AfterWrite::Transcript { .. }))
    }

    /// Turns waiting for the store.
    pub(super) fn waiting(&self) -> usize {
        self.queue.len()
    }

    pub(super) fn unsaved(&self) -> Vec<TurnRecord> {
        self.queue.iter().cloned().collect()
    }

    pub(super) fn in_flight(&self) -> bool {
        self.in_flight
    }

    /// When a failed write is next retried.
    pub(super) fn retry_at(&self) -> Option<Instant> {
        self.retry_at.filter(|_| !self.in_flight)
    }
}

impl Actor {
    /// Adds a turn to the conversation and queues its durable write.
    pub(super) fn queue_turn(&mut self, rec: TurnRecord) {
        self.conv.push(rec.clone());
        self.writes.queue.push_back(rec);
        self.kick_writes();
    }

    /// Queues a turn with what must wait until it is durable.
    pub(super) fn queue_turn_then(&mut self, rec: TurnRecord, then: AfterWrite) {
        self.writes.after.push((rec.seq, then));
        self.queue_turn(rec);
    }

    /// Starts the write task if there is something to write and none is running.
    pub(super) fn kick_writes(&mut self) {
        if self.phase == super::Phase::Moved {
            // Another owner's now: nothing more is written.
            return;
        }
        let w = &mut self.writes;
        if w.in_flight || w.queue.is_empty() || w.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        w.in_flight = true;
        let batch: Vec<TurnRecord> = w.queue.iter().cloned().collect();
        let (store, tx, fence) = (
            self.deps.store.clone(),
            self.internal_tx.clone(),
            self.fence(),
        );
        tokio::spawn(async move {
            let mut stored = 0;
            let mut error = None;
            let mut fenced = false;
            for t in &batch {
                let started = std::time::Instant::now();
                let written = store.insert_turn(t, fence).await;
                crate::metrics::global().observe_turn_write(started.elapsed());
                match written {
                    Ok(()) => stored += 1,
                    Err(StoreError::Fenced) => {
                        fenced = true;
                        break;
                    }
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                }
            }
            let _ = tx
                .send(Internal::Written {
                    stored,
                    error,
                    fenced,
                })
                .await;
        });
    }

    /// The write task is done: `stored` turns from the front of the queue are durable.
    /// `fenced`: the store refused the next for a newer owner's token: this actor stops.
    pub(super) fn on_written(&mut self, stored: usize, error: Option<String>, fenced: bool) {
        let w = &mut self.writes;
        w.in_flight = false;
        w.queue.drain(..stored.min(w.queue.len()));
        if fenced {
            self.moved("a turn write was refused: a newer owner wrote this interview");
            return;
        }
        match &error {
            Some(e) => {
                StorageCounters::count(&self.deps.events.counters().turn_write_failures);
                let w = &mut self.writes;
                w.retry_at = Some(Instant::now() + w.backoff);
                w.backoff = (w.backoff * 2).min(MAX_RETRY);
                let announce = !w.degraded;
                w.degraded = true;
                if announce {
                    self.storage_degraded(e);
                } else {
                    tracing::debug!(interview = %self.id, error = %e, "turn write retry failed");
                }
                // Durable in the hot checkpoint instead: what waits goes on once it is written.
                let up_to = self.writes.queue.back().map(|t| t.seq);
                let n = self.checkpoint();
                if let Some(up_to) = up_to {
                    let w = &mut self.writes;
                    let up_to = w.checkpoint_wait.map_or(up_to, |(_, u)| u.max(up_to));
                    w.checkpoint_wait = Some((n, up_to));
                }
            }
            None => {
                w.retry_at = None;
                w.backoff = FIRST_RETRY;
                if w.degraded && w.queue.is_empty() {
                    w.degraded = false;
                    tracing::info!(interview = %self.id, "store back; every waiting turn written");
                }
            }
        }
        self.release_after(None);
        if self.writes.paused && self.writes.queue.len() < self.deps.cfg.max_unsaved_turns {
            self.writes.paused = false;
            tracing::info!(interview = %self.id, "store back; interview resumes");
            self.maybe_reply();
        }
        self.kick_writes();
    }

    /// Checkpoint `n` is written: turns it keeps count as durable.
    pub(super) fn writes_checkpointed(&mut self, n: u64) {
        if let Some((wanted, up_to)) = self.writes.checkpoint_wait {
            if n >= wanted {
                self.writes.checkpoint_wait = None;
                self.release_after(Some(up_to));
            }
        }
    }

    /// Goes on with what waited for turns that are now durable in the store (or kept by a
    /// checkpoint, up to `checkpointed`), in conversation order.
    fn release_after(&mut self, checkpointed: Option<u32>) {
        let first_unsaved = self.writes.queue.front().map(|t| t.seq);
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.writes.after)
            .into_iter()
            .partition(|(turn, _)| {
                checkpointed.is_some_and(|u| *turn <= u) || first_unsaved.is_none_or(|s| *turn < s)
            });
        self.writes.after = waiting;
        for (turn, then) in ready {
            match then {
                AfterWrite::Transcript { text, since } => {
                    let commit_ms = since.elapsed().as_millis() as u64;
                    self.on_committed(turn, text, commit_ms);
                }
                AfterWrite::ReplyDone { audio_started, end } => {
                    self.reply_done(turn, audio_started, end);
                }
                AfterWrite::Notice { text } => self.emit(Event::AgentText {
                    turn,
                    kind: TurnKind::Notice,
                    text,
                    is_final: true,
                    closing: false,
                }),
            }
        }
    }

    /// Whether a new question may be asked; pauses the interview (once) if too many turns wait.
    pub(super) fn may_ask(&mut self) -> bool {
        if self.writes.queue.len() < self.deps.cfg.max_unsaved_turns {
            return true;
        }
        if !self.writes.paused {
            self.writes.paused = true;
            tracing::error!(interview = %self.id, unsaved = self.writes.queue.len(), "pausing: store unavailable");
            self.emit(Event::Error {
                code: "storage_unavailable".into(),
                message: "The interview is paused until your answers can be saved. Nothing you \
                          said is lost; it will continue by itself."
                    .into(),
                fatal: false,
            });
        }
        false
    }

    /// Waits for the write in flight (at shutdown): no answer is lost to a stop.
    pub(super) async fn settle_writes(&mut self) {
        while self.writes.in_flight() {
            match tokio::time::timeout(Duration::from_secs(10), self.internal_rx.recv()).await {
                Ok(Some(Internal::Written {
                    stored,
                    error,
                    fenced,
                })) => self.on_written(stored, error, fenced),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
}
