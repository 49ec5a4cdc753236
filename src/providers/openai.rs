//! OpenAI-compatible providers (OpenAI, Groq, Ollama, vLLM, llama.cpp server, faster-whisper and
//! Kokoro servers): `/chat/completions` streamed as SSE, `/audio/transcriptions` with the
//! utterance as a 16 kHz WAV, `/audio/speech` streamed as raw 24 kHz PCM.
//!
//! Retries cover everything up to the first token or audio byte (including a slow first byte
//! and a stream cut before it); after that, a failure ends the stream with an error the reply
//! pipeline reports.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::llm_stream::{first_token, pump, Chunk, Usage};
use super::remote::{channel_stream, instructions, recent_turns, Remote, Vendor};
use super::resilience::{content_type, send, transport, Attempt};
use super::{
    InterviewContext, LlmProvider, LlmStream, ProviderError, ProviderResult, SttProvider,
    SttResult, SttSession, TtsAudio, TtsFormat, TtsProvider, Vocabulary,
};
use crate::protocol::Speaker;

/// Sample rate of OpenAI's `pcm` speech format.
pub const TTS_PCM_RATE: u32 = 24_000;

/// `req` with the OpenAI-compatible endpoint's key, if one is set.
pub(crate) fn authorized(req: reqwest::RequestBuilder, remote: &Remote) -> reqwest::RequestBuilder {
    match &remote.settings.openai.api_key {
        Some(k) => req.bearer_auth(k.expose()),
        None => req, // local servers (Ollama, vLLM) often need none
    }
}

// ---- LLM -------------------------------------------------------------------------------------

pub struct OpenAiLlm {
    pub vendor: Vendor,
}

impl OpenAiLlm {
    pub fn new(remote: Arc<Remote>) -> Self {
        let model = remote.settings.openai_llm_model.clone();
        Self {
            vendor: Vendor::new(remote, "openai", &model),
        }
    }

    fn body(&self, ctx: &InterviewContext) -> serde_json::Value {
        let s = &self.vendor.remote.settings;
        let system = instructions(ctx, s);
        let mut messages = vec![json!({"role": "system", "content": system})];
        for (speaker, text) in recent_turns(ctx, &system, s.context_tokens) {
            let role = match speaker {
                Speaker::Interviewer => "assistant",
                Speaker::Candidate => "user",
            };
            messages.push(json!({"role": role, "content": text}));
        }
        if messages.len() == 1 {
            messages.push(json!({"role": "user", "content": "(The candidate has joined. Greet them and ask your first question.)"}));
        }
        json!({
            "model": s.openai_llm_model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
            "temperature": 0.7,
        })
    }
}

#[derive(Deserialize)]
struct ChatChunk {
    #[serde(default)]
    choices: Vec<ChatChoice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct ChatChoice {
    #[serde(default)]
    delta: Option<ChatDelta>,
    /// Non-streamed responses (a server that ignored `stream: true`).
    #[serde(default)]
    message: Option<ChatDelta>,
}

#[derive(Deserialize)]
struct ChatDelta {
    #[serde(default)]
    content: Option<String>,
}

#[async_trait]
impl LlmProvider for OpenAiLlm {
    fn name(&self) -> &str {
        &self.vendor.name
    }

