//! Test harness: a real server on port 0, real speech (espeak-ng → Opus) and a real WebSocket
//! client whose microphone task streams one 20 ms packet per 20 ms, like a browser.
#![allow(dead_code)]

pub mod api;
pub mod fakes;
pub mod proxy;
pub mod services;
pub mod wer;

use std::net::SocketAddr;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;
use viva::audio::client;
use viva::config::Config;
use viva::protocol::{ConnectionMessage, Event, EventEnvelope, ServerMessage};
use viva::store::{Store, TurnRecord};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Hang guard for waits on the server: a failing test fails instead of hanging. Not a timing
/// assertion: nothing here measures how fast anything happened.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

pub struct TestServer {
    pub addr: SocketAddr,
    pub config: Config,
    pub dir: Arc<tempfile::TempDir>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Points a config at a real Postgres and Redis (the production backends).
pub fn use_services(c: &mut Config, pg: &services::Postgres, redis: &services::Redis) {
    c.database_url = Some(viva::config::Secret::new(pg.url()));
    c.redis_url = Some(viva::config::Secret::new(redis.url()));
}

/// A config on a fresh data directory with the `scripted` providers at small latencies.
pub fn scripted_config(dir: &std::path::Path) -> Config {
    let mut c = Config::embedded(dir);
    c.stt = vec!["scripted".into()];
    c.llm = vec!["scripted".into()];
    c.tts = vec!["scripted".into()];
    c.scripted_stt_ms = 20;
    c.scripted_llm_first_token_ms = 30;
    c.scripted_llm_tokens_per_sec = 400.0;
    c.scripted_tts_first_byte_ms = 20;
    c.scripted_questions = 2;
    c
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let mut config = scripted_config(dir.path());
        adjust(&mut config);
        Self::start_in(dir, config).await
    }

