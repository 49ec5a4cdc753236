//! The interviewer's voice as 20 ms Opus packets, from either kind of synthesised speech:
//!
//! - [`PcmVoice`]: PCM at the vendor's rate → resampled to an Opus rate → encoded (~116 µs per
//!   frame at complexity 3: see docs/benchmarks.md).
//! - [`OpusVoice`]: Opus packets a vendor streamed (Ogg demuxed by [`super::ogg`]) pass through
//!   untouched when each is one mono 20 ms packet, costing no encoder time; a stream that does
//!   not fit (40/60 ms packets, stereo) is decoded and re-encoded from the first misfit on.

use bytes::Bytes;
use thiserror::Error;

use super::codec::{CodecError, FrameEncoder};
use super::packet::{self, PacketError};
use super::resample::Resampler;

#[derive(Debug, Error)]
pub enum VoiceError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The vendor sent something that is not an Opus packet.
    #[error("vendor Opus packet: {0}")]
    Packet(#[from] PacketError),
}

impl From<opus::Error> for VoiceError {
    fn from(e: opus::Error) -> Self {
        Self::Codec(e.into())
    }
}

/// Opus encoder settings of the interviewer's voice.
#[derive(Debug, Clone, Copy)]
pub struct VoiceSettings {
    pub complexity: i32,
    pub bitrate_bps: i32,
}

/// The rate the voice is encoded at when the vendor's rate is not one Opus takes.
const DEFAULT_RATE: u32 = 24_000;

/// PCM → 20 ms Opus.
pub struct PcmVoice {
    resampler: Resampler,
    encoder: FrameEncoder,
    pcm: Vec<i16>,
}

impl PcmVoice {
    pub fn new(sample_rate: u32, voice: VoiceSettings) -> Result<Self, CodecError> {
        let opus_rate = match sample_rate {
            r @ (8_000 | 12_000 | 16_000 | 24_000 | 48_000) => r,
            _ => DEFAULT_RATE,
        };
        Ok(Self {
            resampler: Resampler::new(sample_rate, opus_rate),
            encoder: FrameEncoder::new(opus_rate, voice.complexity, voice.bitrate_bps)?,
            pcm: Vec::new(),
        })
    }

    pub fn push(&mut self, chunk: &[i16], frames: &mut Vec<Bytes>) -> Result<(), CodecError> {
        self.pcm.clear();
        self.resampler.process(chunk, &mut self.pcm);
        self.encoder.push(&self.pcm, frames)
    }

    pub fn finish(&mut self, frames: &mut Vec<Bytes>) -> Result<(), CodecError> {
        self.encoder.finish(frames)
    }
}

/// How a sentence's vendor Opus was carried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpusCarried {
    /// Packets sent as the vendor made them.
    pub passed: u64,
    /// Frames re-encoded because the vendor's packets did not fit.
    pub reencoded: u64,
}

/// Vendor Opus → 20 ms Opus, untouched where it fits.
pub struct OpusVoice {
    voice: VoiceSettings,
    /// Set from the first packet that does not fit: its decoder and the re-encoding voice.
    reencode: Option<(opus::Decoder, PcmVoice, Vec<i16>)>,
    pub carried: OpusCarried,
}

impl OpusVoice {
    pub fn new(voice: VoiceSettings) -> Self {
        Self {
            voice,
            reencode: None,
            carried: OpusCarried::default(),
        }
    }

    /// Whether a packet can go to the client as it is: valid, mono, one 20 ms packet.
    pub fn fits(p: &[u8]) -> bool {
        let mono = p.first().is_some_and(|toc| toc & 0x04 == 0);
        mono && packet::check_20ms(p).is_ok()
    }

    pub fn push(&mut self, p: Bytes, frames: &mut Vec<Bytes>) -> Result<(), VoiceError> {
        if self.reencode.is_none() && Self::fits(&p) {
            self.carried.passed += 1;
            frames.push(p);
            return Ok(());
        }
        // Not Opus at all is refused here, never handed to the C decoder.
        packet::inspect(&p)?;
        if self.reencode.is_none() {
            let decoder = opus::Decoder::new(DEFAULT_RATE, opus::Channels::Mono)?;
            let voice = PcmVoice::new(DEFAULT_RATE, self.voice)?;
            // Room for the longest packet (120 ms).
            self.reencode = Some((decoder, voice, vec![0; DEFAULT_RATE as usize * 120 / 1000]));
        }
        let (decoder, voice, pcm) = self.reencode.as_mut().expect("set above");
        let n = decoder.decode(&p, pcm, false)?;
        let before = frames.len();
        voice.push(&pcm[..n], frames)?;
        self.carried.reencoded += (frames.len() - before) as u64;
        Ok(())
    }

