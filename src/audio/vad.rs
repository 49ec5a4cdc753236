//! Voice activity detection: WebRTC's GMM VAD (libfvad) on 20 ms frames at 16 kHz.

use super::codec::LISTEN_FRAME;

/// WebRTC VAD for 20 ms frames at 16 kHz.
pub struct Vad {
    inner: webrtc_vad::Vad,
}

// SAFETY: `webrtc_vad::Vad` owns a heap-allocated libfvad instance (a raw pointer, hence !Send).
// libfvad keeps no thread-local or global state; the instance is only ever used through `&mut self`,
// so moving it to another thread between calls is sound. It is deliberately not `Sync`.
unsafe impl Send for Vad {}

impl Vad {
    /// `aggressiveness` 0 (most permissive) to 3 (most aggressive about calling frames non-speech).
    pub fn new(aggressiveness: u8) -> Self {
        use webrtc_vad::{SampleRate, VadMode};
        let mode = match aggressiveness {
            0 => VadMode::Quality,
            1 => VadMode::LowBitrate,
            2 => VadMode::Aggressive,
            _ => VadMode::VeryAggressive,
        };
        Self {
            inner: webrtc_vad::Vad::new_with_rate_and_mode(SampleRate::Rate16kHz, mode),
        }
    }

    /// Whether a 20 ms frame (320 samples at 16 kHz) contains speech. Frames of any other size
    /// (which the decoder never produces) count as non-speech.
    pub fn is_speech(&mut self, frame: &[i16]) -> bool {
        frame.len() == LISTEN_FRAME && self.inner.is_voice_segment(frame).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digital_silence_is_not_speech() {
        let mut vad = Vad::new(2);
        assert!(!vad.is_speech(&[0; LISTEN_FRAME]));
        assert!(!vad.is_speech(&[0; 100]));
    }
}
