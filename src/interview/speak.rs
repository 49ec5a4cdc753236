//! The interviewer's voice: a reply pipeline task (LLM → sentences → TTS → 20 ms Opus, encoded
//! here from PCM or a vendor's Opus passed through: `audio::voice`) and the real-time
//! [`Playback`] the actor paces onto the connection.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use crate::audio::voice::VoiceSettings;
use crate::audio::voice::{OpusVoice, PcmVoice};
use crate::metrics::VoiceFrames;
use crate::protocol::FRAME_MS;
use crate::providers::chunker::SentenceChunker;
use crate::providers::{
    InterviewContext, LlmEvent, LlmProvider, ProviderError, TtsAudio, TtsProvider,
};

const FRAME: Duration = Duration::from_millis(FRAME_MS as u64);

/// Where the reply's text comes from.
pub enum Source {
    /// The interviewer model, given the conversation.
    Model(Arc<InterviewContext>),
    /// Fixed text: prompts, notices, repeats.
    Fixed(String),
}

/// Progress reports from a pipeline to its actor.
#[derive(Debug)]
pub enum SpeakMsg {
    LlmFirstToken(Duration),
    /// The first sentence is complete and goes to TTS.
    LlmFirstSentence(Duration),
    /// A sentence of the reply text, as soon as it is complete.
    TextSentence(String),
    TextDone {
        text: String,
        end_interview: bool,
    },
    TtsFirstAudio(Duration),
    Frames(Vec<Bytes>),
    /// A sentence's audio is complete (`frames` of it were sent in `Frames`).
    SentenceDone {
        text: String,
        frames: usize,
    },
    AudioDone,
    /// Vendor usage of this reply (LLM tokens, synthesised characters).
    Usage(crate::store::Usage),
    /// Why the interviewer asks what it asks (stored with the turn).
    Decision(Box<crate::plan::Decision>),
    /// The reply comes from a fallback provider.
    Degraded {
        code: &'static str,
        message: String,
    },
    Failed {
        stage: &'static str,
        error: ProviderError,
    },
}

/// Encoded audio of sentences that repeat across interviews (questions, prompts), by voice.
pub struct AudioCache {
    map: DashMap<(String, String), Arc<[Bytes]>>,
    capacity: usize,
}

