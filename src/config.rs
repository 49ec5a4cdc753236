//! Configuration, parsed once from flags, the environment and `.env` (clap `env`), then passed
//! explicitly. Secrets are wrapped so they never print.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;

use crate::audio::endpoint::EndpointConfig;
use crate::http::admission::IpNet;
use crate::http::serve::ServeSettings;
use crate::http::{HttpSettings, Limits};
use crate::interview::InterviewConfig;
use crate::providers::remote::{Endpoint, RemoteSettings, Timeouts};
use crate::providers::resilience::{BreakerPolicy, RetryPolicy};
use crate::providers::whisper::WhisperSettings;
pub use crate::secret::Secret;

const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
use crate::providers::{ProviderSettings, ScriptedLatency, TtsFormat};

#[derive(clap::Parser, Debug, Clone)]
#[command(name = "viva")]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "VIVA_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Public base URL for links (default: http:// + VIVA_BIND).
    #[arg(long, env = "VIVA_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Directory of the embedded default's database and signing key.
    #[arg(long, env = "VIVA_DATA_DIR", default_value = ".viva")]
    pub data_dir: PathBuf,
    /// Durable store URL (`sqlite:…`); unset: `<data dir>/viva.db`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<Secret>,
    /// Connections in the Postgres pool.
    #[arg(long, env = "VIVA_DB_POOL", default_value_t = 16)]
    pub db_pool: u32,
    /// Do not run database migrations on start (run `viva migrate` instead).
    #[arg(long, env = "VIVA_NO_MIGRATE", value_parser = BoolishValueParser::new())]
    pub no_migrate: bool,
    /// Hot state URL (`redis://…`); unset: in-process.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<Secret>,
    /// This node's name on interview leases (default: host name and process id).
    #[arg(long, env = "VIVA_NODE_ID")]
    pub node_id: Option<String>,
    /// Seconds an interview's ownership lease lasts unless renewed.
    #[arg(long, env = "VIVA_LEASE_SECS", default_value_t = 15)]
    pub lease_secs: u64,
    /// Turns that may wait for an unavailable database (in memory and the Redis checkpoint)
    /// before the interview pauses with a `storage_unavailable` error.
    #[arg(long, env = "VIVA_MAX_UNSAVED_TURNS", default_value_t = 32)]
    pub max_unsaved_turns: usize,
    /// HS256 key for candidate tokens; unset: generated once into the data directory.
    #[arg(long, env = "VIVA_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// Key that seals secrets at rest (webhook secrets, provider keys); at least 32
    /// characters, the same on every node. Unset: generated into `<data dir>/encryption.key`.
    #[arg(long, env = "VIVA_ENCRYPTION_KEY", hide_env_values = true)]
    pub encryption_key: Option<Secret>,
    /// Lets webhooks point at loopback and private addresses (tests, an intranet receiver).
    #[arg(long, env = "VIVA_WEBHOOKS_ALLOW_PRIVATE", default_value_t = false)]
    pub webhooks_allow_private: bool,
    /// Bearer token that opens `/metrics` to non-loopback clients (unset: loopback only).
    #[arg(long, env = "VIVA_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<Secret>,
    /// Recordings in an S3-compatible store at this endpoint (`https://s3.eu-west-1.amazonaws.com`,
    /// `http://minio:9000`; path-style). Unset: in `<data dir>/recordings`.
    #[arg(long, env = "VIVA_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    #[arg(long, env = "VIVA_S3_BUCKET", default_value = "viva-recordings")]
    pub s3_bucket: String,
    #[arg(long, env = "VIVA_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    #[arg(long, env = "VIVA_S3_ACCESS_KEY_ID", default_value = "")]
    pub s3_access_key_id: String,
    #[arg(long, env = "VIVA_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<Secret>,
    /// Whether this node posts webhook deliveries (every node may; set `false` to leave it to
    /// others).
    #[arg(long, env = "VIVA_WEBHOOKS_WORKER", default_value_t = true, action = clap::ArgAction::Set)]
    pub webhooks_worker: bool,
    /// Whether this node makes assessments from the durable job queue (every node may; set
    /// `false` to leave it to others).
    #[arg(long, env = "VIVA_ASSESSMENTS_WORKER", default_value_t = true, action = clap::ArgAction::Set)]
    pub assessments_worker: bool,
    /// How long a node holds a claimed assessment job before another may take it (a node that
    /// died mid-job is replaced after this); longer than the slowest assessment (with a model
    /// analyst: answers × `VIVA_ANALYST_TIMEOUT_MS` × 2).
    #[arg(long, env = "VIVA_ASSESSMENT_LEASE_SECS", default_value_t = 120)]
    pub assessment_lease_secs: u64,
    /// Lifetime of candidate tokens, in hours.
    #[arg(long, env = "VIVA_TOKEN_TTL_HOURS", default_value_t = 72)]
    pub token_ttl_hours: u64,
    /// Speech-to-text chain, tried in order. Default: `deepgram` / `openai` when their key (or an
    /// OpenAI base URL) is set, then `whisper-local` when built with it and its model is present,
    /// else `untranscribed`.
    #[arg(long, env = "VIVA_STT", value_delimiter = ',')]
    pub stt: Vec<String>,
    /// The `whisper-local` model: a CTranslate2 Whisper model directory. Default: where
    /// `scripts/fetch-whisper.sh` puts it in this source tree, whatever the working directory.
    #[arg(
        long,
        env = "VIVA_WHISPER_MODEL",
        default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/models/whisper-base")
    )]
    pub whisper_model: PathBuf,
    /// Concurrent `whisper-local` transcriptions (each loads a replica; default: cores / threads).
    #[arg(long, env = "VIVA_WHISPER_WORKERS")]
    pub whisper_workers: Option<usize>,
    /// CPU threads per `whisper-local` transcription (default: 2, or 1 on one core).
    #[arg(long, env = "VIVA_WHISPER_THREADS")]
    pub whisper_threads: Option<usize>,
    /// Utterances that may wait for a `whisper-local` worker; more are kept untranscribed.
    #[arg(long, env = "VIVA_WHISPER_QUEUE", default_value_t = 16)]
    pub whisper_queue: usize,
    /// Beam size of `whisper-local` final transcripts.
    #[arg(long, env = "VIVA_WHISPER_BEAM", default_value_t = 5)]
    pub whisper_beam: usize,
    /// Language spoken (`auto` detects it per answer).
    #[arg(long, env = "VIVA_WHISPER_LANGUAGE", default_value = "en")]
    pub whisper_language: String,
    /// New speech between `whisper-local` live captions, in ms (0: none). Default: 1000 with two
    /// or more workers, else 0 (on one worker a caption in progress delays the final transcript).
    #[arg(long, env = "VIVA_WHISPER_PARTIAL_MS")]
    pub whisper_partial_ms: Option<u64>,
    /// Interviewer model chain, tried in order. Default: `openai` when an OpenAI key or base URL
    /// is set, then `gemini` when its key is, then `offline-interviewer` (always last).
    #[arg(long, env = "VIVA_LLM", value_delimiter = ',')]
    pub llm: Vec<String>,
    /// Text-to-speech chain, tried in order. Default: `openai` when an OpenAI key or base URL is
    /// set, then `espeak-ng`.
    #[arg(long, env = "VIVA_TTS", value_delimiter = ',')]
    pub tts: Vec<String>,
    // ---- vendors (the names people already set) ----
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<Secret>,
    /// Any OpenAI-compatible server: OpenAI, Groq, Ollama, vLLM, llama.cpp, faster-whisper, Kokoro.
    #[arg(
        long,
        env = "OPENAI_BASE_URL",
        default_value = DEFAULT_OPENAI_BASE_URL
    )]
    pub openai_base_url: String,
    #[arg(long, env = "VIVA_OPENAI_LLM_MODEL", default_value = "gpt-4o-mini")]
    pub openai_llm_model: String,
    /// Who analyses answers and assessments: `heuristic` (offline, the default) or `openai` (the
    /// OpenAI-compatible endpoint above, structured output).
    #[arg(long, env = "VIVA_ANALYST", default_value = "heuristic", value_parser = ["heuristic", "openai"])]
    pub analyst: String,
    /// The model for `VIVA_ANALYST=openai` (default: `VIVA_OPENAI_LLM_MODEL`).
    #[arg(long, env = "VIVA_OPENAI_ANALYST_MODEL")]
    pub openai_analyst_model: Option<String>,
    /// One analysis request's time limit (it is retried once, then the answer is `unscored`).
    #[arg(long, env = "VIVA_ANALYST_TIMEOUT_MS", default_value_t = 30_000)]
    pub analyst_timeout_ms: u64,
    #[arg(long, env = "VIVA_OPENAI_STT_MODEL", default_value = "whisper-1")]
    pub openai_stt_model: String,
    #[arg(long, env = "VIVA_OPENAI_TTS_MODEL", default_value = "gpt-4o-mini-tts")]
    pub openai_tts_model: String,
    #[arg(long, env = "VIVA_OPENAI_TTS_VOICE", default_value = "alloy")]
    pub openai_tts_voice: String,
    /// How OpenAI sends speech: `pcm` (24 kHz, encoded here) or `opus` (Ogg Opus, passed through
    /// to the candidate: no encoder time, but first audio waits for OpenAI's first Ogg page).
    #[arg(long, env = "VIVA_OPENAI_TTS_FORMAT", default_value = "pcm", value_parser = ["pcm", "opus"])]
    pub openai_tts_format: String,
    #[arg(long, env = "GEMINI_API_KEY", hide_env_values = true)]
    pub gemini_api_key: Option<Secret>,
    #[arg(
        long,
        env = "GEMINI_BASE_URL",
        default_value = "https://generativelanguage.googleapis.com/v1beta"
    )]
    pub gemini_base_url: String,
    #[arg(long, env = "VIVA_GEMINI_MODEL", default_value = "gemini-2.0-flash")]
    pub gemini_model: String,
    #[arg(long, env = "DEEPGRAM_API_KEY", hide_env_values = true)]
    pub deepgram_api_key: Option<Secret>,
    #[arg(
        long,
        env = "DEEPGRAM_BASE_URL",
        default_value = "wss://api.deepgram.com"
    )]
    pub deepgram_base_url: String,
    #[arg(long, env = "VIVA_DEEPGRAM_MODEL", default_value = "nova-3")]
    pub deepgram_model: String,
    /// Language of interviews (ISO 639-1), sent to speech-to-text.
    #[arg(long, env = "VIVA_LANGUAGE", default_value = "en")]
    pub language: String,
    #[arg(long, env = "VIVA_STT_TIMEOUT_SECS", default_value_t = 30)]
    pub stt_timeout_secs: u64,
    #[arg(long, env = "VIVA_TTS_TIMEOUT_SECS", default_value_t = 20)]
    pub tts_timeout_secs: u64,
    #[arg(long, env = "VIVA_LLM_TIMEOUT_SECS", default_value_t = 45)]
    pub llm_timeout_secs: u64,
    /// Request to response headers / first audio bytes.
    #[arg(long, env = "VIVA_FIRST_BYTE_TIMEOUT_MS", default_value_t = 10_000)]
    pub first_byte_timeout_ms: u64,
    #[arg(
        long,
        env = "VIVA_LLM_FIRST_TOKEN_TIMEOUT_MS",
        default_value_t = 15_000
    )]
    pub llm_first_token_timeout_ms: u64,
    /// Tries per provider call (retries on 429, 5xx, timeouts; never on 400/401/403).
    #[arg(long, env = "VIVA_PROVIDER_TRIES", default_value_t = 3)]
    pub provider_tries: u32,
    /// First retry wait; doubles per retry, ±25 % jitter.
    #[arg(long, env = "VIVA_PROVIDER_RETRY_BASE_MS", default_value_t = 1_000)]
    pub provider_retry_base_ms: u64,
    /// Consecutive failed calls that open a provider's circuit breaker.
    #[arg(long, env = "VIVA_BREAKER_FAILURES", default_value_t = 5)]
    pub breaker_failures: u32,
    #[arg(long, env = "VIVA_BREAKER_OPEN_SECS", default_value_t = 60)]
    pub breaker_open_secs: u64,
    /// Main questions the interviewer (a model or the offline one) asks before closing.
    #[arg(long, env = "VIVA_MAX_QUESTIONS", default_value_t = 6)]
    pub max_questions: u32,
    /// The conversation sent to the model is trimmed to about this many tokens.
    #[arg(long, env = "VIVA_LLM_CONTEXT_TOKENS", default_value_t = 6_000)]
    pub llm_context_tokens: usize,
    /// Prices for the per-interview cost estimate, US dollars.
    #[arg(long, env = "VIVA_PRICE_LLM_INPUT_PER_MTOK", default_value_t = 0.15)]
    pub price_llm_input_per_mtok: f64,
    #[arg(long, env = "VIVA_PRICE_LLM_OUTPUT_PER_MTOK", default_value_t = 0.60)]
    pub price_llm_output_per_mtok: f64,
    #[arg(long, env = "VIVA_PRICE_STT_PER_MINUTE", default_value_t = 0.006)]
    pub price_stt_per_minute: f64,
    #[arg(long, env = "VIVA_PRICE_TTS_PER_MCHAR", default_value_t = 15.0)]
    pub price_tts_per_mchar: f64,
    #[arg(long, env = "VIVA_ESPEAK_VOICE", default_value = "en-us")]
    pub espeak_voice: String,
    #[arg(long, env = "VIVA_ESPEAK_WPM", default_value_t = 165)]
    pub espeak_wpm: u32,
    /// `scripted` STT latency after the end of a turn.
    #[arg(long, env = "VIVA_SCRIPTED_STT_MS", default_value_t = 150)]
    pub scripted_stt_ms: u64,
    #[arg(long, env = "VIVA_SCRIPTED_LLM_FIRST_TOKEN_MS", default_value_t = 300)]
    pub scripted_llm_first_token_ms: u64,
    #[arg(long, env = "VIVA_SCRIPTED_LLM_TOKENS_PER_SEC", default_value_t = 40.0)]
    pub scripted_llm_tokens_per_sec: f64,
    #[arg(long, env = "VIVA_SCRIPTED_TTS_FIRST_BYTE_MS", default_value_t = 150)]
    pub scripted_tts_first_byte_ms: u64,
    /// What the `scripted` TTS streams: `pcm` or `opus` (20 ms packets, as a vendor streaming
    /// Opus would: the server passes them through).
    #[arg(long, env = "VIVA_SCRIPTED_TTS_FORMAT", default_value = "pcm", value_parser = ["pcm", "opus"])]
    pub scripted_tts_format: String,
    /// Questions the `scripted` LLM asks before closing.
    #[arg(long, env = "VIVA_SCRIPTED_QUESTIONS", default_value_t = 3)]
    pub scripted_questions: u32,
    /// Seconds an interview stays loaded after its connection drops.
    #[arg(long, env = "VIVA_GRACE_SECS", default_value_t = 600)]
    pub grace_secs: u64,
    /// Silence that ends the candidate's turn after a short question.
    #[arg(long, env = "VIVA_END_SILENCE_MS", default_value_t = 700)]
    pub end_silence_ms: u32,
    /// Silence that ends the candidate's turn after an open question.
    #[arg(long, env = "VIVA_OPEN_END_SILENCE_MS", default_value_t = 1200)]
    pub open_end_silence_ms: u32,
    /// Silence after a question before a gentle prompt.
    #[arg(long, env = "VIVA_SILENCE_PROMPT_MS", default_value_t = 15_000)]
    pub silence_prompt_ms: u32,
    /// Adaptive end of turn (docs/protocol.md, "Turn-taking"): at a pause, the words so far (the
    /// recogniser's live partials) decide the silence that ends the turn. `false`: the fixed
    /// silences above only.
    #[arg(long, env = "VIVA_TURN_ADAPTIVE", default_value_t = true, action = clap::ArgAction::Set)]
    pub turn_adaptive: bool,
    /// Silence after which the answer so far is judged, in ms.
    #[arg(long, env = "VIVA_TURN_PROBE_MS", default_value_t = 250)]
    pub turn_probe_ms: u32,
    /// The silence that ends a turn whose answer reads as finished, in ms.
    #[arg(long, env = "VIVA_TURN_FINISHED_MS", default_value_t = 600)]
    pub turn_finished_ms: u32,
    /// The longest silence waited after an unfinished phrase, in ms (doubled with `extra_time`).
    #[arg(long, env = "VIVA_TURN_CEILING_MS", default_value_t = 4000)]
    pub turn_ceiling_ms: u32,
    /// Preemptive replies per answer, at most (docs/protocol.md, "Turn-taking"): at a pause
    /// whose answer reads as finished the reply is prepared (model and first speech, never
    /// played) before the turn ends, and used if the turn ends on the same words. 0: off.
    #[arg(long, env = "VIVA_TURN_PREEMPT", default_value_t = 2)]
    pub turn_preempt: u32,
    /// Judge a pause by how the voice ended (pitch level or rising: unfinished; a statement's
    /// fall: finished) where it has no words: `auto` (a recogniser without live captions or a
    /// transcript of the answer so far, e.g. the embedded Whisper with one worker), `on`, `off`.
    #[arg(long, env = "VIVA_TURN_INTONATION", default_value = "auto", value_parser = ["auto", "on", "off"])]
    pub turn_intonation: String,
    /// Continuous speech that starts an utterance (and barges in), in ms.
    #[arg(long, env = "VIVA_SPEECH_START_MS", default_value_t = 80)]
    pub speech_start_ms: u32,
    /// Utterances with less speech are dropped as noise.
    #[arg(long, env = "VIVA_MIN_SPEECH_MS", default_value_t = 200)]
    pub min_speech_ms: u32,
    /// WebRTC VAD aggressiveness, 0–3.
    #[arg(long, env = "VIVA_VAD_MODE", default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub vad_mode: u8,
    /// Events kept in memory per interview for replay.
    #[arg(long, env = "VIVA_REPLAY_WINDOW", default_value_t = 1024)]
    pub replay_window: usize,
    /// Opus encoder complexity (0–10) of the interviewer's voice.
    #[arg(long, env = "VIVA_OPUS_COMPLEXITY", default_value_t = 3, value_parser = clap::value_parser!(i32).range(0..=10))]
    pub opus_complexity: i32,
    #[arg(long, env = "VIVA_OPUS_BITRATE", default_value_t = 24_000)]
    pub opus_bitrate: i32,
    /// Encoded sentences cached across interviews (0 disables).
    #[arg(long, env = "VIVA_TTS_CACHE_ENTRIES", default_value_t = 4096)]
    pub tts_cache_entries: usize,
    /// Serve the web client from this directory (a `web-client/public/`) instead of the copy
    /// built into the binary (for working on the pages against a release build).
    #[arg(long, env = "VIVA_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// Seconds a new connection has to send `hello`.
    #[arg(long, env = "VIVA_HELLO_TIMEOUT_SECS", default_value_t = 10)]
    pub hello_timeout_secs: u64,
    /// Seconds without any message before a connection is closed.
    #[arg(long, env = "VIVA_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,
    /// The drain's deadline on SIGTERM: seconds for live interviews to checkpoint and give
    /// their leases up (their candidates reconnect to other nodes) before the node stops; it
    /// stops sooner once they have. Also how long open HTTP requests may take to finish.
    #[arg(long, env = "VIVA_DRAIN_SECS", default_value_t = 20)]
    pub drain_secs: u64,
    // ---- limits at the door ----
    /// Seconds a client has to send a request's headers; also how long a connection may sit idle
    /// between requests (a WebSocket, once upgraded, follows VIVA_IDLE_TIMEOUT_SECS).
    #[arg(long, env = "VIVA_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Open connections on this node (lowered at start to leave file descriptors for interviews).
    #[arg(long, env = "VIVA_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,
    /// Open connections from one client IP address.
    #[arg(long, env = "VIVA_MAX_CONNECTIONS_PER_IP", default_value_t = 200)]
    pub max_connections_per_ip: usize,
    /// Sign-in, token refresh and invitation attempts per client IP address per minute (past
    /// it: 429 with `Retry-After`). Failed sign-ins also lock the account (5 in 15 minutes).
    #[arg(long, env = "VIVA_AUTH_PER_MINUTE", default_value_t = 30)]
    pub auth_per_minute: u32,
    /// Interviews one account (staff user or API key) may create per minute; one client IP
    /// address, five times as many.
    #[arg(long, env = "VIVA_INTERVIEWS_PER_MINUTE", default_value_t = 60)]
    pub interviews_per_minute: u32,
    /// Proxies (IP addresses or networks, comma-separated) whose `X-Forwarded-For` names the
    /// client.
    #[arg(long, env = "VIVA_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpNet>,
    /// Web origins (besides the public URL's) whose pages may connect, comma-separated.
    #[arg(long, env = "VIVA_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Live monitors per interview on one node.
    #[arg(long, env = "VIVA_MAX_MONITORS", default_value_t = 20)]
    pub max_monitors: usize,
    /// Seconds after the candidate's connection dropped during which only the holder of its
    /// resume secret may take the interview over.
    #[arg(long, env = "VIVA_TAKEOVER_HOLD_SECS", default_value_t = 20)]
    pub takeover_hold_secs: u64,
    /// Longest answer, in seconds of speech: the turn ends there, the answer is kept, and speech
    /// that goes on becomes the next answer.
    #[arg(long, env = "VIVA_MAX_UTTERANCE_SECS", default_value_t = 120)]
    pub max_utterance_secs: u32,
    /// Interviewer replies (questions, follow-ups, prompts, notices) per interview; when spent the
    /// interviewer closes politely (`ended.reason = "budget"`).
    #[arg(long, env = "VIVA_MAX_REPLIES", default_value_t = 60)]
    pub max_replies: u32,
    /// Bytes of transcript stored per interview; when reached the interviewer closes politely
    /// (`ended.reason = "budget"`).
    #[arg(long, env = "VIVA_MAX_TRANSCRIPT_BYTES", default_value_t = 256 * 1024)]
    pub max_transcript_bytes: usize,
}

