//! Viva's interview events, as a Realtime client expects to hear them (issue #18, in progress).
//!
//! One [`Translator`] per connection turns each event of the interview (`protocol::Event`)
//! into the Realtime server events, in OpenAI's order: an interviewer turn is a response
//! (`response.created`, `response.output_item.added`, `conversation.item.added`,
//! `response.content_part.added`, transcript deltas by sentence, audio deltas, then at its end
//! `response.output_audio.done`, `response.output_audio_transcript.done`,
//! `response.content_part.done`, `response.output_item.done`, `response.done`); a barge-in
//! cancels it and truncates it to what was heard (`conversation.item.truncated`); a
//! candidate's answer is a user item whose transcription streams in and completes once the
//! answer is committed (`input_audio_buffer.committed`, `…input_audio_transcription.completed`).

use serde_json::{json, Value};

use super::{server_type, Naming};
use crate::protocol::Event;

/// The interviewer turn being told as a response.
struct Response {
    id: String,
    item_id: String,
    turn: u32,
    /// The transcript so far (sentences as they came; the final text replaces it).
    transcript: String,
    audio: bool,
    /// Barged in on: it ends (cancelled) with what was heard, the turn's final text.
    cancelled: bool,
}

pub struct Translator {
    naming: Naming,
    next_id: u64,
    response: Option<Response>,
    /// The candidate's answer being transcribed: its item id and the partial text so far.
    answer: Option<(String, String)>,
    /// The last item added to the conversation (for `previous_item_id`).
    last_item: Option<String>,
}

impl Translator {
    pub fn new(naming: Naming) -> Self {
        Self {
            naming,
            next_id: 0,
            response: None,
            answer: None,
            last_item: None,
        }
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_{:016}", self.next_id)
    }

    /// A server event of `ga_type` (named as this connection speaks) with its fields.
    fn event(&mut self, ga_type: &'static str, mut fields: Value) -> Value {
        let event_id = self.id("event");
        let obj = fields.as_object_mut().expect("an object");
        obj.insert("type".into(), server_type(ga_type, self.naming).into());
        obj.insert("event_id".into(), event_id.into());
        fields
    }

    /// The interviewer's audio for the response in progress (base64 PCM16 at 24 kHz).
    pub fn audio(&mut self, delta_b64: String) -> Vec<Value> {
        let mut out = Vec::new();
        if self.response.is_none() {
            // Audio before any text (a fixed line): the response starts here.
            out.extend(self.begin(None));
        }
        let r = self.response.as_mut().expect("begun");
        r.audio = true;
        let (response_id, item_id) = (r.id.clone(), r.item_id.clone());
        out.push(self.event(
            "response.output_audio.delta",
            json!({"response_id": response_id, "item_id": item_id, "output_index": 0,
                   "content_index": 0, "delta": delta_b64}),
        ));
        out
    }

    /// The events one interview event becomes.
    pub fn on_event(&mut self, event: &Event) -> Vec<Value> {
        let mut out = Vec::new();
        // A cancelled response waits for what was heard (its final text), and no longer.
        if let Some(r) = &self.response {
            let heard =
                matches!(event, Event::AgentText { turn, is_final: true, .. } if *turn == r.turn);
            if r.cancelled && !heard {
                out.extend(self.finish("cancelled", Some("turn_detected")));
            }
        }
        out.extend(self.translate(event));
        out
    }

    fn translate(&mut self, event: &Event) -> Vec<Value> {
        match event {
            Event::AgentText {
                turn,
                text,
                is_final,
                ..
            } => {
                let mut out = Vec::new();
                if self.response.as_ref().is_none_or(|r| r.turn != *turn) {
                    out.extend(self.finish("completed", None));
                    out.extend(self.begin(Some(*turn)));
                }
                let r = self.response.as_mut().expect("begun");
                if *is_final {
                    // The whole text (or, after a barge-in, what was heard): told at the end.
                    r.transcript = text.clone();
                    if r.cancelled {
                        out.extend(self.finish("cancelled", Some("turn_detected")));
                    }
                    return out;
                }
                if !r.transcript.is_empty() {
                    r.transcript.push(' ');
                }
                r.transcript.push_str(text);
                let (response_id, item_id) = (r.id.clone(), r.item_id.clone());
                out.push(self.event(
                    "response.output_audio_transcript.delta",
                    json!({"response_id": response_id, "item_id": item_id, "output_index": 0,
                           "content_index": 0, "delta": text}),
                ));
                out
            }
            Event::AudioStart { turn } => {
                if self.response.as_ref().is_none_or(|r| r.turn != *turn) {
                    let mut out = self.finish("completed", None);
                    out.extend(self.begin(Some(*turn)));
                    return out;
                }
                Vec::new()
            }
            Event::AudioEnd { turn } if self.response.as_ref().is_some_and(|r| r.turn == *turn) => {
                self.finish("completed", None)
            }
            Event::AudioInterrupted { turn, played_ms }
                if self.response.as_ref().is_some_and(|r| r.turn == *turn) =>
            {
                let r = self.response.as_mut().expect("checked");
                r.cancelled = true;
                let item_id = r.item_id.clone();
                vec![self.event(
                    "conversation.item.truncated",
                    json!({"item_id": item_id, "content_index": 0, "audio_end_ms": played_ms}),
                )]
            }
            Event::Transcript {
                text, is_final, ..
            } => self.on_transcript(text, *is_final),
            Event::Error {
                code,
                message,
                fatal,
            } => vec![self.event(
                "error",
                json!({"error": {"type": if *fatal { "server_error" } else { "invalid_request_error" },
                                 "code": code, "message": message, "param": null, "event_id": null}}),
            )],
            Event::Ended { .. } => self.finish("completed", None),
            _ => Vec::new(),
        }
    }

