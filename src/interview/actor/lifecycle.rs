//! Lifecycle: loading (the lease, then what the last owner left), starting the conversation,
//! ending it, the way out, and vendor usage.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::lines::{asked_again, cancelled_text, CANCELLED};
use super::upkeep::Upkeep;
use super::writes::TurnWrites;
use super::{restore, Actor, Phase};
use crate::interview::conversation::Conversation;
use crate::interview::events::EventLog;
use crate::interview::handle::AttachError;
use crate::interview::listen::Ear;
use crate::interview::speak::Source;
use crate::interview::Deps;
use crate::protocol::{Event, InterviewState, TurnKind};
use crate::rate::Bucket;
use crate::store::{Claim, InterviewStatus, ProviderNames, Usage};

/// How long the way out waits for a recording to be kept.
const RECORDING_KEPT_WAIT: Duration = Duration::from_secs(30);

impl Actor {
    /// Takes the lease, fetches what the last owner left and restores from it.
    pub(super) async fn load(
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
        // Its generation is the fencing token of this owner's writes, above any the store
        // has seen.
        let store_fence = deps.store.fence(id).await.map_err(internal)?;
        let lease_gen = match deps
            .hot
            .acquire_lease(
                id,
                &deps.cfg.node,
                deps.cfg.lease_ttl,
                Claim::Take { floor: store_fence },
            )
            .await
        {
            Ok(Some(generation)) => {
                // Fenced off from older owners before anything is read.
                if !deps
                    .store
                    .claim_fence(id, generation)
                    .await
                    .map_err(internal)?
                {
                    tracing::warn!(interview = %id, generation, "a newer owner's fence is in the store");
                    return Err(AttachError::Elsewhere);
                }
                Some(generation)
            }
            Ok(None) => return Err(AttachError::Elsewhere),
            Err(e) => {
                tracing::warn!(interview = %id, error = %e, "lease unavailable; going on");
                None
            }
        };
        let turns = deps.store.turns(id).await.map_err(internal)?;
        let checkpoint = deps.hot.load_checkpoint(id).await.unwrap_or_else(|e| {
            tracing::warn!(interview = %id, error = %e, "hot checkpoint unavailable; using durable state");
            None
        });
        let stored_seq = deps.store.max_event_seq(id).await.map_err(internal)?;
        let window = deps.cfg.replay_window;
        // The live stream first (it has what an outage kept from the store), else the store.
        let streamed = deps
            .hot
            .read_events(id, 0, Duration::ZERO)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(interview = %id, error = %e, "live stream unavailable; replaying from the store");
                Vec::new()
            });
        let stored_events = if restore::history_from_stream(&streamed, stored_seq) {
            Vec::new()
        } else {
            deps.store
                .events_after(id, 0, window as u32)
                .await
                .map_err(internal)?
        };
        // Where the numbering goes on from (a handoff, a crash, a reload), for the operator.
        let from_checkpoint = checkpoint.as_ref().map(|c| (c.next_seq, c.clean));
        let streamed_seq = streamed.last().map(|e| e.seq);
        let r = restore::restore(restore::Sources {
            turns,
            checkpoint,
            stored_seq,
            streamed,
            stored_events,
            window,
        });
        tracing::info!(
            interview = %id,
            lease = ?lease_gen,
            next_seq = r.next_seq,
            checkpoint = ?from_checkpoint,
            stored_seq,
            streamed_seq = ?streamed_seq,
            "interview loaded"
        );
        if !r.unsaved.is_empty() {
            tracing::warn!(interview = %id, turns = r.unsaved.len(), "restoring turns not yet stored");
        }
        let mut ear = Ear::new(deps.cfg.vad_aggressiveness, deps.cfg.endpoint).map_err(|e| {
            tracing::error!(error = %e, "cannot create Opus decoder");
            AttachError::Internal
        })?;
        let (internal_tx, internal_rx) = mpsc::channel(256);
        let upkeep = Upkeep::start(id, &deps, internal_tx.clone());
        let end_silence_ms = interview.settings.patience(deps.cfg.end_silence_ms);
        // The organization's own vendor keys, if it brought any.
        let (providers, speak) = deps.providers_for(interview.organization_id).await;
        if let Some(turns) = deps.cfg.turns {
            if turns.intonation.follow(providers.stt.words_at_pauses()) {
                ear.listen_for_intonation();
            }
        }
        Ok(Self {
            providers,
            speak,
            id,
            log: EventLog::new(r.next_seq, r.history, window),
            conv: Conversation::new(interview, r.turns, r.next_turn),
            end_silence_ms,
            deps,
            cancel,
            internal_tx,
            internal_rx,
            phase: Phase::Waiting,
            state: InterviewState::Thinking,
            conn: None,
            monitors: Vec::new(),
            ear,
            partials: None,
            vocabulary: None,
            client_events: 0,
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
            client_silence_ms: 0,
            said_so_far: None,
            pause_rule: None,
            frames_heard: 0,
            preemption: None,
            preempts: 0,
            pcm_encoder: None,
            silence_ms: 0,
            prompts: 0,
            welcome_back: false,
            writes: TurnWrites::new(r.unsaved),
            upkeep,
            lease_gen,
            store_fence,
            status_write: None,
            usage: Usage::default(),
            resume_secret: r.resume_secret.unwrap_or_else(crate::auth::new_ticket),
            // A candidate connected when the last owner stopped (a restart, a crash, a move)
            // gets the hold period to come back, with its secret.
            holder_left: r.holder_was_connected.then(Instant::now),
            handing_over: false,
            grace_until: None,
            replies: 0,
            budget_closed: false,
            cancelled: false,
            suggestions: Default::default(),
            next_suggested: false,
            watchers_joined: 0,
            remote: None,
            recorder: None,
            drops: 0,
            degraded: false,
            board_status: None,
            levels: 0,
            typed: Bucket::new(
                crate::protocol::TYPED_ANSWERS_BURST,
                crate::protocol::TYPED_ANSWERS_PER_MINUTE / 60.0,
            ),
        })
    }

    /// The candidate's first connection: the interview is marked started (a task) and the
    /// interviewer speaks.
    pub(super) fn start_conversation(&mut self) {
        self.phase = Phase::Live;
        if self.conv.interview.status == InterviewStatus::Scheduled {
            let p = &self.providers;
            let names = ProviderNames {
                stt: p.stt.name().to_owned(),
                llm: p.llm.name().to_owned(),
                tts: p.tts.name().to_owned(),
            };
            let (store, id) = (self.deps.store.clone(), self.id);
            self.status_write = Some(tokio::spawn(async move {
                if let Err(e) = store
                    .set_status(id, InterviewStatus::InProgress, Some(&names))
                    .await
                {
                    tracing::warn!(interview = %id, error = %e, "cannot mark interview started");
                }
            }));
            self.conv.interview.status = InterviewStatus::InProgress;
            // The time budget (`max_minutes`) counts from here.
            self.conv.interview.started_at.get_or_insert_with(Utc::now);
        }
        self.start_recording();
        if self.conv.awaiting_answer() {
            // Restored after the question was asked but before an answer was committed.
            let q = self
                .conv
                .last_question()
                .map(|t| t.text.clone())
                .unwrap_or_default();
            self.begin_reply(Source::Fixed(asked_again(&q)), TurnKind::Notice, true);
        } else {
            self.begin_reply(Source::Model(self.conv.context()), TurnKind::Question, true);
        }
    }

    /// Tells everyone watching that turns are kept in memory until the store is back.
    pub(super) fn storage_degraded(&mut self, error: &str) {
        tracing::error!(interview = %self.id, error, unsaved = self.writes.waiting(), "turn not stored yet");
        self.degrade(crate::protocol::monitor::Stage::Storage, error);
        self.emit(Event::Error {
            code: "storage_degraded".into(),
            message:
                "The transcript is kept in memory and will be stored when the database is back."
                    .into(),
            fatal: false,
        });
    }

    /// The hiring team cancelled the interview (the store already says so): a connected
    /// candidate hears why, then it ends; otherwise it ends at once. Nothing more is asked.
    pub(super) fn cancel_by_staff(&mut self, reason: Option<String>) {
        if self.is_over() || self.cancelled {
            return;
        }
        tracing::info!(interview = %self.id, "cancelled by the hiring team");
        self.cancelled = true;
        if self.conn.is_none() {
            self.end(CANCELLED);
            return;
        }
        self.interrupt();
        let text = cancelled_text(reason.as_deref());
        self.start_reply(Source::Fixed(text), TurnKind::Notice, true, Some(CANCELLED));
    }

    /// The interview is over: `ended` goes out now; the loop then exits, and the way out
    /// ([`Self::finish`]) records it before anyone is closed.
    pub(super) fn end(&mut self, reason: &'static str) {
        self.interrupt();
        self.set_state(InterviewState::Ended);
        self.emit(Event::Ended {
            reason: reason.to_owned(),
        });
        self.phase = Phase::Ended(reason);
    }

    /// The way out, after the loop: waits for the turn write in flight (no answer is lost to a
    /// stop; what the store did not take is in the checkpoint), records usage and, if the
    /// interview ended, its completion, then writes the final (clean) checkpoint and gives the
    /// lease up.
    pub(super) async fn finish(&mut self) {
        self.discard_preemption("the interview stopped");
        if let Some(s) = self.speaking.take() {
            if let Some(p) = s.pipeline {
                p.abort();
            }
        }
        self.settle_writes().await;
        if let Some(w) = self.flush_usage() {
            let _ = w.await;
        }
        if let Some(started) = self.status_write.take() {
            let _ = started.await;
        }
        if let Phase::Ended(reason) = self.phase {
            let status = if reason == CANCELLED {
                InterviewStatus::Cancelled
            } else {
                InterviewStatus::Completed
            };
            if let Err(e) = self.deps.store.set_status(self.id, status, None).await {
                tracing::error!(interview = %self.id, error = %e, ?status, "cannot mark interview ended");
            }
        }
        if self.phase != Phase::Moved {
            // (Moved: the new owner's checkpoints are the ones that count.)
            self.final_checkpoint().await;
        }
        // The recording's files are finished and kept before anyone is told it is over (a
        // store that takes too long finishes on its own, after).
        if let Some(r) = self.recorder.take() {
            let _ = tokio::time::timeout(RECORDING_KEPT_WAIT, r.finish()).await;
        }
    }

    /// Adds vendor usage (priced) to what the interview has spent.
    pub(super) fn add_usage(&mut self, mut u: Usage) {
        u.cost_usd = self.deps.cfg.prices.cost(&u);
        self.usage.add(&u);
    }

    /// Writes the usage gathered since the last flush, off the actor's loop (best effort);
    /// the handle lets the way out wait for it.
    pub(super) fn flush_usage(&mut self) -> Option<JoinHandle<()>> {
        if self.usage.is_empty() {
            return None;
        }
        let usage = std::mem::take(&mut self.usage);
        let (store, id) = (self.deps.store.clone(), self.id);
        let llm = (usage.prompt_tokens + usage.completion_tokens > 0)
            .then(|| self.providers.llm.name().to_owned());
        // The interviewer prompt's version, recorded with the model that read it.
        let version = llm.as_ref().map(|_| {
            crate::prompts::version_of(
                self.conv.interview.prompts.as_deref(),
                crate::prompts::PromptName::Interviewer,
            )
            .to_owned()
        });
        Some(tokio::spawn(async move {
            if let Err(e) = store
                .add_usage(id, &usage, llm.as_deref(), version.as_deref())
                .await
            {
                tracing::warn!(interview = %id, error = %e, ?usage, "usage not recorded");
            }
        }))
    }
}
