//! Listening: candidate audio and typed answers, utterances, STT results, commits.

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::lines::{LONG_ANSWER_TEXT, MAX_PROMPTS, NOT_CAUGHT_TEXT, PROMPT_TEXT};
use super::writes::AfterWrite;
use super::{Actor, Internal, PendingAnswer, ReplyTimings};
use crate::audio::codec::{FrameEncoder, LISTEN_FRAME, LISTEN_RATE};
use crate::interview::handle::{Outbound, Speech};
use crate::interview::listen::{Heard, Hearing};
use crate::interview::speak::Source;
use crate::protocol::monitor::{MonitorEvent, Stage};
use crate::protocol::{Event, InterviewState, Speaker, TurnKind, TurnTimings};
use crate::providers::{ProviderResult, SttResult};
use crate::store::{TurnRecord, Usage};

/// Lost frames concealed before a packet, at most (a longer gap is not worth reconstructing).
const MAX_CONCEALED: u32 = 50;
/// A partial transcript older than this (frames, 1 s) when the pause began is not the words
/// that end the answer so far: the pause keeps the interview's own silence.
const FRESH_FRAMES: u64 = 50;

impl Actor {
    /// A packet, after `lost` frames that were dropped on the way (a full mailbox): those are
    /// concealed first, so endpointing keeps counting real time.
    pub(super) fn on_audio(&mut self, packet: &[u8], lost: u32) {
        for _ in 0..lost.min(MAX_CONCEALED) {
            self.on_frame(Heard::Lost);
        }
        self.send_to_listeners(super::CHANNEL_CANDIDATE, packet);
        self.on_frame(Heard::Opus(packet));
        self.meter();
    }

    /// 20 ms frames of 16 kHz PCM from a Realtime client, after `lost` dropped ones (heard as
    /// silence). The ear takes the PCM as it is; only a recording or a listening watcher
    /// needs it as Opus, and only then is it encoded.
    pub(super) fn on_pcm(&mut self, pcm: &[i16], lost: u32) {
        let silence = [0i16; LISTEN_FRAME];
        for _ in 0..lost.min(MAX_CONCEALED) {
            self.on_frame(Heard::Pcm(&silence));
        }
        for frame in pcm.chunks_exact(LISTEN_FRAME) {
            if self.recorder.is_some() || self.anyone_listening() {
                self.encode_for_listeners(frame);
            }
            self.on_frame(Heard::Pcm(frame));
            self.meter();
        }
    }

    fn encode_for_listeners(&mut self, frame: &[i16]) {
        if self.pcm_encoder.is_none() {
            let v = self.speak.voice;
            match FrameEncoder::new(LISTEN_RATE, v.complexity, v.bitrate_bps) {
                Ok(e) => self.pcm_encoder = Some(Box::new(e)),
                Err(e) => {
                    tracing::warn!(interview = %self.id, error = %e, "no Opus encoder for the candidate's audio; not recorded");
                    return;
                }
            }
        }
        let mut packets = Vec::with_capacity(1);
        if let Some(enc) = self.pcm_encoder.as_mut() {
            if let Err(e) = enc.push(frame, &mut packets) {
                tracing::warn!(interview = %self.id, error = %e, "candidate audio not encoded");
            }
        }
        for p in packets {
            self.send_to_listeners(super::CHANNEL_CANDIDATE, &p);
        }
    }

    /// The Realtime client ended its turn (`input_audio_buffer.commit`): the answer in progress
    /// ends now. `false`: none was in progress.
    pub(super) fn commit_input(&mut self) -> bool {
        let hearing = self.ear.commit();
        let committed = matches!(hearing, Hearing::End { .. });
        self.on_hearing(hearing, None);
        committed
    }

    /// The Realtime client dropped what it said so far (`input_audio_buffer.clear`).
    pub(super) fn clear_input(&mut self) {
        self.discard_preemption("the client cleared its input");
        if self.ear.cut().is_some() {
            self.on_hearing(Hearing::Noise, None);
        }
    }

