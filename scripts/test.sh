#!/usr/bin/env bash
# Runs every check and test: the web client's type-check and lint, formatting, clippy, unit,
# integration (including real-browser) and bench smoke tests.
# Installs system packages first when they are missing (scripts/setup.sh --test), including the
# PostgreSQL and Redis servers the storage tests start privately.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh --test

# A clean build gains nothing from incremental state, which would only take disk (CI's is small).
if [[ -n "${CI:-}" ]]; then export CARGO_INCREMENTAL=0; fi
df -h . >&2 || true

echo "== web-client: tsc --checkJs, eslint" >&2
(cd web-client && npx --no-install tsc -p . && npx --no-install eslint --max-warnings 0 .)
echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
# With the offline Whisper STT built in (as the README's run command builds it), and once without
# it, so both sides of its cfg stay clean.
features=(--features viva/whisper-local)
echo "== cargo clippy (with and without whisper-local)" >&2
cargo clippy --workspace --all-targets --locked "${features[@]}" -- -D warnings
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test" >&2
# --all-targets also runs each criterion bench once as a smoke test.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --all-targets --locked "${features[@]}" 2>&1 | tee "$log"
# One closing line with the totals of every test binary.
df -h . >&2 || true
awk '/^test result:/ { p += $4; f += $6 } END { print "tests: " p " passed, " f " failed" }' "$log"
