//! Viva's interview events, as a Realtime client expects to hear them (docs/realtime.md).
//!
//! One [`Translator`] per connection turns each event of the interview (`protocol::Event`)
//! into the Realtime server events, in OpenAI's order: an interviewer turn is a response
//! (`response.created`, `response.output_item.added`, `conversation.item.added`,
//! `response.content_part.added`, transcript deltas by sentence, audio deltas, then at its end
//! `response.output_audio.done`, `response.output_audio_transcript.done`,
//! `response.content_part.done`, `response.output_item.done`, `response.done`); a barge-in
//! cancels it and truncates it to what was heard (`conversation.item.truncated`); a
//! candidate's answer is a user item committed when its speech stops
//! (`input_audio_buffer.speech_started`/`speech_stopped`/`committed`), whose transcription
//! streams in and completes once the interview has made it durable
//! (`…input_audio_transcription.completed`); a typed answer is told once, when created.

use std::collections::VecDeque;

use serde_json::{json, Value};

use super::{server_type, Naming};
use crate::interview::Speech;
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
    /// Viva's latency breakdown of the turn (`turn_metrics`), told in `response.done`.
    timings: Option<crate::protocol::TurnTimings>,
}

pub struct Translator {
    naming: Naming,
    next_id: u64,
    response: Option<Response>,
    /// The candidate's speech in progress: its item id.
    speaking: Option<String>,
    /// Answers committed (speech stopped) whose final transcript has not come, in order.
    awaiting: VecDeque<String>,
    /// The item whose transcription is streaming, and its text so far.
    partial: Option<(String, String)>,
    /// Typed answers told already, whose final transcript is not told again.
    typed: u32,
    /// The last item added to the conversation (for `previous_item_id`).
    last_item: Option<String>,
    /// Audio of the response in progress, in ms.
    response_audio_ms: u64,
    /// Input audio taken so far, and as much of it as a response's usage has counted (ms).
    input_audio_ms: u64,
    input_billed_ms: u64,
}

/// Output audio tokens per second of audio, at OpenAI's published rate (1 per 50 ms); input
/// audio is counted at 1 per 100 ms. Viva meters neither in tokens: `usage` only says how much
/// audio went each way, in the unit clients already count.
const OUTPUT_TOKENS_PER_S: u64 = 20;
const INPUT_TOKENS_PER_S: u64 = 10;

impl Translator {
    pub fn new(naming: Naming) -> Self {
        Self {
            naming,
            next_id: 0,
            response: None,
            speaking: None,
            awaiting: VecDeque::new(),
            partial: None,
            typed: 0,
            last_item: None,
            response_audio_ms: 0,
            input_audio_ms: 0,
            input_billed_ms: 0,
        }
    }

    /// A server event outside an interview's events (`session.created`, an error about a
    /// client event, …), numbered like the rest.
    pub fn direct(&mut self, ga_type: &'static str, fields: Value) -> Value {
        self.event(ga_type, fields)
    }

    /// The candidate's speech began or ended at `audio_ms` of the input audio. An answer that
    /// ends is committed at once; its transcription completes when the interview has it.
    pub fn on_speech(&mut self, speech: Speech, audio_ms: u64) -> Vec<Value> {
        let mut out = Vec::new();
        match speech {
            Speech::Started => {
                let item_id = self.id("item");
                self.speaking = Some(item_id.clone());
                out.push(self.event(
                    "input_audio_buffer.speech_started",
                    json!({"audio_start_ms": audio_ms, "item_id": item_id}),
                ));
            }
            Speech::Stopped | Speech::Dropped => {
                let Some(item_id) = self.speaking.take() else {
                    return out;
                };
                out.push(self.event(
                    "input_audio_buffer.speech_stopped",
                    json!({"audio_end_ms": audio_ms, "item_id": item_id}),
                ));
                if speech == Speech::Stopped {
                    out.extend(self.commit(item_id));
                }
            }
        }
        out
    }

    /// An answer's audio is in: `input_audio_buffer.committed` and its item, transcript to come.
    fn commit(&mut self, item_id: String) -> Vec<Value> {
        let previous = self.last_item.replace(item_id.clone());
        self.awaiting.push_back(item_id.clone());
        let item = json!({"id": item_id, "object": "realtime.item", "type": "message",
                          "status": "in_progress", "role": "user",
                          "content": [{"type": "input_audio", "transcript": null}]});
        vec![
            self.event(
                "input_audio_buffer.committed",
                json!({"item_id": item_id, "previous_item_id": previous}),
            ),
            self.event(
                "conversation.item.added",
                json!({"previous_item_id": previous, "item": item}),
            ),
        ]
    }