impl AudioCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            map: DashMap::new(),
            capacity,
        }
    }

    fn get(&self, voice: &str, text: &str) -> Option<Arc<[Bytes]>> {
        if self.capacity == 0 {
            return None;
        }
        self.map
            .get(&(voice.to_owned(), text.to_owned()))
            .map(|v| v.clone())
    }

    fn put(&self, voice: &str, text: &str, frames: Arc<[Bytes]>) {
        if self.capacity == 0 {
            return;
        }
        if self.map.len() >= self.capacity {
            // Evict an arbitrary entry: cheap, and repeated sentences come straight back.
            let victim = self.map.iter().next().map(|e| e.key().clone());
            if let Some(k) = victim {
                self.map.remove(&k);
            }
        }
        self.map.insert((voice.to_owned(), text.to_owned()), frames);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

pub struct SpeakDeps {
    pub llm: Arc<dyn LlmProvider>,
    pub tts: Arc<dyn TtsProvider>,
    pub cache: Arc<AudioCache>,
    pub voice: VoiceSettings,
}

struct Out {
    gen: u64,
    tx: mpsc::Sender<(u64, SpeakMsg)>,
}

impl Out {
    async fn send(&self, m: SpeakMsg) {
        let _ = self.tx.send((self.gen, m)).await;
    }
}

/// Runs one reply. Always ends with `TextDone` and `AudioDone` (after any `Failed`).
pub async fn run(
    gen: u64,
    source: Source,
    deps: Arc<SpeakDeps>,
    tx: mpsc::Sender<(u64, SpeakMsg)>,
) {
    let out = Out { gen, tx };
    let (sentences_tx, mut sentences_rx) = mpsc::channel::<String>(32);
    let text_side = async {
        let (text, end_interview) = match source {
            Source::Fixed(text) => {
                let mut c = SentenceChunker::new();
                let mut all: Vec<String> = c.push(&text);
                all.extend(c.finish());
                for s in all {
                    out.send(SpeakMsg::TextSentence(s.clone())).await;
                    let _ = sentences_tx.send(s).await;
                }
                (text, false)
            }
            Source::Model(ctx) => model_text(&deps, ctx, &out, &sentences_tx).await,
        };
        drop(sentences_tx);
        out.send(SpeakMsg::TextDone {
            text,
            end_interview,
        })
        .await;
    };
    let audio_side = async {
        let mut first = true;
        let mut failed = false;
        while let Some(sentence) = sentences_rx.recv().await {
            if failed {
                out.send(SpeakMsg::SentenceDone {
                    text: sentence,
                    frames: 0,
                })
                .await;
                continue;
            }
            match speak_sentence(&deps, &sentence, &out, &mut first).await {
                Ok(frames) => {
                    out.send(SpeakMsg::SentenceDone {
                        text: sentence,
                        frames,
                    })
                    .await
                }
                Err(error) => {
                    failed = true;
                    out.send(SpeakMsg::Failed {
                        stage: "tts",
                        error,
                    })
                    .await;
                    out.send(SpeakMsg::SentenceDone {
                        text: sentence,
                        frames: 0,
                    })
                    .await;
                }
            }
        }
        out.send(SpeakMsg::AudioDone).await;
    };
    tokio::join!(text_side, audio_side);
}

async fn model_text(
    deps: &SpeakDeps,
    ctx: Arc<InterviewContext>,
    out: &Out,
    sentences: &mpsc::Sender<String>,
) -> (String, bool) {
    let t0 = Instant::now();
    let mut stream = match deps.llm.stream(ctx).await {
        Ok(s) => s,
        Err(error) => {
            out.send(SpeakMsg::Failed {
                stage: "llm",
                error,
            })
            .await;
            return (String::new(), false);
        }
    };
    let mut chunker = SentenceChunker::new();
    let mut text = String::new();
    let mut end_interview = false;
    let mut first_sentence = true;
    while let Some(ev) = stream.next().await {
        match ev {
            Ok(LlmEvent::Token(t)) => {
                if text.is_empty() {
                    out.send(SpeakMsg::LlmFirstToken(t0.elapsed())).await;
                }
                text.push_str(&t);
                for s in chunker.push(&t) {
                    if std::mem::take(&mut first_sentence) {
                        out.send(SpeakMsg::LlmFirstSentence(t0.elapsed())).await;
                    }
                    out.send(SpeakMsg::TextSentence(s.clone())).await;
                    let _ = sentences.send(s).await;
                }
            }
            Ok(LlmEvent::Usage {
                prompt_tokens,
                completion_tokens,
            }) => {
                out.send(SpeakMsg::Usage(crate::store::Usage {
                    prompt_tokens,
                    completion_tokens,
                    ..Default::default()
                }))
                .await
            }
            Ok(LlmEvent::Degraded { code, message }) => {
                out.send(SpeakMsg::Degraded { code, message }).await
            }
            Ok(LlmEvent::Decision(d)) => out.send(SpeakMsg::Decision(d)).await,
            Ok(LlmEvent::Done { end_interview: e }) => {
                end_interview = e;
                break;
            }
            Err(error) => {
                out.send(SpeakMsg::Failed {
                    stage: "llm",
                    error,
                })
                .await;
                break;
            }
        }
    }
    if let Some(s) = chunker.finish() {
        if first_sentence {
            out.send(SpeakMsg::LlmFirstSentence(t0.elapsed())).await;
        }
        out.send(SpeakMsg::TextSentence(s.clone())).await;
        let _ = sentences.send(s).await;
    }
    (text.trim().to_owned(), end_interview)
}

/// Synthesises one sentence as 20 ms Opus (encoded, passed through, or from the cache); returns
/// its frame count.
async fn speak_sentence(
    deps: &SpeakDeps,
    text: &str,
    out: &Out,
    first: &mut bool,
) -> Result<usize, ProviderError> {
    let voice = format!("{}/{}", deps.tts.name(), deps.tts.voice());
    let t0 = Instant::now();
    if let Some(frames) = deps.cache.get(&voice, text) {
        if std::mem::take(first) {
            out.send(SpeakMsg::TtsFirstAudio(t0.elapsed())).await;
        }
        out.send(SpeakMsg::Frames(frames.to_vec())).await;
        crate::metrics::global().count_voice_frames(VoiceFrames::Cached, frames.len() as u64);
        return Ok(frames.len());
    }
    let audio = deps.tts.synthesize(text).await?;
    if deps.tts.is_remote() {
        out.send(SpeakMsg::Usage(crate::store::Usage {
            tts_characters: text.chars().count() as u64,
            ..Default::default()
        }))
        .await;
    }
    let codec_err = |e: &dyn std::fmt::Display| ProviderError::new("opus", e.to_string());
    let mut all = Vec::new();
    // Sends the frames made so far (the first audio is timed from the first piece received).
    let mut emit = async |mut frames: Vec<Bytes>, first: &mut bool| {
        if std::mem::take(first) {
            out.send(SpeakMsg::TtsFirstAudio(t0.elapsed())).await;
        }
        if !frames.is_empty() {
            all.extend(frames.iter().cloned());
            out.send(SpeakMsg::Frames(std::mem::take(&mut frames)))
                .await;
        }
    };
    let metrics = crate::metrics::global();
    match audio {
        TtsAudio::Pcm {
            sample_rate,
            mut chunks,
        } => {
            let mut v = PcmVoice::new(sample_rate, deps.voice).map_err(|e| codec_err(&e))?;
            while let Some(chunk) = chunks.next().await {
                let mut frames = Vec::new();
                v.push(&chunk?, &mut frames).map_err(|e| codec_err(&e))?;
                emit(frames, first).await;
            }
            let mut frames = Vec::new();
            v.finish(&mut frames).map_err(|e| codec_err(&e))?;
            emit(frames, first).await;
            metrics.count_voice_frames(VoiceFrames::Encoded, all.len() as u64);
        }
        TtsAudio::Opus { mut packets } => {
            let mut v = OpusVoice::new(deps.voice);
            while let Some(p) = packets.next().await {
                let mut frames = Vec::new();
                v.push(p?, &mut frames).map_err(|e| codec_err(&e))?;
                emit(frames, first).await;
            }
            let mut frames = Vec::new();
            v.finish(&mut frames).map_err(|e| codec_err(&e))?;
            emit(frames, first).await;
            metrics.count_voice_frames(VoiceFrames::Passed, v.carried.passed);
            metrics.count_voice_frames(VoiceFrames::Reencoded, v.carried.reencoded);
        }
    }
    let n = all.len();
    deps.cache.put(&voice, text, all.into());
    Ok(n)
}

/// One interviewer turn being played out at real time.
pub struct Playback {
    pub turn: u32,
    pub frames: Vec<Bytes>,
    /// Next frame to send.
    pub next: usize,
    /// When playout position 0 was (set when the first frame is sent).
    anchor: Option<Instant>,
    /// Sentences with the frame index at which each ends.
    pub sentences: Vec<(String, usize)>,
    pub text: String,
    pub text_done: bool,
    pub audio_done: bool,
    pub end_interview: bool,
}

impl Playback {
    pub fn new(turn: u32) -> Self {
        Self {
            turn,
            frames: Vec::new(),
            next: 0,
            anchor: None,
            sentences: Vec::new(),
            text: String::new(),
            text_done: false,
            audio_done: false,
            end_interview: false,
        }
    }

    /// A finished turn's audio, played again (repeat requests).
    pub fn replay(
        turn: u32,
        text: String,
        frames: Vec<Bytes>,
        sentences: Vec<(String, usize)>,
    ) -> Self {
        Self {
            frames,
            sentences,
            text,
            text_done: true,
            audio_done: true,
            ..Self::new(turn)
        }
    }

    pub fn audio_started(&self) -> bool {
        self.anchor.is_some()
    }

    /// Starts playout again from the beginning (a new connection did not hear it).
    pub fn restart(&mut self) {
        self.next = 0;
        self.anchor = None;
    }

    /// Frames due at `now`, keeping at most `lead` of audio ahead of real time.
    pub fn due(&mut self, now: Instant, lead: Duration) -> &[Bytes] {
        let start = self.next;
        if self.next >= self.frames.len() {
            return &[];
        }
        let anchor = *self.anchor.get_or_insert(now);
        // Underrun: the client has played everything sent; continue from now.
        let sent_until = anchor + FRAME * self.next as u32;
        let anchor = if sent_until < now {
            let a = now - FRAME * self.next as u32;
            self.anchor = Some(a);
            a
        } else {
            anchor
        };
        while self.next < self.frames.len() && anchor + FRAME * self.next as u32 <= now + lead {
            self.next += 1;
        }
        &self.frames[start..self.next]
    }

    /// Milliseconds of audio the client has played by `now`.
    pub fn played_ms(&self, now: Instant) -> u64 {
        match self.anchor {
            None => 0,
            Some(a) => {
                let sent = u64::from(FRAME_MS) * self.next as u64;
                (now.saturating_duration_since(a).as_millis() as u64).min(sent)
            }
        }
    }

    /// Total audio of the turn so far, in ms.
    pub fn audio_ms(&self) -> u32 {
        FRAME_MS * self.frames.len() as u32
    }

    /// Whether everything was produced, sent and played.
    pub fn finished(&self, now: Instant) -> bool {
        self.text_done
            && self.audio_done
            && self.next == self.frames.len()
            && self
                .anchor
                .is_none_or(|a| now >= a + FRAME * self.frames.len() as u32)
    }

    /// When the actor must next look at this playback.
    pub fn wake_at(&self, lead: Duration) -> Option<Instant> {
        let a = self.anchor?;
        if self.next < self.frames.len() {
            Some(
                (a + FRAME * self.next as u32)
                    .checked_sub(lead)
                    .unwrap_or(a),
            )
        } else if self.text_done && self.audio_done {
            Some(a + FRAME * self.frames.len() as u32)
        } else {
            None
        }
    }

    /// Sentences with the playout time (ms) at which each ends.
    pub fn sentence_ends_ms(&self) -> Vec<(String, u64)> {
        self.sentences
            .iter()
            .map(|(t, end)| (t.clone(), u64::from(FRAME_MS) * *end as u64))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: usize) -> Vec<Bytes> {
        (0..n).map(|i| Bytes::from(vec![i as u8])).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn playback_is_paced_at_real_time_with_bounded_lead() {
        let lead = Duration::from_millis(200);
        let mut pb = Playback::new(1);
        pb.frames = frames(50);
        pb.text_done = true;
        pb.audio_done = true;
        let t0 = Instant::now();
        // First call: frames 0..=10 (0 ms … 200 ms ahead).
        assert_eq!(pb.due(t0, lead).len(), 11);
        assert_eq!(pb.due(t0, lead).len(), 0);
        assert_eq!(pb.wake_at(lead), Some(t0 + Duration::from_millis(20)));
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(pb.due(Instant::now(), lead).len(), 5);
        assert_eq!(pb.played_ms(Instant::now()), 100);
        // Wake when the playback asks to, as the actor does: never more than the lead ahead.
        let mut sent = 16;
        while !pb.finished(Instant::now()) {
            let wake = pb.wake_at(lead).expect("playback pending");
            tokio::time::sleep_until(wake).await;
            sent += pb.due(Instant::now(), lead).len();
            let ahead = u64::from(FRAME_MS) * sent as u64 - pb.played_ms(Instant::now());
            assert!(ahead <= 220, "{ahead} ms ahead");
        }
        assert_eq!(sent, 50);
        assert_eq!(t0.elapsed(), Duration::from_millis(1000));
        assert_eq!(pb.played_ms(Instant::now()), 1000);
    }

    #[tokio::test(start_paused = true)]
    async fn underrun_reanchors_instead_of_bursting() {
        let lead = Duration::from_millis(200);
        let mut pb = Playback::new(1);
        pb.frames = frames(5);
        let t0 = Instant::now();
        assert_eq!(pb.due(t0, lead).len(), 5);
        // TTS stalls for a second, then five more frames arrive.
        tokio::time::advance(Duration::from_secs(1)).await;
        pb.frames.extend(frames(20));
        // Only the lead's worth goes out, not a burst of everything.
        assert_eq!(pb.due(Instant::now(), lead).len(), 11);
    }
}
