//! Offline TTS with the `espeak-ng` program: real speech, no network, no keys.

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::{ProviderError, ProviderResult, TtsAudio, TtsProvider};
use crate::audio::wav;

pub struct EspeakTts {
    name: String,
    wpm: u32,
    /// Voice and rate, e.g. `en-us@165` (the cache key of this voice).
    voice: String,
}

impl EspeakTts {
    pub fn new(voice: String, wpm: u32) -> Self {
        Self {
            voice: format!("{voice}@{wpm}"),
            name: voice,
            wpm,
        }
    }
}

fn err(message: impl Into<String>) -> ProviderError {
    ProviderError::new("espeak-ng", message)
}

/// Runs espeak-ng on `text` (passed on stdin, never as an argument) and returns the WAV bytes.
pub async fn speak_wav(voice: &str, wpm: u32, text: &str) -> ProviderResult<Vec<u8>> {
    let mut child = Command::new("espeak-ng")
        .args(["-v", voice, "-s", &wpm.to_string(), "--stdout"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| err(format!("cannot run espeak-ng: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let text = text.to_owned();
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(text.as_bytes()).await;
        let _ = stdin.shutdown().await;
    });
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| err(format!("espeak-ng failed: {e}")))?;
    let _ = writer.await;
    if !out.status.success() {
        return Err(err(format!(
            "espeak-ng exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

#[async_trait]
impl TtsProvider for EspeakTts {
    fn name(&self) -> &str {
        "espeak-ng"
    }

    fn voice(&self) -> &str {
        &self.voice
    }

    async fn synthesize(&self, text: &str) -> ProviderResult<TtsAudio> {
        let bytes = speak_wav(&self.name, self.wpm, text).await?;
        let (sample_rate, samples) = wav::parse(&bytes).map_err(|e| err(e.to_string()))?;
        Ok(TtsAudio::Pcm {
            sample_rate,
            chunks: Box::pin(futures_util::stream::iter([Ok(samples)])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn synthesizes_real_speech() {
        let tts = EspeakTts::new("en-us".into(), 170);
        let audio = tts.synthesize("Tell me about yourself.").await.unwrap();
        let TtsAudio::Pcm {
            sample_rate,
            mut chunks,
        } = audio
        else {
            panic!("espeak-ng speaks PCM");
        };
        assert_eq!(sample_rate, 22_050);
        let pcm = chunks.next().await.unwrap().unwrap();
        // About a second of audio that is not silence.
        assert!(pcm.len() > 11_000, "{} samples", pcm.len());
        assert!(pcm.iter().any(|s| s.unsigned_abs() > 1000));
    }
}