    /// How long a silence ends the candidate's turn: the interview's own, or what the adaptive
    /// end of turn gave this pause; longer if the Realtime client asked for more (its
    /// `turn_detection`, within limits).
    fn turn_silence_ms(&self) -> u32 {
        self.pause_rule
            .map_or(self.end_silence_ms, |r| r.end_silence_ms)
            .max(self.client_silence_ms)
    }

    /// The adaptive end of turn, after each frame: once a pause has lasted the probe, the words
    /// so far decide its end silence (and a fresher partial during it decides again); speech
    /// going on forgets it. An unfinished answer puts the interviewer in `waiting`.
    fn judge_pause(&mut self) {
        let Some(policy) = self.deps.cfg.turns else {
            return;
        };
        let Some(pause_ms) = self.ear.pause_ms() else {
            // Speaking again (or no utterance): the pause, and any waiting, is over.
            if self.ear.in_utterance() {
                // The candidate went on: what was prepared answers words they had not finished.
                self.discard_preemption("the candidate went on");
            }
            self.pause_rule = None;
            if self.state == InterviewState::Waiting {
                self.set_state(InterviewState::Listening);
            }
            return;
        };
        // Judged once a pause (and again only on a fresher partial: `on_partial`).
        if pause_ms < policy.probe_ms || self.pause_rule.is_some() {
            return;
        }
        // Words heard well before the pause began say nothing of how the answer stops now.
        let pause_began = self
            .frames_heard
            .saturating_sub(u64::from(pause_ms / crate::protocol::FRAME_MS));
        let words = self
            .said_so_far
            .as_ref()
            .filter(|(_, at)| at + FRESH_FRAMES >= pause_began)
            .map_or_else(String::new, |(w, _)| w.clone());
        let mut verdict = crate::turns::completeness::judge(&words);
        let patient = self.conv.interview.settings.extra_time();
        if words.is_empty() && self.preemption.is_none() {
            // No live words (a recogniser without captions): where it can, the answer so far is
            // transcribed now, the turn held open until it is judged (`on_preempted`), and the
            // reply prepared on it if it reads finished.
            self.maybe_preempt("");
            if self.preemption.as_ref().is_some_and(|p| p.judges_pause()) {
                self.pause_rule = Some(policy.hold(self.end_silence_ms, patient));
                return;
            }
            // Where it cannot (the embedded Whisper with one worker): how the voice ended.
            verdict = self.ear.intonation();
        }
        self.apply_verdict(verdict, &words);
    }

    /// A pause's words are judged: its end silence, the `waiting` state, and (finished) a
    /// preemptive reply.
    pub(super) fn apply_verdict(
        &mut self,
        verdict: crate::turns::completeness::Completeness,
        words: &str,
    ) {
        let Some(policy) = self.deps.cfg.turns else {
            return;
        };
        let patient = self.conv.interview.settings.extra_time();
        let rule = policy.rule(verdict, self.end_silence_ms, patient);
        self.pause_rule = Some(rule);
        if verdict == crate::turns::completeness::Completeness::Finished {
            self.maybe_preempt(words);
        }
        if rule.waiting && self.state == InterviewState::Listening {
            self.set_state(InterviewState::Waiting);
        } else if !rule.waiting && self.state == InterviewState::Waiting {
            self.set_state(InterviewState::Listening);
        }
    }

    fn on_frame(&mut self, heard: Heard<'_>) {
        self.frames_heard += 1;
        // Borrowed, not cloned: this runs for every 20 ms frame; a session starts only at speech.
        let stt = &self.providers.stt;
        let end_silence_ms = self.turn_silence_ms();
        let (plan, vocabulary) = (&self.conv.interview.plan, &mut self.vocabulary);
        let mut partials_rx = None;
        let hearing = self.ear.hear(heard, end_silence_ms, || {
            let (tx, rx) = mpsc::channel(8);
            partials_rx = Some(rx);
            let vocabulary = vocabulary.get_or_insert_with(|| {
                plan.as_ref()
                    .map(crate::plan::vocabulary::shared)
                    .unwrap_or_default()
            });
            stt.start(vocabulary, tx)
        });
        self.on_hearing(hearing, partials_rx);
        self.judge_pause();
    }

