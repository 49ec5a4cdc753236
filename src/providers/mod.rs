//! Speech and language provider traits, streaming on every stage, and their selection by config.
//!
//! - [`SttProvider`]: push 16 kHz PCM while the candidate speaks, optional partials, final text.
//! - [`LlmProvider`]: the interviewer's reply as a token stream.
//! - [`TtsProvider`]: text in, PCM chunks or Opus packets out (one sentence at a time, fed by
//!   [`chunker`]); Opus from a vendor that streams it is passed through (`audio::voice`).
//!
//! Chains (`VIVA_STT=a,b`) try providers in order; see [`chain`].

pub mod byok;
pub mod chain;
pub mod chunker;
pub mod deepgram;
pub mod espeak;
pub mod gemini;
pub mod interviewer;
pub mod llm_stream;
pub mod openai;
pub mod remote;
pub mod resilience;
pub mod scripted;
pub mod sse;
pub mod untranscribed;
pub mod vocabulary;
pub mod whisper;

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use thiserror::Error;
use tokio::sync::mpsc;

use crate::protocol::{Speaker, TurnKind};
pub use vocabulary::Vocabulary;

#[derive(Debug, Clone, Error)]
#[error("{provider}: {message}")]
pub struct ProviderError {
    pub provider: String,
    pub message: String,
}

impl ProviderError {
    pub fn new(provider: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            provider: provider.into(),
            message: message.into(),
        }
    }
}

pub type ProviderResult<T> = Result<T, ProviderError>;

/// Final transcript of one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct SttResult {
    pub text: String,
    /// Whether `text` is what was said (false: a marker such as `[speech 6.2 s, not transcribed]`).
    pub transcribed: bool,
    /// Set when a fallback in the chain made this result: why the first choice failed (logged;
    /// the client only learns that the turn was degraded).
    pub degraded: Option<String>,
}

/// A speech-to-text engine. `start` must not block: sessions connect lazily.
pub trait SttProvider: Send + Sync {
    fn name(&self) -> &str;
    /// Begins one utterance, biased toward `vocabulary` (the interview's terms) where the engine
    /// takes a hint. Partial transcripts, if the engine makes them, go to `partials`.
    fn start(&self, vocabulary: &Vocabulary, partials: mpsc::Sender<String>)
        -> Box<dyn SttSession>;
    /// A billed vendor (its seconds are counted in the interview's usage).
    fn is_remote(&self) -> bool {
        false
    }
    /// Load figures for `/health` (a local engine's queue), if it has any.
    fn stats(&self) -> Option<serde_json::Value> {
        None
    }
    /// Whether a pause in an answer has words to judge: live partials, or a transcript of the
    /// answer so far ([`SttSession::snapshot`]). Where not, turn-taking listens to how the voice
    /// ended instead (`turns::intonation`).
    fn words_at_pauses(&self) -> bool {
        false
    }
}

#[async_trait]
pub trait SttSession: Send {
    /// Adds 16 kHz mono PCM. Never blocks.
    fn push(&mut self, pcm: &[i16]);
    /// Ends the utterance and returns its final transcript.
    async fn finish(self: Box<Self>) -> ProviderResult<SttResult>;
    /// A separate session holding the audio so far, to transcribe it while this one goes on
    /// (a pause's words and a preemptive reply's; `turns`). `None` where the engine cannot (a
    /// live stream such as Deepgram's: its partials serve instead) or should not (the local
    /// Whisper: a guess discarded once its job runs would still hold the one worker, delaying
    /// the finals behind it).
    fn snapshot(&self) -> Option<Box<dyn SttSession>> {
        None
    }
}

/// One turn as the interviewer model sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextTurn {
    pub speaker: Speaker,
    pub kind: TurnKind,
    pub text: String,
    pub transcribed: bool,
    pub audio_ms: u32,
    /// A question the hiring team suggested (asked as written, not the plan's).
    pub suggested: bool,
}

