#!/usr/bin/env bash
# Speech recognition biased toward the interview's vocabulary (issue #16): the spoken technical
# answers of tests/fixtures/technical-answers.json (espeak-ng) transcribed by Whisper base
# without and with the vocabulary of the plan built for each answer's job (its initial prompt).
# Prints a Markdown table per answer and the totals (word error rate, the plan's terms heard as
# written) for docs/benchmarks.md. The test command runs the short version (one answer per job:
# tests/whisper.rs the_plans_vocabulary_makes_technical_answers_heard_as_written).
# Usage: scripts/vocabulary-wer.sh   (needs the model: scripts/fetch-whisper.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/fetch-whisper.sh
cargo run --quiet --release --locked --features whisper-local --example vocabulary_wer