    async fn stream(&self, ctx: Arc<InterviewContext>) -> ProviderResult<LlmStream> {
        let body = self.body(&ctx);
        let url = self.vendor.remote.settings.openai.url("chat/completions");
        let t = self.vendor.remote.settings.timeouts;
        let started = self
            .vendor
            .res
            .call(|| {
                let req = authorized(self.vendor.remote.http.post(&url), &self.vendor.remote)
                    .timeout(t.llm)
                    .json(&body);
                async move {
                    match send(req, t.first_byte).await.ok_or_fail() {
                        Ok(r) => first_token(r, t.llm_first_token, parse_chunk).await,
                        Err(failed) => failed,
                    }
                }
            })
            .await?;
        let (tx, stream) = channel_stream(64);
        tokio::spawn(pump(self.vendor.name.clone(), started, tx, parse_chunk));
        Ok(stream)
    }
}

pub(super) fn parse_chunk(data: &str) -> Result<Vec<Chunk>, String> {
    if data.trim() == "[DONE]" {
        return Ok(vec![Chunk::Done]);
    }
    let c: ChatChunk =
        serde_json::from_str(data).map_err(|e| format!("malformed stream event: {e}"))?;
    let mut out = Vec::new();
    for choice in c.choices {
        if let Some(t) = choice
            .delta
            .or(choice.message)
            .and_then(|d| d.content)
            .filter(|t| !t.is_empty())
        {
            out.push(Chunk::Text(t));
        }
    }
    if let Some(u) = c.usage {
        out.push(Chunk::Usage(u));
    }
    if out.is_empty() {
        out.push(Chunk::Nothing);
    }
    Ok(out)
}

// ---- STT -------------------------------------------------------------------------------------

pub struct OpenAiStt {
    pub vendor: Vendor,
}

impl OpenAiStt {
    pub fn new(remote: Arc<Remote>) -> Self {
        let model = remote.settings.openai_stt_model.clone();
        Self {
            vendor: Vendor::new(remote, "openai", &model),
        }
    }
}

impl SttProvider for OpenAiStt {
    fn name(&self) -> &str {
        &self.vendor.name
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn words_at_pauses(&self) -> bool {
        true // a transcript of the answer so far (`snapshot`)
    }

    fn start(
        &self,
        vocabulary: &Vocabulary,
        _partials: mpsc::Sender<String>,
    ) -> Box<dyn SttSession> {
        Box::new(BufferedUtterance {
            vendor: self.vendor.clone(),
            prompt: vocabulary.prompt().cloned(),
            pcm: Vec::with_capacity(16_000 * 10),
        })
    }
}

/// Collects the utterance; it is sent whole when it ends.
struct BufferedUtterance {
    vendor: Vendor,
    /// The interview's terms, sent as the transcription `prompt`.
    prompt: Option<Arc<str>>,
    pcm: Vec<i16>,
}

#[derive(Deserialize)]
struct Transcription {
    text: String,
}

#[async_trait]
impl SttSession for BufferedUtterance {
    fn push(&mut self, pcm: &[i16]) {
        self.pcm.extend_from_slice(pcm);
    }

    fn snapshot(&self) -> Option<Box<dyn SttSession>> {
        Some(Box::new(BufferedUtterance {
            vendor: self.vendor.clone(),
            prompt: self.prompt.clone(),
            pcm: self.pcm.clone(),
        }))
    }

    async fn finish(self: Box<Self>) -> ProviderResult<SttResult> {
        let wav = crate::audio::wav::encode(16_000, &self.pcm);
        let s = &self.vendor.remote.settings;
        let url = s.openai.url("audio/transcriptions");
        let text = self
            .vendor
            .res
            .call(|| {
                let mut form = reqwest::multipart::Form::new()
                    .part(
                        "file",
                        reqwest::multipart::Part::bytes(wav.clone())
                            .file_name("utterance.wav")
                            .mime_str("audio/wav")
                            .expect("static mime"),
                    )
                    .text("model", s.openai_stt_model.clone())
                    .text("language", s.language.clone())
                    .text("response_format", "json");
                if let Some(prompt) = &self.prompt {
                    form = form.text("prompt", prompt.to_string());
                }
                let req = authorized(self.vendor.remote.http.post(&url), &self.vendor.remote)
                    .timeout(s.timeouts.stt)
                    .multipart(form);
                async move {
                    let r = match send(req, s.timeouts.stt).await.ok_or_fail() {
                        Ok(r) => r,
                        Err(failed) => return failed,
                    };
                    match r.text().await {
                        Err(e) => transport(e),
                        Ok(body) => match serde_json::from_str::<Transcription>(&body) {
                            Ok(t) => Attempt::Ok(t.text),
                            // A plain-text body (response_format ignored) is the transcript.
                            Err(_) if !body.trim_start().starts_with('{') => {
                                Attempt::Ok(body.trim().to_owned())
                            }
                            Err(e) => Attempt::Retry {
                                error: format!("malformed transcription: {e}"),
                                retry_after: None,
                            },
                        },
                    }
                }
            })
            .await?;
        Ok(SttResult {
            text: text.trim().to_owned(),
            transcribed: true,
            degraded: None,
        })
    }
}

// ---- TTS -------------------------------------------------------------------------------------

pub struct OpenAiTts {
    pub vendor: Vendor,
    voice: String,
}

impl OpenAiTts {
    pub fn new(remote: Arc<Remote>) -> Self {
        let model = remote.settings.openai_tts_model.clone();
        Self {
            voice: remote.settings.openai_tts_voice.clone(),
            vendor: Vendor::new(remote, "openai", &model),
        }
    }
}

#[async_trait]
impl TtsProvider for OpenAiTts {
    fn name(&self) -> &str {
        &self.vendor.name
    }