    fn on_hearing(&mut self, hearing: Hearing, partials_rx: Option<mpsc::Receiver<String>>) {
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
                self.discard_preemption("a new utterance began");
                self.preempts = 0;
                self.partials = partials_rx;
                self.said_so_far = None;
                self.pause_rule = None;
                self.utterance_started = Some(Utc::now());
                self.utterance_turn = None;
                self.silence_ms = 0;
                // The candidate may interrupt the interviewer; the interviewer never interrupts.
                // (Speech is told first: a Realtime client hears the barge-in as OpenAI tells
                // it, `speech_started` before the response's truncation.)
                self.tell_speech(Speech::Started);
                self.interrupt();
                self.set_state(InterviewState::Listening);
            }
            Hearing::Continue => {}
            Hearing::End {
                stt,
                utterance_ms,
                capped,
                ..
            } => {
                if capped {
                    tracing::info!(interview = %self.id, utterance_ms, "answer reached the longest allowed; kept");
                }
                let endpoint_ms = self.turn_silence_ms();
                self.said_so_far = None;
                self.pause_rule = None;
                // A preemptive reply's snapshot already holds this turn's transcript.
                let transcript = self.preempted_transcript().filter(|_| !capped);
                let utterance =
                    self.finish_utterance(stt, utterance_ms, capped, transcript.is_none());
                self.tell_speech(Speech::Stopped);
                self.reply_timings = Some(ReplyTimings {
                    turn_end: Instant::now(),
                    t: TurnTimings {
                        endpoint_ms: u64::from(endpoint_ms),
                        ..Default::default()
                    },
                    asked_at: None,
                });
                self.set_state(InterviewState::Thinking);
                if let Some(text) = transcript {
                    let result = SttResult {
                        text,
                        transcribed: true,
                        degraded: None,
                    };
                    self.on_stt(utterance, Ok(result), 0);
                }
            }
            Hearing::Noise => {
                self.discard_preemption("the utterance was noise");
                self.partials = None;
                self.utterance_turn = None;
                self.said_so_far = None;
                self.pause_rule = None;
                if self.state == InterviewState::Waiting {
                    self.set_state(InterviewState::Listening);
                }
                self.tell_speech(Speech::Dropped);
            }
        }
    }

    /// Speech began or ended: the watchers see it, and a Realtime client hears it as
    /// `input_audio_buffer.speech_started`/`speech_stopped`.
    fn tell_speech(&mut self, speech: Speech) {
        self.tell_monitors(&MonitorEvent::Speech {
            speaking: speech == Speech::Started,
        });
        if let Some(c) = self.conn.as_ref().filter(|c| c.realtime) {
            // Best effort: a client too far behind to take it is dropped by its writer anyway.
            let _ = c.tx.try_send(Outbound::Speech(speech));
        }
    }

    pub(super) fn on_partial(&mut self, text: String) {
        self.said_so_far = Some((text.clone(), self.frames_heard));
        // A fresher transcript during a pause is judged again.
        if self.pause_rule.is_some() {
            self.pause_rule = None;
            self.judge_pause();
        }
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

    /// Hands a finished utterance to STT (as a task, unless `transcribe` is false: its
    /// transcript is known); answers commit in the order spoken. Returns its number.
    pub(super) fn finish_utterance(
        &mut self,
        stt: Box<dyn crate::providers::SttSession>,
        audio_ms: u32,
        capped: bool,
        transcribe: bool,
    ) -> u64 {
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
                capped,
            },
        );
        if !transcribe {
            return utterance;
        }
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
        utterance
    }

    pub(super) fn on_text_answer(&mut self, text: String) {
        let text = text.trim().to_owned();
        if text.is_empty() {
            return;
        }
        self.interrupt();
        let turn = self.conv.alloc_turn();
        let now = Utc::now();
        self.commit_answer(turn, text, true, 0, now, now);
        self.reply_timings = Some(ReplyTimings {
            turn_end: Instant::now(),
            t: TurnTimings::default(),
            asked_at: None,
        });
        self.maybe_reply();
    }

    /// Commits an answer: it joins the conversation (the interviewer may start thinking) while
    /// its durable write runs as a task. Its final transcript is sent, and interviewer audio may
    /// start, only once the write is done (see [`writes`](super::writes)).
    pub(super) fn commit_answer(
        &mut self,
        turn: u32,
        text: String,
        transcribed: bool,
        audio_ms: u32,
        started_at: DateTime<Utc>,
        ended_at: DateTime<Utc>,
    ) {
        self.queue_turn_then(
            TurnRecord {
                decision: None,
                suggested: false,
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
            },
            AfterWrite::Transcript {
                text,
                since: Instant::now(),
            },
        );
    }

    /// An answer is durable (or, during a store outage, checkpointed): its final transcript
    /// goes out.
    pub(super) fn on_committed(&mut self, turn: u32, text: String, commit_ms: u64) {
        let timings = self
            .speaking
            .as_mut()
            .and_then(|s| s.timings.as_mut())
            .or(self.reply_timings.as_mut());
        if let Some(r) = timings {
            r.t.commit_ms = commit_ms;
        }
        self.emit(Event::Transcript {
            turn,
            text,
            is_final: true,
        });
        self.analyse(turn);
        self.prompts = 0;
        self.silence_ms = 0;
        self.checkpoint();
    }

    /// A notice shown, not spoken (nobody is interrupted), stored after the turns before it and
    /// sent once it is stored, so captions and the stored transcript agree.
    pub(super) fn text_notice(&mut self, text: &str) {
        let turn = self.conv.alloc_turn();
        let now = Utc::now();
        self.queue_turn_then(
            TurnRecord {
                decision: None,
                suggested: false,
                interview_id: self.id,
                seq: turn,
                speaker: Speaker::Interviewer,
                kind: TurnKind::Notice,
                text: text.to_owned(),
                transcribed: true,
                interrupted: false,
                audio_ms: 0,
                started_at: now,
                ended_at: now,
                timings: None,
            },
            AfterWrite::Notice {
                text: text.to_owned(),
            },
        );
    }

    /// Starts the interviewer's reply once every answer is committed and nobody is speaking.
    pub(super) fn maybe_reply(&mut self) {
        let idle = !self.ear.in_utterance() && self.pending.is_empty() && self.speaking.is_none();
        let answered = self.conv.answered();
        if idle && answered && !self.is_over() && !self.welcome_back && self.may_ask() {
            // A question the hiring team suggested goes first, as written.
            let source = match self.suggestions.pop_front() {
                Some(q) => {
                    self.next_suggested = true;
                    Source::Fixed(q)
                }
                None => match self.take_preemption() {
                    Some(p) => return self.adopt(p),
                    None => Source::Model(self.conv.context()),
                },
            };
            // (A suggestion goes first: what was prepared for the model's turn is not it.)
            self.discard_preemption("a suggested question goes first");
            self.begin_reply(source, TurnKind::Question, true);
        }
    }

    /// An utterance's transcript: answers commit strictly in the order the candidate spoke.
    pub(super) fn on_stt(
        &mut self,
        utterance: u64,
        result: ProviderResult<SttResult>,
        stt_ms: u64,
    ) {
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
                    if let Some(why) = &r.degraded {
                        tracing::warn!(interview = %self.id, error = %why, "speech-to-text degraded to a fallback");
                        self.degrade(Stage::Stt, why);
                        self.emit(Event::Error {
                                    code: "stt_degraded".into(),
                                    message: if r.transcribed {
                                        "Speech recognition fell back to another engine for this answer.".into()
                                    } else {
                                        "Speech recognition is unavailable for this answer; it is kept without a transcript.".into()
                                    },
                                    fatal: false,
                                });
                    }
                    if r.transcribed && self.providers.stt.is_remote() {
                        self.add_usage(Usage {
                            stt_seconds: f64::from(p.audio_ms) / 1000.0,
                            ..Default::default()
                        });
                    }
                    let turn = p.turn.unwrap_or_else(|| self.conv.alloc_turn());
                    self.commit_answer(
                        turn,
                        r.text,
                        r.transcribed,
                        p.audio_ms,
                        p.started_at,
                        p.ended_at,
                    );
                    if p.capped {
                        // Stored after the answer; it does not take the turn.
                        self.text_notice(LONG_ANSWER_TEXT);
                    }
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
