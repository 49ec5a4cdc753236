//! Lifecycle: starting the conversation, durable writes, checkpoints, ending and stopping.

use super::*;
use crate::store::{Store, StoreError};

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

    /// Writes a turn durably (earlier unsaved turns first, in order) and adds it to the context.
    pub(super) async fn persist(&mut self, rec: TurnRecord) {
        self.conv.push(rec.clone());
        self.unsaved.push(rec);
        if let Err(e) = store_in_order(&*self.deps.store, &mut self.unsaved).await {
            self.storage_degraded(&e.to_string());
        }
    }

    /// Tells everyone watching that turns are kept in memory until the store is back.
    pub(super) fn storage_degraded(&mut self, error: &str) {
        tracing::error!(interview = %self.id, error, unsaved = self.unsaved.len(), "turn not stored yet");
        self.emit(Event::Error {
            code: "storage_degraded".into(),
            message:
                "The transcript is kept in memory and will be stored when the database is back."
                    .into(),
            fatal: false,
        });
    }

    pub(super) async fn checkpoint(&mut self) {
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

    pub(super) async fn end(&mut self, reason: &str) {
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
        self.close_monitors(close::ENDED, "interview ended");
        self.conn = None;
        self.ended = true;
    }

    /// Final checkpoint, then the connection is closed with a code it can resume from.
    pub(super) async fn stop(&mut self, code: u16, reason: &'static str) {
        // Answers being written are waited for: none is lost to a shutdown.
        while self.committing > 0 {
            match tokio::time::timeout(std::time::Duration::from_secs(10), self.internal_rx.recv())
                .await
            {
                Ok(Some(Internal::Committed {
                    turn,
                    text,
                    unsaved,
                    error,
                    commit_ms,
                })) => {
                    self.on_committed(turn, text, unsaved, error, commit_ms)
                        .await
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        if let Some(s) = self.speaking.take() {
            if let Some(p) = s.pipeline {
                p.abort();
            }
        }
        self.checkpoint().await;
        self.send(Outbound::Close(code, reason));
        self.close_monitors(code, reason);
        self.conn = None;
    }
}

/// Writes `queue` in order, stopping at the first failure: what is left in it was not stored.
pub(super) async fn store_in_order(
    store: &dyn Store,
    queue: &mut Vec<TurnRecord>,
) -> Result<(), StoreError> {
    while let Some(first) = queue.first() {
        store.insert_turn(first).await?;
        queue.remove(0);
    }
    Ok(())
}