/// Everything the interviewer model is given for one reply.
#[derive(Debug, Clone, Default)]
pub struct InterviewContext {
    pub role: String,
    pub job_description: Option<String>,
    pub resume: Option<String>,
    /// The interview's own settings (questions, language, question bank).
    pub settings: crate::interview::settings::InterviewSettings,
    /// The interview's plan (the offline interviewer walks it; a model is shown it).
    pub plan: Option<Arc<crate::plan::Plan>>,
    /// The interview's prompts (its organization's versions, else the server's defaults).
    pub prompts: Option<Arc<crate::prompts::PromptSet>>,
    pub turns: Vec<ContextTurn>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LlmEvent {
    Token(String),
    /// What the reply cost, as the vendor counted it.
    Usage {
        prompt_tokens: u64,
        completion_tokens: u64,
    },
    /// The reply comes from a fallback (recruiters see it as a non-fatal `error` event).
    Degraded {
        code: &'static str,
        message: String,
    },
    /// Why the interviewer asks what it asks (the offline interviewer, before its tokens);
    /// stored with the turn.
    Decision(Box<crate::plan::Decision>),
    /// The reply is complete; `end_interview` when it was the closing statement.
    Done {
        end_interview: bool,
    },
}

pub type LlmStream = BoxStream<'static, ProviderResult<LlmEvent>>;

#[async_trait]
pub trait LlmProvider: Send + Sync {
    fn name(&self) -> &str;
    async fn stream(&self, ctx: Arc<InterviewContext>) -> ProviderResult<LlmStream>;
}

/// Synthesised speech for one piece of text.
pub enum TtsAudio {
    /// Mono PCM at `sample_rate`, encoded to Opus by the server.
    Pcm {
        sample_rate: u32,
        chunks: BoxStream<'static, ProviderResult<Vec<i16>>>,
    },
    /// Opus packets as the vendor streamed them (Ogg demuxed): passed through to the candidate
    /// when they are mono 20 ms packets, re-encoded otherwise.
    Opus {
        packets: BoxStream<'static, ProviderResult<bytes::Bytes>>,
    },
}

/// How a vendor is asked to send speech.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TtsFormat {
    /// Raw PCM (the server encodes it: ~116 µs per 20 ms frame at complexity 3).
    #[default]
    Pcm,
    /// Ogg Opus, passed through (no encoder time; first audio waits for the vendor's first
    /// Ogg page).
    Opus,
}

impl TtsFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pcm" => Some(Self::Pcm),
            "opus" => Some(Self::Opus),
            _ => None,
        }
    }
}

impl TtsAudio {
    /// The PCM rate, if this is PCM.
    pub fn sample_rate(&self) -> Option<u32> {
        match self {
            Self::Pcm { sample_rate, .. } => Some(*sample_rate),
            Self::Opus { .. } => None,
        }
    }
}

#[async_trait]
pub trait TtsProvider: Send + Sync {
    fn name(&self) -> &str;
    /// Identifies the voice, for caching encoded audio of repeated sentences.
    fn voice(&self) -> &str;
    /// A billed vendor (its characters are counted in the interview's usage).
    fn is_remote(&self) -> bool {
        false
    }
    async fn synthesize(&self, text: &str) -> ProviderResult<TtsAudio>;
}

/// The providers an interview uses.
#[derive(Clone)]
pub struct Providers {
    pub stt: Arc<dyn SttProvider>,
    pub llm: Arc<dyn LlmProvider>,
    pub tts: Arc<dyn TtsProvider>,
    /// The offline recogniser, if one was loaded (providers built for an organization's own
    /// vendor keys share it rather than load the model again).
    pub local_stt: Option<Arc<dyn SttProvider>>,
}

/// Latency figures of the `scripted` providers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScriptedLatency {
    pub stt_ms: u64,
    pub llm_first_token_ms: u64,
    pub llm_tokens_per_sec: f64,
    pub tts_first_byte_ms: u64,
}

/// Settings needed to build providers by name.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub stt: Vec<String>,
    pub llm: Vec<String>,
    pub tts: Vec<String>,
    pub scripted: ScriptedLatency,
    pub scripted_questions: u32,
    /// What the `scripted` TTS streams.
    pub scripted_tts: TtsFormat,
    pub espeak_voice: String,
    pub espeak_wpm: u32,
    /// The offline Whisper engine (`whisper-local`).
    pub whisper: whisper::WhisperSettings,
    /// Vendors: endpoints, keys, models, timeouts, retry and breaker policies.
    pub remote: remote::RemoteSettings,
}