    /// A typed answer the client created (`conversation.item.create`): told as added and
    /// done now; the interview's final transcript of it is not told again.
    pub fn typed(&mut self, text: &str) -> Vec<Value> {
        let item_id = self.id("item");
        let previous = self.last_item.replace(item_id.clone());
        self.typed += 1;
        let item = json!({"id": item_id, "object": "realtime.item", "type": "message",
                          "status": "completed", "role": "user",
                          "content": [{"type": "input_text", "text": text}]});
        let mut out = vec![self.event(
            "conversation.item.added",
            json!({"previous_item_id": previous, "item": item}),
        )];
        // The beta had no `conversation.item.done`.
        if self.naming == Naming::Ga {
            out.push(self.event("conversation.item.done", json!({"item": item})));
        }
        out
    }

    /// The limits this connection reads under, after each response (`rate_limits.updated`).
    pub fn rate_limits(&mut self, limits: Value) -> Value {
        self.event("rate_limits.updated", json!({"rate_limits": limits}))
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
        // Base64 of 16-bit samples at 24 kHz: 4 characters hold 3 bytes.
        self.response_audio_ms += (delta_b64.len() as u64 * 3 / 4) / 48;
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
            Event::TurnMetrics { turn, timings } => {
                if let Some(r) = self.response.as_mut().filter(|r| r.turn == *turn) {
                    r.timings = Some(timings.clone());
                }
                Vec::new()
            }
            Event::Ended { .. } => self.finish("completed", None),
            _ => Vec::new(),
        }
    }

    fn on_transcript(&mut self, text: &str, is_final: bool) -> Vec<Value> {
        if !is_final {
            // Partials are of the speech in progress (or the answer just committed): the whole
            // text so far, of which the delta is what is new.
            let item_id = match (&self.partial, &self.speaking) {
                (Some((id, _)), _) => id.clone(),
                (None, Some(id)) => id.clone(),
                (None, None) => match self.awaiting.back() {
                    Some(id) => id.clone(),
                    None => {
                        let id = self.id("item");
                        self.speaking = Some(id.clone());
                        id
                    }
                },
            };
            let sofar = self.partial.take().map(|(_, t)| t).unwrap_or_default();
            let delta = text.strip_prefix(sofar.as_str()).unwrap_or(text).to_owned();
            self.partial = Some((item_id.clone(), text.to_owned()));
            if delta.is_empty() {
                return Vec::new();
            }
            return vec![self.event(
                "conversation.item.input_audio_transcription.delta",
                json!({"item_id": item_id, "content_index": 0, "delta": delta}),
            )];
        }
        self.partial = None;
        let mut out = Vec::new();
        let item_id = match self.awaiting.pop_front() {
            Some(id) => id,
            None if self.typed > 0 => {
                // A typed answer's transcript: told when it was created.
                self.typed -= 1;
                return out;
            }
            None => {
                // No speech was told for it (a commit the connection did not hear of).
                let id = self.speaking.take().unwrap_or_else(|| self.id("item"));
                out.extend(self.commit(id.clone()));
                self.awaiting.pop_back();
                id
            }
        };
        let item = json!({"id": item_id, "object": "realtime.item", "type": "message",
                          "status": "completed", "role": "user",
                          "content": [{"type": "input_audio", "transcript": text}]});
        out.push(self.event(
            "conversation.item.input_audio_transcription.completed",
            json!({"item_id": item_id, "content_index": 0, "transcript": text}),
        ));
        if self.naming == Naming::Ga {
            out.push(self.event("conversation.item.done", json!({"item": item})));
        }
        out
    }

    /// Answers the interview had no words for (it asked again): their transcription failed.
    fn not_caught(&mut self) -> Vec<Value> {
        let ids: Vec<String> = self.awaiting.drain(..).collect();
        ids.into_iter()
            .map(|item_id| {
                self.event(
                    "conversation.item.input_audio_transcription.failed",
                    json!({"item_id": item_id, "content_index": 0,
                           "error": {"type": "transcription_error", "code": "not_caught",
                                     "message": "no words were recognised in this answer",
                                     "param": null}}),
                )
            })
            .collect()
    }

    /// Starts a response for interviewer turn `turn` (`None`: a line of the server's own).
    fn begin(&mut self, turn: Option<u32>) -> Vec<Value> {
        // An answer's transcript always comes before the reply to it (docs/protocol.md).
        let mut out = self.not_caught();
        self.response_audio_ms = 0;
        let (id, item_id) = (self.id("resp"), self.id("item"));
        let previous = self.last_item.replace(item_id.clone());
        self.response = Some(Response {
            id: id.clone(),
            item_id: item_id.clone(),
            turn: turn.unwrap_or(u32::MAX),
            transcript: String::new(),
            audio: false,
            cancelled: false,
            timings: None,
        });
        let item = json!({"id": item_id, "object": "realtime.item", "type": "message",
                          "status": "in_progress", "role": "assistant", "content": []});
        out.extend([
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
        ]);
        out
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
        let usage = self.usage();
        let mut response = json!({"id": r.id, "object": "realtime.response", "status": status,
                                  "status_details": details, "output": [item], "usage": usage});
        if let Some(t) = r.timings {
            // Viva's own field: where the reply's time went (docs/realtime.md).
            response["viva"] = json!({ "timings": t });
        }
        out.push(self.event("response.done", json!({ "response": response })));
        out
    }

    /// The audio each way since the last response, in OpenAI's audio tokens (see
    /// [`OUTPUT_TOKENS_PER_S`]); no text tokens: the interviewer model's are the
    /// organization's usage, not the candidate's.
    fn usage(&mut self) -> Value {
        let output = self.response_audio_ms * OUTPUT_TOKENS_PER_S / 1000;
        let input_ms = self.input_audio_ms.saturating_sub(self.input_billed_ms);
        self.input_billed_ms = self.input_audio_ms;
        let input = input_ms * INPUT_TOKENS_PER_S / 1000;
        json!({"total_tokens": input + output, "input_tokens": input, "output_tokens": output,
               "input_token_details": {"text_tokens": 0, "audio_tokens": input, "cached_tokens": 0},
               "output_token_details": {"text_tokens": 0, "audio_tokens": output}})
    }

    /// Input audio taken on this connection so far (ms): what came since the last response
    /// is in the next one's usage.
    pub fn input_heard(&mut self, total_ms: u64) {
        self.input_audio_ms = total_ms;
    }

    /// The interviewer's item being told, if any.
    pub fn response_item(&self) -> Option<&str> {
        self.response.as_ref().map(|r| r.item_id.as_str())
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
    #[test]
    fn speech_is_committed_when_it_stops_and_transcribed_when_the_interview_has_it() {
        let mut t = Translator::new(Naming::Ga);
        let started = t.on_speech(Speech::Started, 1200);
        assert_eq!(types(&started), ["input_audio_buffer.speech_started"]);
        assert_eq!(started[0]["audio_start_ms"], 1200);
        let item = started[0]["item_id"].clone();
        let partial = t.on_event(&Event::Transcript {
            turn: 3,
            text: "Mostly Rust".into(),
            is_final: false,
        });
        assert_eq!(partial[0]["item_id"], item);
        let stopped = t.on_speech(Speech::Stopped, 4100);
        assert_eq!(
            types(&stopped),
            [
                "input_audio_buffer.speech_stopped",
                "input_audio_buffer.committed",
                "conversation.item.added",
            ]
        );
        assert_eq!(stopped[1]["item_id"], item);
        let done = t.on_event(&Event::Transcript {
            turn: 3,
            text: "Mostly Rust.".into(),
            is_final: true,
        });
        assert_eq!(
            types(&done),
            [
                "conversation.item.input_audio_transcription.completed",
                "conversation.item.done",
            ]
        );
        assert_eq!(done[0]["item_id"], item);

        // A cough: stopped, never committed.
        t.on_speech(Speech::Started, 5000);
        assert_eq!(
            types(&t.on_speech(Speech::Dropped, 5200)),
            ["input_audio_buffer.speech_stopped"]
        );
        // An answer the interview caught no words of fails its transcription when the
        // interviewer speaks next (an answer's transcript always comes before the reply).
        t.on_speech(Speech::Started, 6000);
        t.on_speech(Speech::Stopped, 7000);
        let reply = t.on_event(&text(4, "Sorry, could you say that again?", false));
        assert_eq!(
            reply[0]["type"],
            "conversation.item.input_audio_transcription.failed"
        );
        assert_eq!(reply[1]["type"], "response.created");
    }

    #[test]
    fn a_typed_answer_is_told_once_and_usage_counts_the_audio_each_way() {
        let mut t = Translator::new(Naming::Ga);
        let typed = t.typed("I would use a queue.");
        assert_eq!(
            types(&typed),
            ["conversation.item.added", "conversation.item.done"]
        );
        assert_eq!(typed[0]["item"]["content"][0]["type"], "input_text");
        // The interview's final transcript of it is not told again.
        let again = t.on_event(&Event::Transcript {
            turn: 5,
            text: "I would use a queue.".into(),
            is_final: true,
        });
        assert!(again.is_empty(), "{again:?}");
        // 3 s heard, then a response of 1 s of audio (50 deltas of 20 ms at 24 kHz).
        t.input_heard(3000);
        t.on_event(&Event::AudioStart { turn: 6 });
        let twenty_ms = "A".repeat(1280);
        for _ in 0..50 {
            t.audio(twenty_ms.clone());
        }
        let end = t.on_event(&Event::AudioEnd { turn: 6 });
        let usage = &end.last().unwrap()["response"]["usage"];
        assert_eq!(usage["output_token_details"]["audio_tokens"], 20);
        assert_eq!(usage["input_token_details"]["audio_tokens"], 30);
        assert_eq!(usage["total_tokens"], 50);
        // Beta has no `conversation.item.done`.
        let mut beta = Translator::new(Naming::Beta);
        assert_eq!(types(&beta.typed("Yes")), ["conversation.item.created"]);
    }
}
