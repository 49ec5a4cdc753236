#!/usr/bin/env bash
# End-of-turn figures on the labelled set (issue #19): 32 answers with thinking pauses after
# unfinished phrases and 32 complete ones, spoken with espeak-ng, through the ear's VAD and
# endpointing with today's fixed silences and with the adaptive policy (src/turns/): on the
# words, and — the embedded default, no words at a pause — on the voice alone (the set voiced
# as going on and as espeak-ng's statements). Prints the tables kept in docs/benchmarks.md.
# TURN_TAKING_DEBUG=1 adds each answer's outcome and each phrase end's pitch.
set -euo pipefail
cd "$(dirname "$0")/.."
# With the Whisper model fetched, also on Whisper base's own live captions (the whisper-local
# build: 8-11 min the first time).
features=()
if [ -f models/whisper-base/model.bin ]; then features=(--features viva/whisper-local); fi
cargo test -q "${features[@]}" --test turn_taking -- --nocapture 2>&1 | grep -v '^$' | grep -v '^running\|^test result\|^\.$\|running for over'
