//! Provider chains: `VIVA_LLM=a,b` tries `a`, then `b` when `a` fails. A chain of one is the
//! provider itself.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

use futures_util::StreamExt;

use super::{
    InterviewContext, LlmEvent, LlmProvider, LlmStream, ProviderError, ProviderResult, SttProvider,
    SttResult, SttSession, TtsAudio, TtsProvider, Vocabulary,
};

pub struct LlmChain(Vec<Arc<dyn LlmProvider>>, String);

impl LlmChain {
    pub fn build(mut providers: Vec<Arc<dyn LlmProvider>>) -> Option<Arc<dyn LlmProvider>> {
        match providers.len() {
            0 => None,
            1 => providers.pop(),
            _ => {
                let name = join_names(providers.iter().map(|p| p.name()));
                Some(Arc::new(Self(providers, name)))
            }
        }
    }
}

fn join_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(",")
}

#[async_trait]
impl LlmProvider for LlmChain {
    fn name(&self) -> &str {
        &self.1
    }

    async fn stream(&self, ctx: Arc<InterviewContext>) -> ProviderResult<LlmStream> {
        let mut last: Option<ProviderError> = None;
        for p in &self.0 {
            match p.stream(ctx.clone()).await {
                Ok(s) => {
                    let Some(failed) = last else { return Ok(s) };
                    // Recruiters see that this reply came from a fallback, and why.
                    let notice = LlmEvent::Degraded {
                        code: "llm_fallback",
                        message: format!(
                            "{} failed ({}); {} answered",
                            failed.provider,
                            failed.message,
                            p.name()
                        ),
                    };
                    return Ok(futures_util::stream::once(async { Ok(notice) })
                        .chain(s)
                        .boxed());
                }
                Err(e) => {
                    tracing::warn!(provider = p.name(), error = %e, "LLM failed; trying the next");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| ProviderError::new(&self.1, "no provider")))
    }
}

pub struct TtsChain(Vec<Arc<dyn TtsProvider>>, String);

impl TtsChain {
    pub fn build(mut providers: Vec<Arc<dyn TtsProvider>>) -> Option<Arc<dyn TtsProvider>> {
        match providers.len() {
            0 => None,
            1 => providers.pop(),
            _ => {
                let name = join_names(providers.iter().map(|p| p.name()));
                Some(Arc::new(Self(providers, name)))
            }
        }
    }
}

#[async_trait]
impl TtsProvider for TtsChain {
    fn name(&self) -> &str {
        &self.1
    }

    fn voice(&self) -> &str {
        self.0[0].voice()
    }

    fn is_remote(&self) -> bool {
        self.0.iter().any(|p| p.is_remote())
    }

    async fn synthesize(&self, text: &str) -> ProviderResult<TtsAudio> {
        let mut last = None;
        for p in &self.0 {
            match p.synthesize(text).await {
                Ok(a) => return Ok(a),
                Err(e) => {
                    tracing::warn!(provider = p.name(), error = %e, "TTS failed; trying the next");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| ProviderError::new(&self.1, "no provider")))
    }
}

/// STT chain: the utterance is kept so that a fallback can transcribe it after the primary fails.
pub struct SttChain(Arc<[Arc<dyn SttProvider>]>, String);

impl SttChain {
    pub fn build(mut providers: Vec<Arc<dyn SttProvider>>) -> Option<Arc<dyn SttProvider>> {
        match providers.len() {
            0 => None,
            1 => providers.pop(),
            _ => {
                let name = join_names(providers.iter().map(|p| p.name()));
                Some(Arc::new(Self(providers.into(), name)))
            }
        }
    }
}

impl SttProvider for SttChain {
    fn name(&self) -> &str {
        &self.1
    }

    fn is_remote(&self) -> bool {
        self.0.iter().any(|p| p.is_remote())
    }

    /// The first choice's: it is the one heard unless it fails.
    fn words_at_pauses(&self) -> bool {
        self.0.first().is_some_and(|p| p.words_at_pauses())
    }

    fn stats(&self) -> Option<serde_json::Value> {
        let all: serde_json::Map<String, serde_json::Value> = self
            .0
            .iter()
            .filter_map(|p| Some((p.name().to_owned(), p.stats()?)))
            .collect();
        (!all.is_empty()).then_some(serde_json::Value::Object(all))
    }

    fn start(
        &self,
        vocabulary: &Vocabulary,
        partials: mpsc::Sender<String>,
    ) -> Box<dyn SttSession> {
        Box::new(ChainSession {
            providers: self.0.clone(),
            first: self.0[0].start(vocabulary, partials.clone()),
            vocabulary: vocabulary.clone(),
            partials,
            pcm: Vec::new(),
        })
    }
}

/// The most audio a chain keeps for its fallbacks: ten minutes at 16 kHz (20 MB). The
/// endpointer cuts an answer long before (`VIVA_MAX_UTTERANCE_SECS`, 120 s by default); this is
/// the backstop if it is set higher: past it, a fallback hears the first ten minutes.
const MAX_KEPT_SAMPLES: usize = crate::audio::codec::LISTEN_RATE as usize * 600;

struct ChainSession {
    providers: Arc<[Arc<dyn SttProvider>]>,
    first: Box<dyn SttSession>,
    vocabulary: Vocabulary,
    partials: mpsc::Sender<String>,
    /// The utterance so far, for a fallback if the first provider fails (bounded).
    pcm: Vec<i16>,
}

#[async_trait]
impl SttSession for ChainSession {
    fn push(&mut self, pcm: &[i16]) {
        self.first.push(pcm);
        let room = MAX_KEPT_SAMPLES.saturating_sub(self.pcm.len());
        self.pcm.extend_from_slice(&pcm[..pcm.len().min(room)]);
    }

