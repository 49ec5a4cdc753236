#!/usr/bin/env bash
# Installs what Viva needs to build and run on the embedded default (Debian/Ubuntu):
# libopus (Opus codec), pkg-config, espeak-ng (the offline voice). Idempotent.
# With --test, also what the tests start for themselves: PostgreSQL and Redis servers (the
# tests run private instances on free ports; nothing is started here).
set -euo pipefail

packages=(pkg-config libopus-dev espeak-ng)
if [ "${1:-}" = "--test" ]; then
  packages+=(postgresql redis-server)
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
echo "setup: ok" >&2
