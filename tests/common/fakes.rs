//! Local stand-ins for the vendors, speaking their wire formats over real HTTP, so the real
//! provider code runs against them: OpenAI-compatible (`/v1/chat/completions` SSE,
//! `/v1/audio/transcriptions` multipart, `/v1/audio/speech` raw PCM, or real Ogg Opus from
//! espeak-ng and opusenc) and Gemini
//! (`streamGenerateContent?alt=sse`). Each endpoint follows a script of misbehaviours, then
//! behaves.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;

/// What an endpoint does with one request.
#[derive(Debug, Clone, Copy)]
pub enum Misbehave {
    /// This status, with `Retry-After` seconds if given.
    Status(u16, Option<u32>),
    /// Headers only after this long (longer than the client's first-byte timeout).
    SlowFirstByte(Duration),
    /// A success whose stream stops before any content.
    Truncated,
    /// A success whose first event is not JSON.
    Malformed,
    /// 200 with an HTML page (a proxy's error page).
    WrongContentType,
}

#[derive(Default)]
pub struct Endpoint {
    script: Mutex<VecDeque<Misbehave>>,
    /// Requests received (including refused ones).
    pub hits: AtomicUsize,
    /// Every request answered with a fault from now on.
    always: Mutex<Option<Misbehave>>,
    /// JSON bodies received (chat, Gemini, speech; a transcription's text fields).
    pub bodies: Mutex<Vec<serde_json::Value>>,
    /// Authorization-ish header values received.
    pub keys: Mutex<Vec<String>>,
}

impl Endpoint {
    pub fn script(&self, faults: impl IntoIterator<Item = Misbehave>) {
        self.script.lock().unwrap().extend(faults);
    }