    /// The first provider's (a guess needs no fallback: failing, it is just not used).
    fn snapshot(&self) -> Option<Box<dyn SttSession>> {
        self.first.snapshot()
    }

    async fn finish(self: Box<Self>) -> ProviderResult<SttResult> {
        let ChainSession {
            providers,
            first,
            vocabulary,
            partials,
            pcm,
        } = *self;
        let mut err = match first.finish().await {
            Ok(r) => return Ok(r),
            Err(e) => e,
        };
        for p in providers.iter().skip(1) {
            tracing::warn!(error = %err, next = p.name(), "STT failed; trying the next");
            let mut s = p.start(&vocabulary, partials.clone());
            s.push(&pcm);
            match s.finish().await {
                Ok(r) => {
                    return Ok(SttResult {
                        degraded: Some(err.to_string()),
                        ..r
                    })
                }
                Err(e) => err = e,
            }
        }
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::scripted::{ScriptedLlm, ScriptedStt, ScriptedTts};
    use crate::providers::{LlmEvent, ScriptedLatency};
    use futures_util::StreamExt;

    const NOW: ScriptedLatency = ScriptedLatency {
        stt_ms: 0,
        llm_first_token_ms: 0,
        llm_tokens_per_sec: 1000.0,
        tts_first_byte_ms: 0,
    };

    struct Down;

    #[async_trait]
    impl LlmProvider for Down {
        fn name(&self) -> &str {
            "down"
        }
        async fn stream(&self, _: Arc<InterviewContext>) -> ProviderResult<LlmStream> {
            Err(ProviderError::new("down", "503"))
        }
    }

    #[async_trait]
    impl TtsProvider for Down {
        fn name(&self) -> &str {
            "down"
        }
        fn voice(&self) -> &str {
            "none"
        }
        async fn synthesize(&self, _: &str) -> ProviderResult<TtsAudio> {
            Err(ProviderError::new("down", "503"))
        }
    }

    struct DownSession;

    #[async_trait]
    impl SttSession for DownSession {
        fn push(&mut self, _: &[i16]) {}
        async fn finish(self: Box<Self>) -> ProviderResult<SttResult> {
            Err(ProviderError::new("down", "503"))
        }
    }

    impl SttProvider for Down {
        fn name(&self) -> &str {
            "down"
        }
        fn start(&self, _: &Vocabulary, _: mpsc::Sender<String>) -> Box<dyn SttSession> {
            Box::new(DownSession)
        }
    }

    #[tokio::test]
    async fn a_failing_provider_falls_back_to_the_next() {
        let llm =
            LlmChain::build(vec![Arc::new(Down), Arc::new(ScriptedLlm::new(NOW, 1))]).unwrap();
        assert_eq!(llm.name(), "down,scripted");
        let mut s = llm.stream(Arc::default()).await.unwrap();
        // The fallback says so first, then answers.
        let first = s.next().await;
        assert!(matches!(
            first,
            Some(Ok(LlmEvent::Degraded {
                code: "llm_fallback",
                ..
            }))
        ));
        assert!(matches!(s.next().await, Some(Ok(LlmEvent::Token(_)))));

        let tts = TtsChain::build(vec![Arc::new(Down), Arc::new(ScriptedTts::new(NOW))]).unwrap();
        assert_eq!(
            tts.synthesize("Hello.").await.unwrap().sample_rate(),
            Some(24_000)
        );

        // The fallback STT gets the whole utterance the primary was given.
        let stt = SttChain::build(vec![Arc::new(Down), Arc::new(ScriptedStt::new(NOW))]).unwrap();
        let (tx, _rx) = mpsc::channel(8);
        let mut s = stt.start(&Vocabulary::default(), tx);
        s.push(&vec![0; 8_000]);
        s.push(&vec![0; 8_000]);
        assert_eq!(
            s.finish().await.unwrap().text,
            "Scripted answer of 1.0 seconds."
        );

        let only_down = LlmChain::build(vec![Arc::new(Down), Arc::new(Down)]).unwrap();
        assert!(only_down.stream(Arc::default()).await.is_err());
        assert!(LlmChain::build(vec![]).is_none());
    }

    #[test]
    fn a_chain_keeps_at_most_ten_minutes_for_its_fallbacks() {
        let stt = SttChain::build(vec![
            Arc::new(ScriptedStt::new(NOW)),
            Arc::new(ScriptedStt::new(NOW)),
        ])
        .unwrap();
        let (tx, _rx) = mpsc::channel(8);
        let mut session = ChainSession {
            providers: Arc::from(Vec::<Arc<dyn SttProvider>>::new()),
            first: stt.start(&Vocabulary::default(), tx.clone()),
            vocabulary: Vocabulary::default(),
            partials: tx,
            pcm: Vec::new(),
        };
        let second = vec![0i16; crate::audio::codec::LISTEN_RATE as usize];
        for _ in 0..601 {
            session.push(&second);
        }
        assert_eq!(session.pcm.len(), MAX_KEPT_SAMPLES);
    }
}
