//! The session of one Realtime connection: what its client may set (the input audio format,
//! how its turns end), what Viva keeps for itself (the interviewer's instructions, tools and
//! voice), and the session object `session.created`/`session.updated` show, in either naming.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{InputFormat, Naming, RealtimeError, SessionUpdate};

/// The longest end-of-turn silence a client may ask for: past it a candidate who stopped
/// talking would wait in silence, not be listened to better.
pub const MAX_SILENCE_MS: u32 = 3000;
/// Audio kept from before speech starts (the ear's pre-roll), as `prefix_padding_ms`.
const PREFIX_PADDING_MS: u32 = 200;

/// How the candidate's turns end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turns {
    /// Viva's endpointing (`server_vad`): a turn ends after the interview's own silence, or
    /// after `min_silence_ms` if the client asked for more.
    Server { min_silence_ms: u32 },
    /// `turn_detection: null`: the client commits each turn; Viva still ends one after
    /// [`MAX_SILENCE_MS`] of silence, so an answer never waits on a client that forgot.
    Client,
}

pub struct Session {
    pub id: String,
    pub format: InputFormat,
    pub turns: Turns,
    /// What the client set that Viva does not let it set, so far.
    pub ignored: BTreeSet<&'static str>,
    /// The interview's own end-of-turn silence after a short question (shown as the default).
    viva_silence_ms: u32,
    model: String,
}

impl Session {
    pub fn new(id: String, model: Option<String>, viva_silence_ms: u32) -> Self {
        Self {
            id,
            format: InputFormat::Pcm16,
            turns: Turns::Server { min_silence_ms: 0 },
            ignored: BTreeSet::new(),
            viva_silence_ms,
            model: model.unwrap_or_else(|| "viva-interviewer".into()),
        }
    }

    /// Applies a `session.update`, all of it or (on an error) none of it.
    pub fn apply(&mut self, update: &SessionUpdate) -> Result<(), RealtimeError> {
        let format = update.input_format()?;
        update.check_output_format()?;
        if let Some(Some(td)) = update.turn_detection() {
            if let Some(kind) = td.kind.as_deref() {
                if kind != "server_vad" && kind != "semantic_vad" {
                    return Err(RealtimeError::invalid(
                        "unsupported_turn_detection",
                        &format!("turn_detection type {kind} is not supported: use server_vad, or null to commit turns yourself"),
                        Some("session.turn_detection.type"),
                    ));
                }
            }
        }
        if let Some(f) = format {
            self.format = f;
        }
        match update.turn_detection() {
            None => {}
            Some(None) => self.turns = Turns::Client,
            Some(Some(td)) => {
                self.turns = Turns::Server {
                    min_silence_ms: td.silence_duration_ms.unwrap_or(0).min(MAX_SILENCE_MS),
                };
                if td.threshold.is_some() {
                    self.ignored.insert("turn_detection.threshold");
                }
                if td.kind.as_deref() == Some("semantic_vad") {
                    self.ignored.insert("turn_detection.semantic_vad");
                }
            }
        }
        self.ignored.extend(update.ignored());
        Ok(())
    }

    /// The least silence that ends the candidate's turn, as the interview is told it (0: the
    /// interview's own).
    pub fn silence_ms(&self) -> u32 {
        match self.turns {
            Turns::Server { min_silence_ms } => min_silence_ms,
            Turns::Client => MAX_SILENCE_MS,
        }
    }

    fn turn_detection(&self) -> Value {
        match self.turns {
            Turns::Client => Value::Null,
            Turns::Server { min_silence_ms } => json!({
                "type": "server_vad",
                "silence_duration_ms": min_silence_ms.max(self.viva_silence_ms),
                "prefix_padding_ms": PREFIX_PADDING_MS,
                "create_response": true,
                "interrupt_response": true,
            }),
        }
    }