    fn on_transcript(&mut self, text: &str, is_final: bool) -> Vec<Value> {
        if self.answer.is_none() {
            let item_id = self.id("item");
            self.answer = Some((item_id, String::new()));
        }
        let (item_id, sofar) = self.answer.clone().expect("set");
        if !is_final {
            // Partials are the whole text so far: the delta is what is new.
            let delta = text.strip_prefix(sofar.as_str()).unwrap_or(text).to_owned();
            self.answer = Some((item_id.clone(), text.to_owned()));
            if delta.is_empty() {
                return Vec::new();
            }
            return vec![self.event(
                "conversation.item.input_audio_transcription.delta",
                json!({"item_id": item_id, "content_index": 0, "delta": delta}),
            )];
        }
        self.answer = None;
        let previous = self.last_item.replace(item_id.clone());
        let item = json!({"id": item_id, "object": "realtime.item", "type": "message",
                          "status": "completed", "role": "user",
                          "content": [{"type": "input_audio", "transcript": text}]});
        vec![
            self.event(
                "input_audio_buffer.committed",
                json!({"item_id": item_id, "previous_item_id": previous}),
            ),
            self.event(
                "conversation.item.added",
                json!({"previous_item_id": previous, "item": item}),
            ),
            self.event(
                "conversation.item.input_audio_transcription.completed",
                json!({"item_id": item_id, "content_index": 0, "transcript": text}),
            ),
            self.event("conversation.item.done", json!({"item": item})),
        ]
    }

    /// Starts a response for interviewer turn `turn` (`None`: a line of the server's own).
    fn begin(&mut self, turn: Option<u32>) -> Vec<Value> {
        let (id, item_id) = (self.id("resp"), self.id("item"));
        let previous = self.last_item.replace(item_id.clone());
        self.response = Some(Response {
            id: id.clone(),
            item_id: item_id.clone(),
            turn: turn.unwrap_or(u32::MAX),
            transcript: String::new(),
            audio: false,
            cancelled: false,
        });
        let item = json!({"id": item_id, "object": "realtime.item", "type": "message",
                          "status": "in_progress", "role": "assistant", "content": []});
        vec![
            self.event(
                "response.created",
                json!({"response": {"id": id, "object": "realtime.response",
                                    "status": "in_progress", "output": []}}),
            ),
            self.event(
                "response.output_item.added",
                json!({"response_id": id, "output_index": 0, "item": item}),
            ),
            self.event(
                "conversation.item.added",
                json!({"previous_item_id": previous, "item": item}),
            ),
            self.event(
                "response.content_part.added",
                json!({"response_id": id, "item_id": item_id, "output_index": 0,
                       "content_index": 0, "part": {"type": "audio", "transcript": ""}}),
            ),
        ]
    }

