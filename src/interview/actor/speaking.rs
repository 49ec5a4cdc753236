//! Speaking: reply pipelines, paced playback, repeats and barge-in.

use chrono::Utc;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::lines::{BUDGET_CLOSING_TEXT, CANCELLED};
use super::writes::AfterWrite;
use super::{Actor, Phase, Speaking};
use crate::interview::conversation::heard_text;
use crate::interview::handle::Outbound;
use crate::interview::is_open_question;
use crate::interview::speak::{self, Playback, Source, SpeakMsg};
use crate::protocol::{Event, InterviewState, Speaker, TurnKind};
use crate::store::TurnRecord;

/// What a reply pipeline may produce ahead of the loop reading it (it waits beyond that, e.g.
/// while an answer commits).
pub(super) const PROGRESS_QUEUE: usize = 64;

/// A reply pipeline: its generation, its task, and what it produces.
pub(super) struct Pipeline {
    pub gen: u64,
    pub task: Option<tokio::task::AbortHandle>,
    pub progress: mpsc::Receiver<(u64, SpeakMsg)>,
}

/// The next progress of the reply being produced; pending while there is none.
pub(super) async fn next_progress(speaking: &mut Option<Speaking>) -> Option<(u64, SpeakMsg)> {
    match speaking.as_mut().and_then(|s| s.progress.as_mut()) {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Actor {
    /// Starts an interviewer turn. A stored one counts against the interview's budget (replies,
    /// transcript bytes); once that is spent the interviewer closes politely instead, and if
    /// that closing is cut short the interview ends at once (`ended.reason = "budget"`).
    pub(super) fn begin_reply(&mut self, source: Source, kind: TurnKind, store: bool) {
        if self.cancelled {
            // Its closing words were cut off: nothing more is asked.
            self.phase = Phase::Ending(CANCELLED);
            return;
        }
        if store {
            if let Some(spent) = self.budget_spent() {
                if self.budget_closed {
                    self.phase = Phase::Ending("budget");
                    return;
                }
                tracing::info!(interview = %self.id, spent, "interview budget spent; closing");
                self.budget_closed = true;
                let closing = Source::Fixed(BUDGET_CLOSING_TEXT.into());
                return self.start_reply(closing, TurnKind::Question, true, Some("budget"));
            }
            self.replies += 1;
        }
        self.start_reply(source, kind, store, None);
    }

    /// Which budget is spent, if one is.
    pub(super) fn budget_spent(&self) -> Option<&'static str> {
        let cfg = &self.deps.cfg;
        if self.replies >= cfg.max_replies {
            Some("interviewer replies")
        } else if self.conv.text_bytes() >= cfg.max_transcript_bytes {
            Some("transcript bytes")
        } else if self.over_time() {
            Some("interview minutes")
        } else {
            None
        }
    }

    /// The interview's own time budget (`max_minutes`) is spent.
    fn over_time(&self) -> bool {
        let i = &self.conv.interview;
        match (i.settings.budget_secs(), i.started_at) {
            (Some(budget), Some(at)) => (Utc::now() - at).num_seconds() >= budget,
            _ => false,
        }
    }

    pub(super) fn start_reply(
        &mut self,
        source: Source,
        kind: TurnKind,
        store: bool,
        closes: Option<&'static str>,
    ) {
        self.gen += 1;
        let gen = self.gen;
        let (tx, rx) = mpsc::channel(PROGRESS_QUEUE);
        let task = tokio::spawn(speak::run(gen, source, self.speak.clone(), tx));
        let timings = if kind == TurnKind::Question {
            self.reply_timings.take()
        } else {
            None
        };
        let pipeline = Pipeline {
            gen,
            task: Some(task.abort_handle()),
            progress: rx,
        };
        self.install_reply(pipeline, kind, store, closes, timings);
    }

    /// Makes `pipeline` the interviewer's turn in progress (a new one, or a preemptive reply).
    pub(super) fn install_reply(
        &mut self,
        pipeline: Pipeline,
        kind: TurnKind,
        store: bool,
        closes: Option<&'static str>,
        timings: Option<super::ReplyTimings>,
    ) {
        let turn = self.conv.alloc_turn();
        self.speaking = Some(Speaking {
            playback: Playback::new(turn),
            kind,
            store,
            gen: pipeline.gen,
            pipeline: pipeline.task,
            progress: Some(pipeline.progress),
            started_at: Utc::now(),
            text_sent: false,
            timings,
            sent_timings: None,
            closes,
            suggested: std::mem::take(&mut self.next_suggested) && closes.is_none(),
            decision: None,
        });
        self.set_state(InterviewState::Thinking);
    }

    pub(super) fn repeat(&mut self) {
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
            progress: None,
            started_at: Utc::now(),
            text_sent: true,
            timings: None,
            sent_timings: None,
            closes: None,
            suggested: false,
            decision: None,
        });
        self.emit(Event::AgentText {
            turn,
            kind: TurnKind::Question,
            text,
            is_final: true,
            closing: false,
        });
    }

    /// The reply pipeline's progress; `None`: it is done.
    pub(super) fn on_progress(&mut self, progress: Option<(u64, SpeakMsg)>) {
        match progress {
            Some((gen, m)) => self.on_speak(gen, m),
            None => {
                if let Some(s) = &mut self.speaking {
                    s.progress = None;
                }
            }
        }
    }

    fn on_speak(&mut self, gen: u64, m: SpeakMsg) {
        if let SpeakMsg::Usage(u) = m {
            // Spent even if the reply was cancelled.
            self.add_usage(u);
            return;
        }
        let Some(s) = self.speaking.as_mut().filter(|s| s.gen == gen) else {
            return;
        };
        let (turn, kind) = (s.playback.turn, s.kind);
        match m {
            SpeakMsg::LlmFirstToken(d) => {
                if let Some(t) = &mut s.timings {
                    t.t.llm_first_token_ms = d.as_millis() as u64;
                }
            }
            SpeakMsg::LlmFirstSentence(d) => {
                if let Some(t) = &mut s.timings {
                    t.t.llm_first_sentence_ms = d.as_millis() as u64;
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
                    kind,
                    text,
                    is_final: false,
                    closing: false,
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
                    let closing = end_interview || s.closes.is_some();
                    self.emit(Event::AgentText {
                        turn,
                        kind,
                        text,
                        is_final: true,
                        closing,
                    });
                }
            }
            SpeakMsg::Frames(frames) => s.playback.frames.extend(frames),
            SpeakMsg::SentenceDone { text, .. } => {
                let end = s.playback.frames.len();
                s.playback.sentences.push((text, end));
            }
            SpeakMsg::AudioDone => s.playback.audio_done = true,
            SpeakMsg::Decision(d) => s.decision = Some(*d),
            SpeakMsg::Usage(_) => {}
            SpeakMsg::Degraded { code, message } => {
                tracing::warn!(interview = %self.id, code, message = %message, "reply degraded");
                self.degrade(crate::protocol::monitor::Stage::Reply, &message);
                self.emit(Event::Error {
                    code: code.into(),
                    message,
                    fatal: false,
                });
            }
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
    pub(super) fn pump(&mut self) {
        if self.conn.is_none() {
            return;
        }
        let now = Instant::now();
        let lead = self.deps.cfg.playout_lead;
        let Some(s) = self.speaking.as_mut() else {
            return;
        };
        let starting = !s.playback.audio_started() && s.playback.next < s.playback.frames.len();
        if starting && self.writes.committing() {
            // An answer's final transcript precedes the reply (see `writes`).
            return;
        }
        let turn = s.playback.turn;
        if starting {
            let metrics = s.timings.take().map(|r| {
                let mut t = r.t;
                t.response_ms = r.turn_end.elapsed().as_millis() as u64;
                let providers_ms = match r.asked_at {
                    None => t.stt_ms + t.llm_first_sentence_ms + t.tts_first_audio_ms,
                    // A preemptive reply: only what the providers still took after the turn
                    // ended (its first audio, or the final transcript) was theirs.
                    Some(asked) => {
                        let ready = asked
                            + std::time::Duration::from_millis(
                                t.llm_first_sentence_ms + t.tts_first_audio_ms,
                            );
                        let after = ready.saturating_duration_since(r.turn_end).as_millis();
                        (after as u64).max(t.stt_ms)
                    }
                };
                t.server_ms = t.response_ms.saturating_sub(providers_ms);
                t
            });
            self.emit(Event::AudioStart { turn });
            self.set_state(InterviewState::Speaking);
            if let Some(timings) = metrics {
                if let Some(s) = self.speaking.as_mut() {
                    // Stored with the turn.
                    s.sent_timings = Some(timings.clone());
                }
                crate::metrics::global().observe_reply(&timings);
                self.emit(Event::TurnMetrics { turn, timings });
            }
        }
        let Some(s) = self.speaking.as_mut() else {
            return;
        };
        let frames: Vec<_> = s.playback.due(now, lead).to_vec();
        for f in frames {
            self.send_to_listeners(super::CHANNEL_INTERVIEWER, &f);
            self.send(Outbound::Audio(f));
        }
        if self
            .speaking
            .as_ref()
            .is_some_and(|s| s.playback.finished(now))
        {
            self.finish_reply();
        }
    }

    /// The interviewer's audio has played out: the turn is stored, and once it is durable the
    /// candidate is invited to answer (or the interview ends).
    pub(super) fn finish_reply(&mut self) {
        let Some(mut s) = self.speaking.take() else {
            return;
        };
        self.keep_usage(&mut s);
        let pb = s.playback;
        let end = if pb.end_interview {
            Some("completed")
        } else {
            s.closes
        };
        let (turn, audio_started) = (pb.turn, pb.audio_started());
        if s.kind == TurnKind::Question {
            let ms = if is_open_question(&pb.text) {
                self.deps.cfg.open_end_silence_ms
            } else {
                self.deps.cfg.end_silence_ms
            };
            self.end_silence_ms = self.conv.interview.settings.patience(ms);
        }
        let rec = (s.store && !pb.text.is_empty()).then(|| TurnRecord {
            suggested: s.suggested,
            decision: s.decision.clone(),
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
            timings: s.sent_timings,
        });
        if !pb.frames.is_empty() && s.store {
            self.last_reply = Some(pb);
        }
        match rec {
            Some(rec) => self.queue_turn_then(rec, AfterWrite::ReplyDone { audio_started, end }),
            None => self.reply_done(turn, audio_started, end),
        }
    }

    /// An interviewer turn is over (and durable, if it is stored).
    pub(super) fn reply_done(&mut self, turn: u32, audio_started: bool, end: Option<&'static str>) {
        let _ = self.flush_usage();
        if audio_started {
            self.emit(Event::AudioEnd { turn });
        }
        self.checkpoint();
        if let Some(reason) = end {
            self.end(reason);
        } else if self.speaking.is_none() {
            self.silence_ms = 0;
            self.set_state(InterviewState::Listening);
            self.maybe_reply();
        }
    }

    /// Stops the interviewer (barge-in, typed answer). Stores only the words actually heard, and
    /// tells every client that saw the turn's text what that is (an empty text: nothing was heard,
    /// nothing is stored), so captions match the stored transcript.
    pub(super) fn interrupt(&mut self) {
        let Some(mut s) = self.speaking.take() else {
            return;
        };
        if let Some(p) = &s.pipeline {
            p.abort();
        }
        self.keep_usage(&mut s);
        let pb = s.playback;
        let audio_started = pb.audio_started();
        if !audio_started && !s.text_sent {
            return;
        }
        let played_ms = if audio_started {
            pb.played_ms(Instant::now())
        } else {
            0
        };
        self.emit(Event::AudioInterrupted {
            turn: pb.turn,
            played_ms,
        });
        if !s.store {
            // A repeat or notice: the stored turn (if any) is the one first spoken.
            return;
        }
        let heard = heard_text(&pb.sentence_ends_ms(), played_ms);
        if s.text_sent {
            self.emit(Event::AgentText {
                turn: pb.turn,
                kind: s.kind,
                text: heard.clone(),
                is_final: true,
                closing: pb.end_interview || s.closes.is_some(),
            });
        }
        if !heard.is_empty() {
            self.queue_turn(TurnRecord {
                suggested: s.suggested,
                decision: s.decision.clone(),
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
                timings: s.sent_timings.clone(),
            });
        }
    }
}

impl Actor {
    /// Usage the reply reported but the loop has not read yet is spent all the same.
    fn keep_usage(&mut self, s: &mut Speaking) {
        let Some(rx) = &mut s.progress else { return };
        while let Ok((_, m)) = rx.try_recv() {
            if let SpeakMsg::Usage(u) = m {
                self.add_usage(u);
            }
        }
    }
}