    /// The session object, as this connection names things. The instructions are not shown:
    /// they are the interviewer's, not the client's.
    pub fn to_json(&self, naming: Naming) -> Value {
        let viva = json!({
            "ignored": self.ignored.iter().collect::<Vec<_>>(),
            "note": "The interviewer is Viva's: instructions, tools and voice set by a client are ignored. Turns end on Viva's endpointing; a client's silence_duration_ms can lengthen it (up to 3000 ms), never shorten it.",
        });
        match naming {
            Naming::Ga => json!({
                "type": "realtime",
                "object": "realtime.session",
                "id": self.id,
                "model": self.model,
                "output_modalities": ["audio"],
                "instructions": "",
                "tools": [],
                "tool_choice": "none",
                "audio": {
                    "input": {
                        "format": self.format.ga(),
                        "transcription": {"model": "viva"},
                        "turn_detection": self.turn_detection(),
                    },
                    "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "viva"},
                },
                "viva": viva,
            }),
            Naming::Beta => json!({
                "id": self.id,
                "object": "realtime.session",
                "model": self.model,
                "modalities": ["audio", "text"],
                "instructions": "",
                "voice": "viva",
                "input_audio_format": self.format.beta(),
                "output_audio_format": "pcm16",
                "input_audio_transcription": {"model": "viva"},
                "turn_detection": self.turn_detection(),
                "tools": [],
                "tool_choice": "none",
                "viva": viva,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::realtime::{parse, ClientEvent};

    fn update(json: &str) -> SessionUpdate {
        match parse(json).unwrap().event {
            ClientEvent::SessionUpdate { session } => *session,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_update_applies_what_viva_honours_and_names_the_rest() {
        let mut s = Session::new("sess_1".into(), None, 700);
        s.apply(&update(
            r#"{"type":"session.update","session":{"instructions":"Ask about cats","audio":{"output":{"voice":"alloy","format":{"type":"audio/pcm","rate":24000}},"input":{"format":{"type":"audio/pcmu"},"turn_detection":{"type":"server_vad","silence_duration_ms":9000,"threshold":0.2}}}}}"#,
        ))
        .unwrap();
        assert_eq!(s.format, InputFormat::Pcmu);
        // Clamped to the longest allowed.
        assert_eq!(s.silence_ms(), MAX_SILENCE_MS);
        let ga = s.to_json(Naming::Ga);
        assert_eq!(ga["audio"]["input"]["format"]["type"], "audio/pcmu");
        assert_eq!(
            ga["audio"]["input"]["turn_detection"]["silence_duration_ms"],
            3000
        );
        assert_eq!(
            ga["instructions"], "",
            "the client's instructions are not taken"
        );
        let ignored: Vec<&str> = ga["viva"]["ignored"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(
            ignored,
            ["instructions", "turn_detection.threshold", "voice"]
        );
        // A shorter silence than the interview's own shows the interview's.
        s.apply(&update(
            r#"{"type":"session.update","session":{"turn_detection":{"type":"server_vad","silence_duration_ms":200}}}"#,
        ))
        .unwrap();
        assert_eq!(s.silence_ms(), 200);
        assert_eq!(
            s.to_json(Naming::Beta)["turn_detection"]["silence_duration_ms"],
            700
        );
        // Off: the client commits.
        s.apply(&update(
            r#"{"type":"session.update","session":{"turn_detection":null}}"#,
        ))
        .unwrap();
        assert_eq!(s.turns, Turns::Client);
        assert!(s.to_json(Naming::Beta)["turn_detection"].is_null());
    }

    #[test]
    fn a_bad_update_changes_nothing() {
        let mut s = Session::new("sess_1".into(), Some("gpt-realtime".into()), 700);
        let err = s
            .apply(&update(
                r#"{"type":"session.update","session":{"input_audio_format":"g711_ulaw","turn_detection":{"type":"push_to_talk"}}}"#,
            ))
            .unwrap_err();
        assert_eq!(err.code, "unsupported_turn_detection");
        let err = s
            .apply(&update(
                r#"{"type":"session.update","session":{"input_audio_format":"g711_ulaw","output_audio_format":"g711_ulaw"}}"#,
            ))
            .unwrap_err();
        assert_eq!(err.code, "unsupported_audio_format");
        assert_eq!(s.format, InputFormat::Pcm16);
        assert_eq!(s.turns, Turns::Server { min_silence_ms: 0 });
        assert_eq!(s.to_json(Naming::Ga)["model"], "gpt-realtime");
    }
}
