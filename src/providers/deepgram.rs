//! Deepgram live speech-to-text over a WebSocket: the utterance's 16 kHz PCM streams up while
//! the candidate speaks, interim results come back as partial transcripts (`transcript
//! {final:false}` events), and the final transcript is the finalised segments once the stream
//! is closed (`{"type":"CloseStream"}`).
//!
//! The session connects when the utterance starts and buffers audio until it is connected, so
//! `push` never blocks the actor. If the connection fails, the session fails and an STT chain
//! (`VIVA_STT=deepgram,openai`) transcribes the same audio with the next provider.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::remote::{Remote, Vendor};
use super::resilience::{Attempt, Resilience};
use super::{ProviderError, ProviderResult, SttProvider, SttResult, SttSession, Vocabulary};

pub struct DeepgramStt {
    pub vendor: Vendor,
}

impl DeepgramStt {
    pub fn new(remote: Arc<Remote>) -> Self {
        let model = remote.settings.deepgram_model.clone();
        Self {
            vendor: Vendor::new(remote, "deepgram", &model),
        }
    }

    /// The streaming URL; the interview's terms go as `keyterm` (Nova-3) or `keywords` (older
    /// models), each URL-encoded.
    fn url(&self, vocabulary: &Vocabulary) -> String {
        let s = &self.vendor.remote.settings;
        let param = if s.deepgram_model.starts_with("nova-3") {
            "keyterm"
        } else {
            "keywords"
        };
        let url = s.deepgram.url(&format!(
            "v1/listen?model={}&language={}&encoding=linear16&sample_rate=16000&channels=1\
             &interim_results=true&punctuate=true&smart_format=true",
            s.deepgram_model, s.language
        ));
        match reqwest::Url::parse(&url) {
            Ok(mut parsed) if !vocabulary.is_empty() => {
                parsed
                    .query_pairs_mut()
                    .extend_pairs(vocabulary.terms().iter().map(|t| (param, t)));
                parsed.into()
            }
            _ => url,
        }
    }
}

impl SttProvider for DeepgramStt {
    fn name(&self) -> &str {
        &self.vendor.name
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn words_at_pauses(&self) -> bool {
        true // live partials
    }

    fn start(
        &self,
        vocabulary: &Vocabulary,
        partials: mpsc::Sender<String>,
    ) -> Box<dyn SttSession> {
        let (audio, audio_rx) = mpsc::channel(MAX_QUEUED_CHUNKS);
        let (done_tx, done) = oneshot::channel();
        let task = Stream {
            url: self.url(vocabulary),
            key: self
                .vendor
                .remote
                .settings
                .deepgram
                .api_key
                .as_ref()
                .map(|k| k.expose().to_owned()),
            res: self.vendor.res.clone(),
            name: self.vendor.name.clone(),
            partials,
            timeout: self.vendor.remote.settings.timeouts.stt,
            first_byte: self.vendor.remote.settings.timeouts.first_byte,
        };
        tokio::spawn(async move {
            let _ = done_tx.send(task.run(audio_rx).await);
        });
        Box::new(LiveUtterance {
            audio,
            dropped: 0,
            done,
        })
    }
}

/// Audio chunks (one 20 ms frame each) that may wait for the network: the longest answer
/// (`VIVA_MAX_UTTERANCE_SECS`, 120 s by default) and some. Past it (the connection to Deepgram is
/// stalled for minutes) further audio is dropped and counted; the transcript then misses it.
const MAX_QUEUED_CHUNKS: usize = 150 * 50;

/// The actor's side: audio goes into a bounded queue, so `push` never waits on the network.
struct LiveUtterance {
    audio: mpsc::Sender<Vec<i16>>,
    /// Chunks dropped at the bound.
    dropped: u64,
    done: oneshot::Receiver<ProviderResult<String>>,
}

#[async_trait]
impl SttSession for LiveUtterance {
    fn push(&mut self, pcm: &[i16]) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.audio.try_send(pcm.to_vec()) {
            self.dropped += 1;
            if self.dropped == 1 {
                tracing::warn!("deepgram: audio queue full (network stalled); dropping audio");
            }
        }
    }

    async fn finish(self: Box<Self>) -> ProviderResult<SttResult> {
        drop(self.audio); // end of the utterance
        let text = self
            .done
            .await
            .map_err(|_| ProviderError::new("deepgram", "session task ended"))??;
        Ok(SttResult {
            text,
            transcribed: true,
            degraded: None,
        })
    }
}

