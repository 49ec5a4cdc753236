//! `whisper-local`: real Whisper (CTranslate2) hears real espeak-ng speech sent as Opus over the
//! WebSocket, and a missing or damaged model stops the server at start with a clear error.
//! Needs `--features whisper-local` and the model (`scripts/fetch-whisper.sh`; both done by
//! `scripts/test.sh`).
#![cfg(feature = "whisper-local")]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::wer::wer;
use common::*;

/// Three different answers, as a candidate might give them.
const ANSWERS: [&str; 3] = [
    "I have five years of experience building web applications with React and TypeScript.",
    "Last year I led a small team that moved our payment system to a new database without downtime.",
    "When two colleagues disagree, I ask each of them to write down the problem they are solving.",
];

fn model_dir() -> PathBuf {
    require_whisper_model()
}

#[test]
fn word_error_rate_counts_substitutions_insertions_and_deletions() {
    assert_eq!(wer("five years of work", "5 years of work."), 0.0);
    assert_eq!(wer("a b c d", "a x c d"), 0.25);
    assert_eq!(wer("a b c d", "a b c d e"), 0.25);
    assert_eq!(wer("a b c d", "a c d"), 0.25);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_spoken_answers_are_transcribed_within_fifteen_percent_word_error_rate() {
    let model = model_dir();
    let server = TestServer::start_with(|c| {
        c.stt = vec!["whisper-local".into()];
        c.whisper_model = model;
        c.scripted_questions = 4;
    })
    .await;
    let (id, token) = server.create_interview().await;
    let mut c = Candidate::join(&server, id, &token, None).await;
    let mut heard = Vec::new();
    for answer in ANSWERS {
        let text = spoken_answer(&mut c, answer).await;
        let rate = wer(answer, &text);
        eprintln!("WER {rate:.3}: {answer:?} → {text:?}");
        heard.push((answer, text, rate));
    }
    for (answer, text, rate) in &heard {
        assert!(*rate <= 0.15, "WER {rate:.3}: {answer:?} heard as {text:?}");
    }
    // What the candidate was shown is what was stored, as real words.
    let stored = server.turns(id).await;
    let answers: Vec<_> = stored
        .iter()
        .filter(|t| t.speaker == viva::protocol::Speaker::Candidate)
        .collect();
    assert_eq!(answers.len(), 3);
    for (turn, (_, text, _)) in answers.iter().zip(&heard) {
        assert_eq!(&turn.text, text);
        assert!(turn.transcribed);
    }
    let stats = &server.health().await["stt"]["whisper-local"];
    assert_eq!(stats["transcriptions"], 3, "{stats}");
    assert_eq!(stats["rejected_queue_full"], 0, "{stats}");
}

/// The interview's vocabulary as Whisper's initial prompt: one technical answer per job of
/// `tests/fixtures/technical-answers.json` (the short version of `scripts/vocabulary-wer.sh`),
/// heard without and with the vocabulary of the plan built for the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plans_vocabulary_makes_technical_answers_heard_as_written() {
    let settings = viva::providers::whisper::WhisperSettings::sized_to(2, model_dir());
    let engine = viva::providers::whisper::ct2::Ct2Whisper::load(&settings).unwrap();
    let mut cases = common::wer::cases();
    let mut seen = std::collections::BTreeSet::new();
    cases.retain(|c| seen.insert(c.job.clone()));
    assert_eq!(cases.len(), 4);
    let heard = common::wer::hear(&engine, &cases).await;
    for h in &heard {
        eprintln!(
            "{:?}\n  without: {:?}\n  with:    {:?}",
            h.reference, h.plain, h.biased
        );
    }
    let (plain, biased) = common::wer::totals(&heard);
    let (said, plain_terms, biased_terms) = common::wer::terms_heard(&cases, &heard);
    eprintln!(
        "WER without the vocabulary {plain:.3}, with {biased:.3}; terms as written {plain_terms}/{said} without, {biased_terms}/{said} with"
    );
    assert!(said >= 8, "the answers use the plans' terms ({said})");
    assert!(biased < plain, "WER {biased:.3} with, {plain:.3} without");
    assert!(
        biased_terms > plain_terms,
        "{biased_terms} vs {plain_terms} of {said}"
    );
}

/// `viva serve` on the whisper-local STT with the given model directory: its exit and stderr.
fn serve_with_model(dir: &std::path::Path) -> (bool, String) {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_viva"))
        .env("VIVA_DATA_DIR", data.path())
        .env("VIVA_STT", "whisper-local")
        .env("VIVA_WHISPER_MODEL", dir)
        .env("NO_COLOR", "1")
        .args(["serve", "--bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_missing_model_stops_the_server_at_start_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stderr) = serve_with_model(&dir.path().join("absent"));
    assert!(!ok);
    assert!(
        stderr.contains("whisper-local: no Whisper model at"),
        "{stderr}"
    );
    assert!(stderr.contains("scripts/fetch-whisper.sh"), "{stderr}");
}

#[test]
fn a_damaged_model_stops_the_server_at_start_with_a_clear_error() {
    let good = model_dir();
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "tokenizer.json",
        "preprocessor_config.json",
        "config.json",
        "vocabulary.json",
    ] {
        std::fs::copy(good.join(f), dir.path().join(f)).unwrap();
    }
    // A download cut short: the first megabyte of the real model.
    let model = std::fs::read(good.join("model.bin")).unwrap();
    std::fs::write(dir.path().join("model.bin"), &model[..1 << 20]).unwrap();
    let (ok, stderr) = serve_with_model(dir.path());
    assert!(!ok);
    assert!(
        stderr.contains("could not load the Whisper model at"),
        "{stderr}"
    );
}