    fn voice(&self) -> &str {
        &self.voice
    }

    fn is_remote(&self) -> bool {
        true
    }

    async fn synthesize(&self, text: &str) -> ProviderResult<TtsAudio> {
        let s = &self.vendor.remote.settings;
        let url = s.openai.url("audio/speech");
        let opus = s.openai_tts_format == TtsFormat::Opus;
        let body = json!({
            "model": s.openai_tts_model,
            "voice": s.openai_tts_voice,
            "input": text,
            "response_format": if opus { "opus" } else { "pcm" },
        });
        let name = self.vendor.name.clone();
        let (r, first) = self
            .vendor
            .res
            .call(|| {
                let req = authorized(self.vendor.remote.http.post(&url), &self.vendor.remote)
                    .timeout(s.timeouts.tts)
                    .json(&body);
                async move {
                    let mut r = match send(req, s.timeouts.first_byte).await.ok_or_fail() {
                        Ok(r) => r,
                        Err(failed) => return failed,
                    };
                    let ct = content_type(&r);
                    if ct.starts_with("application/json") || ct.starts_with("text/") {
                        return Attempt::Fatal(format!("expected audio, got {ct:?}"));
                    }
                    // The first audio bytes are part of what may be retried.
                    match tokio::time::timeout(s.timeouts.first_byte, r.chunk()).await {
                        Err(_) => Attempt::Retry {
                            error: "no audio within the first-byte timeout".into(),
                            retry_after: None,
                        },
                        Ok(Err(e)) => transport(e),
                        Ok(Ok(None)) => Attempt::Retry {
                            error: "empty audio".into(),
                            retry_after: None,
                        },
                        Ok(Ok(Some(first))) => Attempt::Ok((r, first)),
                    }
                }
            })
            .await?;
        if opus {
            return Ok(ogg_packets(name, r, first));
        }
        // Little-endian 16-bit samples; a piece may end inside one.
        let mut carry: Vec<u8> = Vec::new();
        let chunks = stream_body(name, r, first, move |piece| {
            let Some(bytes) = piece else {
                return Ok(Vec::new());
            };
            carry.extend_from_slice(bytes);
            let whole = carry.len() & !1;
            let samples: Vec<i16> = carry[..whole]
                .chunks_exact(2)
                .map(|p| i16::from_le_bytes([p[0], p[1]]))
                .collect();
            carry.drain(..whole);
            Ok(vec![samples])
        });
        Ok(TtsAudio::Pcm {
            sample_rate: TTS_PCM_RATE,
            chunks,
        })
    }
}

/// The next piece of a streamed audio answer (`None`: it ended).
async fn next_chunk(r: &mut reqwest::Response, name: &str) -> ProviderResult<Option<bytes::Bytes>> {
    r.chunk()
        .await
        .map_err(|e| ProviderError::new(name, format!("audio stream failed: {}", e.without_url())))
}

/// Streams an audio answer's body through `decode` as it arrives: each piece (then `None`, at
/// its end) becomes the items sent on; a decoding error or a failed read ends the stream with an
/// error.
fn stream_body<T: Send + 'static>(
    name: String,
    mut r: reqwest::Response,
    first: bytes::Bytes,
    mut decode: impl FnMut(Option<&[u8]>) -> Result<Vec<T>, String> + Send + 'static,
) -> futures_util::stream::BoxStream<'static, ProviderResult<T>> {
    let (tx, items) = channel_stream::<ProviderResult<T>>(16);
    tokio::spawn(async move {
        let mut next = Some(first);
        loop {
            let piece = next.take();
            let ended = piece.is_none();
            match decode(piece.as_deref()) {
                Ok(decoded) => {
                    for item in decoded {
                        if tx.send(Ok(item)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(ProviderError::new(&name, e))).await;
                    return;
                }
            }
            if ended {
                return;
            }
            next = match next_chunk(&mut r, &name).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
        }
    });
    items
}

/// An `audio/ogg` answer as Opus packets, demuxed as its bytes arrive.
fn ogg_packets(name: String, r: reqwest::Response, first: bytes::Bytes) -> TtsAudio {
    let mut ogg = crate::audio::ogg::OggOpus::new();
    let packets = stream_body(name, r, first, move |piece| {
        let mut out = Vec::new();
        match piece {
            Some(bytes) => ogg.push(bytes, &mut out).map_err(|e| e.to_string())?,
            None => ogg.finish().map_err(|e| e.to_string())?,
        }
        Ok(out)
    });
    TtsAudio::Opus { packets }
}