impl Config {
    /// The embedded default with every other setting at its default (tests start from this).
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        use clap::Parser;
        let mut c = Self::parse_from(["viva"]);
        c.data_dir = data_dir.into();
        c
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_owned()
    }

    /// This node's name on leases: `VIVA_NODE_ID`, else `host:port`, which a restarted node
    /// keeps (so it takes its interviews back at once instead of waiting for their leases to
    /// expire). On an ephemeral port (0), host and process id.
    pub fn node_id(&self) -> String {
        self.node_id.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "node".into());
            match self.bind.port() {
                0 => format!("{host}-pid{}", std::process::id()),
                port => format!("{host}:{port}"),
            }
        })
    }

    pub fn whisper(&self) -> WhisperSettings {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut w = WhisperSettings::sized_to(cores, self.whisper_model.clone());
        if let Some(t) = self.whisper_threads {
            w.threads = t.max(1);
            w.workers = (cores / w.threads).max(1);
        }
        if let Some(n) = self.whisper_workers {
            w.workers = n.max(1);
        }
        w.queue = self.whisper_queue.max(1);
        w.beam = self.whisper_beam.max(1);
        w.language = self.whisper_language.clone();
        w.partial_every_ms =
            self.whisper_partial_ms
                .unwrap_or(if w.workers >= 2 { 1000 } else { 0 });
        w
    }

    /// An OpenAI-compatible server is configured: a key, or a base URL of one's own.
    fn openai_configured(&self) -> bool {
        self.openai_api_key.is_some() || self.openai_base_url != DEFAULT_OPENAI_BASE_URL
    }

    /// The STT chain: as configured; else configured vendors first, then Whisper when it is built
    /// in (a missing model then stops the server at start with what to do, rather than quietly
    /// running without transcripts), else the untranscribed marker.
    pub fn stt_chain(&self) -> Vec<String> {
        if !self.stt.is_empty() {
            return self.stt.clone();
        }
        let mut chain = Vec::new();
        if self.deepgram_api_key.is_some() {
            chain.push("deepgram".to_owned());
        }
        if self.openai_configured() {
            chain.push("openai".to_owned());
        }
        if cfg!(feature = "whisper-local") {
            chain.push(crate::providers::whisper::NAME.to_owned());
        } else if chain.is_empty() {
            chain.push("untranscribed".to_owned());
        }
        chain
    }

    /// The interviewer chain: as configured; else configured vendors, then the offline one.
    pub fn llm_chain(&self) -> Vec<String> {
        if !self.llm.is_empty() {
            return self.llm.clone();
        }
        let mut chain = Vec::new();
        if self.openai_configured() {
            chain.push("openai".to_owned());
        }
        if self.gemini_api_key.is_some() {
            chain.push("gemini".to_owned());
        }
        chain.push("offline-interviewer".to_owned());
        chain
    }

    /// The voice chain: as configured; else OpenAI-compatible speech if configured, then espeak-ng.
    pub fn tts_chain(&self) -> Vec<String> {
        if !self.tts.is_empty() {
            return self.tts.clone();
        }
        let mut chain = Vec::new();
        if self.openai_configured() {
            chain.push("openai".to_owned());
        }
        chain.push("espeak-ng".to_owned());
        chain
    }

    pub fn providers(&self) -> ProviderSettings {
        ProviderSettings {
            stt: self.stt_chain(),
            whisper: self.whisper(),
            llm: self.llm_chain(),
            tts: self.tts_chain(),
            scripted: ScriptedLatency {
                stt_ms: self.scripted_stt_ms,
                llm_first_token_ms: self.scripted_llm_first_token_ms,
                llm_tokens_per_sec: self.scripted_llm_tokens_per_sec,
                tts_first_byte_ms: self.scripted_tts_first_byte_ms,
            },
            scripted_questions: self.scripted_questions,
            scripted_tts: TtsFormat::parse(&self.scripted_tts_format).unwrap_or_default(),
            espeak_voice: self.espeak_voice.clone(),
            espeak_wpm: self.espeak_wpm,
            remote: self.remote(),
        }
    }

    /// The answer analyst (`VIVA_ANALYST`).
    pub fn analyst(&self) -> crate::analysis::Analyst {
        match self.analyst.as_str() {
            "openai" => crate::analysis::Analyst::Model(std::sync::Arc::new(
                crate::analysis::model::ModelAnalyst {
                    remote: crate::providers::remote::Remote::new(self.remote()),
                    model: self
                        .openai_analyst_model
                        .clone()
                        .unwrap_or_else(|| self.openai_llm_model.clone()),
                    timeout: std::time::Duration::from_millis(self.analyst_timeout_ms.max(1)),
                },
            )),
            _ => crate::analysis::Analyst::Heuristic,
        }
    }

    pub fn remote(&self) -> RemoteSettings {
        let endpoint = |base: &str, key: &Option<Secret>| Endpoint {
            base_url: base.to_owned(),
            api_key: key.clone(),
        };
        RemoteSettings {
            openai: endpoint(&self.openai_base_url, &self.openai_api_key),
            openai_llm_model: self.openai_llm_model.clone(),
            openai_stt_model: self.openai_stt_model.clone(),
            openai_tts_model: self.openai_tts_model.clone(),
            openai_tts_voice: self.openai_tts_voice.clone(),
            openai_tts_format: TtsFormat::parse(&self.openai_tts_format).unwrap_or_default(),
            gemini: endpoint(&self.gemini_base_url, &self.gemini_api_key),
            gemini_model: self.gemini_model.clone(),
            deepgram: endpoint(&self.deepgram_base_url, &self.deepgram_api_key),
            deepgram_model: self.deepgram_model.clone(),
            language: self.language.clone(),
            timeouts: Timeouts {
                stt: Duration::from_secs(self.stt_timeout_secs),
                tts: Duration::from_secs(self.tts_timeout_secs),
                llm: Duration::from_secs(self.llm_timeout_secs),
                first_byte: Duration::from_millis(self.first_byte_timeout_ms),
                llm_first_token: Duration::from_millis(self.llm_first_token_timeout_ms),
            },
            retry: RetryPolicy {
                tries: self.provider_tries.max(1),
                base_delay: Duration::from_millis(self.provider_retry_base_ms),
                max_delay: Duration::from_millis(self.provider_retry_base_ms * 8),
            },
            breaker: BreakerPolicy {
                failures_to_open: self.breaker_failures.max(1),
                open_for: Duration::from_secs(self.breaker_open_secs),
                half_open_calls: 3,
            },
            max_questions: self.max_questions.max(1),
            context_tokens: self.llm_context_tokens.max(500),
        }
    }

    pub fn http(&self) -> HttpSettings {
        HttpSettings {
            limits: Limits {
                hello_timeout: Duration::from_secs(self.hello_timeout_secs),
                idle_timeout: Duration::from_secs(self.idle_timeout_secs),
                auth_per_minute: self.auth_per_minute.max(1),
                interviews_per_minute: self.interviews_per_minute.max(1),
            },
            serve: ServeSettings {
                header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
                drain: Duration::from_secs(self.drain_secs),
            },
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            trusted_proxies: self.trusted_proxies.clone(),
            configured_public_url: self.public_url.clone(),
            public_url: self.public_url(),
            cors_origins: self.cors_origins.clone(),
            max_monitors: self.max_monitors,
            web_dir: self.web_dir.clone(),
        }
    }

    pub fn interview(&self) -> InterviewConfig {
        InterviewConfig {
            grace: Duration::from_secs(self.grace_secs),
            end_silence_ms: self.end_silence_ms,
            open_end_silence_ms: self.open_end_silence_ms,
            silence_prompt_ms: self.silence_prompt_ms,
            turns: self
                .turn_adaptive
                .then_some(crate::turns::policy::TurnPolicy {
                    probe_ms: self.turn_probe_ms.max(crate::protocol::FRAME_MS),
                    finished_ms: self.turn_finished_ms,
                    ceiling_ms: self.turn_ceiling_ms.min(30_000),
                    preempt_per_turn: self.turn_preempt.min(5),
                    intonation: crate::turns::policy::IntonationUse::parse(&self.turn_intonation)
                        .unwrap_or_default(),
                }),
            endpoint: EndpointConfig {
                start_frames: (self.speech_start_ms / crate::protocol::FRAME_MS).max(1),
                min_speech_ms: self.min_speech_ms,
                max_utterance_ms: self.max_utterance_secs.max(1).saturating_mul(1000),
            },
            vad_aggressiveness: self.vad_mode,
            replay_window: self.replay_window.max(16),
            node: self.node_id(),
            lease_ttl: Duration::from_secs(self.lease_secs.max(3)),
            max_unsaved_turns: self.max_unsaved_turns.max(1),
            takeover_hold: Duration::from_secs(self.takeover_hold_secs),
            max_replies: self.max_replies.max(1),
            max_transcript_bytes: self.max_transcript_bytes.max(1024),
            max_questions: self.max_questions.max(1),
            prices: crate::interview::Prices {
                llm_input_per_mtok: self.price_llm_input_per_mtok,
                llm_output_per_mtok: self.price_llm_output_per_mtok,
                stt_per_minute: self.price_stt_per_minute,
                tts_per_mchar: self.price_tts_per_mchar,
            },
            ..InterviewConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        let mut c = Config::embedded("/tmp/x");
        c.jwt_secret = Some(s);
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn chains_split_on_commas() {
        use clap::Parser;
        let c = Config::parse_from(["viva", "--llm", "scripted,offline-interviewer"]);
        assert_eq!(c.llm, vec!["scripted", "offline-interviewer"]);
        assert_eq!(c.public_url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn configured_vendors_take_over_each_stage_and_local_engines_stay_behind_them() {
        use clap::Parser;
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("whisper");
        let mut c = Config::parse_from(["viva"]);
        c.whisper_model = model.clone();
        c.openai_api_key = None;
        c.openai_base_url = DEFAULT_OPENAI_BASE_URL.into();
        c.gemini_api_key = None;
        c.deepgram_api_key = None;
        // With Whisper built in it is the default recogniser (its model is checked at start);
        // without it, the honest marker.
        let local: &[&str] = if cfg!(feature = "whisper-local") {
            &["whisper-local"]
        } else {
            &["untranscribed"]
        };
        assert_eq!(c.stt_chain(), local);
        assert_eq!(c.llm_chain(), ["offline-interviewer"]);
        assert_eq!(c.tts_chain(), ["espeak-ng"]);

        // A local OpenAI-compatible server (no key) takes over every stage, locals behind it.
        c.openai_base_url = "http://localhost:11434/v1".into();
        c.gemini_api_key = Some(Secret::new("g"));
        let mut stt = vec!["openai"];
        if cfg!(feature = "whisper-local") {
            stt.push("whisper-local");
        }
        assert_eq!(c.stt_chain(), stt);
        assert_eq!(c.llm_chain(), ["openai", "gemini", "offline-interviewer"]);
        assert_eq!(c.tts_chain(), ["openai", "espeak-ng"]);

        // A chain set explicitly is taken as it is.
        c.stt = vec!["deepgram".into()];
        assert_eq!(c.stt_chain(), ["deepgram"]);
    }
}
