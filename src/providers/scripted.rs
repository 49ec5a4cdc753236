//! `scripted` providers for tests and load tests: deterministic output, configurable latency.
//! Never selected unless configured (`VIVA_STT=scripted` …).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::{
    InterviewContext, LlmEvent, LlmProvider, LlmStream, ProviderResult, ScriptedLatency,
    SttProvider, SttResult, SttSession, TtsAudio, TtsFormat, TtsProvider, TurnKind,
};
use crate::audio::codec::LISTEN_RATE;
use crate::protocol::Speaker;

/// STT whose transcript is a deterministic description of the audio it was given.
pub struct ScriptedStt {
    latency: ScriptedLatency,
}

impl ScriptedStt {
    pub fn new(latency: ScriptedLatency) -> Self {
        Self { latency }
    }
}

/// The transcript the scripted STT returns for `samples` of 16 kHz audio.
pub fn transcript_for(samples: usize) -> String {
    format!(
        "Scripted answer of {:.1} seconds.",
        samples as f64 / f64::from(LISTEN_RATE)
    )
}

impl SttProvider for ScriptedStt {
    fn name(&self) -> &str {
        "scripted"
    }

    fn words_at_pauses(&self) -> bool {
        true // live partials, and a transcript of the answer so far
    }

    fn start(&self, _: &super::Vocabulary, partials: mpsc::Sender<String>) -> Box<dyn SttSession> {
        Box::new(ScriptedSttSession {
            samples: 0,
            last_partial: 0,
            partials,
            delay: Duration::from_millis(self.latency.stt_ms),
        })
    }
}

struct ScriptedSttSession {
    samples: usize,
    last_partial: usize,
    partials: mpsc::Sender<String>,
    delay: Duration,
}

#[async_trait]
impl SttSession for ScriptedSttSession {
    fn push(&mut self, pcm: &[i16]) {
        self.samples += pcm.len();
        // A partial every second of audio, like a streaming engine.
        if self.samples - self.last_partial >= LISTEN_RATE as usize {
            self.last_partial = self.samples;
            let _ = self.partials.try_send(transcript_for(self.samples));
        }
    }

    async fn finish(self: Box<Self>) -> ProviderResult<SttResult> {
        tokio::time::sleep(self.delay).await;
        Ok(SttResult {
            text: transcript_for(self.samples),
            transcribed: true,
            degraded: None,
        })
    }

    fn snapshot(&self) -> Option<Box<dyn SttSession>> {
        Some(Box::new(ScriptedSttSession {
            samples: self.samples,
            last_partial: self.samples,
            partials: self.partials.clone(),
            delay: self.delay,
        }))
    }
}

/// LLM that asks `questions` numbered questions, then closes.
pub struct ScriptedLlm {
    latency: ScriptedLatency,
    questions: u32,
}

impl ScriptedLlm {
    pub fn new(latency: ScriptedLatency, questions: u32) -> Self {
        Self { latency, questions }
    }
}

/// The scripted interviewer's reply after `asked` questions (and whether it ends the interview).
pub fn scripted_reply(asked: u32, questions: u32) -> (String, bool) {
    if asked >= questions {
        ("Thank you, that is all. Goodbye.".to_owned(), true)
    } else {
        (
            format!(
                "Scripted question {} of {questions}. Please describe a project you worked on.",
                asked + 1
            ),
            false,
        )
    }
}

#[async_trait]
impl LlmProvider for ScriptedLlm {
    fn name(&self) -> &str {
        "scripted"
    }

    async fn stream(&self, ctx: Arc<InterviewContext>) -> ProviderResult<LlmStream> {
        let asked = ctx
            .turns
            .iter()
            .filter(|t| t.speaker == Speaker::Interviewer && t.kind == TurnKind::Question)
            .count() as u32;
        // A question asked but not yet answered is asked again (resume before the answer).
        let answered = match ctx.turns.last() {
            Some(t) if t.speaker == Speaker::Interviewer && t.kind == TurnKind::Question => {
                asked.saturating_sub(1)
            }
            _ => asked,
        };
        let (text, end) = scripted_reply(answered, self.questions);
        let first = Duration::from_millis(self.latency.llm_first_token_ms);
        let gap = Duration::from_secs_f64(1.0 / self.latency.llm_tokens_per_sec.max(1.0));
        let tokens = super::interviewer::tokens(&text);
        let stream = futures_util::stream::iter(tokens.into_iter().enumerate())
            .then(move |(i, t)| async move {
                tokio::time::sleep(if i == 0 { first } else { gap }).await;
                Ok(LlmEvent::Token(t))
            })
            .chain(futures_util::stream::iter([Ok(LlmEvent::Done {
                end_interview: end,
            })]));
        Ok(Box::pin(stream))
    }
}

