#!/usr/bin/env bash
# The interviewer voice's Opus complexity (VIVA_OPUS_COMPLEXITY): encoder time per 20 ms frame
# against quality, for every complexity 0–10 (issue #19; figures in docs/benchmarks.md).
# Quality is PESQ (ITU-T P.862.2, wideband MOS-LQO, 1.0–4.64) of the decoded speech against the
# original, from the `pesq` package (installed into target/pesq-venv on first use), beside the
# test's own loudness-envelope correlation. The test command runs the same test on 0, 3 and 10.
set -euo pipefail
cd "$(dirname "$0")/.."
wavs=target/opus-complexity
venv=target/pesq-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pesq' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'numpy>=1.24' 'pesq==0.0.4'
fi
rm -rf "$wavs"
OPUS_COMPLEXITY_WAVS="$wavs" OPUS_COMPLEXITIES=0,1,2,3,4,5,6,7,8,9,10 \
  cargo test --release -q --test opus_complexity -- --nocapture 2>&1 | grep '^|\|^opus'
"$venv/bin/python" - "$wavs" <<'PY'
import sys, wave, numpy as np
from pesq import pesq
d = sys.argv[1]
def read(p):
    with wave.open(p) as w:
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64)
rate, ref = read(f"{d}/reference.wav")
print("| complexity | PESQ-WB MOS-LQO |")
print("|---|---|")
for c in range(11):
    _, deg = read(f"{d}/complexity-{c}.wav")
    print(f"| {c} | {pesq(rate, ref, deg, 'wb'):.2f} |")
PY
