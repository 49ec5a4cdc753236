//! Word error rate of spoken technical answers, without and with the interview's vocabulary
//! (`tests/fixtures/technical-answers.json`): shared by `tests/whisper.rs` (a short version) and
//! `examples/vocabulary_wer.rs` (the figure in docs/benchmarks.md, `scripts/vocabulary-wer.sh`).

use std::collections::BTreeMap;

use viva::audio::resample::Resampler;
use viva::providers::whisper::pool::Transcribe;
use viva::providers::Vocabulary;

/// Lower-case words without punctuation; number words as digits (Whisper writes "5 years").
pub fn words(text: &str) -> Vec<String> {
    const NUMBERS: [&str; 11] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    text.split_whitespace()
        .map(|w| {
            let w: String = w
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .flat_map(char::to_lowercase)
                .collect();
            match NUMBERS.iter().position(|n| *n == w) {
                Some(i) => i.to_string(),
                None => w,
            }
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word error rate: word-level edit distance over the reference length.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    edits(reference, hypothesis) as f64 / words(reference).len().max(1) as f64
}

/// Word-level edit distance (substitutions, insertions, deletions).
pub fn edits(reference: &str, hypothesis: &str) -> usize {
    let (r, h) = (words(reference), words(hypothesis));
    let mut row: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, hw) in h.iter().enumerate() {
            let next = (diag + usize::from(rw != hw))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[h.len()]
}

/// One spoken answer and the vocabulary of its interview.
pub struct Case {
    pub job: String,
    pub text: String,
    pub vocabulary: Vocabulary,
}

/// The fixture's answers, each with the vocabulary of the plan built for its job.
pub fn cases() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/technical-answers.json"
    );
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut vocabularies = BTreeMap::new();
    for (name, job) in fixture["jobs"].as_object().unwrap() {
        let skills: Vec<String> = job["skills"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        let plan = viva::plan::build(&viva::plan::PlanInput {
            role: job["title"].as_str().unwrap(),
            skills: &skills,
            questions: 6,
            ..Default::default()
        });
        vocabularies.insert(name.clone(), viva::plan::vocabulary::of(&plan));
    }
    fixture["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let job = a["job"].as_str().unwrap().to_owned();
            Case {
                vocabulary: vocabularies[&job].clone(),
                text: a["text"].as_str().unwrap().to_owned(),
                job,
            }
        })
        .collect()
}

/// The answer as the server hands it to speech recognition: espeak-ng speech, 16 kHz, in [-1, 1].
pub async fn spoken(text: &str) -> Vec<f32> {
    let wav = viva::providers::espeak::speak_wav("en-us", 160, text)
        .await
        .unwrap();
    let (rate, pcm) = viva::audio::wav::parse(&wav).unwrap();
    let mut pcm16 = Vec::new();
    Resampler::new(rate, 16_000).process(&pcm, &mut pcm16);
    pcm16.iter().map(|&s| f32::from(s) / 32_768.0).collect()
}

/// One answer heard both ways.
pub struct Heard {
    pub reference: String,
    pub plain: String,
    pub biased: String,
    /// Seconds each transcription took (without, with).
    pub secs: (f64, f64),
}

impl Heard {
    pub fn reference_words(&self) -> usize {
        words(&self.reference).len()
    }
}

/// Transcribes each case without and with its vocabulary (final transcripts).
pub async fn hear(engine: &dyn Transcribe, cases: &[Case]) -> Vec<Heard> {
    let mut out = Vec::new();
    for case in cases {
        let samples = spoken(&case.text).await;
        let started = std::time::Instant::now();
        let plain = engine.transcribe(&samples, false, None).unwrap();
        let plain_secs = started.elapsed().as_secs_f64();
        let prompt = case.vocabulary.prompt().map(|p| p.to_string());
        let started = std::time::Instant::now();
        let biased = engine
            .transcribe(&samples, false, prompt.as_deref())
            .unwrap();
        out.push(Heard {
            reference: case.text.clone(),
            plain,
            biased,
            secs: (plain_secs, started.elapsed().as_secs_f64()),
        });
    }
    out
}

/// Total word error rate (all edits over all reference words), without and with.
pub fn totals(heard: &[Heard]) -> (f64, f64) {
    let n = heard
        .iter()
        .map(Heard::reference_words)
        .sum::<usize>()
        .max(1) as f64;
    let plain: usize = heard.iter().map(|h| edits(&h.reference, &h.plain)).sum();
    let biased: usize = heard.iter().map(|h| edits(&h.reference, &h.biased)).sum();
    (plain as f64 / n, biased as f64 / n)
}

/// The plan's terms said in the answers, and how many were written as the plan spells them,
/// without and with the vocabulary: (said, without, with).
pub fn terms_heard(cases: &[Case], heard: &[Heard]) -> (usize, usize, usize) {
    let (mut said, mut plain, mut biased) = (0, 0, 0);
    for (case, h) in cases.iter().zip(heard) {
        for term in case.vocabulary.terms() {
            if h.reference.contains(term.as_str()) {
                said += 1;
                plain += usize::from(h.plain.contains(term.as_str()));
                biased += usize::from(h.biased.contains(term.as_str()));
            }
        }
    }
    (said, plain, biased)
}
