//! `whisper-local`: offline speech-to-text with a Whisper model in CTranslate2 format, loaded
//! once at start. Transcription runs on a bounded worker pool ([`pool`]) sized to the cores, never
//! on the async runtime; a full queue fails the utterance at once (the chain then keeps the answer
//! as untranscribed speech and the candidate's client is told), it never stalls the actor.
//! While the candidate speaks, the growing utterance is re-transcribed for live captions at most
//! every `partial_every` of new speech, and only when a worker is idle (by default only with two
//! or more workers: a caption costs as much as a final transcript).
//!
//! The CTranslate2 engine itself ([`ct2`]) is behind the cargo feature `whisper-local`.

#[cfg(feature = "whisper-local")]
pub mod ct2;
pub mod pool;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{ProviderError, ProviderResult, SttProvider, SttResult, SttSession, Vocabulary};
use crate::audio::codec::LISTEN_RATE;
use pool::{Pool, Transcribe};

pub const NAME: &str = "whisper-local";

/// Where the model is and how it runs (`VIVA_WHISPER_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct WhisperSettings {
    /// A CTranslate2 Whisper model directory (model.bin, tokenizer.json,
    /// preprocessor_config.json, config.json).
    pub model_dir: PathBuf,
    /// Concurrent transcriptions (each loads its own replica of the model).
    pub workers: usize,
    /// CPU threads per transcription.
    pub threads: usize,
    /// Utterances that may wait for a worker before new ones are refused.
    pub queue: usize,
    /// Beam size of final transcripts (partials are greedy).
    pub beam: usize,
    /// Spoken language (`en`), or `auto` to detect it per utterance.
    pub language: String,
    /// New speech between live captions; zero disables them.
    pub partial_every_ms: u64,
}

impl WhisperSettings {
    /// Workers × threads fill the machine: two threads per transcription, as many as fit. Live
    /// captions only with a second worker: a caption costs about as much as a final transcript
    /// (the encoder dominates), so on one worker it would delay the final (docs/benchmarks.md).
    pub fn sized_to(cores: usize, model_dir: PathBuf) -> Self {
        let threads = cores.clamp(1, 2);
        let workers = (cores / threads).max(1);
        Self {
            model_dir,
            workers,
            threads,
            queue: 16,
            beam: 5,
            language: "en".into(),
            partial_every_ms: if workers >= 2 { 1000 } else { 0 },
        }
    }

    /// Whether a model appears to be installed (the default STT is then `whisper-local`).
    pub fn model_present(&self) -> bool {
        self.model_dir.join("model.bin").is_file()
    }
}

/// Why the model could not be loaded: a start-up error that says what to do.
pub fn missing_files(dir: &Path) -> Option<String> {
    if !dir.is_dir() {
        return Some(format!(
            "no Whisper model at {} (run scripts/fetch-whisper.sh, or set VIVA_WHISPER_MODEL to a CTranslate2 Whisper model directory, or VIVA_STT=untranscribed to run without speech-to-text)",
            dir.display()
        ));
    }
    let missing: Vec<&str> = ["model.bin", "tokenizer.json", "preprocessor_config.json"]
        .into_iter()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "the Whisper model at {} is incomplete: {} missing (run scripts/fetch-whisper.sh)",
            dir.display(),
            missing.join(", ")
        )
    })
}

pub struct WhisperLocal {
    pool: Arc<Pool>,
    partial_every: usize,
}

impl WhisperLocal {
    /// Loads the model (one replica per worker). Errors say which file or setting is wrong.
    pub fn load(s: &WhisperSettings) -> Result<Self, String> {
        if let Some(why) = missing_files(&s.model_dir) {
            return Err(why);
        }
        #[cfg(feature = "whisper-local")]
        {
            let engines = (0..s.workers.max(1))
                .map(|_| ct2::Ct2Whisper::load(s).map(|e| Arc::new(e) as Arc<dyn Transcribe>))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Self::with_engines(engines, s))
        }
        #[cfg(not(feature = "whisper-local"))]
        {
            Err(format!(
                "{NAME} needs a build with `--features whisper-local` (scripts/setup.sh builds it)"
            ))
        }
    }

    /// A provider over given engines (tests use scripted ones).
    pub fn with_engines(engines: Vec<Arc<dyn Transcribe>>, s: &WhisperSettings) -> Self {
        Self {
            pool: Arc::new(Pool::new(engines, s.queue)),
            partial_every: (s.partial_every_ms * u64::from(LISTEN_RATE) / 1000) as usize,
        }
    }
}

