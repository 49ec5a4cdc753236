//! The interviewer voice's Opus complexity: encoder time against quality (issue #19).
//!
//! Real speech (espeak-ng, three interviewer sentences) goes the way the server encodes a PCM
//! vendor's voice (`audio::voice::PcmVoice`: 22.05 → 24 kHz, 24 kb/s), at each complexity, and
//! comes back through the decoder a listener's path uses. Printed per complexity: encoder time
//! per 20 ms frame (a release build means something: `scripts/opus-complexity.sh`) and how
//! closely the decoded loudness envelope follows the original. The script adds PESQ (ITU-T
//! P.862.2 wideband MOS-LQO) from the WAVs this writes when `OPUS_COMPLEXITY_WAVS` is a folder.
//!
//! `OPUS_COMPLEXITIES` (default `0,3,10`) picks the complexities; the test command runs these
//! three, the script all eleven.

use std::time::Instant;

use viva::audio::codec::{Decoder16k, LISTEN_RATE};
use viva::audio::resample::Resampler;
use viva::audio::voice::{PcmVoice, VoiceSettings};
use viva::audio::wav;

const SENTENCES: &str = "Thanks for walking me through that. Tell me about a system you \
designed that had to stay fast under load. What would you measure first, and why?";

/// Loudness (RMS) of each 20 ms frame at 16 kHz.
fn envelope(pcm: &[i16]) -> Vec<f64> {
    pcm.chunks(320)
        .map(|f| (f.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / f.len() as f64).sqrt())
        .collect()
}

/// Pearson correlation of two envelopes, at the best lag within ±5 frames (codec delay).
fn follows(a: &[f64], b: &[f64]) -> f64 {
    (-5i64..=5)
        .map(|lag| {
            let pairs: Vec<(f64, f64)> = (0..a.len())
                .filter_map(|i| {
                    let j = i as i64 + lag;
                    (j >= 0 && (j as usize) < b.len()).then(|| (a[i], b[j as usize]))
                })
                .collect();
            let n = pairs.len() as f64;
            let (ma, mb) = pairs
                .iter()
                .fold((0.0, 0.0), |(x, y), (p, q)| (x + p / n, y + q / n));
            let cov: f64 = pairs.iter().map(|(p, q)| (p - ma) * (q - mb)).sum();
            let va: f64 = pairs.iter().map(|(p, _)| (p - ma).powi(2)).sum();
            let vb: f64 = pairs.iter().map(|(_, q)| (q - mb).powi(2)).sum();
            cov / (va * vb).sqrt()
        })
        .fold(f64::MIN, f64::max)
}

#[tokio::test]
async fn each_complexity_keeps_the_speech_and_costs_what_it_costs() {
    let wav_bytes = viva::providers::espeak::speak_wav("en-us", 165, SENTENCES)
        .await
        .expect("espeak-ng speaks");
    let (rate, speech) = wav::parse(&wav_bytes).unwrap();
    let mut reference = Vec::new();
    Resampler::new(rate, LISTEN_RATE).process(&speech, &mut reference);
    let wavs = std::env::var("OPUS_COMPLEXITY_WAVS").ok();
    if let Some(dir) = &wavs {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            format!("{dir}/reference.wav"),
            wav::encode(LISTEN_RATE, &reference),
        )
        .unwrap();
    }
    let complexities: Vec<i32> = std::env::var("OPUS_COMPLEXITIES")
        .unwrap_or_else(|_| "0,3,10".into())
        .split(',')
        .map(|c| c.trim().parse().expect("a complexity 0-10"))
        .collect();
    let voice = |complexity| VoiceSettings {
        complexity,
        bitrate_bps: 24_000,
    };
    println!(
        "opus complexity: {:.1} s of espeak-ng speech, 24 kHz, 24 kb/s",
        speech.len() as f64 / f64::from(rate)
    );
    println!(
        "| complexity | encode µs per 20 ms frame (best of 5) | envelope r | bytes per frame |"
    );
    println!("|---|---|---|---|");
    for c in complexities {
        let mut best = f64::MAX;
        let mut frames = Vec::new();
        for _ in 0..5 {
            frames.clear();
            let mut v = PcmVoice::new(rate, voice(c)).unwrap();
            let t0 = Instant::now();
            for chunk in speech.chunks(2205) {
                v.push(chunk, &mut frames).unwrap();
            }
            v.finish(&mut frames).unwrap();
            best = best.min(t0.elapsed().as_secs_f64() * 1e6 / frames.len() as f64);
        }
        let mut dec = Decoder16k::new().unwrap();
        let decoded: Vec<i16> = frames
            .iter()
            .flat_map(|f| dec.decode(f).unwrap().to_vec())
            .collect();
        let r = follows(&envelope(&reference), &envelope(&decoded));
        let bytes = frames.iter().map(|f| f.len()).sum::<usize>() as f64 / frames.len() as f64;
        println!("| {c} | {best:.1} | {r:.3} | {bytes:.1} |");
        if let Some(dir) = &wavs {
            std::fs::write(
                format!("{dir}/complexity-{c}.wav"),
                wav::encode(LISTEN_RATE, &decoded),
            )
            .unwrap();
        }
        // Every complexity keeps the speech: its loudness follows the original's, syllable by
        // syllable (a broken or silent encoder would not).
        assert!(r > 0.9, "complexity {c}: envelope r {r:.3}");
        let expected = speech.len() as f64 / f64::from(rate) * 50.0;
        assert!((frames.len() as f64 - expected).abs() <= 2.0);
    }
}