struct Stream {
    url: String,
    key: Option<String>,
    res: Arc<Resilience>,
    name: String,
    partials: mpsc::Sender<String>,
    timeout: std::time::Duration,
    first_byte: std::time::Duration,
}

#[derive(Deserialize)]
struct Results {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    channel: Option<Channel>,
    #[serde(default)]
    is_final: bool,
}

#[derive(Deserialize)]
struct Channel {
    #[serde(default)]
    alternatives: Vec<Alternative>,
}

#[derive(Deserialize)]
struct Alternative {
    #[serde(default)]
    transcript: String,
}

fn pcm_bytes(pcm: &[i16]) -> Vec<u8> {
    pcm.iter().flat_map(|s| s.to_le_bytes()).collect()
}

impl Stream {
    async fn run(self, mut audio: mpsc::Receiver<Vec<i16>>) -> ProviderResult<String> {
        let err = |m: String| ProviderError::new(&self.name, m);
        // Connecting (the handshake) is what retries cover; audio waits in the queue.
        let ws = self
            .res
            .call(|| {
                let mut req = match self.url.as_str().into_client_request() {
                    Ok(r) => r,
                    Err(e) => {
                        return futures_util::future::Either::Left(async move {
                            Attempt::Fatal(format!("bad Deepgram URL: {e}"))
                        })
                    }
                };
                if let Some(k) = &self.key {
                    if let Ok(v) = format!("Token {k}").parse() {
                        req.headers_mut().insert("authorization", v);
                    }
                }
                let first_byte = self.first_byte;
                futures_util::future::Either::Right(async move {
                    match tokio::time::timeout(first_byte, tokio_tungstenite::connect_async(req))
                        .await
                    {
                        Err(_) => Attempt::Retry {
                            error: "connect timed out".into(),
                            retry_after: None,
                        },
                        Ok(Ok((ws, _))) => Attempt::Ok(ws),
                        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(r))) => {
                            let status = r.status();
                            let code = status.as_u16();
                            if code == 429 || status.is_server_error() {
                                Attempt::Retry {
                                    error: format!("handshake refused: HTTP {status}"),
                                    retry_after: None,
                                }
                            } else {
                                Attempt::Fatal(format!("handshake refused: HTTP {status}"))
                            }
                        }
                        Ok(Err(e)) => Attempt::Retry {
                            error: format!("connect failed: {e}"),
                            retry_after: None,
                        },
                    }
                })
            })
            .await?;
        let (mut sink, mut stream) = ws.split();
        let mut finals: Vec<String> = Vec::new();
        let mut audio_open = true;
        // The deadline runs from the end of the utterance, not its start.
        let mut deadline: Option<tokio::time::Instant> = None;
        let work = async {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)), if deadline.is_some() => {
                        return Err(err("no final transcript in time".into()));
                    }
                    pcm = audio.recv(), if audio_open => match pcm {
                        Some(pcm) => sink
                            .send(Message::binary(pcm_bytes(&pcm)))
                            .await
                            .map_err(|e| err(format!("send failed: {e}")))?,
                        None => {
                            audio_open = false;
                            deadline = Some(tokio::time::Instant::now() + self.timeout);
                            sink.send(Message::text(r#"{"type":"CloseStream"}"#))
                                .await
                                .map_err(|e| err(format!("close failed: {e}")))?;
                        }
                    },
                    msg = stream.next() => match msg {
                        None | Some(Ok(Message::Close(_))) => return Ok::<_, ProviderError>(()),
                        Some(Err(e)) => return Err(err(format!("stream failed: {e}"))),
                        Some(Ok(Message::Text(t))) => {
                            let r: Results = serde_json::from_str(&t)
                                .map_err(|e| err(format!("malformed result: {e}")))?;
                            if r.kind != "Results" {
                                continue;
                            }
                            let text = r
                                .channel
                                .and_then(|c| c.alternatives.into_iter().next())
                                .map(|a| a.transcript)
                                .unwrap_or_default();
                            if r.is_final {
                                if !text.is_empty() {
                                    finals.push(text);
                                }
                                let _ = self.partials.try_send(finals.join(" "));
                            } else if !text.is_empty() {
                                let mut so_far = finals.clone();
                                so_far.push(text);
                                let _ = self.partials.try_send(so_far.join(" "));
                            }
                        }
                        Some(Ok(_)) => {}
                    },
                }
            }
        };
        work.await?;
        Ok(finals.join(" "))
    }
}