impl SttProvider for WhisperLocal {
    fn name(&self) -> &str {
        NAME
    }

    fn start(
        &self,
        vocabulary: &Vocabulary,
        partials: mpsc::Sender<String>,
    ) -> Box<dyn SttSession> {
        Box::new(Session {
            pool: self.pool.clone(),
            prompt: vocabulary.prompt().cloned(),
            partials,
            partial_every: self.partial_every,
            samples: Vec::with_capacity(LISTEN_RATE as usize * 10),
            captioned_at: 0,
            caption_running: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Only with live captions (two or more workers, or `VIVA_WHISPER_PARTIAL_MS`): with one
    /// worker a pause has no words (see [`SttSession::snapshot`]).
    fn words_at_pauses(&self) -> bool {
        self.partial_every > 0
    }

    fn stats(&self) -> Option<serde_json::Value> {
        Some(self.pool.stats())
    }
}

struct Session {
    pool: Arc<Pool>,
    /// The interview's terms, Whisper's initial prompt.
    prompt: Option<Arc<str>>,
    partials: mpsc::Sender<String>,
    partial_every: usize,
    samples: Vec<f32>,
    /// Utterance length at the last live caption.
    captioned_at: usize,
    caption_running: Arc<AtomicBool>,
}

impl Session {
    fn maybe_caption(&mut self) {
        if self.partial_every == 0
            || self.samples.len() < self.captioned_at + self.partial_every
            || self.caption_running.load(Ordering::Acquire)
            || self.partials.is_closed()
        {
            return;
        }
        let Some(reply) = self
            .pool
            .try_partial(self.samples.clone(), self.prompt.clone())
        else {
            return;
        };
        self.captioned_at = self.samples.len();
        self.caption_running.store(true, Ordering::Release);
        let (partials, running) = (self.partials.clone(), self.caption_running.clone());
        tokio::spawn(async move {
            if let Ok(Ok(text)) = reply.await {
                let text = text.trim();
                if !text.is_empty() {
                    // Stale captions are dropped, never waited for.
                    let _ = partials.try_send(text.to_owned());
                }
            }
            running.store(false, Ordering::Release);
        });
    }
}

#[async_trait]
impl SttSession for Session {
    fn push(&mut self, pcm: &[i16]) {
        self.samples
            .extend(pcm.iter().map(|&s| f32::from(s) / 32_768.0));
        self.maybe_caption();
    }

    async fn finish(self: Box<Self>) -> ProviderResult<SttResult> {
        let reply = self
            .pool
            .submit(self.samples, self.prompt)
            .map_err(|full| {
                ProviderError::new(
                    NAME,
                    format!("transcription queue full ({} waiting)", full.waiting),
                )
            })?;
        let text = reply
            .await
            .map_err(|_| ProviderError::new(NAME, "the transcription worker stopped"))?
            .map_err(|e| ProviderError::new(NAME, e))?;
        Ok(SttResult {
            text: text.trim().to_owned(),
            transcribed: true,
            degraded: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts what it was given (and names the prompt): a stand-in engine for the session logic.
    struct Length;

    impl Transcribe for Length {
        fn transcribe(
            &self,
            samples: &[f32],
            partial: bool,
            prompt: Option<&str>,
        ) -> Result<String, String> {
            Ok(format!(
                "{} ms{}{}",
                samples.len() / 16,
                if partial { "…" } else { "" },
                prompt.map(|p| format!(" after {p:?}")).unwrap_or_default()
            ))
        }
    }

    fn provider(partial_every_ms: u64) -> WhisperLocal {
        let mut s = WhisperSettings::sized_to(2, PathBuf::from("unused"));
        s.partial_every_ms = partial_every_ms;
        WhisperLocal::with_engines(vec![Arc::new(Length)], &s)
    }

    #[tokio::test]
    async fn the_final_transcript_covers_the_whole_utterance() {
        let (tx, _rx) = mpsc::channel(8);
        let mut s = provider(0).start(&Vocabulary::default(), tx);
        for _ in 0..50 {
            s.push(&[100; 320]); // 20 ms
        }
        let r = s.finish().await.unwrap();
        assert_eq!(r.text, "1000 ms");
        assert!(r.transcribed);
    }

    #[tokio::test]
    async fn the_interviews_vocabulary_is_the_engines_prompt_for_captions_and_finals() {
        let (tx, mut rx) = mpsc::channel(8);
        let p = provider(1000);
        let mut s = p.start(&Vocabulary::new(["React", "useEffect"]), tx);
        for _ in 0..50 {
            s.push(&[100; 320]);
        }
        let prompt = "\"Glossary: React, useEffect.\"";
        assert_eq!(rx.recv().await.unwrap(), format!("1000 ms… after {prompt}"));
        let r = s.finish().await.unwrap();
        assert_eq!(r.text, format!("1000 ms after {prompt}"));
    }

    #[tokio::test]
    async fn live_captions_follow_the_growing_utterance() {
        let (tx, mut rx) = mpsc::channel(8);
        let p = provider(1000);
        let mut s = p.start(&Vocabulary::default(), tx);
        for _ in 0..50 {
            s.push(&[100; 320]);
        }
        assert_eq!(rx.recv().await.unwrap(), "1000 ms…");
        for _ in 0..50 {
            s.push(&[100; 320]);
        }
        assert_eq!(rx.recv().await.unwrap(), "2000 ms…");
        assert_eq!(s.finish().await.unwrap().text, "2000 ms");
        assert_eq!(p.stats().unwrap()["partials"], 2);
    }

    #[test]
    fn a_missing_or_incomplete_model_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let absent = missing_files(&dir.path().join("nope")).unwrap();
        assert!(absent.contains("scripts/fetch-whisper.sh"), "{absent}");
        std::fs::write(dir.path().join("model.bin"), b"x").unwrap();
        let partial = missing_files(dir.path()).unwrap();
        assert!(
            partial.contains("tokenizer.json, preprocessor_config.json missing"),
            "{partial}"
        );
    }

    /// An engine that says when it starts and finishes only when released.
    struct Stuck {
        started: std::sync::Mutex<std::sync::mpsc::Sender<()>>,
        release: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
    }

    impl Transcribe for Stuck {
        fn transcribe(&self, _: &[f32], _: bool, _: Option<&str>) -> Result<String, String> {
            let _ = self.started.lock().unwrap().send(());
            let _ = self.release.lock().unwrap().recv();
            Ok("late".into())
        }
    }

    #[tokio::test]
    async fn a_full_queue_fails_fast_and_the_chain_keeps_the_answer_untranscribed() {
        let (release, release_rx) = std::sync::mpsc::channel();
        let (started_tx, started) = std::sync::mpsc::channel();
        let mut s = WhisperSettings::sized_to(2, PathBuf::from("unused"));
        s.queue = 1;
        s.partial_every_ms = 0;
        let engine = Stuck {
            started: std::sync::Mutex::new(started_tx),
            release: std::sync::Mutex::new(release_rx),
        };
        let whisper = Arc::new(WhisperLocal::with_engines(vec![Arc::new(engine)], &s));
        let (tx, _rx) = mpsc::channel(1);
        // The only worker takes the first answer; the second fills the queue.
        let running = tokio::spawn(whisper.start(&Vocabulary::default(), tx.clone()).finish());
        tokio::task::spawn_blocking(move || started.recv().unwrap())
            .await
            .unwrap();
        let mut queued = Box::pin(whisper.start(&Vocabulary::default(), tx.clone()).finish());
        assert!(futures_util::poll!(queued.as_mut()).is_pending());
        assert_eq!(whisper.stats().unwrap()["queue_depth"], 1);
        let mut third = whisper.start(&Vocabulary::default(), tx.clone());
        third.push(&[0; 16_000]);
        let err = third.finish().await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "whisper-local: transcription queue full (1 waiting)"
        );

        let chain = crate::providers::chain::SttChain::build(vec![
            whisper.clone() as Arc<dyn SttProvider>,
            Arc::new(crate::providers::untranscribed::UntranscribedStt),
        ])
        .unwrap();
        let mut answer = chain.start(&Vocabulary::default(), tx);
        answer.push(&[0; 16_000 * 3]);
        let r = answer.finish().await.unwrap();
        assert_eq!(r.text, "[speech 3.0 s, not transcribed]");
        assert!(!r.transcribed);
        assert_eq!(
            r.degraded.as_deref(),
            Some("whisper-local: transcription queue full (1 waiting)")
        );
        assert_eq!(whisper.stats().unwrap()["rejected_queue_full"], 2);

        release.send(()).unwrap();
        release.send(()).unwrap();
        assert_eq!(running.await.unwrap().unwrap().text, "late");
        assert_eq!(queued.await.unwrap().text, "late");
    }
}
