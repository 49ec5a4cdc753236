//! Audio a Realtime client sends (`input_audio_buffer.append`: base64 PCM16 24 kHz, or G.711
//! μ-law / A-law at 8 kHz) as the 16 kHz samples the interviewer's ear hears — no Opus round
//! trip. Streaming: a resampler per connection keeps its phase across appends.

use base64::Engine as _;

use super::g711;
use super::resample::Resampler;
use crate::protocol::realtime::{InputFormat, RealtimeError};

/// The rate the ear listens at.
pub const LISTEN_HZ: u32 = 16_000;
/// Largest append accepted (base64 characters): ~1 s of 24 kHz PCM16. Clients stream in 20–100
/// ms chunks; OpenAI's own limit (15 MiB) would let one message hold minutes of audio.
pub const MAX_APPEND_CHARS: usize = 64 * 1024;

/// One connection's input decoder.
pub struct PcmIn {
    format: InputFormat,
    resampler: Resampler,
    /// An odd byte of PCM16 left from the last append (a sample split across two).
    carry: Option<u8>,
}

impl PcmIn {
    pub fn new(format: InputFormat) -> Self {
        Self {
            format,
            resampler: Resampler::new(format.rate(), LISTEN_HZ),
            carry: None,
        }
    }

    pub fn format(&self) -> InputFormat {
        self.format
    }

    /// Decodes one append, appending 16 kHz samples to `out`.
    pub fn push(&mut self, audio_b64: &str, out: &mut Vec<i16>) -> Result<(), RealtimeError> {
        if audio_b64.len() > MAX_APPEND_CHARS {
            return Err(RealtimeError::invalid(
                "audio_too_large",
                &format!(
                    "one append carries at most {MAX_APPEND_CHARS} base64 characters (about a second); send audio as it is captured"
                ),
                Some("audio"),
            ));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(audio_b64)
            .map_err(|_| {
                RealtimeError::invalid("invalid_audio", "audio is not valid base64", Some("audio"))
            })?;
        let samples: Vec<i16> = match self.format {
            InputFormat::Pcm16 => {
                let mut all = Vec::with_capacity(bytes.len() + 1);
                all.extend(self.carry.take());
                all.extend_from_slice(&bytes);
                if all.len() % 2 == 1 {
                    self.carry = all.pop();
                }
                all.chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]))
                    .collect()
            }
            InputFormat::Pcmu => bytes.iter().map(|b| g711::ulaw_to_linear(*b)).collect(),
            InputFormat::Pcma => bytes.iter().map(|b| g711::alaw_to_linear(*b)).collect(),
        };
        self.resampler.process(&samples, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn tone(rate: u32, ms: u32) -> Vec<i16> {
        let n = rate * ms / 1000;
        (0..n)
            .map(|i| {
                let t = f64::from(i) / f64::from(rate);
                (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn pcm16_at_24_khz_becomes_16_khz_of_the_same_length_across_split_appends() {
        let pcm = tone(24_000, 1000);
        let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
        let mut input = PcmIn::new(InputFormat::Pcm16);
        let mut out = Vec::new();
        // Appends of odd sizes: samples split across two appends are put back together.
        for chunk in bytes.chunks(4801) {
            input.push(&b64(chunk), &mut out).unwrap();
        }
        let ms = out.len() as f64 / 16.0;
        assert!((ms - 1000.0).abs() <= 1.0, "{ms} ms");
        // Still the tone: as loud as it went in.
        let peak = out.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((7500..=8000).contains(&peak), "{peak}");
    }

    #[test]
    fn g711_at_8_khz_is_decoded_and_doubled_in_rate() {
        // Silence in both laws, 100 ms.
        for (format, silent) in [(InputFormat::Pcmu, 0xFFu8), (InputFormat::Pcma, 0xD5u8)] {
            let mut input = PcmIn::new(format);
            let mut out = Vec::new();
            input.push(&b64(&[silent; 800]), &mut out).unwrap();
            assert!((out.len() as i64 - 1600).abs() <= 2, "{}", out.len());
            assert!(out.iter().all(|s| s.abs() <= 8));
        }
    }

    #[test]
    fn bad_audio_is_refused_with_a_reason() {
        let mut input = PcmIn::new(InputFormat::Pcm16);
        let mut out = Vec::new();
        let err = input.push("not base64!", &mut out).unwrap_err();
        assert_eq!(err.code, "invalid_audio");
        let big = "A".repeat(MAX_APPEND_CHARS + 4);
        assert_eq!(
            input.push(&big, &mut out).unwrap_err().code,
            "audio_too_large"
        );
        assert!(out.is_empty(), "nothing taken from a refused append");
    }
}
