//! Wire protocol v1 (candidate). The only types serialised onto the WebSocket.
//!
//! The contract is documented in `docs/protocol.md`; keep the two in step.
//!
//! - [`monitor`]: what only watchers get (levels, connection events, presence, notes).
//! - [`live`]: the organization's live board (`GET /v1/live`).
//! - [`realtime`]: the OpenAI Realtime protocol's events (the compatible endpoint, in progress).

pub mod live;
pub mod monitor;
pub mod realtime;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Protocol version carried in `hello.protocol`.
pub const PROTOCOL_VERSION: u32 = 1;
/// WebSocket subprotocol the server selects.
pub const SUBPROTOCOL: &str = "viva.v1";
/// Prefix of the subprotocol entry that carries the candidate's JWT.
pub const BEARER_PREFIX: &str = "bearer.";
/// Largest text message accepted from a client.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Largest binary message (one Opus packet) accepted from a client.
pub const MAX_BINARY_BYTES: usize = 1500;
/// Duration of one audio frame in both directions.
pub const FRAME_MS: u32 = 20;

/// WebSocket close codes used by the server.
pub mod close {
    /// Normal closure (interview ended by request, client went away).
    pub const NORMAL: u16 = 1000;
    /// Server restarting or draining: reconnect with `resume_from`.
    pub const SERVICE_RESTART: u16 = 1012;
    /// Internal error; details are logged, never sent.
    pub const INTERNAL: u16 = 1011;
    /// Another node drives this interview right now: reconnect (after a short wait).
    pub const TRY_AGAIN: u16 = 1013;
    /// Missing, malformed, expired or forged credentials.
    pub const UNAUTHORIZED: u16 = 4001;
    /// Protocol violation: no hello, malformed or unknown message, invalid Opus packet.
    pub const BAD_MESSAGE: u16 = 4002;
    /// Valid credentials for another interview.
    pub const FORBIDDEN: u16 = 4003;
    /// No such interview.
    pub const NOT_FOUND: u16 = 4004;
    /// Unsupported protocol version or audio format.
    pub const UNSUPPORTED: u16 = 4006;
    /// Policy: message too large, audio faster than real time, client not reading.
    pub const POLICY: u16 = 4008;
    /// Replaced by a newer connection to the same interview.
    pub const REPLACED: u16 = 4009;
    /// The interview has ended.
    pub const ENDED: u16 = 4010;
    /// The interview is live in another tab or device (the newcomer has no resume secret).
    pub const LIVE_ELSEWHERE: u16 = 4011;
    /// The candidate has not accepted the organization's notice yet (`POST
    /// /v1/interviews/{id}/consent`, then reconnect).
    pub const CONSENT_REQUIRED: u16 = 4012;
}

/// Longest typed answer, in characters (about two minutes of speech; longer: close 4008).
pub const MAX_ANSWER_CHARS: usize = 2000;
/// Typed answers a candidate may send at once, and per minute after that (faster: close 4008).
pub const TYPED_ANSWERS_BURST: f64 = 3.0;
pub const TYPED_ANSWERS_PER_MINUTE: f64 = 6.0;

/// Audio format announced in `hello`. Only Opus, 48 kHz, mono, 20 ms is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioFormat {
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u8,
    pub frame_ms: u32,
}

impl AudioFormat {
    pub fn opus_48k_mono_20ms() -> Self {
        Self {
            codec: "opus".into(),
            sample_rate: 48_000,
            channels: 1,
            frame_ms: FRAME_MS,
        }
    }
}

/// Text messages a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    Hello {
        protocol: u32,
        audio: AudioFormat,
        #[serde(default)]
        resume_from: Option<u64>,
        /// The `resume_secret` of this interview's last `ready`, when reconnecting.
        #[serde(default)]
        resume_secret: Option<String>,
    },
    AnswerText {
        text: String,
    },
    Control {
        action: ControlAction,
    },
    /// What the candidate's page noticed (integrity signals, for human review; stored only when
    /// the interview was made with its organization's `integrity_signals` on).
    ClientEvent {
        event: ClientEventKind,
        /// For `paste`: the characters pasted (the text itself is never sent).
        #[serde(default)]
        chars: Option<u32>,
    },
}

