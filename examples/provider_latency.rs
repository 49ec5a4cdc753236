//! Server-added latency around the vendors: from the LLM's first token to the first TTS request,
//! and from the first TTS audio bytes to the first Opus frame on the candidate's socket.
//!
//! Runs the real server (`VIVA_LLM=openai VIVA_TTS=openai`) against an in-process
//! OpenAI-compatible stand-in that stamps when it sends the first token, receives the first TTS
//! request and sends the first audio bytes; a WebSocket client stamps the first Opus frame. All
//! stamps share one clock. Figures go to `docs/benchmarks.md`.
//!
//! `cargo run --release --example provider_latency -- [rounds]`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[derive(Default)]
struct Stamps {
    first_token: Option<Instant>,
    /// When the token that completes the first sentence was sent.
    sentence_end: Option<Instant>,
    tts_request: Option<Instant>,
    tts_first_byte: Option<Instant>,
}

type Shared = Arc<Mutex<Stamps>>;

async fn chat(State(s): State<Shared>) -> impl IntoResponse {
    let words = [
        "Tell ", "me ", "about ", "a ", "system ", "you ", "built. ", "What ", "broke ", "first?",
    ];
    let stream = futures_util::stream::iter(words.into_iter().enumerate()).then(move |(i, w)| {
        let s = s.clone();
        async move {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            match i {
                0 => s.lock().unwrap().first_token = Some(Instant::now()),
                6 => s.lock().unwrap().sentence_end = Some(Instant::now()),
                _ => {}
            }
            let chunk = serde_json::json!({"choices": [{"delta": {"content": w}}]});
            Ok::<_, std::io::Error>(Bytes::from(format!("data: {chunk}\n\n")))
        }
    });
    let done = futures_util::stream::once(async { Ok(Bytes::from("data: [DONE]\n\n")) });
    (
        StatusCode::OK,
        [("content-type", "text/event-stream")],
        Body::from_stream(stream.chain(done)),
    )
}

async fn speech(State(s): State<Shared>, body: Bytes) -> impl IntoResponse {
    {
        let mut st = s.lock().unwrap();
        if st.tts_request.is_none() {
            st.tts_request = Some(Instant::now());
        }
    }
    let input: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let chars = input["input"].as_str().unwrap_or("").len().max(1);
    let samples = 24 * 60 * chars; // 60 ms per character at 24 kHz
    let pcm: Vec<u8> = (0..samples)
        .flat_map(|i| (((i as f32 * 0.057).sin() * 6000.0) as i16).to_le_bytes())
        .collect();
    let pieces: Vec<Vec<u8>> = pcm.chunks(4800).map(<[u8]>::to_vec).collect();
    // Pieces 5 ms apart (a vendor streams as it synthesises), so the first is flushed alone and
    // its stamp is when it leaves, not when a buffered body is.
    let stream = futures_util::stream::iter(pieces.into_iter().enumerate()).then(move |(i, p)| {
        let s = s.clone();
        async move {
            if i == 0 {
                let mut st = s.lock().unwrap();
                if st.tts_first_byte.is_none() {
                    st.tts_first_byte = Some(Instant::now());
                }
            } else {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Ok::<_, std::io::Error>(Bytes::from(p))
        }
    });
    (
        StatusCode::OK,
        [("content-type", "audio/pcm")],
        Body::from_stream(stream),
    )
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(200);
    let dir = tempfile::tempdir()?;
    let mut cfg = viva::config::Config::embedded(dir.path());
    cfg.stt = vec!["scripted".into()];
    cfg.llm = vec!["openai".into()];
    cfg.tts = vec!["openai".into()];
    cfg.tts_cache_entries = 0; // every sentence goes to the vendor

    let (mut to_tts, mut sentence_to_tts, mut to_frame) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let stamps: Shared = Arc::default();
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/audio/speech", post(speech))
            .with_state(stamps.clone());
        let vendor = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        cfg.openai_base_url = format!("http://{}/v1", vendor.local_addr()?);
        let vendor = axum::serve::ListenerExt::tap_io(vendor, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let fake = tokio::spawn(async move { axum::serve(vendor, app).await });

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        cfg.bind = addr;
        viva::server::open_store(&cfg).await?;
        let created = viva::cli::create_interview(&cfg, "Engineer".into(), None, None).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(viva::server::run(listener, cfg.clone(), async move {
            let _ = stopped.await;
        }));

        let url = format!("ws://{addr}/v1/interviews/{}/stream", created.interview_id);
        let mut req = url.into_client_request()?;
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            format!("viva.v1, bearer.{}", created.candidate_token).parse()?,
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
        let hello = serde_json::json!({"type": "hello", "protocol": 1,
            "audio": {"codec": "opus", "sample_rate": 48000, "channels": 1, "frame_ms": 20}});
        ws.send(Message::text(hello.to_string())).await?;
        let first_frame = loop {
            match ws.next().await {
                Some(Ok(Message::Binary(_))) => break Instant::now(),
                Some(Ok(_)) => {}
                other => anyhow::bail!("stream ended: {other:?}"),
            }
        };
        let (tok, end, req_at, byte) = {
            let s = stamps.lock().unwrap();
            (
                s.first_token.expect("token"),
                s.sentence_end.expect("sentence end"),
                s.tts_request.expect("tts request"),
                s.tts_first_byte.expect("tts bytes"),
            )
        };
        to_tts.push(req_at.duration_since(tok).as_secs_f64() * 1e3);
        sentence_to_tts.push(req_at.duration_since(end).as_secs_f64() * 1e3);
        to_frame.push(first_frame.duration_since(byte).as_secs_f64() * 1e3);
        drop(ws);
        let _ = stop.send(());
        let _ = server.await;
        fake.abort();
    }
    println!("rounds: {rounds}");
    println!(
        "first token -> first TTS request (includes the ~30 ms the model takes to finish the first sentence): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms",
        pct(&mut to_tts, 0.5),
        pct(&mut to_tts, 0.9),
        pct(&mut to_tts, 0.99)
    );
    println!(
        "token completing the first sentence -> first TTS request: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms",
        pct(&mut sentence_to_tts, 0.5),
        pct(&mut sentence_to_tts, 0.9),
        pct(&mut sentence_to_tts, 0.99)
    );
    println!(
        "first TTS audio bytes -> first Opus frame on the socket: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms",
        pct(&mut to_frame, 0.5),
        pct(&mut to_frame, 0.9),
        pct(&mut to_frame, 0.99)
    );
    Ok(())
}
