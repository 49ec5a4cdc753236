//! The Whisper engine: CTranslate2 through ct2rs, int8 on the CPU.

use ct2rs::{ComputeType, Config, Device, Whisper, WhisperOptions};

use super::pool::Transcribe;
use super::WhisperSettings;

pub struct Ct2Whisper {
    model: Whisper,
    language: Option<String>,
    final_options: WhisperOptions,
    partial_options: WhisperOptions,
}

impl Ct2Whisper {
    pub fn load(s: &WhisperSettings) -> Result<Self, String> {
        let config = Config {
            device: Device::CPU,
            compute_type: ComputeType::INT8,
            num_threads_per_replica: s.threads.max(1),
            ..Config::default()
        };
        let model = Whisper::new(&s.model_dir, config).map_err(|e| {
            format!(
                "could not load the Whisper model at {}: {e:#} (a damaged download? run scripts/fetch-whisper.sh)",
                s.model_dir.display()
            )
        })?;
        let language = match s.language.trim() {
            "" | "auto" => None,
            l => Some(l.to_owned()),
        };
        let final_options = WhisperOptions {
            beam_size: s.beam.max(1),
            ..WhisperOptions::default()
        };
        let partial_options = WhisperOptions {
            beam_size: 1,
            ..WhisperOptions::default()
        };
        Ok(Self {
            model,
            language,
            final_options,
            partial_options,
        })
    }
}

impl Transcribe for Ct2Whisper {
    fn transcribe(&self, samples: &[f32], partial: bool) -> Result<String, String> {
        let options = if partial {
            &self.partial_options
        } else {
            &self.final_options
        };
        let chunks = self
            .model
            .generate(samples, self.language.as_deref(), false, options)
            .map_err(|e| format!("transcription failed: {e:#}"))?;
        Ok(chunks
            .iter()
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
            .collect::<Vec<_>>()
            .join(" "))
    }
}
