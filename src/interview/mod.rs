//! One tokio actor per live interview (handle + task), found through the [`Registry`].
//!
//! - [`handle`]: the `Clone` handle, its commands and the connection's outbound messages.
//! - [`actor`]: the task that owns the conversation and drives listening and speaking.
//! - [`board`]: each organization's running interviews on this node (the live board's source).
//! - [`listen`]: decode → VAD → endpointing → STT session.
//! - [`speak`]: LLM → sentences → TTS → Opus, and real-time playback.
//! - [`events`]: seq numbering and the replay window.
//! - [`conversation`]: committed turns, the model's context, snapshots.
//! - [`remote`]: what a watcher of an interview another node drives starts from.
//! - [`settings`]: what one interview asks of its interviewer (questions, minutes, language,
//!   question bank, accommodations).

pub mod actor;
pub mod board;
pub mod conversation;
pub mod events;
pub mod handle;
pub mod handoff;
pub mod listen;
pub mod registry;
pub mod remote;
pub mod settings;
pub mod speak;

use std::sync::Arc;
use std::time::Duration;

pub use handle::{AttachError, AudioRejected, Connection, InterviewHandle, Outbound, Speech};
pub use registry::Registry;

use crate::audio::endpoint::EndpointConfig;
use crate::providers::Providers;
use crate::store::event_writer::EventWriter;
use crate::store::{HotState, Store};
use speak::SpeakDeps;

/// Behaviour of every interview actor (from [`crate::config::Config`]).
#[derive(Debug, Clone)]
pub struct InterviewConfig {
    /// How long an actor outlives its last connection before checkpointing and stopping.
    pub grace: Duration,
    /// Silence that ends the candidate's turn after a short question.
    pub end_silence_ms: u32,
    /// Silence that ends the candidate's turn after an open question.
    pub open_end_silence_ms: u32,
    /// Silence after a question before a gentle prompt (never the next question).
    pub silence_prompt_ms: u32,
    /// The adaptive end of turn (`None`: the fixed silences only).
    pub turns: Option<crate::turns::policy::TurnPolicy>,
    pub endpoint: EndpointConfig,
    pub vad_aggressiveness: u8,
    /// Events kept in memory for replay on resume.
    pub replay_window: usize,
    /// How far interviewer audio may run ahead of real time.
    pub playout_lead: Duration,
    /// Actor mailbox capacity (commands, including audio frames).
    pub mailbox: usize,
    /// This node's name on ownership leases.
    pub node: String,
    /// How long a lease lasts unless renewed (renewed every third of it).
    pub lease_ttl: Duration,
    /// Turns that may wait for an unavailable store before the interview pauses.
    pub max_unsaved_turns: usize,
    /// After the candidate's connection dropped, how long only its resume secret may reattach.
    pub takeover_hold: Duration,
    /// Interviewer replies per interview before it closes (`ended.reason = "budget"`).
    pub max_replies: u32,
    /// Transcript bytes per interview before it closes (`ended.reason = "budget"`).
    pub max_transcript_bytes: usize,
    pub prices: Prices,
    /// Main questions an interview asks unless its settings say otherwise (shown on the board).
    pub max_questions: u32,
}

/// Vendor prices for the per-interview cost estimate (US dollars).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    pub llm_input_per_mtok: f64,
    pub llm_output_per_mtok: f64,
    pub stt_per_minute: f64,
    pub tts_per_mchar: f64,
}

impl Default for Prices {
    /// gpt-4o-mini, whisper-1 and tts-1 list prices.
    fn default() -> Self {
        Self {
            llm_input_per_mtok: 0.15,
            llm_output_per_mtok: 0.60,
            stt_per_minute: 0.006,
            tts_per_mchar: 15.0,
        }
    }
}

impl Prices {
    pub fn cost(&self, u: &crate::store::Usage) -> f64 {
        u.prompt_tokens as f64 * self.llm_input_per_mtok / 1e6
            + u.completion_tokens as f64 * self.llm_output_per_mtok / 1e6
            + u.stt_seconds / 60.0 * self.stt_per_minute
            + u.tts_characters as f64 * self.tts_per_mchar / 1e6
    }
}

impl Default for InterviewConfig {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(600),
            end_silence_ms: 700,
            open_end_silence_ms: 1200,
            silence_prompt_ms: 15_000,
            turns: Some(crate::turns::policy::TurnPolicy::default()),
            endpoint: EndpointConfig::default(),
            vad_aggressiveness: 2,
            replay_window: 1024,
            playout_lead: Duration::from_millis(200),
            mailbox: 128,
            node: "local".into(),
            lease_ttl: Duration::from_secs(15),
            max_unsaved_turns: 32,
            takeover_hold: Duration::from_secs(20),
            max_replies: 60,
            max_transcript_bytes: 256 * 1024,
            prices: Prices::default(),
            max_questions: 6,
        }
    }
}

/// What every actor shares.
pub struct Deps {
    pub store: Arc<dyn Store>,
    pub hot: Arc<dyn HotState>,
    pub events: EventWriter,
    pub providers: Providers,
    pub speak: Arc<SpeakDeps>,
    pub cfg: InterviewConfig,
    /// Organizations' own vendor keys (`None`: every interview uses the server's providers).
    pub byok: Option<Arc<crate::providers::byok::OrgProviders>>,
    /// Each organization's running interviews on this node, for `GET /v1/live`.
    pub board: Arc<board::Board>,
    /// Monitor-only messages and listen-in audio for watchers on other nodes.
    pub feed: remote::Feed,
    /// Where recordings go (`None`: not recorded at all).
    pub recordings: Option<Arc<crate::recording::Recordings>>,
    /// Who analyses answers for the watchers (`VIVA_ANALYST`).
    pub analyst: crate::analysis::Analyst,
}

impl Deps {
    /// The providers (and the speaking side's) for an interview of `org`.
    pub async fn providers_for(&self, org: uuid::Uuid) -> (Providers, Arc<SpeakDeps>) {
        let Some(byok) = &self.byok else {
            return (self.providers.clone(), self.speak.clone());
        };
        let p = byok.for_org(org).await;
        if Arc::ptr_eq(&p.llm, &self.providers.llm) && Arc::ptr_eq(&p.tts, &self.providers.tts) {
            return (p, self.speak.clone());
        }
        let speak = Arc::new(SpeakDeps {
            llm: p.llm.clone(),
            tts: p.tts.clone(),
            cache: self.speak.cache.clone(),
            voice: self.speak.voice,
        });
        (p, speak)
    }
}

/// Whether a question invites a long answer (its end-of-turn silence is longer).
pub fn is_open_question(text: &str) -> bool {
    const OPEN: &[&str] = &[
        "tell me",
        "describe",
        "walk me through",
        "how would you",
        "how do you",
        "explain",
        "why",
        "what would you",
        "talk about",
        "give me an example",
        "what drew you",
    ];
    let t = text.to_ascii_lowercase();
    OPEN.iter().any(|k| t.contains(k))
}
