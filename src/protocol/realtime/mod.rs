//! The OpenAI Realtime protocol's wire, spoken by `GET /v1/realtime` (`http::ws::realtime`;
//! docs/realtime.md): what a stock Realtime client sends, parsed in both its GA and its beta
//! (`OpenAI-Beta: realtime=v1`) shapes, the server event names of each, the audio formats it
//! may send, and OpenAI's error shape.
//!
//! What is read from `session.update` is only what Viva can honour: the input audio format and
//! the turn detection settings. The client's `instructions`, `tools` and `voice` are read only
//! to say they were ignored: they come from the candidate's software and never reach the
//! interviewer or the assessor.

use serde::{Deserialize, Serialize};

pub mod session;
pub mod translate;

/// Which event names a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// The generally available names (`response.output_audio.delta`, …).
    Ga,
    /// The beta names a client asks for with `OpenAI-Beta: realtime=v1` or the
    /// `openai-beta.realtime-v1` subprotocol (`response.audio.delta`, …).
    Beta,
}

/// A client event and its optional `event_id` (echoed in an error about it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClientEnvelope {
    #[serde(default)]
    pub event_id: Option<String>,
    #[serde(flatten)]
    pub event: ClientEvent,
}

/// Every client event a Realtime client may send (GA and beta share these names).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type")]
pub enum ClientEvent {
    #[serde(rename = "session.update")]
    SessionUpdate { session: Box<SessionUpdate> },
    /// Base64 audio in the session's input format.
    #[serde(rename = "input_audio_buffer.append")]
    InputAudioAppend { audio: String },
    #[serde(rename = "input_audio_buffer.commit")]
    InputAudioCommit,
    #[serde(rename = "input_audio_buffer.clear")]
    InputAudioClear,
    /// A typed answer (a user message with `input_text`).
    #[serde(rename = "conversation.item.create")]
    ItemCreate { item: ItemIn },
    #[serde(rename = "conversation.item.truncate")]
    ItemTruncate {
        item_id: String,
        #[serde(default)]
        content_index: u32,
        audio_end_ms: u64,
    },
    #[serde(rename = "conversation.item.delete")]
    ItemDelete { item_id: String },
    #[serde(rename = "conversation.item.retrieve")]
    ItemRetrieve { item_id: String },
    #[serde(rename = "response.create")]
    ResponseCreate {
        #[serde(default)]
        response: Option<serde_json::Value>,
    },
    #[serde(rename = "response.cancel")]
    ResponseCancel {
        #[serde(default)]
        response_id: Option<String>,
    },
    #[serde(rename = "output_audio_buffer.clear")]
    OutputAudioClear,
}

/// A conversation item a client creates. Only a user message with text is an answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ItemIn {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub content: Vec<ContentIn>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ContentIn {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
}

impl ItemIn {
    /// The typed answer this item carries: a user message's `input_text` parts, joined.
    pub fn answer_text(&self) -> Result<String, RealtimeError> {
        if self.kind.as_deref().unwrap_or("message") != "message"
            || self.role.as_deref() != Some("user")
        {
            return Err(RealtimeError::invalid(
                "unsupported_item",
                "only a user message with input_text can be added: the interviewer's side is Viva's",
                Some("item"),
            ));
        }
        let text: Vec<&str> = self
            .content
            .iter()
            .filter(|c| c.kind == "input_text" || c.kind == "text")
            .filter_map(|c| c.text.as_deref())
            .collect();
        if text.is_empty() {
            return Err(RealtimeError::invalid(
                "unsupported_content",
                "a user message needs input_text content (send audio with input_audio_buffer.append)",
                Some("item.content"),
            ));
        }
        Ok(text.join(" "))
    }
}

/// The parts of `session.update` read (GA: `session.audio.input.*`; beta: top-level fields).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SessionUpdate {
    #[serde(default)]
    pub instructions: Option<serde_json::Value>,
    #[serde(default)]
    pub voice: Option<serde_json::Value>,
    #[serde(default)]
    pub tools: Option<serde_json::Value>,
    /// Beta: `"pcm16"`, `"g711_ulaw"`, `"g711_alaw"`.
    #[serde(default)]
    pub input_audio_format: Option<String>,
    /// Beta: only `"pcm16"` is sent.
    #[serde(default)]
    pub output_audio_format: Option<String>,
    /// Beta: the turn detection settings (`Some(None)`: `null`, detection off).
    #[serde(default, deserialize_with = "present")]
    pub turn_detection: Option<Option<TurnDetection>>,
    /// GA: `audio.input.format` and `audio.input.turn_detection`.
    #[serde(default)]
    pub audio: Option<AudioConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AudioConfig {
    #[serde(default)]
    pub input: Option<AudioInput>,
    #[serde(default)]
    pub output: Option<AudioOutput>,
}