/// What a candidate's page reports in a `client_event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientEventKind {
    /// The page was hidden (another tab, a minimised window).
    TabHidden,
    TabVisible,
    /// The page lost the keyboard focus (another window or application).
    FocusLost,
    FocusGained,
    /// Text was pasted into the typed-answer box.
    Paste,
}

impl ClientEventKind {
    pub const ALL: [Self; 5] = [
        Self::TabHidden,
        Self::TabVisible,
        Self::FocusLost,
        Self::FocusGained,
        Self::Paste,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TabHidden => "tab_hidden",
            Self::TabVisible => "tab_visible",
            Self::FocusLost => "focus_lost",
            Self::FocusGained => "focus_gained",
            Self::Paste => "paste",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a recruiter watching an interview may send on the monitor socket (a `viewer`'s steering
/// is refused with 4003).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum MonitorMessage {
    /// Asked by the interviewer, as written, at the next turn boundary (never interrupting);
    /// stored as suggested.
    SuggestQuestion { text: String },
    /// Ends the interview politely, as `POST /v1/interviews/{id}/cancel` does.
    End {
        #[serde(default)]
        reason: Option<String>,
    },
    /// A private note on the interview (timestamped, stored, never sent to the candidate).
    Note { text: String },
}

/// Longest suggested question, in characters.
pub const MAX_SUGGESTION_CHARS: usize = 500;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    End,
    Repeat,
}

/// Conversation state shown to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InterviewState {
    Speaking,
    Listening,
    /// Listening through a pause after an unfinished phrase: the candidate is thinking, and the
    /// interviewer waits longer before it takes the turn (back to `listening` when they go on).
    Waiting,
    Thinking,
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Interviewer,
    Candidate,
}

/// What kind of turn a turn is (stored with it, and sent with the interviewer's text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TurnKind {
    /// A reply from the interviewer model (question, follow-up or closing).
    Question,
    /// A gentle prompt after a long silence.
    Prompt,
    /// A notice from the server (reconnect, degraded service).
    Notice,
    /// The candidate's answer.
    Answer,
}

/// Per-stage timings of one interviewer reply, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnTimings {
    /// Silence waited after the candidate's last speech frame before ending the turn.
    pub endpoint_ms: u64,
    /// Final transcript latency after the end of the turn.
    pub stt_ms: u64,
    /// Time to persist the candidate's turn.
    pub commit_ms: u64,
    /// LLM request to first token.
    pub llm_first_token_ms: u64,
    /// LLM request to the first complete sentence (when TTS can start).
    pub llm_first_sentence_ms: u64,
    /// First TTS request to its first audio.
    pub tts_first_audio_ms: u64,
    /// End of turn to first interviewer audio frame on the socket.
    pub response_ms: u64,
    /// `response_ms` minus the provider stages (STT, LLM to first sentence, TTS to first audio):
    /// what the server itself added. For a preemptive reply, minus only the provider time left
    /// after the end of the turn.
    pub server_ms: u64,
    /// The reply was prepared during the candidate's pause (a preemptive reply): its LLM and
    /// TTS stages (and its transcript, `stt_ms` 0) ran before the turn ended.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub preemptive: bool,
}

/// An interview event: `seq` and `ts` come from the envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    State {
        state: InterviewState,
    },
    AgentText {
        turn: u32,
        /// A question (or follow-up, or the closing), a prompt after silence, or a notice.
        kind: TurnKind,
        text: String,
        #[serde(rename = "final")]
        is_final: bool,
        /// On a final text: this turn is the interviewer's closing, not a question (absent:
        /// `false`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        closing: bool,
    },
    AudioStart {
        turn: u32,
    },
    AudioEnd {
        turn: u32,
    },
    AudioInterrupted {
        turn: u32,
        played_ms: u64,
    },
    Transcript {
        turn: u32,
        text: String,
        #[serde(rename = "final")]
        is_final: bool,
    },
    /// Per-stage latency of the interviewer's reply `turn` (for monitors and load tests).
    TurnMetrics {
        turn: u32,
        timings: TurnTimings,
    },
    Error {
        code: String,
        message: String,
        fatal: bool,
    },
    Ended {
        reason: String,
    },
}

