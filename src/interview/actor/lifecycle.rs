//! Lifecycle: starting the conversation, checkpoints, the ownership lease, ending and stopping.

use super::*;

use crate::store::StorageCounters;

impl Actor {
    pub(super) async fn start_conversation(&mut self) {
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

    /// Tells everyone watching that turns are kept in memory until the store is back.
    pub(super) fn storage_degraded(&mut self, error: &str) {
        tracing::error!(interview = %self.id, error, unsaved = self.writes.waiting(), "turn not stored yet");
        self.emit(Event::Error {
            code: "storage_degraded".into(),
            message:
                "The transcript is kept in memory and will be stored when the database is back."
                    .into(),
            fatal: false,
        });
    }

    pub(super) async fn checkpoint(&mut self) {
        self.last_checkpoint = Instant::now();
        let cp = Checkpoint {
            v: CHECKPOINT_VERSION,
            interview_id: self.id,
            next_seq: self.log.next_seq(),
            next_turn: self.conv.next_turn(),
            state: self.state,
            updated_at: Utc::now(),
            unsaved: self.writes.unsaved(),
            clean: self.stopping,
            resume_secret: Some(self.resume_secret.clone()),
            holder_connected: self.conn.is_some(),
        };
        if let Err(e) = self.deps.hot.save_checkpoint(&cp).await {
            tracing::warn!(interview = %self.id, error = %e, "checkpoint failed");
            StorageCounters::count(&self.deps.events.counters().checkpoint_failures);
        }
    }

    pub(super) async fn end(&mut self, reason: &str) {
        self.interrupt().await;
        if let Some(w) = self.flush_usage() {
            let _ = w.await;
        }
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
        self.close_monitors(close::ENDED, "interview ended");
        self.conn = None;
        self.ended = true;
    }

    /// Final checkpoint, then the connection is closed with a code it can resume from.
    pub(super) async fn stop(&mut self, code: u16, reason: &'static str) {
        if let Some(s) = self.speaking.take() {
            if let Some(p) = s.pipeline {
                p.abort();
            }
        }
        self.finish().await;
        self.send(Outbound::Close(code, reason));
        self.close_monitors(code, reason);
        self.conn = None;
    }
}

impl Actor {
    /// The last thing an actor does: waits for the write in flight (no answer is lost to a
    /// stop; what the store did not take is in the checkpoint), records usage, writes the final
    /// (clean) checkpoint and gives the lease up.
    pub(super) async fn finish(&mut self) {
        self.settle_writes().await;
        if let Some(w) = self.flush_usage() {
            let _ = w.await;
        }
        self.stopping = true;
        self.checkpoint().await;
        self.release_lease().await;
    }

    /// Renews the ownership lease; `false` if another node holds it now. A hot-state outage
    /// counts as still ours (nobody else can take it from Redis either).
    pub(super) async fn renew_lease(&mut self) -> bool {
        self.lease_renew_at = Instant::now() + self.deps.cfg.lease_ttl / 3;
        match self
            .deps
            .hot
            .acquire_lease(self.id, &self.deps.cfg.node, self.deps.cfg.lease_ttl)
            .await
        {
            Ok(ours) => ours,
            Err(e) => {
                tracing::debug!(interview = %self.id, error = %e, "lease renewal failed");
                true
            }
        }
    }

    /// Adds vendor usage (priced) to what the interview has spent.
    pub(super) fn add_usage(&mut self, mut u: crate::store::Usage) {
        u.cost_usd = self.deps.cfg.prices.cost(&u);
        self.usage.add(&u);
    }

    /// Writes the usage gathered since the last flush, off the actor's loop (best effort);
    /// the handle lets the end of an interview wait for it.
    pub(super) fn flush_usage(&mut self) -> Option<tokio::task::JoinHandle<()>> {
        if self.usage.is_empty() {
            return None;
        }
        let usage = std::mem::take(&mut self.usage);
        let (store, id) = (self.deps.store.clone(), self.id);
        let llm = (usage.prompt_tokens + usage.completion_tokens > 0)
            .then(|| self.deps.providers.llm.name().to_owned());
        Some(tokio::spawn(async move {
            let version = llm
                .as_ref()
                .map(|_| crate::providers::remote::PROMPT_VERSION);
            if let Err(e) = store.add_usage(id, &usage, llm.as_deref(), version).await {
                tracing::warn!(interview = %id, error = %e, ?usage, "usage not recorded");
            }
        }))
    }

    pub(super) async fn release_lease(&mut self) {
        if let Err(e) = self
            .deps
            .hot
            .release_lease(self.id, &self.deps.cfg.node)
            .await
        {
            tracing::debug!(interview = %self.id, error = %e, "lease release failed; it expires");
        }
    }
}