/// GA's `audio.output`: the voice (the interviewer's is Viva's) and the format (PCM16 at
/// 24 kHz only).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AudioOutput {
    #[serde(default)]
    pub voice: Option<serde_json::Value>,
    #[serde(default)]
    pub format: Option<FormatGa>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AudioInput {
    #[serde(default)]
    pub format: Option<FormatGa>,
    #[serde(default, deserialize_with = "present")]
    pub turn_detection: Option<Option<TurnDetection>>,
}

/// A field that may be given as `null` (`Some(None)`), unlike one left out (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// GA's audio format object: `{"type": "audio/pcm", "rate": 24000}`, `{"type": "audio/pcmu"}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FormatGa {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub rate: Option<u32>,
}

/// `server_vad` settings; `null` turns detection off (the client commits).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TurnDetection {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub silence_duration_ms: Option<u32>,
    #[serde(default)]
    pub prefix_padding_ms: Option<u32>,
    #[serde(default)]
    pub threshold: Option<f32>,
}

/// The audio a client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// 16-bit little-endian PCM, mono, 24 kHz (the protocol's default).
    Pcm16,
    /// G.711 μ-law, 8 kHz.
    Pcmu,
    /// G.711 A-law, 8 kHz.
    Pcma,
}

impl InputFormat {
    /// The sample rate of this format.
    pub fn rate(self) -> u32 {
        match self {
            InputFormat::Pcm16 => 24_000,
            InputFormat::Pcmu | InputFormat::Pcma => 8_000,
        }
    }

    /// GA's format object for `session.created`/`updated`.
    pub fn ga(self) -> serde_json::Value {
        match self {
            InputFormat::Pcm16 => serde_json::json!({"type": "audio/pcm", "rate": 24000}),
            InputFormat::Pcmu => serde_json::json!({"type": "audio/pcmu"}),
            InputFormat::Pcma => serde_json::json!({"type": "audio/pcma"}),
        }
    }

    /// Beta's format name.
    pub fn beta(self) -> &'static str {
        match self {
            InputFormat::Pcm16 => "pcm16",
            InputFormat::Pcmu => "g711_ulaw",
            InputFormat::Pcma => "g711_alaw",
        }
    }

    fn from_beta(name: &str) -> Option<Self> {
        match name {
            "pcm16" => Some(InputFormat::Pcm16),
            "g711_ulaw" => Some(InputFormat::Pcmu),
            "g711_alaw" => Some(InputFormat::Pcma),
            _ => None,
        }
    }

    fn from_ga(f: &FormatGa) -> Option<Self> {
        match (f.kind.as_str(), f.rate) {
            ("audio/pcm", None | Some(24_000)) => Some(InputFormat::Pcm16),
            ("audio/pcmu", _) => Some(InputFormat::Pcmu),
            ("audio/pcma", _) => Some(InputFormat::Pcma),
            _ => None,
        }
    }
}

impl SessionUpdate {
    /// The input format asked for, if any; an unsupported one is an error naming it.
    pub fn input_format(&self) -> Result<Option<InputFormat>, RealtimeError> {
        let unsupported = |what: String, param: &'static str| {
            RealtimeError::invalid(
                "unsupported_audio_format",
                &format!(
                    "unsupported input audio format {what}: send audio/pcm at 24000 Hz, audio/pcmu or audio/pcma"
                ),
                Some(param),
            )
        };
        if let Some(f) = self
            .audio
            .as_ref()
            .and_then(|a| a.input.as_ref())
            .and_then(|i| i.format.as_ref())
        {
            return InputFormat::from_ga(f).map(Some).ok_or_else(|| {
                unsupported(
                    format!("{} at {:?} Hz", f.kind, f.rate),
                    "session.audio.input.format",
                )
            });
        }
        match &self.input_audio_format {
            Some(name) => InputFormat::from_beta(name)
                .map(Some)
                .ok_or_else(|| unsupported(name.clone(), "session.input_audio_format")),
            None => Ok(None),
        }
    }

    /// The turn detection asked for (GA or beta place): `None` if not mentioned, `Some(None)`
    /// if turned off (`null`).
    pub fn turn_detection(&self) -> Option<Option<&TurnDetection>> {
        self.audio
            .as_ref()
            .and_then(|a| a.input.as_ref())
            .and_then(|i| i.turn_detection.as_ref())
            .or(self.turn_detection.as_ref())
            .map(Option::as_ref)
    }

    /// The output format asked for is the one sent (PCM16 at 24 kHz), or an error.
    pub fn check_output_format(&self) -> Result<(), RealtimeError> {
        let ga = self
            .audio
            .as_ref()
            .and_then(|a| a.output.as_ref())
            .and_then(|o| o.format.as_ref());
        let ok = match (ga, self.output_audio_format.as_deref()) {
            (Some(f), _) => f.kind == "audio/pcm" && f.rate.is_none_or(|r| r == 24_000),
            (None, Some(name)) => name == "pcm16",
            (None, None) => true,
        };
        if ok {
            Ok(())
        } else {
            Err(RealtimeError::invalid(
                "unsupported_audio_format",
                "the interviewer's audio is sent as audio/pcm at 24000 Hz only",
                Some("session.audio.output.format"),
            ))
        }
    }

    /// What the client asked for that Viva does not let it set (said in `session.updated`).
    pub fn ignored(&self) -> Vec<&'static str> {
        let ga_voice = self
            .audio
            .as_ref()
            .and_then(|a| a.output.as_ref())
            .is_some_and(|o| o.voice.is_some());
        [
            ("instructions", self.instructions.is_some()),
            ("voice", self.voice.is_some() || ga_voice),
            ("tools", self.tools.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| name)
        .collect()
    }
}

