//! Minimal RIFF/WAVE reader for 16-bit mono PCM (what espeak-ng and TTS vendors emit).

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum WavError {
    #[error("not a RIFF/WAVE file")]
    NotWav,
    #[error("unsupported WAV format: {0}")]
    Unsupported(String),
    #[error("WAV file has no data chunk")]
    NoData,
}

/// Parses a WAV file, returning its sample rate and samples. A data chunk whose declared size
/// runs past the end (streaming writers leave it unset) is read to the end of the file.
pub fn parse(bytes: &[u8]) -> Result<(u32, Vec<i16>), WavError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(WavError::NotWav);
    }
    let mut pos = 12;
    let mut rate = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let body = pos + 8;
        if id == b"fmt " {
            let fmt = bytes.get(body..body + 16).ok_or(WavError::NotWav)?;
            let format = u16::from_le_bytes([fmt[0], fmt[1]]);
            let channels = u16::from_le_bytes([fmt[2], fmt[3]]);
            let bits = u16::from_le_bytes([fmt[14], fmt[15]]);
            if format != 1 || channels != 1 || bits != 16 {
                return Err(WavError::Unsupported(format!(
                    "format {format}, {channels} channels, {bits} bits"
                )));
            }
            rate = Some(u32::from_le_bytes(fmt[4..8].try_into().unwrap()));
        } else if id == b"data" {
            let rate = rate.ok_or(WavError::NotWav)?;
            let end = body.saturating_add(size).min(bytes.len());
            let samples = bytes[body..end]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
            return Ok((rate, samples));
        }
        pos = body.saturating_add(size + (size & 1));
    }
    Err(WavError::NoData)
}

/// Encodes mono 16-bit PCM as a WAV file (for STT vendors and fixtures).
pub fn encode(rate: u32, samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_streaming_sizes() {
        let wav = encode(22_050, &[1, -2, 3]);
        assert_eq!(parse(&wav).unwrap(), (22_050, vec![1, -2, 3]));
        let mut streaming = wav.clone();
        streaming[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse(&streaming).unwrap(), (22_050, vec![1, -2, 3]));
    }

    #[test]
    fn garbage_is_rejected() {
        assert_eq!(parse(b"hello"), Err(WavError::NotWav));
        let mut stereo = encode(8000, &[0, 0]);
        stereo[22] = 2;
        assert!(matches!(parse(&stereo), Err(WavError::Unsupported(_))));
    }
}