/// A logged event as sent on the wire: `{"seq":…,"ts":…,"type":…,…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub seq: u64,
    pub ts: DateTime<Utc>,
    #[serde(flatten)]
    pub event: Event,
}

/// One entry of the transcript in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    pub turn: u32,
    pub speaker: Speaker,
    pub text: String,
    pub interrupted: bool,
}

/// Full state sent in `resync` when events cannot be replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub interview_id: Uuid,
    pub state: InterviewState,
    pub last_seq: u64,
    pub questions: Vec<String>,
    pub transcript: Vec<TranscriptEntry>,
}

/// Connection-level messages (no `seq`): not part of the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConnectionMessage {
    Ready {
        interview_id: Uuid,
        resumed: bool,
        state: InterviewState,
        last_seq: u64,
        /// The candidate's proof of holding the live session: sent back as `hello.resume_secret`
        /// on a reconnect. Only on the candidate's own connection (never to monitors).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_secret: Option<String>,
    },
    Resync {
        snapshot: Snapshot,
    },
    /// To a monitor: what became of its steering message (`action` is its `type`); `reason`
    /// says why one was not taken.
    Steered {
        action: String,
        accepted: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// Any text message the server sends (for clients that parse both kinds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ServerMessage {
    Connection(ConnectionMessage),
    Event(EventEnvelope),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_envelope_is_flat_json_with_seq_and_ts() {
        let env = EventEnvelope {
            seq: 7,
            ts: "2026-01-02T03:04:05Z".parse().unwrap(),
            event: Event::AgentText {
                turn: 2,
                kind: TurnKind::Question,
                text: "Hi.".into(),
                is_final: true,
                closing: false,
            },
        };
        let json = serde_json::to_value(&env).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"seq":7,"ts":"2026-01-02T03:04:05Z","type":"agent_text","turn":2,"kind":"question","text":"Hi.","final":true})
        );
        let back: ServerMessage = serde_json::from_value(json).unwrap();
        assert_eq!(back, ServerMessage::Event(env));
    }

    #[test]
    fn hello_parses_with_and_without_resume() {
        let m: ClientMessage = serde_json::from_str(
            r#"{"type":"hello","protocol":1,"audio":{"codec":"opus","sample_rate":48000,"channels":1,"frame_ms":20},"resume_from":null}"#,
        )
        .unwrap();
        assert!(matches!(
            m,
            ClientMessage::Hello {
                resume_from: None,
                ..
            }
        ));
        let m: ClientMessage = serde_json::from_str(
            r#"{"type":"hello","protocol":1,"audio":{"codec":"opus","sample_rate":48000,"channels":1,"frame_ms":20},"resume_from":12}"#,
        )
        .unwrap();
        assert!(matches!(
            m,
            ClientMessage::Hello {
                resume_from: Some(12),
                ..
            }
        ));
    }

    #[test]
    fn unknown_fields_and_types_are_rejected() {
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"shout"}"#).is_err());
        assert!(serde_json::from_str::<ClientMessage>(
            r#"{"type":"answer_text","text":"a","x":1}"#
        )
        .is_err());
    }

    #[test]
    fn ready_has_no_seq() {
        let m = ConnectionMessage::Ready {
            interview_id: Uuid::nil(),
            resumed: false,
            state: InterviewState::Thinking,
            last_seq: 0,
            resume_secret: None,
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["type"], "ready");
        assert!(v.get("seq").is_none());
        assert!(v.get("resume_secret").is_none(), "absent unless given");
    }
}