    pub fn always(&self, fault: Option<Misbehave>) {
        *self.always.lock().unwrap() = fault;
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn next(&self, headers: &HeaderMap, key_header: &str) -> Option<Misbehave> {
        self.hits.fetch_add(1, Ordering::SeqCst);
        if let Some(v) = headers.get(key_header).and_then(|v| v.to_str().ok()) {
            self.keys.lock().unwrap().push(v.to_owned());
        }
        self.script
            .lock()
            .unwrap()
            .pop_front()
            .or_else(|| *self.always.lock().unwrap())
    }
}

#[derive(Default)]
pub struct Vendor {
    pub chat: Endpoint,
    pub stt: Endpoint,
    pub tts: Endpoint,
    pub gemini: Endpoint,
    pub deepgram: Endpoint,
    /// Query strings of Deepgram connections.
    pub deepgram_queries: Mutex<Vec<String>>,
    /// What the fake transcriber hears.
    pub transcript: Mutex<String>,
    /// Sample rates of the WAV files received.
    pub wav_rates: Mutex<Vec<u32>>,
    /// Questions before the fake interviewer closes.
    pub questions: AtomicUsize,
    /// How the next structured (`response_format`) chat requests are answered, in order; when
    /// empty, a valid analysis of the answer (see [`analysis_of`]).
    pub analyses: Mutex<VecDeque<Analysed>>,
    /// Told of each structured request as it arrives (a test waits on it, never sleeps).
    pub analysis_arrived: tokio::sync::Notify,
    /// `response_format: "opus"` speech: opusenc's `--framesize` (0 means 20), or `u32::MAX`
    /// to answer raw PCM anyway (a vendor ignoring the format).
    pub opus_framesize: std::sync::atomic::AtomicU32,
    /// Every Ogg Opus answer served, whole.
    pub ogg_served: Mutex<Vec<Bytes>>,
}

/// A structured chat reply of the fake analyst.
#[derive(Debug, Clone)]
pub enum Analysed {
    /// This text as the message content (JSON or not).
    Content(String),
    /// No answer for this long (longer than the client's timeout).
    Stall(Duration),
}

/// The fake assessor's summary of the scored answers it was shown: a strength citing the first
/// answer (and a turn that does not exist, which must be dropped), and a concern citing only a
/// turn that does not exist (dropped: the rules' concerns stay).
pub fn summary_of(request: &serde_json::Value) -> serde_json::Value {
    let brief: serde_json::Value = request["messages"][1]["content"]
        .as_str()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    let turns: Vec<u64> = brief["answers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["turn"].as_u64())
        .collect();
    serde_json::json!({
        "summary": format!("The fake assessor read {} answers.", turns.len()),
        "strengths": [{"text": "Answered the first question with an example.",
                       "turns": [turns.first().copied().unwrap_or(0), 999]}],
        "concerns": [{"text": "An answer that does not exist.", "turns": [999]}],
    })
}

/// The fake analyst's valid analysis: scores from the answer's length (20 words or more: 8,
/// else 3), its first sentence as evidence, and one quote it invents (which must be dropped).
pub fn analysis_of(answer: &str) -> serde_json::Value {
    let score = if answer.split_whitespace().count() >= 20 {
        8
    } else {
        3
    };
    let first = answer.split_inclusive('.').next().unwrap_or(answer).trim();
    serde_json::json!({
        "relevance": score, "completeness": score, "correctness": score, "clarity": score,
        "feedback": format!("Fake analyst: {} words.", answer.split_whitespace().count()),
        "recommendations": ["Give a concrete example."],
        "evidence": [first, "a quote the candidate never said"],
    })
}

/// The verbatim answer in an analyst request (between `<<<` and `>>>`).
fn answer_in(body: &serde_json::Value) -> String {
    let user = body["messages"][1]["content"].as_str().unwrap_or_default();
    user.split_once("<<<\n")
        .and_then(|(_, rest)| rest.rsplit_once("\n>>>"))
        .map(|(a, _)| a.to_owned())
        .unwrap_or_default()
}

pub struct FakeVendor {
    pub addr: SocketAddr,
    pub state: Arc<Vendor>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeVendor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Vendor {
    /// The structured chat requests received whose response format is named `name`
    /// (`answer_analysis`, `assessment_summary`).
    pub fn structured(&self, name: &str) -> Vec<serde_json::Value> {
        self.chat
            .bodies
            .lock()
            .unwrap()
            .iter()
            .filter(|b| b["response_format"]["json_schema"]["name"] == name)
            .cloned()
            .collect()
    }
}

impl FakeVendor {
    pub async fn start() -> Self {
        let state = Arc::new(Vendor::default());
        *state.transcript.lock().unwrap() = "I have five years of experience with Rust.".into();
        state.questions.store(3, Ordering::SeqCst);
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/audio/transcriptions", post(transcribe))
            .route("/v1/audio/speech", post(speech))
            .route("/v1beta/models/{*rest}", post(gemini))
            .route("/v1/listen", axum::routing::get(listen))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, state, task }
    }

    pub fn openai_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn deepgram_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    pub fn gemini_url(&self) -> String {
        format!("http://{}/v1beta", self.addr)
    }
}

/// The fake interviewer's reply to a conversation with `asked` questions so far.
pub fn reply_for(asked: usize, limit: usize) -> String {
    if asked >= limit {
        "Thank you, that is everything. The team will be in touch. [[END]]".into()
    } else {
        format!(
            "Thanks. Question {} — what résumé project taught you the most, and why?",
            asked + 1
        )
    }
}

/// Splits bytes into awkward pieces (7 bytes: through UTF-8 characters and `\r\n`).
fn awkward(bytes: Vec<u8>) -> Body {
    let pieces: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(7)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Body::from_stream(futures_util::stream::iter(pieces))
}

async fn fault(m: Misbehave, sse: bool) -> Response {
    match m {
        Misbehave::Status(code, retry_after) => {
            let mut r = (
                StatusCode::from_u16(code).unwrap(),
                [("content-type", "application/json")],
                r#"{"error":{"message":"fake vendor says no","type":"fake"}}"#,
            )
                .into_response();
            if let Some(s) = retry_after {
                r.headers_mut()
                    .insert("retry-after", s.to_string().parse().unwrap());
            }
            r
        }
        Misbehave::SlowFirstByte(d) => {
            tokio::time::sleep(d).await;
            (StatusCode::OK, "too late").into_response()
        }
        Misbehave::Truncated => {
            let ct = if sse {
                "text/event-stream"
            } else {
                "audio/pcm"
            };
            (StatusCode::OK, [("content-type", ct)], Body::empty()).into_response()
        }
        Misbehave::Malformed => (
            StatusCode::OK,
            [("content-type", "text/event-stream")],
            "data: {\"choices\": [ {\"delta\"\n\n",
        )
            .into_response(),
        Misbehave::WrongContentType => (
            StatusCode::OK,
            [("content-type", "text/html")],
            "<html>bad gateway</html>",
        )
            .into_response(),
    }
}

fn asked(messages: &[serde_json::Value], assistant: &str) -> usize {
    messages
        .iter()
        .filter(|m| {
            m["role"] == assistant && m["content"].as_str().is_some_and(|c| c.contains('?'))
        })
        .count()
}

async fn chat(State(v): State<Arc<Vendor>>, headers: HeaderMap, body: Bytes) -> Response {
    let fault_now = v.chat.next(&headers, "authorization");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    v.chat.bodies.lock().unwrap().push(json.clone());
    if let Some(f) = fault_now {
        return fault(f, true).await;
    }
    if json["response_format"]["json_schema"]["name"] == "assessment_summary" {
        return axum::Json(serde_json::json!({
            "choices": [{"index": 0, "message": {"role": "assistant",
                "content": summary_of(&json).to_string()}}],
            "usage": {"prompt_tokens": 500, "completion_tokens": 120},
        }))
        .into_response();
    }
    if json.get("response_format").is_some() {
        v.analysis_arrived.notify_one();
        let next = v.analyses.lock().unwrap().pop_front();
        let content = match next {
            Some(Analysed::Stall(d)) => {
                tokio::time::sleep(d).await;
                return (StatusCode::OK, "too late").into_response();
            }
            Some(Analysed::Content(c)) => c,
            None => analysis_of(&answer_in(&json)).to_string(),
        };
        return axum::Json(serde_json::json!({
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 300, "completion_tokens": 60},
        }))
        .into_response();
    }
    let messages = json["messages"].as_array().cloned().unwrap_or_default();
    let text = reply_for(
        asked(&messages, "assistant"),
        v.questions.load(Ordering::SeqCst),
    );
    let mut out = String::new();
    for word in text.split_inclusive(' ') {
        let chunk = serde_json::json!({"choices": [{"index": 0, "delta": {"content": word}}]});
        out.push_str(&format!("data: {chunk}\r\n\r\n"));
    }
    let usage = serde_json::json!({"choices": [], "usage": {"prompt_tokens": 120, "completion_tokens": 18}});
    out.push_str(&format!("data: {usage}\n\ndata: [DONE]\n\n"));
    (
        StatusCode::OK,
        [("content-type", "text/event-stream")],
        awkward(out.into_bytes()),
    )
        .into_response()
}

async fn gemini(State(v): State<Arc<Vendor>>, headers: HeaderMap, body: Bytes) -> Response {
    let fault_now = v.gemini.next(&headers, "x-goog-api-key");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    v.gemini.bodies.lock().unwrap().push(json.clone());
    if let Some(f) = fault_now {
        return fault(f, true).await;
    }
    let contents = json["contents"].as_array().cloned().unwrap_or_default();
    let asked = contents
        .iter()
        .filter(|c| c["role"] == "model" && c.to_string().contains('?'))
        .count();
    let text = reply_for(asked, v.questions.load(Ordering::SeqCst));
    let mut out = String::new();
    for word in text.split_inclusive(' ') {
        let chunk = serde_json::json!({"candidates": [{"content": {"role": "model", "parts": [{"text": word}]}}]});
        out.push_str(&format!("data: {chunk}\n\n"));
    }
    let last = serde_json::json!({"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 90, "candidatesTokenCount": 15}});
    out.push_str(&format!("data: {last}\n\n"));
    (
        StatusCode::OK,
        [("content-type", "text/event-stream")],
        awkward(out.into_bytes()),
    )
        .into_response()
}

async fn transcribe(
    State(v): State<Arc<Vendor>>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let fault_now = v.stt.next(&headers, "authorization");
    let (mut model, mut fields) = (None, serde_json::Map::new());
    while let Ok(Some(field)) = form.next_field().await {
        match field.name().map(str::to_owned).as_deref() {
            Some("file") => {
                let wav = field.bytes().await.unwrap();
                let (rate, _) = viva::audio::wav::parse(&wav).expect("a WAV file");
                v.wav_rates.lock().unwrap().push(rate);
            }
            Some("model") => model = field.text().await.ok(),
            Some(name) => {
                let text = field.text().await.unwrap_or_default();
                fields.insert(name.to_owned(), text.into());
            }
            None => {}
        }
    }
    // The text fields (language, response_format, prompt), for the tests to read.
    v.stt.bodies.lock().unwrap().push(fields.into());
    if let Some(f) = fault_now {
        return fault(f, false).await;
    }
    assert!(model.is_some(), "model field");
    let text = v.transcript.lock().unwrap().clone();
    axum::Json(serde_json::json!({ "text": text })).into_response()
}

async fn speech(State(v): State<Arc<Vendor>>, headers: HeaderMap, body: Bytes) -> Response {
    let fault_now = v.tts.next(&headers, "authorization");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    v.tts.bodies.lock().unwrap().push(json.clone());
    if let Some(f) = fault_now {
        return fault(f, false).await;
    }
    let framesize = v.opus_framesize.load(Ordering::SeqCst);
    if json["response_format"] == "opus" && framesize != u32::MAX {
        // Real speech as real Ogg Opus: espeak-ng's WAV through opusenc.
        let text = json["input"].as_str().unwrap_or("").to_owned();
        let framesize = if framesize == 0 { 20 } else { framesize };
        let ogg = ogg_opus_speech(&text, framesize).await;
        v.ogg_served.lock().unwrap().push(ogg.clone());
        let pieces: Vec<Result<Bytes, std::io::Error>> = ogg
            .chunks(1001)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        return (
            StatusCode::OK,
            [("content-type", "audio/ogg")],
            Body::from_stream(futures_util::stream::iter(pieces)),
        )
            .into_response();
    }
    assert!(
        json["response_format"] == "pcm" || framesize == u32::MAX,
        "{json}"
    );
    // A 24 kHz tone, 40 ms per character, streamed in odd-sized pieces.
    let chars = json["input"].as_str().unwrap_or("").chars().count().max(1);
    let samples = 24_000 * 40 * chars / 1000;
    let mut pcm = Vec::with_capacity(samples * 2);
    for i in 0..samples {
        let s = (i as f32 * 220.0 * std::f32::consts::TAU / 24_000.0).sin() * 8_000.0;
        pcm.extend_from_slice(&(s as i16).to_le_bytes());
    }
    let pieces: Vec<Result<Bytes, std::io::Error>> = pcm
        .chunks(1001)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    (
        StatusCode::OK,
        [("content-type", "audio/pcm")],
        Body::from_stream(futures_util::stream::iter(pieces)),
    )
        .into_response()
}

/// `text` spoken by espeak-ng and encoded by opusenc (opus-tools) into Ogg Opus with packets of
/// `framesize` ms.
pub async fn ogg_opus_speech(text: &str, framesize: u32) -> Bytes {
    let wav = viva::providers::espeak::speak_wav("en-us", 170, text)
        .await
        .expect("espeak-ng speaks");
    let mut child = tokio::process::Command::new("opusenc")
        .args(["--quiet", "--framesize", &framesize.to_string(), "-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("opusenc (apt install opus-tools; scripts/setup.sh --test does)");
    let mut stdin = child.stdin.take().unwrap();
    let feed = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        stdin.write_all(&wav).await.unwrap();
    });
    let out = child.wait_with_output().await.unwrap();
    feed.await.unwrap();
    assert!(out.status.success(), "opusenc failed");
    Bytes::from(out.stdout)
}

/// Deepgram live: interim results every half second of audio, finals after `CloseStream`.
async fn listen(
    State(v): State<Arc<Vendor>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    ws: axum::extract::WebSocketUpgrade,
) -> Response {
    if let Some(f) = v.deepgram.next(&headers, "authorization") {
        return fault(f, false).await;
    }
    v.deepgram_queries
        .lock()
        .unwrap()
        .push(uri.query().unwrap_or("").to_owned());
    let words: Vec<String> = v
        .transcript
        .lock()
        .unwrap()
        .split(' ')
        .map(str::to_owned)
        .collect();
    ws.on_upgrade(move |mut socket| async move {
        use axum::extract::ws::Message;
        let result = |text: &str, is_final: bool| {
            Message::text(
                serde_json::json!({
                    "type": "Results",
                    "channel": {"alternatives": [{"transcript": text, "confidence": 0.9}]},
                    "is_final": is_final,
                    "speech_final": is_final,
                })
                .to_string(),
            )
        };
        let mut bytes = 0usize;
        let mut said = 0usize;
        while let Some(Ok(msg)) = socket.recv().await {
            match msg {
                Message::Binary(b) => {
                    bytes += b.len();
                    // An interim result per half second of 16 kHz 16-bit audio.
                    let due = (bytes / 16_000).min(words.len());
                    if due > said {
                        said = due;
                        let _ = socket.send(result(&words[..said].join(" "), false)).await;
                    }
                }
                Message::Text(t) if t.contains("CloseStream") => {
                    let half = words.len() / 2;
                    let _ = socket.send(result(&words[..half].join(" "), true)).await;
                    let _ = socket.send(result(&words[half..].join(" "), true)).await;
                    let _ = socket
                        .send(Message::text(r#"{"type":"Metadata","duration":1.0}"#))
                        .await;
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                _ => {}
            }
        }
    })
}
