//! Preemptive replies (issue #19): at a pause whose answer reads as finished, the reply is
//! prepared before the turn ends — the words so far transcribed (a snapshot of the recogniser's
//! session, where it can make one, else its live partial), the model asked, the first sentence
//! synthesised — and held: its pipeline's progress is not read, so nothing of it is sent or
//! played, and its bounded queue stops it once the first speech is ready.
//!
//! - The candidate goes on (speech in the same utterance), the utterance is dropped, or the
//!   connection goes: it is discarded (its task aborted: the model and speech streams close).
//! - The turn ends on the same words: it becomes the reply — after the answer is committed and
//!   durable, like any reply (`writes`), so the final transcript still goes first. From a
//!   snapshot the transcript is the turn's own (nothing was pushed since its last speech
//!   frame): the final speech-to-text call is skipped, and its wait with it.
//! - At most `TurnPolicy::preempt_per_turn` per answer; they do not count against the reply
//!   budget (the one used counts as the reply it becomes). Both outcomes are counted
//!   (`viva_preemptive_replies_total`), and a discarded one's vendor usage is still billed to
//!   the interview.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::speaking::Pipeline;
use super::{Actor, Internal, ReplyTimings};
use crate::interview::speak::{self, Source, SpeakMsg};
use crate::metrics::Preemptive;
use crate::protocol::{Speaker, TurnKind};
use crate::providers::{ContextTurn, InterviewContext, ProviderResult, SttResult};
use crate::store::Usage;

/// A reply prepared during a pause, not (yet) the interviewer's.
pub(super) struct Preemption {
    gen: u64,
    task: Option<AbortHandle>,
    progress: mpsc::Receiver<(u64, SpeakMsg)>,
    /// The answer it replies to: known at once (a partial) or once the snapshot is transcribed.
    words: Option<String>,
    /// `words` are the turn's exact transcript (a snapshot's), not a partial's.
    exact: bool,
    /// Audio of the answer so far, in ms.
    audio_ms: u32,
    /// When the model was asked (its stage times count from here).
    asked_at: Option<Instant>,
    /// Turns in the conversation when it was prepared: it answers those plus this answer.
    turns_before: usize,
    /// The pause waits for its words to be judged (there were no live ones).
    judges_pause: bool,
}

impl Preemption {
    /// Whether the pause in progress is held open for this preemption's transcript.
    pub(super) fn judges_pause(&self) -> bool {
        self.judges_pause && self.words.is_none()
    }

    /// Its task and progress, to become the interviewer's turn (what is left, dropped, no longer
    /// aborts the task).
    fn take_pipeline(&mut self) -> Pipeline {
        let (_, closed) = mpsc::channel(1);
        Pipeline {
            gen: self.gen,
            task: self.task.take(),
            progress: std::mem::replace(&mut self.progress, closed),
        }
    }
}

impl Drop for Preemption {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Same words, whatever the case, punctuation and spacing.
pub(super) fn same_words(a: &str, b: &str) -> bool {
    let words = |s: &str| {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
    };
    words(a) == words(b)
}

/// A transcript a reply can be prepared on.
fn usable(r: &ProviderResult<SttResult>) -> Option<String> {
    match r {
        Ok(r) if r.transcribed && r.degraded.is_none() && !r.text.trim().is_empty() => {
            Some(r.text.clone())
        }
        _ => None,
    }
}

/// `ctx` with the candidate's answer so far as its last turn.
fn with_answer(ctx: &InterviewContext, text: String, audio_ms: u32) -> Arc<InterviewContext> {
    let mut ctx = ctx.clone();
    ctx.turns.push(ContextTurn {
        speaker: Speaker::Candidate,
        kind: TurnKind::Answer,
        text,
        transcribed: true,
        audio_ms,
        suggested: false,
    });
    Arc::new(ctx)
}

impl Actor {
    /// A pause reads as finished (`partial`: the words judged): prepare the reply, if the end
    /// of this turn would start the model's reply at once and the answer has preemptions left.
    pub(super) fn maybe_preempt(&mut self, partial: &str) {
        let Some(policy) = self.deps.cfg.turns else {
            return;
        };
        if self.preemption.is_some() || self.preempts >= policy.preempt_per_turn {
            return;
        }
        let would_reply = self.speaking.is_none()
            && self.pending.is_empty()
            && self.suggestions.is_empty()
            && !self.is_over()
            && !self.welcome_back
            && !self.cancelled
            && self.budget_spent().is_none()
            && self.writes.waiting() < self.deps.cfg.max_unsaved_turns;
        if !would_reply {
            return;
        }
        let snapshot = self.ear.snapshot();
        let words = match &snapshot {
            Some(_) => None,
            None if !partial.trim().is_empty() => Some(partial.to_owned()),
            None => return,
        };
        self.preempts += 1;
        self.gen += 1;
        let gen = self.gen;
        let ctx = self.conv.context();
        let audio_ms = self.ear.spoken_ms();
        let (tx, progress) = mpsc::channel(super::speaking::PROGRESS_QUEUE);
        let internal = self.internal_tx.clone();
        let deps = self.speak.clone();
        let known = words.clone();
        let task = tokio::spawn(async move {
            let text = match snapshot {
                Some(stt) => {
                    let result = stt.finish().await;
                    let text = usable(&result);
                    if internal
                        .send(Internal::Preempted { gen, result })
                        .await
                        .is_err()
                    {
                        return;
                    }
                    match text {
                        Some(t) => t,
                        None => return,
                    }
                }
                None => known.unwrap_or_default(),
            };
            let ctx = with_answer(&ctx, text, audio_ms);
            speak::run(gen, Source::Model(ctx), deps, tx).await;
        });
        let exact = words.is_none();
        self.preemption = Some(Box::new(Preemption {
            gen,
            task: Some(task.abort_handle()),
            progress,
            asked_at: words.as_ref().map(|_| Instant::now()),
            words,
            exact,
            audio_ms,
            turns_before: self.conv.turns.len(),
            judges_pause: partial.trim().is_empty(),
        }));
    }

