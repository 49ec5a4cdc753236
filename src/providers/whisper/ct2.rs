//! The Whisper engine: CTranslate2 through ct2rs, int8 on the CPU.
//!
//! ct2rs's high-level `Whisper::generate` takes no initial prompt, so this drives its lower
//! level: the log-mel features (computed as ct2rs computes them, 30 s windows), the decoder
//! prompt (`<|startofprev|>` + the interview's terms, then the task tokens, as OpenAI's Whisper
//! does for `initial_prompt`), and the tokenizer.

use ct2rs::sys::{self, StorageView};
use ct2rs::tokenizers::hf;
use ct2rs::{ComputeType, Config, Device, Tokenizer, WhisperOptions};
use mel_spec::mel::{log_mel_spectrogram, mel, norm_mel};
use mel_spec::stft::Spectrogram;
use ndarray::{s, Array2, Array3};
use serde::Deserialize;

use super::pool::Transcribe;
use super::WhisperSettings;

/// Tokens of previous text Whisper takes at most (half its 448-token context).
const MAX_PROMPT_TOKENS: usize = 223;

pub struct Ct2Whisper {
    model: sys::Whisper,
    tokenizer: hf::Tokenizer,
    features: Features,
    language: Option<String>,
    final_options: WhisperOptions,
    partial_options: WhisperOptions,
}

/// `preprocessor_config.json`: how audio becomes the model's input.
#[derive(Deserialize)]
struct Preprocessor {
    feature_size: usize,
    hop_length: usize,
    n_fft: usize,
    n_samples: usize,
    nb_max_frames: usize,
    sampling_rate: usize,
    #[serde(default)]
    mel_filters: Option<Vec<Vec<f64>>>,
}

struct Features {
    p: Preprocessor,
    filters: Array2<f64>,
}

impl Features {
    fn load(dir: &std::path::Path) -> Result<Self, String> {
        let path = dir.join("preprocessor_config.json");
        let p: Preprocessor = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
            .map_err(|e| format!("could not read {}: {e}", path.display()))?;
        let filters = match &p.mel_filters {
            Some(rows) => {
                let cols = rows.first().map_or(0, Vec::len);
                Array2::from_shape_vec((rows.len(), cols), rows.concat())
                    .map_err(|e| format!("{}: mel_filters: {e}", path.display()))?
            }
            None => mel(
                p.sampling_rate as f64,
                p.n_fft,
                p.feature_size,
                None,
                None,
                false,
                true,
            ),
        };
        Ok(Self { p, filters })
    }

    /// Log-mel features of each 30 s window: (windows, mels, frames).
    fn of(&self, samples: &[f32]) -> Array3<f32> {
        let p = &self.p;
        let windows = samples.len().div_ceil(p.n_samples);
        let mut out = Array3::<f32>::zeros((windows, p.feature_size, p.nb_max_frames));
        let mut stft = Spectrogram::new(p.n_fft, p.hop_length);
        for (w, window) in samples.chunks(p.n_samples).enumerate() {
            for (i, hop) in window.chunks(p.hop_length).enumerate() {
                if let Some(fft) = stft.add(hop) {
                    let frame = norm_mel(&log_mel_spectrogram(&fft, &self.filters));
                    out.slice_mut(s![w, .., i])
                        .assign(&frame.slice(s![.., 0]).mapv(|v| v as f32));
                }
            }
        }
        out
    }
}

impl Ct2Whisper {
    pub fn load(s: &WhisperSettings) -> Result<Self, String> {
        let config = Config {
            device: Device::CPU,
            compute_type: ComputeType::INT8,
            num_threads_per_replica: s.threads.max(1),
            ..Config::default()
        };
        let damaged = |e: &dyn std::fmt::Display| {
            format!(
                "could not load the Whisper model at {}: {e:#} (a damaged download? run scripts/fetch-whisper.sh)",
                s.model_dir.display()
            )
        };
        let model = sys::Whisper::new(&s.model_dir, config).map_err(|e| damaged(&e))?;
        let mut tokenizer = hf::Tokenizer::new(&s.model_dir).map_err(|e| damaged(&e))?;
        // The prompt's text is encoded bare; the task tokens are added here.
        tokenizer.disable_spacial_token();
        let features = Features::load(&s.model_dir)?;
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
            tokenizer,
            features,
            language,
            final_options,
            partial_options,
        })
    }

    /// The decoder's prompt: previous text (the terms), then the task.
    fn prompt(&self, language: &str, previous: Option<&str>) -> Result<Vec<String>, String> {
        let mut tokens = Vec::new();
        if let Some(text) = previous.map(str::trim).filter(|t| !t.is_empty()) {
            let encoded = self
                .tokenizer
                .encode(&format!(" {text}"))
                .map_err(|e| format!("could not encode the prompt: {e:#}"))?;
            tokens.push("<|startofprev|>".to_owned());
            let keep = encoded.len().saturating_sub(MAX_PROMPT_TOKENS);
            tokens.extend(encoded.into_iter().skip(keep));
        }
        tokens.extend([
            "<|startoftranscript|>".to_owned(),
            language.to_owned(),
            "<|transcribe|>".to_owned(),
            "<|notimestamps|>".to_owned(),
        ]);
        Ok(tokens)
    }

    fn language_token(&self, features: &StorageView) -> Result<String, String> {
        if let Some(l) = &self.language {
            return Ok(format!("<|{l}|>"));
        }
        let detected = self
            .model
            .detect_language(features)
            .map_err(|e| format!("language detection failed: {e:#}"))?;
        detected
            .into_iter()
            .next()
            .and_then(|d| d.into_iter().next())
            .map(|d| d.language)
            .ok_or_else(|| "language detection found nothing".to_owned())
    }
}

impl Transcribe for Ct2Whisper {
    fn transcribe(
        &self,
        samples: &[f32],
        partial: bool,
        previous: Option<&str>,
    ) -> Result<String, String> {
        if samples.is_empty() {
            return Ok(String::new());
        }
        let options = if partial {
            &self.partial_options
        } else {
            &self.final_options
        };
        let mut mel = self.features.of(samples);
        let shape = mel.shape().to_vec();
        let windows = shape[0];
        let data = mel
            .as_slice_mut()
            .ok_or_else(|| "features are not contiguous".to_owned())?;
        let features = StorageView::new(&shape, data, Device::CPU)
            .map_err(|e| format!("could not hold the features: {e:#}"))?;
        let language = self.language_token(&features)?;
        let prompt = self.prompt(&language, previous)?;
        let results = self
            .model
            .generate(&features, &vec![prompt; windows], options)
            .map_err(|e| format!("transcription failed: {e:#}"))?;
        let mut text = Vec::with_capacity(windows);
        for r in results {
            let tokens = r.sequences.into_iter().next().unwrap_or_default();
            let chunk = self
                .tokenizer
                .decode(tokens)
                .map_err(|e| format!("could not decode the transcript: {e:#}"))?;
            let chunk = chunk.trim();
            if !chunk.is_empty() {
                text.push(chunk.to_owned());
            }
        }
        Ok(text.join(" "))
    }
}
