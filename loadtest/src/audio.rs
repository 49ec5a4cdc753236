//! The candidate's answer as 20 ms Opus packets at 48 kHz, as a browser would send it.

use std::path::Path;

use anyhow::Context;
use bytes::Bytes;
pub use viva::audio::client::silence_packet;

const DEFAULT_ANSWER: &str = "I have five years of experience building web applications \
                              with React and TypeScript, mostly for payments.";

/// Encodes a WAV file (or, without one, an espeak-ng sentence) to packets.
pub async fn answer_packets(path: Option<&Path>) -> anyhow::Result<Vec<Bytes>> {
    let bytes = answer_wav(path).await?;
    viva::audio::client::wav_to_packets(&bytes).context("the answer must be a 16-bit mono WAV")
}

/// The same answer as 48 kHz PCM (for the Realtime client, which sends PCM16).
pub async fn answer_pcm48(path: Option<&Path>) -> anyhow::Result<Vec<i16>> {
    let bytes = answer_wav(path).await?;
    viva::audio::client::wav_to_48k(&bytes).context("the answer must be a 16-bit mono WAV")
}

async fn answer_wav(path: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    Ok(match path {
        Some(p) => std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        None => viva::providers::espeak::speak_wav("en-us", 160, DEFAULT_ANSWER)
            .await
            .context("espeak-ng (install it, or pass --audio FILE)")?,
    })
}