/// Server event types whose name differs between GA and beta; the others are the same.
pub fn server_type(ga: &'static str, naming: Naming) -> &'static str {
    match naming {
        Naming::Ga => ga,
        Naming::Beta => match ga {
            "response.output_audio.delta" => "response.audio.delta",
            "response.output_audio.done" => "response.audio.done",
            "response.output_audio_transcript.delta" => "response.audio_transcript.delta",
            "response.output_audio_transcript.done" => "response.audio_transcript.done",
            "response.output_text.delta" => "response.text.delta",
            "response.output_text.done" => "response.text.done",
            "conversation.item.added" => "conversation.item.created",
            other => other,
        },
    }
}

/// OpenAI's error: `{"type": "error", "event_id", "error": {type, code, message, param,
/// event_id}}` (the inner `event_id` names the client event it is about).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RealtimeError {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub code: &'static str,
    pub message: String,
    pub param: Option<&'static str>,
    pub event_id: Option<String>,
}

impl RealtimeError {
    /// An `invalid_request_error`.
    pub fn invalid(code: &'static str, message: &str, param: Option<&'static str>) -> Self {
        Self {
            kind: "invalid_request_error",
            code,
            message: message.to_owned(),
            param,
            event_id: None,
        }
    }

    /// About client event `event_id`.
    pub fn about(mut self, event_id: Option<String>) -> Self {
        self.event_id = event_id;
        self
    }

    /// The `error` server event.
    pub fn event(&self, event_id: &str) -> serde_json::Value {
        serde_json::json!({"type": "error", "event_id": event_id, "error": self})
    }
}

/// Parses one client message; what cannot be read is an OpenAI-shaped error.
pub fn parse(text: &str) -> Result<ClientEnvelope, RealtimeError> {
    serde_json::from_str::<ClientEnvelope>(text).map_err(|e| {
        // Name the event it was, if its type can be read.
        #[derive(Deserialize)]
        struct Typed {
            #[serde(rename = "type")]
            kind: Option<String>,
            event_id: Option<String>,
        }
        let typed = serde_json::from_str::<Typed>(text).ok();
        let event_id = typed.as_ref().and_then(|t| t.event_id.clone());
        let err = match typed.and_then(|t| t.kind) {
            Some(kind) if !KNOWN_CLIENT_EVENTS.contains(&kind.as_str()) => RealtimeError::invalid(
                "invalid_event_type",
                &format!("unknown client event type {kind:?}"),
                Some("type"),
            ),
            Some(kind) => {
                RealtimeError::invalid("invalid_event", &format!("malformed {kind}: {e}"), None)
            }
            None => {
                RealtimeError::invalid("invalid_json", "expected a JSON object with a type", None)
            }
        };
        err.about(event_id)
    })
}