    /// The snapshot of a preemption's answer is transcribed.
    pub(super) fn on_preempted(&mut self, gen: u64, result: ProviderResult<SttResult>) {
        let Some(p) = self.preemption.as_mut().filter(|p| p.gen == gen) else {
            return;
        };
        let (audio_ms, judges_pause) = (p.audio_ms, p.judges_pause);
        let text = usable(&result);
        match &text {
            Some(text) => {
                p.words = Some(text.clone());
                p.asked_at = Some(Instant::now());
            }
            None => self.discard_preemption("its transcript is not usable"),
        }
        if judges_pause && self.ear.pause_ms().is_some() {
            // The pause held open for these words: judged now (a verdict other than finished
            // throws the prepared reply away).
            let words = text.unwrap_or_default();
            let verdict = crate::turns::completeness::judge(&words);
            if verdict != crate::turns::completeness::Completeness::Finished {
                self.discard_preemption("the answer so far reads unfinished");
            }
            self.apply_verdict(verdict, &words);
        }
        if result.is_ok_and(|r| r.transcribed) && self.providers.stt.is_remote() {
            // The vendor transcribed it; whether used or not, it is billed.
            self.add_usage(Usage {
                stt_seconds: f64::from(audio_ms) / 1000.0,
                ..Default::default()
            });
        }
    }

    /// Throws the preemptive reply away (`why` is logged).
    pub(super) fn discard_preemption(&mut self, why: &'static str) {
        if let Some(mut p) = self.preemption.take() {
            self.throw_away(&mut p, why);
        }
    }

    /// Aborts a preemption's task; its vendor usage so far is still the interview's.
    fn throw_away(&mut self, p: &mut Preemption, why: &'static str) {
        if let Some(t) = p.task.take() {
            t.abort();
        }
        while let Ok((_, m)) = p.progress.try_recv() {
            if let SpeakMsg::Usage(u) = m {
                self.add_usage(u);
            }
        }
        crate::metrics::global().count_preemptive(Preemptive::Discarded);
        tracing::debug!(interview = %self.id, why, "preemptive reply discarded");
    }

    /// The turn just ended in the pause a snapshot was transcribed for: its transcript (the
    /// final speech-to-text call is not needed).
    pub(super) fn preempted_transcript(&self) -> Option<String> {
        self.preemption
            .as_ref()
            .filter(|p| p.exact)
            .and_then(|p| p.words.clone())
    }

    /// The model's reply is due: the preemptive one, if it was prepared for exactly this
    /// conversation (the answer just committed, with the same words). Otherwise it is
    /// discarded.
    pub(super) fn take_preemption(&mut self) -> Option<Box<Preemption>> {
        let p = self.preemption.as_ref()?;
        let fits = p.words.as_deref().is_some_and(|w| {
            self.conv.turns.len() == p.turns_before + 1
                && self.conv.turns.last().is_some_and(|t| {
                    t.speaker == Speaker::Candidate
                        && t.kind == TurnKind::Answer
                        && same_words(&t.text, w)
                })
        });
        if fits {
            self.preemption.take()
        } else {
            self.discard_preemption("the answer's words differ");
            None
        }
    }

    /// Makes a preemptive reply the interviewer's turn (the budget rules of
    /// [`Actor::begin_reply`] apply: past it, the closing is spoken instead).
    pub(super) fn adopt(&mut self, mut p: Box<Preemption>) {
        if self.cancelled || self.budget_spent().is_some() {
            self.throw_away(&mut p, "the interview's budget is spent");
            let ctx = self.conv.context();
            return self.begin_reply(Source::Model(ctx), TurnKind::Question, true);
        }
        self.replies += 1;
        crate::metrics::global().count_preemptive(Preemptive::Used);
        let timings = self.reply_timings.take().map(|mut r: ReplyTimings| {
            r.t.preemptive = true;
            r.asked_at = p.asked_at;
            r
        });
        self.install_reply(p.take_pipeline(), TurnKind::Question, true, None, timings);
    }
}

#[cfg(test)]
mod tests {
    use super::same_words;

    #[test]
    fn words_compare_without_case_or_punctuation() {
        assert!(same_words(
            "I'd start with the logs.",
            "i'd start with the logs"
        ));
        assert!(same_words(
            "Scripted answer of 2.6 seconds.",
            "Scripted answer of 2.6 seconds"
        ));
        assert!(!same_words(
            "I'd start with the logs.",
            "I'd start with the logs and"
        ));
        assert!(!same_words("", "Yes."));
    }
}