/// TTS that renders a 24 kHz tone, 50 ms per character (0.2–8 s), after the first-byte delay:
/// as PCM, or (`VIVA_SCRIPTED_TTS_FORMAT=opus`) as the 20 ms Opus packets of a vendor that
/// streams Opus — the tone encoded once, at start, so the server under test spends no encoder
/// time on it, as with a real Opus vendor.
pub struct ScriptedTts {
    latency: ScriptedLatency,
    opus: Option<Arc<[Bytes]>>,
}

impl ScriptedTts {
    pub fn new(latency: ScriptedLatency) -> Self {
        Self::with_format(latency, TtsFormat::Pcm)
    }

    pub fn with_format(latency: ScriptedLatency, format: TtsFormat) -> Self {
        Self {
            latency,
            opus: (format == TtsFormat::Opus).then(opus_tone),
        }
    }
}

/// The longest scripted reply's tone as 20 ms Opus packets (24 kHz, complexity 3, 24 kb/s: the
/// server's default voice), encoded once per process.
fn opus_tone() -> Arc<[Bytes]> {
    static TONE: OnceLock<Arc<[Bytes]>> = OnceLock::new();
    TONE.get_or_init(|| {
        let samples = (8_000 * u64::from(SCRIPTED_TTS_RATE) / 1000) as usize;
        let mut enc = crate::audio::codec::FrameEncoder::new(SCRIPTED_TTS_RATE, 3, 24_000)
            .expect("an Opus encoder");
        let mut packets = Vec::new();
        enc.push(&tone(0..samples), &mut packets)
            .and_then(|()| enc.finish(&mut packets))
            .expect("the scripted tone encodes");
        packets.into()
    })
    .clone()
}

/// Samples `range` of the scripted voice's 220 Hz tone at 24 kHz.
fn tone(range: std::ops::Range<usize>) -> Vec<i16> {
    range
        .map(|i| {
            let t = i as f32 / SCRIPTED_TTS_RATE as f32;
            ((t * 220.0 * std::f32::consts::TAU).sin() * 6000.0) as i16
        })
        .collect()
}

pub const SCRIPTED_TTS_RATE: u32 = 24_000;

/// Duration in ms of the scripted audio for `text`.
pub fn tts_duration_ms(text: &str) -> u64 {
    (text.chars().count() as u64 * 50).clamp(200, 8_000)
}

#[async_trait]
impl TtsProvider for ScriptedTts {
    fn name(&self) -> &str {
        "scripted"
    }

    fn voice(&self) -> &str {
        "tone"
    }