/// The client event types this module reads.
pub const KNOWN_CLIENT_EVENTS: [&str; 11] = [
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.truncate",
    "conversation.item.delete",
    "conversation.item.retrieve",
    "response.create",
    "response.cancel",
    "output_audio_buffer.clear",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_events_parse_with_their_event_id() {
        let e = parse(r#"{"type":"input_audio_buffer.append","event_id":"e1","audio":"AAA="}"#)
            .unwrap();
        assert_eq!(e.event_id.as_deref(), Some("e1"));
        assert_eq!(
            e.event,
            ClientEvent::InputAudioAppend {
                audio: "AAA=".into()
            }
        );
        assert_eq!(
            parse(r#"{"type":"input_audio_buffer.commit"}"#)
                .unwrap()
                .event,
            ClientEvent::InputAudioCommit
        );
        assert_eq!(
            parse(r#"{"type":"response.create"}"#).unwrap().event,
            ClientEvent::ResponseCreate { response: None }
        );
        let t = parse(
            r#"{"type":"conversation.item.truncate","item_id":"i","content_index":0,"audio_end_ms":1500}"#,
        )
        .unwrap();
        assert!(matches!(
            t.event,
            ClientEvent::ItemTruncate {
                audio_end_ms: 1500,
                ..
            }
        ));
    }

    #[test]
    fn a_typed_answer_is_a_user_message_with_input_text() {
        let e = parse(
            r#"{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"I built a ledger."}]}}"#,
        )
        .unwrap();
        let ClientEvent::ItemCreate { item } = e.event else {
            panic!("{e:?}")
        };
        assert_eq!(item.answer_text().unwrap(), "I built a ledger.");
        let assistant = ItemIn {
            kind: Some("message".into()),
            role: Some("assistant".into()),
            content: vec![],
        };
        assert_eq!(
            assistant.answer_text().unwrap_err().code,
            "unsupported_item"
        );
    }

    #[test]
    fn session_update_reads_the_format_in_either_shape_and_names_what_it_ignores() {
        let ga = parse(
            r#"{"type":"session.update","session":{"type":"realtime","instructions":"Be nice","voice":"alloy","audio":{"input":{"format":{"type":"audio/pcmu"},"turn_detection":{"type":"server_vad","silence_duration_ms":700}}}}}"#,
        )
        .unwrap();
        let ClientEvent::SessionUpdate { session } = ga.event else {
            panic!()
        };
        assert_eq!(session.input_format().unwrap(), Some(InputFormat::Pcmu));
        assert_eq!(
            session
                .turn_detection()
                .unwrap()
                .unwrap()
                .silence_duration_ms,
            Some(700)
        );
        assert_eq!(session.ignored(), vec!["instructions", "voice"]);
        // `null` turns detection off; leaving it out changes nothing.
        let off = parse(r#"{"type":"session.update","session":{"turn_detection":null}}"#).unwrap();
        let ClientEvent::SessionUpdate { session } = off.event else {
            panic!()
        };
        assert_eq!(session.turn_detection(), Some(None));
        let unsaid = parse(r#"{"type":"session.update","session":{}}"#).unwrap();
        let ClientEvent::SessionUpdate { session } = unsaid.event else {
            panic!()
        };
        assert_eq!(session.turn_detection(), None);

        let beta = parse(
            r#"{"type":"session.update","session":{"input_audio_format":"g711_alaw","tools":[]}}"#,
        )
        .unwrap();
        let ClientEvent::SessionUpdate { session } = beta.event else {
            panic!()
        };
        assert_eq!(session.input_format().unwrap(), Some(InputFormat::Pcma));
        assert_eq!(session.ignored(), vec!["tools"]);

        let bad = parse(
            r#"{"type":"session.update","session":{"audio":{"input":{"format":{"type":"audio/pcm","rate":16000}}}}}"#,
        )
        .unwrap();
        let ClientEvent::SessionUpdate { session } = bad.event else {
            panic!()
        };
        let err = session.input_format().unwrap_err();
        assert_eq!(err.code, "unsupported_audio_format");
        assert_eq!(err.param, Some("session.audio.input.format"));
    }

    #[test]
    fn beta_names_differ_only_where_the_beta_did() {
        assert_eq!(
            server_type("response.output_audio.delta", Naming::Beta),
            "response.audio.delta"
        );
        assert_eq!(
            server_type("response.output_audio.delta", Naming::Ga),
            "response.output_audio.delta"
        );
        assert_eq!(
            server_type("conversation.item.added", Naming::Beta),
            "conversation.item.created"
        );
        assert_eq!(server_type("response.done", Naming::Beta), "response.done");
    }

    #[test]
    fn what_cannot_be_read_is_an_openai_shaped_error() {
        let unknown = parse(r#"{"type":"session.fly","event_id":"e9"}"#).unwrap_err();
        assert_eq!(unknown.code, "invalid_event_type");
        assert_eq!(unknown.event_id.as_deref(), Some("e9"));
        let malformed = parse(r#"{"type":"input_audio_buffer.append"}"#).unwrap_err();
        assert_eq!(malformed.code, "invalid_event");
        assert_eq!(parse("not json").unwrap_err().code, "invalid_json");
        let v = malformed.event("evt_1");
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["code"], "invalid_event");
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("input_audio_buffer.append"));
    }
}
