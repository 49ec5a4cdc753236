//! The candidate's answer as 20 ms Opus packets at 48 kHz, as a browser would send it.

use std::path::Path;

use anyhow::Context;
use bytes::Bytes;
use viva::audio::codec::FrameEncoder;
use viva::audio::resample::Resampler;
use viva::audio::wav;

const DEFAULT_ANSWER: &str = "I have five years of experience building web applications \
                              with React and TypeScript, mostly for payments.";

/// Encodes a WAV file (or, without one, an espeak-ng sentence) to packets.
pub async fn answer_packets(path: Option<&Path>) -> anyhow::Result<Vec<Bytes>> {
    let bytes = match path {
        Some(p) => std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        None => viva::providers::espeak::speak_wav("en-us", 160, DEFAULT_ANSWER)
            .await
            .context("espeak-ng (install it, or pass --audio FILE)")?,
    };
    let (rate, pcm) = wav::parse(&bytes).context("the answer must be a 16-bit mono WAV")?;
    let mut up = Vec::new();
    Resampler::new(rate, 48_000).process(&pcm, &mut up);
    let mut enc = FrameEncoder::new(48_000, 5, 32_000)?;
    let mut packets = Vec::new();
    enc.push(&up, &mut packets)?;
    enc.finish(&mut packets)?;
    Ok(packets)
}

/// One packet of digital silence (what a muted or quiet microphone sends).
pub fn silence_packet() -> Bytes {
    let mut enc = FrameEncoder::new(48_000, 5, 32_000).expect("encoder");
    let mut packets = Vec::new();
    enc.push(&[0; 960], &mut packets).expect("encode");
    packets.pop().expect("one packet")
}
