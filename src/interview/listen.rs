//! The interviewer's ear: Opus decode straight to 16 kHz (or a Realtime client's PCM, already
//! at 16 kHz) → VAD → endpointing, routing each
//! utterance's audio (with pre-roll, without trailing silence) into a speech-to-text session.

use std::collections::VecDeque;

use crate::audio::codec::{CodecError, Decoder16k, LISTEN_FRAME};
use crate::audio::endpoint::{Endpoint, EndpointConfig, Endpointer};
use crate::audio::vad::Vad;
use crate::providers::SttSession;
use crate::turns::completeness::Completeness;
use crate::turns::intonation::Intonation;

/// Audio kept from before an utterance starts, so its first syllable reaches STT.
const PREROLL_FRAMES: usize = 10;

/// One 20 ms frame of the candidate's audio, as it reached the interview.
#[derive(Clone, Copy)]
pub enum Heard<'a> {
    /// A validated Opus packet (the native protocol).
    Opus(&'a [u8]),
    /// 320 samples at 16 kHz (a Realtime client's PCM or G.711, converted at the adapter).
    Pcm(&'a [i16]),
    /// A frame dropped on the way (a full mailbox): concealed.
    Lost,
}

pub enum Hearing {
    /// No utterance in progress.
    Quiet,
    /// An utterance began with this frame.
    Start,
    /// An utterance is in progress.
    Continue,
    /// The utterance ended: finish its STT session. `utterance_ms` leaves out the silence
    /// that ended it. `capped`: at the longest answer allowed, while the candidate was still
    /// speaking.
    End {
        stt: Box<dyn SttSession>,
        speech_ms: u32,
        utterance_ms: u32,
        capped: bool,
    },
    /// What began was too short to be speech; it was dropped.
    Noise,
}

pub struct Ear {
    decoder: Decoder16k,
    vad: Vad,
    endpointer: Endpointer,
    preroll: VecDeque<i16>,
    held: Vec<i16>,
    stt: Option<Box<dyn SttSession>>,
    pub decode_errors: u64,
    meter: Meter,
    /// The intonation cue, where the pauses have no words to judge (`listen_for_intonation`).
    intonation: Option<Box<Intonation>>,
}

/// The input level over a few frames: the loudest frame's mean square, and whether any was
/// speech.
#[derive(Default)]
struct Meter {
    peak: f32,
    speech: bool,
    frames: u32,
}

/// A mean square of 16-bit samples in dBFS (−100 for silence).
fn dbfs(mean_square: f32) -> f32 {
    if mean_square <= 0.0 {
        return -100.0;
    }
    let full = f32::from(i16::MAX);
    (10.0 * (mean_square / (full * full)).log10()).max(-100.0)
}

impl Ear {
    pub fn new(vad_aggressiveness: u8, endpoint: EndpointConfig) -> Result<Self, CodecError> {
        Ok(Self {
            decoder: Decoder16k::new()?,
            vad: Vad::new(vad_aggressiveness),
            endpointer: Endpointer::new(endpoint),
            preroll: VecDeque::with_capacity(PREROLL_FRAMES * LISTEN_FRAME),
            held: Vec::new(),
            stt: None,
            decode_errors: 0,
            meter: Meter::default(),
            intonation: None,
        })
    }

    /// Follows the pitch of the candidate's speech from now on, so a pause can be judged by how
    /// the phrase ended (`turns::intonation`): for a recogniser that gives no words at a pause.
    /// Off, the ear measures no pitch (it costs a correlation per voiced frame).
    pub fn listen_for_intonation(&mut self) {
        self.intonation.get_or_insert_with(Default::default);
    }

    /// How the utterance in progress sounds at its pause: `Unsure` unless intonation is followed.
    pub fn intonation(&self) -> Completeness {
        self.intonation
            .as_ref()
            .map_or(Completeness::Unsure, |i| i.verdict())
    }

    /// The level over the last `frames` frames heard, once that many have been (then it starts
    /// again): `(dBFS, speech heard)`.
    pub fn take_level(&mut self, frames: u32) -> Option<(f32, bool)> {
        if self.meter.frames < frames {
            return None;
        }
        let m = std::mem::take(&mut self.meter);
        Some(((dbfs(m.peak) * 10.0).round() / 10.0, m.speech))
    }

    pub fn in_utterance(&self) -> bool {
        self.stt.is_some()
    }

    /// How long the candidate has been silent within the utterance in progress (`None`: no
    /// utterance, or speech in its last frame).
    pub fn pause_ms(&self) -> Option<u32> {
        let silent = self.endpointer.silence_ms();
        (self.stt.is_some() && silent > 0).then_some(silent)
    }

    /// The utterance in progress up to its last speech frame, in ms.
    pub fn spoken_ms(&self) -> u32 {
        self.endpointer.spoken_ms()
    }

    /// A separate STT session with the utterance's audio so far, where the engine can make one
    /// (see [`SttSession::snapshot`]). In a pause nothing more has been pushed since the last
    /// speech frame, so it transcribes exactly what the turn holds if it ends here.
    pub fn snapshot(&self) -> Option<Box<dyn SttSession>> {
        self.stt.as_ref().and_then(|s| s.snapshot())
    }

    /// Ends the utterance in progress now (the connection dropped mid-answer).
    pub fn cut(&mut self) -> Option<Box<dyn SttSession>> {
        self.endpointer.reset();
        self.held.clear();
        self.stt.take()
    }

    /// Processes one 20 ms frame: a validated Opus packet, PCM at 16 kHz (a Realtime client's
    /// audio, no Opus round trip), or a lost frame (dropped before it reached the interview),
    /// which the decoder conceals so that endpointing keeps counting real time. `start` opens
    /// the STT session when speech begins.
    pub fn hear(
        &mut self,
        heard: Heard<'_>,
        end_silence_ms: u32,
        start: impl FnOnce() -> Box<dyn SttSession>,
    ) -> Hearing {
        let mut frame = [0i16; LISTEN_FRAME];
        let pcm: &[i16] = match heard {
            Heard::Pcm(pcm) => pcm,
            Heard::Opus(_) | Heard::Lost => {
                let decoded = match heard {
                    Heard::Opus(p) => self.decoder.decode(p).map_err(|_| ()),
                    _ => Err(()),
                };
                let pcm = match decoded {
                    Ok(pcm) => pcm,
                    Err(()) => {
                        if matches!(heard, Heard::Opus(_)) {
                            self.decode_errors += 1;
                        }
                        match self.decoder.conceal() {
                            Ok(pcm) => pcm,
                            Err(_) => return Hearing::Quiet,
                        }
                    }
                };
                let n = pcm.len().min(LISTEN_FRAME);
                frame[..n].copy_from_slice(&pcm[..n]);
                &frame[..n]
            }
        };
        let speech = self.vad.is_speech(pcm);
        let square: f32 = pcm
            .iter()
            .map(|&x| f32::from(x) * f32::from(x))
            .sum::<f32>()
            / pcm.len().max(1) as f32;
        self.meter.peak = self.meter.peak.max(square);
        self.meter.speech |= speech;
        self.meter.frames += 1;
        let endpoint = self.endpointer.push(speech, end_silence_ms);
        if let Some(intonation) = self.intonation.as_mut() {
            match endpoint {
                Endpoint::Start => {
                    intonation.start();
                    intonation.hear(pcm, speech);
                }
                Endpoint::None if self.stt.is_some() => intonation.hear(pcm, speech),
                _ => {}
            }
        }
        match endpoint {
            Endpoint::Start => {
                self.preroll.extend(pcm.iter().copied());
                let mut stt = start();
                stt.push(self.preroll.make_contiguous());
                self.preroll.clear();
                self.stt = Some(stt);
                Hearing::Start
            }
            Endpoint::None => match &mut self.stt {
                Some(stt) => {
                    if speech {
                        if !self.held.is_empty() {
                            stt.push(&self.held);
                            self.held.clear();
                        }
                        stt.push(pcm);
                    } else {
                        self.held.extend_from_slice(pcm);
                    }
                    Hearing::Continue
                }
                None => {
                    self.preroll.extend(pcm.iter().copied());
                    let excess = self
                        .preroll
                        .len()
                        .saturating_sub(PREROLL_FRAMES * LISTEN_FRAME);
                    self.preroll.drain(..excess);
                    Hearing::Quiet
                }
            },
            Endpoint::End {
                speech_ms,
                utterance_ms,
                capped,
            } => {
                // The silence that ended it is not part of the answer (a capped one had none).
                let utterance_ms = if capped {
                    utterance_ms
                } else {
                    utterance_ms.saturating_sub(end_silence_ms)
                };
                self.ended(Some((speech_ms, utterance_ms, capped)))
            }
            Endpoint::Noise => self.ended(None),
        }
    }

    /// The client ended its turn (a Realtime `input_audio_buffer.commit`): the utterance in
    /// progress ends now, as if its silence had run out. `Quiet` if none was in progress.
    pub fn commit(&mut self) -> Hearing {
        match self.endpointer.end_now() {
            Endpoint::End {
                speech_ms,
                utterance_ms,
                capped,
            } => self.ended(Some((speech_ms, utterance_ms, capped))),
            Endpoint::Noise => self.ended(None),
            Endpoint::None | Endpoint::Start => Hearing::Quiet,
        }
    }

    /// The utterance ended: `(speech_ms, utterance_ms, capped)`, or `None` for noise.
    fn ended(&mut self, end: Option<(u32, u32, bool)>) -> Hearing {
        self.held.clear();
        match (self.stt.take(), end) {
            (None, _) => Hearing::Quiet,
            (Some(_), None) => Hearing::Noise,
            (Some(stt), Some((speech_ms, utterance_ms, capped))) => Hearing::End {
                stt,
                speech_ms,
                utterance_ms,
                capped,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dbfs;

    #[test]
    fn levels_are_in_dbfs() {
        assert_eq!(dbfs(0.0), -100.0);
        let full = f32::from(i16::MAX);
        assert!(dbfs(full * full).abs() < 0.01);
        // Half the amplitude is about 6 dB down.
        let half = full / 2.0;
        assert!((dbfs(half * half) + 6.02).abs() < 0.05);
    }
}