    /// Starts a server on an existing data directory (a restart).
    pub async fn start_in(dir: Arc<tempfile::TempDir>, mut config: Config) -> Self {
        // Schema and signing key exist before the server starts, as after `viva migrate`.
        viva::server::open_store(&config).await.unwrap();
        viva::server::auth(&config).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        config.bind = addr;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(viva::server::run(listener, config.clone(), async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            config,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Creates an interview the way `viva interview create` does: (id, candidate token).
    pub async fn create_interview(&self) -> (Uuid, String) {
        let created =
            viva::cli::create_interview(&self.config, "Software Engineer".into(), None, None)
                .await
                .unwrap();
        (created.interview_id, created.candidate_token)
    }

    /// The server's durable store (SQLite or Postgres, as its config says).
    pub async fn store(&self) -> Arc<dyn Store> {
        viva::server::open_store(&self.config).await.unwrap()
    }

    pub async fn turns(&self, id: Uuid) -> Vec<TurnRecord> {
        self.store().await.turns(id).await.unwrap()
    }

    /// Graceful shutdown (as on SIGTERM); waits until the server has drained.
    pub async fn shutdown(mut self) {
        self.begin_shutdown();
        self.stopped().await;
    }

    /// Starts the drain (as SIGTERM does) without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits until the server has stopped.
    pub async fn stopped(mut self) {
        self.task.take().unwrap().await.unwrap().unwrap();
    }

    pub fn ws_url(&self, id: Uuid) -> String {
        format!("ws://{}/v1/interviews/{id}/stream", self.addr)
    }

    pub fn monitor_url(&self, id: Uuid) -> String {
        format!("ws://{}/v1/interviews/{id}/monitor", self.addr)
    }

    /// `GET /health` as JSON.
    pub async fn health(&self) -> serde_json::Value {
        reqwest::get(format!("http://{}/health", self.addr))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// Opens the candidate WebSocket with the token in the subprotocol list.
pub async fn connect(server: &TestServer, id: Uuid, token: &str) -> Ws {
    connect_url(&server.ws_url(id), token).await
}

/// Opens a WebSocket (candidate stream or monitor) at `url` with the token.
pub async fn connect_url(url: &str, token: &str) -> Ws {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        format!("viva.v1, bearer.{token}").parse().unwrap(),
    );
    let (ws, resp) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        resp.headers().get("sec-websocket-protocol").unwrap(),
        "viva.v1",
        "the server selects viva.v1 and never echoes the token"
    );
    ws
}

pub fn hello(resume_from: Option<u64>) -> Message {
    hello_resuming(&Resume {
        from: resume_from,
        secret: None,
    })
}

/// Where a reconnecting client picks up: the last `seq` it processed and its resume secret.
#[derive(Debug, Clone, Default)]
pub struct Resume {
    pub from: Option<u64>,
    pub secret: Option<String>,
}

pub fn hello_resuming(resume: &Resume) -> Message {
    let v = serde_json::json!({
        "type": "hello", "protocol": 1,
        "audio": {"codec": "opus", "sample_rate": 48000, "channels": 1, "frame_ms": 20},
        "resume_from": resume.from,
        "resume_secret": resume.secret,
    });
    Message::text(v.to_string())
}

/// Speech from espeak-ng as the browser would send it: 20 ms Opus packets at 48 kHz.
pub async fn speech(text: &str) -> Vec<Bytes> {
    let wav_bytes = viva::providers::espeak::speak_wav("en-us", 160, text)
        .await
        .unwrap();
    client::wav_to_packets(&wav_bytes).unwrap()
}

pub use viva::audio::client::silence_packet;

/// Everything the client receives, in order.
#[derive(Debug, Clone)]
pub enum Received {
    Conn(ConnectionMessage),
    Event(EventEnvelope),
    Audio(Bytes),
    Closed(Option<(u16, String)>),
}

enum MicCmd {
    Say(Vec<Bytes>),
    Send(Message),
}

/// The candidate's browser: a microphone task that always streams (speech when told,
/// silence otherwise) at one packet per 20 ms, and a log of everything received.
pub struct Candidate {
    rx: SplitStream<Ws>,
    mic: mpsc::Sender<MicCmd>,
    mic_task: JoinHandle<()>,
    pub received: Vec<Received>,
    /// From the last `ready`: what proves this client holds the live session.
    pub resume_secret: Option<String>,
}

async fn mic_loop(
    mut sink: SplitSink<Ws, Message>,
    mut cmds: mpsc::Receiver<MicCmd>,
    streaming: bool,
) {
    let silence = silence_packet();
    let mut queue: std::collections::VecDeque<Bytes> = Default::default();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    loop {
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(MicCmd::Say(p)) => queue.extend(p),
                Some(MicCmd::Send(m)) => { if sink.send(m).await.is_err() { return; } }
                None => { let _ = sink.close().await; return; }
            },
            _ = tick.tick(), if streaming || !queue.is_empty() => {
                let p = queue.pop_front().unwrap_or_else(|| silence.clone());
                if sink.send(Message::binary(p)).await.is_err() { return; }
            }
        }
    }
}

impl Candidate {
    /// Connects, sends hello and starts the microphone (streaming silence when `streaming`).
    pub async fn join(
        server: &TestServer,
        id: Uuid,
        token: &str,
        resume_from: Option<u64>,
    ) -> Self {
        let ws = connect(server, id, token).await;
        Self::start(ws, resume_from, true).await
    }

    /// Reconnects as the holder of the live session (with its resume secret).
    pub async fn rejoin(server: &TestServer, id: Uuid, token: &str, resume: Resume) -> Self {
        let ws = connect(server, id, token).await;
        Self::start_resuming(ws, &resume, true).await
    }

    /// Joins through a stream URL (a server started as a separate process).
    pub async fn join_url(url: &str, token: &str, resume: Resume) -> Self {
        Self::start_resuming(connect_url(url, token).await, &resume, true).await
    }

    /// Where this client would resume: after its last event, with its secret.
    pub fn resume_point(&self) -> Resume {
        Resume {
            from: Some(self.last_seq()),
            secret: self.resume_secret.clone(),
        }
    }

    /// Types an answer (the text fallback: the same commit path as speech, without STT).
    pub async fn answer(&self, text: &str) {
        self.send_text(serde_json::json!({"type": "answer_text", "text": text}))
            .await;
    }

    pub async fn start(ws: Ws, resume_from: Option<u64>, streaming: bool) -> Self {
        let resume = Resume {
            from: resume_from,
            secret: None,
        };
        Self::start_resuming(ws, &resume, streaming).await
    }

