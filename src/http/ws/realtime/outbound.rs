//! What the interview sends a Realtime connection, as Realtime server events: its events through
//! the translator (`protocol::realtime::translate`), its Opus audio decoded to the 24 kHz PCM16
//! Realtime clients play, speech starts and stops, and what the reader has to tell the client.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use base64::Engine as _;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{error_for, Shared, ToClient};
use crate::interview::Outbound as FromInterview;
use crate::protocol::realtime::translate::Translator;
use crate::protocol::realtime::Naming;
use crate::protocol::{close, ServerMessage};

/// The rate Realtime clients play.
const OUTPUT_HZ: u32 = 24_000;
/// Samples in the longest Opus packet at [`OUTPUT_HZ`] (120 ms).
const MAX_PACKET_SAMPLES: usize = 2880;

pub(super) struct Outbound {
    translator: Translator,
    shared: Arc<Shared>,
    session: Value,
    decoder: Option<opus::Decoder>,
    pcm: Vec<i16>,
}

impl Outbound {
    pub fn new(naming: Naming, shared: Arc<Shared>, session: Value) -> Self {
        Self {
            translator: Translator::new(naming),
            shared,
            session,
            decoder: None,
            pcm: vec![0; MAX_PACKET_SAMPLES],
        }
    }

    /// Runs until the interview lets the connection go (or a close is sent): `session.created`
    /// first, then everything in order. The reader's messages go first when both are ready.
    pub async fn run(
        mut self,
        mut from_interview: mpsc::Receiver<FromInterview>,
        mut from_reader: mpsc::Receiver<ToClient>,
        out: mpsc::Sender<FromInterview>,
    ) {
        let session = std::mem::take(&mut self.session);
        let created = self
            .translator
            .direct("session.created", json!({"session": session}));
        if send(&out, vec![created]).await.is_err() {
            return;
        }
        let mut reader_open = true;
        loop {
            let events = tokio::select! {
                biased;
                m = from_reader.recv(), if reader_open => match m {
                    Some(ToClient::Close(refusal)) => {
                        let error = self.error(refusal);
                        let _ = send(&out, vec![error]).await;
                        let _ = out.send(FromInterview::Close(refusal.0, refusal.1)).await;
                        return;
                    }
                    Some(m) => self.reader_said(m),
                    None => {
                        reader_open = false;
                        continue;
                    }
                },
                m = from_interview.recv() => match m {
                    // The interview is over: for a Realtime client a normal end of its session
                    // (the SDKs raise on any other code).
                    Some(FromInterview::Close(close::ENDED | close::NORMAL, reason)) => {
                        let _ = out.send(FromInterview::Close(close::NORMAL, reason)).await;
                        return;
                    }
                    Some(FromInterview::Close(code, reason)) => {
                        let error = self.error((code, reason));
                        let _ = send(&out, vec![error]).await;
                        let _ = out.send(FromInterview::Close(code, reason)).await;
                        return;
                    }
                    Some(m) => self.interview_said(m),
                    None => return,
                },
            };
            if send(&out, events).await.is_err() {
                return;
            }
        }
    }

    fn error(&mut self, refusal: (u16, &'static str)) -> Value {
        let e = error_for(refusal);
        self.translator.direct("error", json!({"error": e}))
    }

    fn reader_said(&mut self, m: ToClient) -> Vec<Value> {
        match m {
            ToClient::Event(ga_type, fields) => vec![self.translator.direct(ga_type, fields)],
            ToClient::Error(e) => vec![self.translator.direct("error", json!({"error": e}))],
            ToClient::Typed(text) => self.translator.typed(&text),
            ToClient::Close(_) => unreachable!("handled by the loop"),
        }
    }

    fn interview_said(&mut self, m: FromInterview) -> Vec<Value> {
        let mut events = match m {
            FromInterview::Text(t) => self.text(&t),
            FromInterview::Batch(all) => all.iter().flat_map(|t| self.text(t)).collect(),
            FromInterview::Audio(packet) => match self.decode(&packet) {
                Some(b64) => self.translator.audio(b64),
                None => Vec::new(),
            },
            FromInterview::Speech(speech) => {
                let samples = self.shared.input_samples.load(Ordering::Relaxed);
                self.translator.on_speech(speech, samples / 16)
            }
            FromInterview::Close(..) => unreachable!("handled by the loop"),
        };
        if events.iter().any(|e| e["type"] == "response.done") {
            let limits = self.shared.limits.to_json();
            events.push(self.translator.rate_limits(limits));
        }
        *self.shared.response_item.lock().expect("not poisoned") =
            self.translator.response_item().map(str::to_owned);
        events
    }

    /// An interview message: its events translated; `ready`, `resync` and the like say
    /// nothing a Realtime client reads.
    fn text(&mut self, t: &Utf8Bytes) -> Vec<Value> {
        match serde_json::from_str::<ServerMessage>(t) {
            Ok(ServerMessage::Event(env)) => {
                let samples = self.shared.input_samples.load(Ordering::Relaxed);
                self.translator.input_heard(samples / 16);
                self.translator.on_event(&env.event)
            }
            Ok(ServerMessage::Connection(_)) => Vec::new(),
            Err(e) => {
                tracing::warn!(error = %e, "an interview message the realtime adapter cannot read");
                Vec::new()
            }
        }
    }

    /// One Opus packet as base64 PCM16 at 24 kHz.
    fn decode(&mut self, packet: &[u8]) -> Option<String> {
        if self.decoder.is_none() {
            match opus::Decoder::new(OUTPUT_HZ, opus::Channels::Mono) {
                Ok(d) => self.decoder = Some(d),
                Err(e) => {
                    tracing::error!(error = %e, "no Opus decoder for realtime audio");
                    return None;
                }
            }
        }
        let decoder = self.decoder.as_mut()?;
        let n = match decoder.decode(packet, &mut self.pcm, false) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "interviewer audio not decoded");
                return None;
            }
        };
        let mut bytes = Vec::with_capacity(n * 2);
        for s in &self.pcm[..n] {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        Some(base64::engine::general_purpose::STANDARD.encode(bytes))
    }
}

async fn send(
    out: &mpsc::Sender<FromInterview>,
    events: Vec<Value>,
) -> Result<(), mpsc::error::SendError<FromInterview>> {
    for e in events {
        out.send(FromInterview::Text(Utf8Bytes::from(e.to_string())))
            .await?;
    }
    Ok(())
}
