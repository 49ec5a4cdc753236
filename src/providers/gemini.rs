//! Google Gemini as the interviewer model: `models/{model}:streamGenerateContent?alt=sse`, the
//! key in the `x-goog-api-key` header (never in the URL, so it cannot reach a log).

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::llm_stream::{first_token, pump, Chunk, Usage};
use super::remote::{channel_stream, instructions, recent_turns, Remote, Vendor};
use super::resilience::send;
use super::{InterviewContext, LlmProvider, LlmStream, ProviderResult};
use crate::protocol::Speaker;

pub struct GeminiLlm {
    pub vendor: Vendor,
}

impl GeminiLlm {
    pub fn new(remote: Arc<Remote>) -> Self {
        let model = remote.settings.gemini_model.clone();
        Self {
            vendor: Vendor::new(remote, "gemini", &model),
        }
    }

    fn body(&self, ctx: &InterviewContext) -> serde_json::Value {
        let s = &self.vendor.remote.settings;
        let system = instructions(ctx, s);
        // Gemini wants the conversation to open with the user and roles to alternate.
        let mut contents: Vec<(&str, String)> = vec![(
            "user",
            "(The candidate has joined the interview.)".to_owned(),
        )];
        for (speaker, text) in recent_turns(ctx, &system, s.context_tokens) {
            let role = match speaker {
                Speaker::Interviewer => "model",
                Speaker::Candidate => "user",
            };
            match contents.last_mut() {
                Some((r, prev)) if *r == role => {
                    prev.push('\n');
                    prev.push_str(&text);
                }
                _ => contents.push((role, text)),
            }
        }
        if contents.last().is_some_and(|(r, _)| *r == "model") {
            contents.push(("user", "(The candidate is listening.)".to_owned()));
        }
        json!({
            "systemInstruction": {"parts": [{"text": system}]},
            "contents": contents
                .into_iter()
                .map(|(role, text)| json!({"role": role, "parts": [{"text": text}]}))
                .collect::<Vec<_>>(),
            "generationConfig": {"temperature": 0.7},
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
    #[serde(default)]
    usage_metadata: Option<UsageMetadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
struct Part {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageMetadata {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
}

pub(super) fn parse_chunk(data: &str) -> Result<Vec<Chunk>, String> {
    let r: GenerateResponse =
        serde_json::from_str(data).map_err(|e| format!("malformed stream event: {e}"))?;
    let mut out = Vec::new();
    let mut finished = false;
    for c in r.candidates {
        for p in c.content.map(|c| c.parts).unwrap_or_default() {
            if let Some(t) = p.text.filter(|t| !t.is_empty()) {
                out.push(Chunk::Text(t));
            }
        }
        finished |= c
            .finish_reason
            .is_some_and(|f| f != "FINISH_REASON_UNSPECIFIED");
    }
    if let Some(u) = r.usage_metadata {
        out.push(Chunk::Usage(Usage {
            prompt_tokens: u.prompt_token_count,
            completion_tokens: u.candidates_token_count,
        }));
    }
    if finished {
        out.push(Chunk::Done);
    }
    if out.is_empty() {
        out.push(Chunk::Nothing);
    }
    Ok(out)
}

#[async_trait]
impl LlmProvider for GeminiLlm {
    fn name(&self) -> &str {
        &self.vendor.name
    }

    async fn stream(&self, ctx: Arc<InterviewContext>) -> ProviderResult<LlmStream> {
        let body = self.body(&ctx);
        let s = &self.vendor.remote.settings;
        let url = s.gemini.url(&format!(
            "models/{}:streamGenerateContent?alt=sse",
            s.gemini_model
        ));
        let t = s.timeouts;
        let started = self
            .vendor
            .res
            .call(|| {
                let mut req = self
                    .vendor
                    .remote
                    .http
                    .post(&url)
                    .timeout(t.llm)
                    .json(&body);
                if let Some(k) = &s.gemini.api_key {
                    req = req.header("x-goog-api-key", k.expose());
                }
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