    pub async fn start_resuming(ws: Ws, resume: &Resume, streaming: bool) -> Self {
        let (mut sink, rx) = ws.split();
        sink.send(hello_resuming(resume)).await.unwrap();
        let (mic, cmds) = mpsc::channel(16);
        let mic_task = tokio::spawn(mic_loop(sink, cmds, streaming));
        Self {
            rx,
            mic,
            mic_task,
            received: Vec::new(),
            resume_secret: resume.secret.clone(),
        }
    }

    pub async fn say(&self, packets: Vec<Bytes>) {
        self.mic.send(MicCmd::Say(packets)).await.unwrap();
    }

    pub async fn send_text(&self, json: serde_json::Value) {
        self.mic
            .send(MicCmd::Send(Message::text(json.to_string())))
            .await
            .unwrap();
    }

    /// The next message from the server.
    pub async fn next(&mut self) -> Received {
        let msg = tokio::time::timeout(HANG_GUARD, self.rx.next())
            .await
            .expect("server went silent");
        let r = match msg {
            None | Some(Err(_)) => Received::Closed(None),
            Some(Ok(Message::Close(f))) => {
                Received::Closed(f.map(|f| (u16::from(f.code), f.reason.to_string())))
            }
            Some(Ok(Message::Binary(b))) => Received::Audio(b),
            Some(Ok(Message::Text(t))) => match serde_json::from_str::<ServerMessage>(&t)
                .unwrap_or_else(|e| panic!("unparseable server message {t}: {e}"))
            {
                ServerMessage::Connection(c) => Received::Conn(c),
                ServerMessage::Event(e) => Received::Event(e),
            },
            Some(Ok(_)) => return Box::pin(self.next()).await,
        };
        if let Received::Conn(ConnectionMessage::Ready {
            resume_secret: Some(s),
            ..
        }) = &r
        {
            self.resume_secret = Some(s.clone());
        }
        self.received.push(r.clone());
        r
    }

    /// Reads until an event matches; panics if the connection closes first.
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> EventEnvelope {
        loop {
            match self.next().await {
                Received::Event(e) if pred(&e.event) => return e,
                Received::Closed(c) => panic!("closed ({c:?}) while waiting for {what}"),
                _ => {}
            }
        }
    }

    /// Reads until the next final transcript (a committed answer).
    pub async fn final_transcript(&mut self) -> EventEnvelope {
        self.until("final transcript", |e| {
            matches!(e, Event::Transcript { is_final: true, .. })
        })
        .await
    }

    /// Reads until the interview is listening again.
    pub async fn until_listening(&mut self) -> EventEnvelope {
        self.until("listening", |e| {
            *e == Event::State {
                state: viva::protocol::InterviewState::Listening,
            }
        })
        .await
    }

    /// Reads until the server closes; returns the close code and reason.
    pub async fn until_closed(&mut self) -> Option<(u16, String)> {
        loop {
            if let Received::Closed(c) = self.next().await {
                return c;
            }
        }
    }

