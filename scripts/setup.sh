#!/usr/bin/env bash
# Installs what Viva needs to build and run on the embedded default (Debian/Ubuntu):
# libopus (Opus codec), pkg-config, espeak-ng (the offline voice), cmake (to build CTranslate2 for
# the offline Whisper speech-to-text, cargo feature `whisper-local`), and fetches the Whisper
# model into models/whisper-base/ (scripts/fetch-whisper.sh). Idempotent.
# With --test, also what the tests use: PostgreSQL, Redis and nginx servers (the tests run
# private instances on free ports; nothing is started here), Chromium, Node.js and the web client's npm
# packages (Playwright, TypeScript, ESLint) for the browser tests and the JavaScript checks, and
# opus-tools (opusenc: the fake vendor's Ogg Opus speech).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pkg-config libopus-dev espeak-ng cmake g++)
if [ "${1:-}" = "--test" ]; then
  packages+=(postgresql redis-server nginx chromium python3-pip opus-tools)
  command -v npm >/dev/null || packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "setup: run as root or install: ${missing[*]}" >&2; exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "setup: install Rust (https://rustup.rs) first" >&2; exit 1; }

./scripts/fetch-whisper.sh

if [ "${1:-}" = "--test" ]; then
  # An S3-compatible server for the recording tests (moto's, in memory).
  if ! python3 -c 'import moto.server, flask' 2>/dev/null; then
    echo "setup: pip install moto[server]" >&2
    python3 -m pip install --quiet 'moto[server]>=5,<6' 2>/dev/null \
      || python3 -m pip install --quiet --break-system-packages 'moto[server]>=5,<6'
  fi
  # The official OpenAI SDK, for the Realtime endpoint's tests (a stock client, unchanged).
  if ! python3 -c 'import openai, websockets' 2>/dev/null; then
    echo "setup: pip install openai[realtime]" >&2
    python3 -m pip install --quiet 'openai[realtime]==3.57.0' 2>/dev/null \
      || python3 -m pip install --quiet --break-system-packages 'openai[realtime]==3.57.0'
  fi
  # The exact versions in web-client/package-lock.json; reinstalled only when the lock changed.
  stamp=web-client/node_modules/.installed-from-lock
  if ! cmp -s web-client/package-lock.json "$stamp"; then
    echo "setup: npm ci in web-client/" >&2
    (cd web-client && npm ci --no-audit --no-fund --loglevel=error)
    cp web-client/package-lock.json "$stamp"
  fi
fi
echo "setup: ok" >&2
