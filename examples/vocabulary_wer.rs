//! The speech-recognition vocabulary figure (docs/benchmarks.md): spoken technical answers
//! (espeak-ng) transcribed by Whisper base without and with the vocabulary of each answer's
//! interview plan; word error rate and the plan's terms heard as written.
//!
//! `cargo run --release --features whisper-local --example vocabulary_wer` (scripts/vocabulary-wer.sh)

#[path = "../tests/common/wer.rs"]
mod wer;

use viva::providers::whisper::{ct2::Ct2Whisper, WhisperSettings};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism()?.get();
    let settings = WhisperSettings::sized_to(
        cores,
        std::env::var_os("VIVA_WHISPER_MODEL").map_or("models/whisper-base".into(), Into::into),
    );
    let engine = Ct2Whisper::load(&settings).map_err(anyhow::Error::msg)?;
    let cases = wer::cases();
    let heard = wer::hear(&engine, &cases).await;
    println!("| job | answer | WER without | WER with | heard without | heard with |");
    println!("|---|---|---|---|---|---|");
    for (case, h) in cases.iter().zip(&heard) {
        println!(
            "| {} | {} | {:.3} | {:.3} | {} | {} |",
            case.job,
            h.reference,
            wer::wer(&h.reference, &h.plain),
            wer::wer(&h.reference, &h.biased),
            h.plain,
            h.biased
        );
    }
    let (plain, biased) = wer::totals(&heard);
    let (terms, plain_terms, biased_terms) = wer::terms_heard(&cases, &heard);
    let words: usize = heard.iter().map(wer::Heard::reference_words).sum();
    println!(
        "\n{} answers, {words} words: WER without the vocabulary {plain:.3}, with {biased:.3}; \
         the plan's terms heard as written: {plain_terms}/{terms} without, {biased_terms}/{terms} with",
        heard.len()
    );
    let mean = |f: fn(&wer::Heard) -> f64| heard.iter().map(f).sum::<f64>() / heard.len() as f64;
    println!(
        "final transcript (beam 5), mean: {:.2} s without, {:.2} s with",
        mean(|h| h.secs.0),
        mean(|h| h.secs.1)
    );
    Ok(())
}