    pub fn events(&self) -> Vec<&EventEnvelope> {
        self.received
            .iter()
            .filter_map(|r| match r {
                Received::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    pub fn last_seq(&self) -> u64 {
        self.events().last().map_or(0, |e| e.seq)
    }

    /// Drops the connection without a close handshake (a network failure).
    pub fn drop_connection(self) {
        self.mic_task.abort();
        drop(self.rx);
    }
}

/// Waits for the interviewer's next complete turn (`audio_end`) and returns its turn number.
pub async fn hear_question(c: &mut Candidate) -> u32 {
    let end = c
        .until("audio_end", |e| matches!(e, Event::AudioEnd { .. }))
        .await;
    match end.event {
        Event::AudioEnd { turn } => turn,
        _ => unreachable!(),
    }
}

/// Waits for the question to be spoken, answers it with espeak-ng speech and returns the final
/// transcript of the answer.
pub async fn spoken_answer(c: &mut Candidate, text: &str) -> String {
    hear_question(c).await;
    c.say(speech(text).await).await;
    match c.final_transcript().await.event {
        Event::Transcript { text, .. } => text,
        _ => unreachable!(),
    }
}

/// Waits for the interviewer's next turn to be heard to its end (`true`) or for the interview
/// to end (`false`, once its status is written: the connection closes after it).
pub async fn next_turn_heard(c: &mut Candidate) -> bool {
    let ev = c
        .until("audio_end or ended", |e| {
            matches!(e, Event::AudioEnd { .. } | Event::Ended { .. })
        })
        .await;
    if matches!(ev.event, Event::Ended { .. }) {
        c.until_closed().await;
        return false;
    }
    true
}

/// Speaks an answer (`voice`, espeak-ng speech) to a server whose recogniser is the OpenAI fake,
/// which hears `text`; waits for the answer's final transcript.
pub async fn answer_heard_as(
    c: &mut Candidate,
    fake: &fakes::FakeVendor,
    voice: &[Bytes],
    text: String,
) {
    *fake.state.transcript.lock().unwrap() = text;
    c.say(voice.to_vec()).await;
    c.final_transcript().await;
}

/// The `viva` binary on the embedded default in `data_dir`, with nothing from this environment
/// but `PATH` (no keys or URLs of the machine leak into it).
pub fn viva_embedded(data_dir: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_viva"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("VIVA_DATA_DIR", data_dir);
    cmd
}

/// Runs `viva … interview create` and returns what it printed (JSON).
pub fn interview_create(mut viva: std::process::Command, role: &str) -> serde_json::Value {
    let out = viva
        .args(["interview", "create", "--role", role])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Frames the scripted TTS produces for a reply: each sentence is synthesised on its own.
pub fn scripted_frames(text: &str) -> usize {
    let mut c = viva::providers::chunker::SentenceChunker::new();
    let mut sentences = c.push(text);
    sentences.extend(c.finish());
    sentences
        .iter()
        .map(|s| viva::providers::scripted::tts_duration_ms(s).div_ceil(20) as usize)
        .sum()
}

/// Polls `check` until it yields a value (waiting on another process: a
/// reconnect timer, a restarted node), failing after the hang guard.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Turns in conversation order, each once, seqs strictly increasing.
pub fn assert_in_order_once(turns: &[TurnRecord]) {
    assert!(
        turns.windows(2).all(|w| w[0].seq < w[1].seq),
        "out of order or duplicated: {:?}",
        turns.iter().map(|t| t.seq).collect::<Vec<_>>()
    );
}

pub fn answers(turns: &[TurnRecord]) -> Vec<&str> {
    turns
        .iter()
        .filter(|t| t.speaker == viva::protocol::Speaker::Candidate)
        .map(|t| t.text.as_str())
        .collect()
}

pub fn assert_strictly_increasing(events: &[&EventEnvelope]) {
    for w in events.windows(2) {
        assert!(
            w[0].seq < w[1].seq,
            "seq not increasing: {} then {}",
            w[0].seq,
            w[1].seq
        );
    }
}

pub fn final_agent_texts(events: &[&EventEnvelope]) -> Vec<(u32, String)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            Event::AgentText {
                turn,
                text,
                is_final: true,
                ..
            } => Some((*turn, text.clone())),
            _ => None,
        })
        .collect()
}

/// A `viva serve` process, killed when dropped — also when the test fails before it stops it
/// (a leaked server would go on taking CPU from the tests after it).
pub struct Served(pub std::process::Child);

impl std::ops::Deref for Served {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for Served {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a `viva serve` command (bound to port 0) as its own process; returns it and the
/// address it logs. Its log keeps being drained so it never blocks on a full pipe.
pub fn spawn_serve(cmd: std::process::Command) -> (Served, String) {
    let (child, addr, _) = spawn_serve_logged(cmd);
    (child, addr)
}

/// [`spawn_serve`], its whole log also written to `log` (for a failing test to show).
pub fn spawn_serve_logging_to(
    cmd: std::process::Command,
    log: &std::path::Path,
) -> (Served, String) {
    let file = std::fs::File::create(log).unwrap();
    let (child, addr, _) = spawn_serve_with(cmd, Some(file));
    (child, addr)
}

/// The last `n` lines of a log file.
pub fn log_tail(log: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// [`spawn_serve`], also returning the log lines written before it listened.
pub fn spawn_serve_logged(cmd: std::process::Command) -> (Served, String, Vec<String>) {
    spawn_serve_with(cmd, None)
}

fn spawn_serve_with(
    mut cmd: std::process::Command,
    mut log: Option<std::fs::File>,
) -> (Served, String, Vec<String>) {
    use std::io::{BufRead, BufReader};
    let mut child = cmd
        // VIVA_TEST_SERVER_LOG=debug to see more of a failing test's server.
        .env(
            "RUST_LOG",
            std::env::var("VIVA_TEST_SERVER_LOG").unwrap_or_else(|_| "info".into()),
        )
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("viva binary");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut before = Vec::new();
    let addr = loop {
        let line = lines.next().expect("viva exited before listening").unwrap();
        if let Some(f) = log.as_mut() {
            use std::io::Write;
            let _ = writeln!(f, "{line}");
        }
        if let Some(rest) = line
            .split("addr=")
            .nth(1)
            .filter(|_| line.contains("viva listening"))
        {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
        before.push(line);
    };
    std::thread::spawn(move || {
        use std::io::Write;
        for line in lines.map_while(Result::ok) {
            if let Some(f) = log.as_mut() {
                let _ = writeln!(f, "{line}");
            }
        }
    });
    (Served(child), addr, before)
}

/// Reads until the server closes; returns its close code and reason.
pub async fn close_code(ws: &mut Ws) -> (u16, String) {
    loop {
        match tokio::time::timeout(HANG_GUARD, ws.next())
            .await
            .expect("no close")
        {
            Some(Ok(Message::Close(Some(f)))) => return (u16::from(f.code), f.reason.to_string()),
            Some(Ok(Message::Close(None))) | None => panic!("closed without a code"),
            Some(Err(e)) => panic!("connection failed without a close frame: {e}"),
            Some(Ok(_)) => {}
        }
    }
}

pub async fn expect(mut ws: Ws, code: u16, reason_part: &str) {
    let (got, reason) = close_code(&mut ws).await;
    assert_eq!(got, code, "reason: {reason}");
    assert!(
        reason.contains(reason_part),
        "{reason:?} lacks {reason_part:?}"
    );
}

/// Opens `/v1/realtime` as the OpenAI SDKs do: the candidate token as `Authorization: Bearer`.
pub async fn realtime_bearer(addr: SocketAddr, token: &str) -> Ws {
    let mut req = format!("ws://{addr}/v1/realtime?model=gpt-realtime")
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// A refused Realtime connection: its one `error` event has `code`, then it closes with `close`.
pub async fn expect_realtime_refusal(mut ws: Ws, code: &str, close: u16) {
    let first = tokio::time::timeout(HANG_GUARD, ws.next())
        .await
        .expect("nothing received");
    let Some(Ok(Message::Text(t))) = first else {
        panic!("expected an error event, got {first:?}");
    };
    let e: serde_json::Value = serde_json::from_str(&t).unwrap();
    assert_eq!(e["type"], "error", "{e}");
    assert_eq!(e["error"]["code"], code, "{e}");
    assert_eq!(close_code(&mut ws).await.0, close, "{e}");
}

/// The value of one series (`name{labels}`) in the `/metrics` of the server at `base`
/// (`http://host:port`); panics when the series is absent.
#[allow(dead_code)]
pub async fn metric(base: &str, series: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("{series} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in {text}"))
}

/// The Whisper model the tests use: `VIVA_WHISPER_MODEL`, else `models/whisper-base` (what
/// `scripts/fetch-whisper.sh` fetches).
pub fn whisper_model() -> std::path::PathBuf {
    std::env::var_os("VIVA_WHISPER_MODEL").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/whisper-base"),
        Into::into,
    )
}

/// [`whisper_model`], which a test built to run Whisper needs.
pub fn require_whisper_model() -> std::path::PathBuf {
    let dir = whisper_model();
    assert!(
        dir.join("model.bin").is_file(),
        "no Whisper model at {} (run scripts/fetch-whisper.sh)",
        dir.display()
    );
    dir
}

/// Whether this build transcribes with the local Whisper (built with `whisper-local`, the model
/// fetched): the embedded default then hears words.
pub fn whisper_built_in() -> bool {
    cfg!(feature = "whisper-local") && whisper_model().join("model.bin").is_file()
}
