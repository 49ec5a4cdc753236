//! Provider chains: `VIVA_LLM=a,b` tries `a`, then `b` when `a` fails. A chain of one is the
//! provider itself.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{
    InterviewContext, LlmProvider, LlmStream, ProviderError, ProviderResult, SttProvider,
    SttResult, SttSession, TtsAudio, TtsProvider,
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
        let mut last = None;
        for p in &self.0 {
            match p.stream(ctx.clone()).await {
                Ok(s) => return Ok(s),
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

    fn start(&self, partials: mpsc::Sender<String>) -> Box<dyn SttSession> {
        Box::new(ChainSession {
            providers: self.0.clone(),
            first: self.0[0].start(partials.clone()),
            partials,
            pcm: Vec::new(),
        })
    }
}

struct ChainSession {
    providers: Arc<[Arc<dyn SttProvider>]>,
    first: Box<dyn SttSession>,
    partials: mpsc::Sender<String>,
    pcm: Vec<i16>,
}

#[async_trait]
impl SttSession for ChainSession {
    fn push(&mut self, pcm: &[i16]) {
        self.first.push(pcm);
        self.pcm.extend_from_slice(pcm);
    }

    async fn finish(self: Box<Self>) -> ProviderResult<SttResult> {
        let ChainSession {
            providers,
            first,
            partials,
            pcm,
        } = *self;
        let mut err = match first.finish().await {
            Ok(r) => return Ok(r),
            Err(e) => e,
        };
        for p in providers.iter().skip(1) {
            tracing::warn!(error = %err, next = p.name(), "STT failed; trying the next");
            let mut s = p.start(partials.clone());
            s.push(&pcm);
            match s.finish().await {
                Ok(r) => return Ok(r),
                Err(e) => err = e,
            }
        }
        Err(err)
    }
}