#[derive(Debug, Error)]
pub enum BuildError {
    #[error("unknown {stage} provider '{name}' (known: {known})")]
    Unknown {
        stage: &'static str,
        name: String,
        known: &'static str,
    },
    #[error("{stage} provider chain is empty")]
    Empty { stage: &'static str },
    #[error("{name}: {message}")]
    Load { name: &'static str, message: String },
}

impl Providers {
    /// Builds the configured chains. Unknown names are a start-up error, not a silent fallback.
    pub fn from_settings(s: &ProviderSettings) -> Result<Self, BuildError> {
        Self::from_settings_sharing(s, None)
    }

    /// [`Self::from_settings`], using `local_stt` (already loaded) for `whisper-local`.
    pub fn from_settings_sharing(
        s: &ProviderSettings,
        local_stt: Option<Arc<dyn SttProvider>>,
    ) -> Result<Self, BuildError> {
        let remote = remote::Remote::new(s.remote.clone());
        let mut loaded: Option<Arc<dyn SttProvider>> = None;
        // A local recogniser always has the untranscribed marker behind it: when it is
        // overloaded the answer is still kept (as its length), never lost.
        let mut stt_names = s.stt.clone();
        if stt_names.iter().any(|n| n == whisper::NAME)
            && !stt_names.iter().any(|n| n == "untranscribed")
        {
            stt_names.push("untranscribed".into());
        }
        let stt = stt_names
            .iter()
            .map(|name| -> Result<Arc<dyn SttProvider>, BuildError> {
                match name.as_str() {
                    "untranscribed" => Ok(Arc::new(untranscribed::UntranscribedStt)),
                    "scripted" => Ok(Arc::new(scripted::ScriptedStt::new(s.scripted))),
                    "openai" => Ok(Arc::new(openai::OpenAiStt::new(remote.clone()))),
                    "deepgram" => Ok(Arc::new(deepgram::DeepgramStt::new(remote.clone()))),
                    whisper::NAME => {
                        let w = match &local_stt {
                            Some(w) => w.clone(),
                            None => whisper::WhisperLocal::load(&s.whisper)
                                .map(|w| Arc::new(w) as Arc<dyn SttProvider>)
                                .map_err(|message| BuildError::Load {
                                    name: whisper::NAME,
                                    message,
                                })?,
                        };
                        loaded = Some(w.clone());
                        Ok(w)
                    }
                    _ => Err(BuildError::Unknown {
                        stage: "STT",
                        name: name.clone(),
                        known: "whisper-local, deepgram, openai, untranscribed, scripted",
                    }),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let llm = s
            .llm
            .iter()
            .map(|name| -> Result<Arc<dyn LlmProvider>, BuildError> {
                match name.as_str() {
                    "offline-interviewer" => Ok(Arc::new(interviewer::OfflineInterviewer {
                        max_questions: s.remote.max_questions as usize,
                    })),
                    "scripted" => Ok(Arc::new(scripted::ScriptedLlm::new(
                        s.scripted,
                        s.scripted_questions,
                    ))),
                    "openai" => Ok(Arc::new(openai::OpenAiLlm::new(remote.clone()))),
                    "gemini" => Ok(Arc::new(gemini::GeminiLlm::new(remote.clone()))),
                    _ => Err(BuildError::Unknown {
                        stage: "LLM",
                        name: name.clone(),
                        known: "openai, gemini, offline-interviewer, scripted",
                    }),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        // A remote interviewer always has the offline one behind it: the interview goes on.
        let mut llm = llm;
        let remote_llm = s.llm.iter().any(|n| n == "openai" || n == "gemini");
        if remote_llm && !s.llm.iter().any(|n| n == "offline-interviewer") {
            llm.push(Arc::new(interviewer::OfflineInterviewer {
                max_questions: s.remote.max_questions as usize,
            }));
        }
        let tts = s
            .tts
            .iter()
            .map(|name| -> Result<Arc<dyn TtsProvider>, BuildError> {
                match name.as_str() {
                    "espeak-ng" => Ok(Arc::new(espeak::EspeakTts::new(
                        s.espeak_voice.clone(),
                        s.espeak_wpm,
                    ))),
                    "scripted" => Ok(Arc::new(scripted::ScriptedTts::with_format(
                        s.scripted,
                        s.scripted_tts,
                    ))),
                    "openai" => Ok(Arc::new(openai::OpenAiTts::new(remote.clone()))),
                    _ => Err(BuildError::Unknown {
                        stage: "TTS",
                        name: name.clone(),
                        known: "openai, espeak-ng, scripted",
                    }),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            stt: chain::SttChain::build(stt).ok_or(BuildError::Empty { stage: "STT" })?,
            llm: chain::LlmChain::build(llm).ok_or(BuildError::Empty { stage: "LLM" })?,
            tts: chain::TtsChain::build(tts).ok_or(BuildError::Empty { stage: "TTS" })?,
            local_stt: loaded,
        })
    }
}