    pub fn finish(&mut self, frames: &mut Vec<Bytes>) -> Result<(), VoiceError> {
        if let Some((_, voice, _)) = self.reencode.as_mut() {
            let before = frames.len();
            voice.finish(frames)?;
            self.carried.reencoded += (frames.len() - before) as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::codec::Decoder16k;

    const VOICE: VoiceSettings = VoiceSettings {
        complexity: 3,
        bitrate_bps: 24_000,
    };

    fn tone(rate: u32, ms: u32) -> Vec<i16> {
        (0..(rate * ms / 1000) as usize)
            .map(|i| {
                ((i as f32 * 330.0 * std::f32::consts::TAU / rate as f32).sin() * 7000.0) as i16
            })
            .collect()
    }

    /// Packets of `frame_ms` from a real encoder.
    fn encoded(frame_ms: u32, channels: opus::Channels, ms: u32) -> Vec<Bytes> {
        let mut enc =
            opus::Encoder::new(48_000, channels, opus::Application::Voip).expect("encoder");
        let n = 48 * frame_ms as usize;
        let width = if channels == opus::Channels::Stereo {
            2
        } else {
            1
        };
        let pcm: Vec<i16> = tone(48_000, ms)
            .into_iter()
            .flat_map(|s| std::iter::repeat_n(s, width))
            .collect();
        pcm.chunks_exact(n * width)
            .map(|f| Bytes::from(enc.encode_vec(f, 4000).expect("encode")))
            .collect()
    }

    fn energy(frames: &[Bytes]) -> f64 {
        let mut dec = Decoder16k::new().unwrap();
        frames
            .iter()
            .map(|f| {
                packet::check_20ms(f).expect("a 20 ms packet");
                dec.decode(f)
                    .unwrap()
                    .iter()
                    .map(|s| f64::from(*s).powi(2))
                    .sum::<f64>()
            })
            .sum()
    }

    #[test]
    fn mono_20ms_packets_pass_through_untouched() {
        let vendor = encoded(20, opus::Channels::Mono, 400);
        let mut v = OpusVoice::new(VOICE);
        let mut out = Vec::new();
        for p in &vendor {
            v.push(p.clone(), &mut out).unwrap();
        }
        v.finish(&mut out).unwrap();
        assert_eq!(out, vendor);
        assert_eq!(
            v.carried,
            OpusCarried {
                passed: 20,
                reencoded: 0
            }
        );
    }

    #[test]
    fn packets_that_do_not_fit_are_reencoded_as_20ms_frames() {
        for (frame_ms, channels) in [(60, opus::Channels::Mono), (20, opus::Channels::Stereo)] {
            let vendor = encoded(frame_ms, channels, 600);
            let mut v = OpusVoice::new(VOICE);
            let mut out = Vec::new();
            for p in &vendor {
                v.push(p.clone(), &mut out).unwrap();
            }
            v.finish(&mut out).unwrap();
            assert_eq!(v.carried.passed, 0, "{frame_ms} ms {channels:?}");
            assert_eq!(out.len(), 30, "600 ms as 20 ms frames");
            assert_eq!(v.carried.reencoded, 30);
            assert!(energy(&out) > 1e6, "the re-encoded voice is not silent");
        }
    }

    #[test]
    fn garbage_is_refused_before_the_decoder() {
        let mut v = OpusVoice::new(VOICE);
        let mut out = Vec::new();
        // Code 3 with zero frames: invalid (R5).
        assert!(v.push(Bytes::from_static(&[0x0b, 0x00]), &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn pcm_is_encoded_at_an_opus_rate() {
        let mut v = PcmVoice::new(22_050, VOICE).unwrap();
        let mut out = Vec::new();
        v.push(&tone(22_050, 300), &mut out).unwrap();
        v.finish(&mut out).unwrap();
        assert_eq!(out.len(), 15);
        assert!(energy(&out) > 1e6);
    }
}
