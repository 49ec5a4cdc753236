//! A streamed LLM response, vendor-neutral: read up to the first token inside the retry
//! policy, then forward tokens as [`LlmEvent`]s (the end marker stripped) until done. Each
//! vendor supplies a [`Parse`] for one SSE `data` payload.

use std::time::Duration;

use serde::Deserialize;
use tokio::sync::mpsc;

use super::remote::MarkerFilter;
use super::resilience::{content_type, transport, Attempt};
use super::sse::SseDecoder;
use super::{LlmEvent, ProviderError, ProviderResult};

/// Parses one event payload (or a whole non-streamed body) of a vendor's stream.
pub type Parse = fn(&str) -> Result<Vec<Chunk>, String>;

#[derive(Deserialize, Clone, Copy)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
}

/// What one SSE `data` payload of a chat stream says.
pub enum Chunk {
    Text(String),
    Usage(Usage),
    Done,
    Nothing,
}

/// A started chat stream: the response, its decoder, and the events read before the first
/// token (kept for the caller).
pub struct Started {
    body: Option<reqwest::Response>,
    decoder: SseDecoder,
    first: Vec<Chunk>,
}

/// Reads until the first token, so that everything before it can be retried.
pub async fn first_token(
    mut r: reqwest::Response,
    within: Duration,
    parse: Parse,
) -> Attempt<Started> {
    let ct = content_type(&r);
    if ct.starts_with("application/json") {
        // Not streamed: the whole completion at once.
        return match r.text().await {
            Err(e) => transport(e),
            Ok(body) => match parse(&body) {
                Ok(first) => Attempt::Ok(Started {
                    body: None,
                    decoder: SseDecoder::new(),
                    first,
                }),
                Err(e) => Attempt::Retry {
                    error: e,
                    retry_after: None,
                },
            },
        };
    }
    if !ct.starts_with("text/event-stream") {
        return Attempt::Fatal(format!("unexpected content type {ct:?}"));
    }
    let mut decoder = SseDecoder::new();
    let mut first = Vec::new();
    let read = async {
        loop {
            match r.chunk().await {
                Ok(Some(bytes)) => {
                    let events = decoder.feed(&bytes).map_err(|e| e.to_string())?;
                    for data in events {
                        let chunks = parse(&data)?;
                        let got_text = chunks.iter().any(|c| matches!(c, Chunk::Text(_)));
                        let done = chunks.iter().any(|c| matches!(c, Chunk::Done));
                        first.extend(chunks);
                        if got_text || done {
                            return Ok(());
                        }
                    }
                }
                Ok(None) => return Err("stream ended before the first token".to_owned()),
                Err(e) => return Err(format!("stream failed: {}", e.without_url())),
            }
        }
    };
    match tokio::time::timeout(within, read).await {
        Err(_) => Attempt::Retry {
            error: format!("no token within {} ms", within.as_millis()),
            retry_after: None,
        },
        Ok(Err(error)) => Attempt::Retry {
            error,
            retry_after: None,
        },
        Ok(Ok(())) => Attempt::Ok(Started {
            body: Some(r),
            decoder,
            first,
        }),
    }
}

/// Forwards a chat stream as [`LlmEvent`]s, stripping the end marker.
pub async fn pump(
    name: String,
    s: Started,
    tx: mpsc::Sender<ProviderResult<LlmEvent>>,
    parse: Parse,
) {
    let mut filter = MarkerFilter::default();
    let mut usage = None;
    let mut done = false;
    let emit = |chunks: Vec<Chunk>, filter: &mut MarkerFilter, usage: &mut Option<Usage>| {
        let mut out = Vec::new();
        let mut done = false;
        for c in chunks {
            match c {
                Chunk::Text(t) => {
                    let speak = filter.push(&t);
                    if !speak.is_empty() {
                        out.push(LlmEvent::Token(speak));
                    }
                }
                Chunk::Usage(u) => *usage = Some(u),
                Chunk::Done => done = true,
                Chunk::Nothing => {}
            }
        }
        (out, done)
    };
    let (events, d) = emit(s.first, &mut filter, &mut usage);
    done |= d;
    for e in events {
        if tx.send(Ok(e)).await.is_err() {
            return;
        }
    }
    let (mut body, mut decoder) = (s.body, s.decoder);
    while !done {
        let Some(r) = body.as_mut() else { break };
        let datas = match r.chunk().await {
            Ok(Some(bytes)) => match decoder.feed(&bytes) {
                Ok(d) => d,
                Err(e) => {
                    let _ = tx.send(Err(ProviderError::new(&name, e.to_string()))).await;
                    return;
                }
            },
            Ok(None) => match decoder.finish() {
                Ok(last) => {
                    body = None;
                    last.into_iter().collect()
                }
                Err(e) => {
                    let _ = tx.send(Err(ProviderError::new(&name, e.to_string()))).await;
                    return;
                }
            },
            Err(e) => {
                let msg = format!("stream failed: {}", e.without_url());
                let _ = tx.send(Err(ProviderError::new(&name, msg))).await;
                return;
            }
        };
        for data in datas {
            let chunks = match parse(&data) {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(ProviderError::new(&name, e))).await;
                    return;
                }
            };
            let (events, d) = emit(chunks, &mut filter, &mut usage);
            done |= d;
            for e in events {
                if tx.send(Ok(e)).await.is_err() {
                    return;
                }
            }
        }
    }
    // Here the stream said [DONE], or ended without it (some servers never send it).
    let rest = filter.finish();
    if !rest.is_empty() {
        let _ = tx.send(Ok(LlmEvent::Token(rest))).await;
    }
    if let Some(u) = usage {
        let _ = tx
            .send(Ok(LlmEvent::Usage {
                prompt_tokens: u.prompt_tokens,
                completion_tokens: u.completion_tokens,
            }))
            .await;
    }
    let _ = tx
        .send(Ok(LlmEvent::Done {
            end_interview: filter.ended,
        }))
        .await;
}