    /// Ends the response in progress, if any, with `status` (`cancelled`: `reason`).
    fn finish(&mut self, status: &'static str, reason: Option<&'static str>) -> Vec<Value> {
        let Some(r) = self.response.take() else {
            return Vec::new();
        };
        let ids = json!({"response_id": r.id, "item_id": r.item_id, "output_index": 0,
                         "content_index": 0});
        let with = |extra: Value| {
            let mut v = ids.clone();
            v.as_object_mut()
                .expect("object")
                .extend(extra.as_object().expect("object").clone());
            v
        };
        let part = json!({"type": "audio", "transcript": r.transcript});
        let item = json!({"id": r.item_id, "object": "realtime.item", "type": "message",
                          "status": if status == "completed" { "completed" } else { "incomplete" },
                          "role": "assistant", "content": [part]});
        let mut out = Vec::new();
        if r.audio {
            out.push(self.event("response.output_audio.done", with(json!({}))));
        }
        out.push(self.event(
            "response.output_audio_transcript.done",
            with(json!({"transcript": r.transcript})),
        ));
        out.push(self.event("response.content_part.done", with(json!({"part": part}))));
        out.push(self.event(
            "response.output_item.done",
            json!({"response_id": r.id, "output_index": 0, "item": item}),
        ));
        let details = reason.map(|why| json!({"type": status, "reason": why}));
        out.push(self.event(
            "response.done",
            json!({"response": {"id": r.id, "object": "realtime.response", "status": status,
                                "status_details": details, "output": [item]}}),
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::TurnKind;

    fn types(events: &[Value]) -> Vec<String> {
        events
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    }

    fn text(turn: u32, text: &str, is_final: bool) -> Event {
        Event::AgentText {
            turn,
            kind: TurnKind::Question,
            text: text.into(),
            is_final,
            closing: false,
        }
    }

    #[test]
    fn an_interviewer_turn_is_a_response_told_in_openais_order() {
        let mut t = Translator::new(Naming::Ga);
        let mut all = t.on_event(&text(0, "Hello.", false));
        all.extend(t.on_event(&Event::AudioStart { turn: 0 }));
        all.extend(t.audio("AAAA".into()));
        all.extend(t.on_event(&text(0, "Tell me about a project.", false)));
        all.extend(t.on_event(&text(0, "Hello. Tell me about a project.", true)));
        all.extend(t.audio("BBBB".into()));
        all.extend(t.on_event(&Event::AudioEnd { turn: 0 }));
        assert_eq!(
            types(&all),
            [
                "response.created",
                "response.output_item.added",
                "conversation.item.added",
                "response.content_part.added",
                "response.output_audio_transcript.delta",
                "response.output_audio.delta",
                "response.output_audio_transcript.delta",
                "response.output_audio.delta",
                "response.output_audio.done",
                "response.output_audio_transcript.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.done",
            ]
        );
        let done = all.last().unwrap();
        assert_eq!(done["response"]["status"], "completed");
        assert_eq!(
            done["response"]["output"][0]["content"][0]["transcript"],
            "Hello. Tell me about a project."
        );
        // One response, one item, throughout; every event its own id.
        let rid = &all[0]["response"]["id"];
        assert!(all[4..]
            .iter()
            .all(|e| e.get("response_id").is_none_or(|r| r == rid)));
        let ids: std::collections::HashSet<_> = all.iter().map(|e| &e["event_id"]).collect();
        assert_eq!(ids.len(), all.len());
    }

    #[test]
    fn beta_clients_get_the_beta_names() {
        let mut t = Translator::new(Naming::Beta);
        let mut all = t.on_event(&Event::AudioStart { turn: 2 });
        all.extend(t.audio("AAAA".into()));
        all.extend(t.on_event(&Event::AudioEnd { turn: 2 }));
        let names = types(&all);
        assert!(names.contains(&"conversation.item.created".to_owned()));
        assert!(names.contains(&"response.audio.delta".to_owned()));
        assert!(names.contains(&"response.audio_transcript.done".to_owned()));
        assert!(!names.iter().any(|n| n.contains("output_audio")));
    }

    #[test]
    fn a_barge_in_truncates_to_what_was_heard_and_cancels_the_response() {
        let mut t = Translator::new(Naming::Ga);
        t.on_event(&Event::AudioStart { turn: 4 });
        t.audio("AAAA".into());
        let all = t.on_event(&Event::AudioInterrupted {
            turn: 4,
            played_ms: 1200,
        });
        assert_eq!(types(&all), ["conversation.item.truncated"]);
        assert_eq!(all[0]["audio_end_ms"], 1200);
        // What was heard comes next: the response ends with it, cancelled.
        let all = t.on_event(&text(4, "What was heard", true));
        let done = all.last().unwrap();
        assert_eq!(done["type"], "response.done");
        assert_eq!(done["response"]["status"], "cancelled");
        assert_eq!(
            done["response"]["status_details"]["reason"],
            "turn_detected"
        );
        assert_eq!(
            done["response"]["output"][0]["content"][0]["transcript"],
            "What was heard"
        );
        assert_eq!(done["response"]["output"][0]["status"], "incomplete");

        // Barged in before any text was sent: the next event ends it first.
        t.on_event(&Event::AudioStart { turn: 6 });
        t.on_event(&Event::AudioInterrupted {
            turn: 6,
            played_ms: 300,
        });
        let next = t.on_event(&Event::Transcript {
            turn: 7,
            text: "Sorry".into(),
            is_final: false,
        });
        let names = types(&next);
        assert_eq!(
            names.last().unwrap(),
            "conversation.item.input_audio_transcription.delta"
        );
        assert!(names.contains(&"response.done".to_owned()));
    }

    #[test]
    fn an_answer_streams_its_transcription_and_completes_when_committed() {
        let mut t = Translator::new(Naming::Ga);
        let a = t.on_event(&Event::Transcript {
            turn: 1,
            text: "I built".into(),
            is_final: false,
        });
        let b = t.on_event(&Event::Transcript {
            turn: 1,
            text: "I built a ledger".into(),
            is_final: false,
        });
        assert_eq!(a[0]["delta"], "I built");
        assert_eq!(b[0]["delta"], " a ledger");
        assert_eq!(a[0]["item_id"], b[0]["item_id"]);
        let done = t.on_event(&Event::Transcript {
            turn: 1,
            text: "I built a ledger.".into(),
            is_final: true,
        });
        assert_eq!(
            types(&done),
            [
                "input_audio_buffer.committed",
                "conversation.item.added",
                "conversation.item.input_audio_transcription.completed",
                "conversation.item.done",
            ]
        );
        assert_eq!(done[2]["transcript"], "I built a ledger.");
        assert_eq!(done[2]["item_id"], a[0]["item_id"]);
    }
}
