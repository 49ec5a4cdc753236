//! Audio as a client sends it: 20 ms, 48 kHz mono Opus packets. One place for the load tester,
//! the tests and the benches to turn a WAV (e.g. from espeak-ng) into what a browser would send.

use bytes::Bytes;
use thiserror::Error;

use super::codec::{CodecError, FrameEncoder};
use super::resample::Resampler;
use super::wav::{self, WavError};

/// Complexity and bitrate a browser's WebCodecs encoder would plausibly use.
const COMPLEXITY: i32 = 5;
const BITRATE: i32 = 32_000;

#[derive(Debug, Error)]
pub enum ClientAudioError {
    #[error(transparent)]
    Wav(#[from] WavError),
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// A 16-bit mono WAV resampled to 48 kHz.
pub fn wav_to_48k(wav_bytes: &[u8]) -> Result<Vec<i16>, WavError> {
    let (rate, pcm) = wav::parse(wav_bytes)?;
    let mut out = Vec::with_capacity(pcm.len() * 48_000 / rate.max(1) as usize + 1);
    Resampler::new(rate, 48_000).process(&pcm, &mut out);
    Ok(out)
}

/// A 16-bit mono WAV as 20 ms Opus packets (the last one padded with silence).
pub fn wav_to_packets(wav_bytes: &[u8]) -> Result<Vec<Bytes>, ClientAudioError> {
    let pcm = wav_to_48k(wav_bytes)?;
    let mut enc = FrameEncoder::new(48_000, COMPLEXITY, BITRATE)?;
    let mut packets = Vec::new();
    enc.push(&pcm, &mut packets)?;
    enc.finish(&mut packets)?;
    Ok(packets)
}

/// One packet of digital silence (what a quiet or muted microphone sends).
pub fn silence_packet() -> Bytes {
    let mut enc = FrameEncoder::new(48_000, COMPLEXITY, BITRATE).expect("valid encoder settings");
    let mut packets = Vec::new();
    enc.push(&[0; 960], &mut packets).expect("encoding silence");
    packets.pop().expect("one 20 ms packet")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wav_becomes_20ms_packets() {
        // 0.5 s at 16 kHz: 25 packets.
        let wav_bytes = wav::encode(16_000, &vec![1000; 8_000]);
        let packets = wav_to_packets(&wav_bytes).unwrap();
        assert_eq!(packets.len(), 25);
        for p in &packets {
            crate::audio::packet::check_20ms(p).unwrap();
        }
        crate::audio::packet::check_20ms(&silence_packet()).unwrap();
        assert!(wav_to_packets(b"junk").is_err());
    }
}