    async fn synthesize(&self, text: &str) -> ProviderResult<TtsAudio> {
        tokio::time::sleep(Duration::from_millis(self.latency.tts_first_byte_ms)).await;
        if let Some(tone) = &self.opus {
            let frames = (tts_duration_ms(text) / u64::from(crate::protocol::FRAME_MS)) as usize;
            let packets: Vec<ProviderResult<Bytes>> = tone[..frames.min(tone.len())]
                .iter()
                .cloned()
                .map(Ok)
                .collect();
            return Ok(TtsAudio::Opus {
                packets: Box::pin(futures_util::stream::iter(packets)),
            });
        }
        let total = (tts_duration_ms(text) * u64::from(SCRIPTED_TTS_RATE) / 1000) as usize;
        let chunk = SCRIPTED_TTS_RATE as usize / 10;
        let chunks: Vec<ProviderResult<Vec<i16>>> = (0..total)
            .step_by(chunk)
            .map(|start| Ok(tone(start..(start + chunk).min(total))))
            .collect();
        Ok(TtsAudio::Pcm {
            sample_rate: SCRIPTED_TTS_RATE,
            chunks: Box::pin(futures_util::stream::iter(chunks)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ContextTurn;

    const FAST: ScriptedLatency = ScriptedLatency {
        stt_ms: 150,
        llm_first_token_ms: 300,
        llm_tokens_per_sec: 40.0,
        tts_first_byte_ms: 150,
    };

    #[tokio::test(start_paused = true)]
    async fn llm_streams_numbered_questions_with_latency() {
        let llm = ScriptedLlm::new(FAST, 2);
        let start = tokio::time::Instant::now();
        let mut s = llm
            .stream(Arc::new(InterviewContext::default()))
            .await
            .unwrap();
        let first = s.next().await.unwrap().unwrap();
        assert_eq!(first, LlmEvent::Token("Scripted".into()));
        assert_eq!(start.elapsed(), Duration::from_millis(300));
        let mut text = String::from("Scripted");
        while let Some(ev) = s.next().await {
            match ev.unwrap() {
                LlmEvent::Token(t) => text.push_str(&t),
                LlmEvent::Done { end_interview } => assert!(!end_interview),
                other => panic!("scripted LLM sent {other:?}"),
            }
        }
        assert_eq!(text, scripted_reply(0, 2).0);

        let q = ContextTurn {
            speaker: Speaker::Interviewer,
            kind: TurnKind::Question,
            text: "q".into(),
            transcribed: true,
            audio_ms: 0,
            suggested: false,
        };
        let a = ContextTurn {
            speaker: Speaker::Candidate,
            kind: TurnKind::Answer,
            ..q.clone()
        };
        // Asked but unanswered: the same question again.
        let ctx = InterviewContext {
            settings: Default::default(),
            turns: vec![q.clone()],
            ..Default::default()
        };
        let tokens: Vec<_> = llm.stream(Arc::new(ctx)).await.unwrap().collect().await;
        assert!(matches!(&tokens[0], Ok(LlmEvent::Token(t)) if t == "Scripted"));
        assert!(matches!(&tokens[1], Ok(LlmEvent::Token(t)) if t == " question"));
        assert!(matches!(&tokens[2], Ok(LlmEvent::Token(t)) if t == " 1"));
        let ctx = InterviewContext {
            settings: Default::default(),
            turns: vec![q.clone(), a.clone(), q, a],
            ..Default::default()
        };
        let all: Vec<_> = llm.stream(Arc::new(ctx)).await.unwrap().collect().await;
        assert!(matches!(
            all.last(),
            Some(Ok(LlmEvent::Done {
                end_interview: true
            }))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn tts_length_follows_text() {
        let tts = ScriptedTts::new(FAST);
        let Ok(TtsAudio::Pcm { chunks, .. }) = tts.synthesize("Hello there.").await else {
            panic!("PCM by default");
        };
        let pcm: Vec<i16> = chunks
            .map(|c| c.unwrap())
            .collect::<Vec<_>>()
            .await
            .concat();
        assert_eq!(pcm.len() as u64, tts_duration_ms("Hello there.") * 24);
    }

    #[tokio::test(start_paused = true)]
    async fn tts_opus_mode_streams_20ms_packets_of_the_same_length() {
        let tts = ScriptedTts::with_format(FAST, TtsFormat::Opus);
        let Ok(TtsAudio::Opus { packets }) = tts.synthesize("Hello there.").await else {
            panic!("Opus asked for");
        };
        let packets: Vec<Bytes> = packets.map(|p| p.unwrap()).collect().await;
        assert_eq!(packets.len() as u64 * 20, tts_duration_ms("Hello there."));
        for p in &packets {
            assert!(crate::audio::voice::OpusVoice::fits(p), "passes through");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn stt_reports_audio_length_and_partials() {
        let (tx, mut rx) = mpsc::channel(8);
        let mut s = ScriptedStt::new(FAST).start(&Default::default(), tx);
        s.push(&vec![0; 16_000]);
        s.push(&vec![0; 8_000]);
        assert_eq!(rx.try_recv().unwrap(), "Scripted answer of 1.0 seconds.");
        let r = s.finish().await.unwrap();
        assert_eq!(r.text, "Scripted answer of 1.5 seconds.");
    }
}
