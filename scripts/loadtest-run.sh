#!/usr/bin/env bash
# One load-test run against a fresh release server on the scripted providers (STT 150 ms,
# LLM first token 300 ms at 40 tokens/s, TTS first byte 150 ms: the defaults).
# Usage: scripts/loadtest-run.sh SESSIONS [extra viva-loadtest flags…]
# Writes target/loadtest/SESSIONS.json and .html. Loopback only.
# The load generator shares the machine with the server under test; it runs at nice
# ${LOADTEST_NICE:-19} so the server gets the cores first (LOADTEST_NICE=0 to compete equally).
# SERVER_CPUS / LOADTEST_CPUS pin each to CPUs (taskset lists, e.g. 0 and 1: one core each).
# VIVA_BIN runs another server binary (a before/after comparison) with this load tester.
# LOADTEST_OUT names the report files (default: SESSIONS).
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=$1; shift
cargo build --release -q -p viva -p viva-loadtest
out=target/loadtest; mkdir -p "$out"
name=${LOADTEST_OUT:-$sessions}
viva=${VIVA_BIN:-target/release/viva}
pin() { if [ -n "${1:-}" ]; then echo taskset -c "$1"; fi; }
data=$(mktemp -d)
ulimit -n "$(ulimit -Hn)"
# Every virtual candidate comes from 127.0.0.1: the per-client connection cap is raised, and
# so is the sign-in allowance (the API traffic of --login-rps signs in from that address too).
VIVA_STT=scripted VIVA_LLM=scripted VIVA_TTS=scripted VIVA_DATA_DIR="$data" \
  VIVA_MAX_CONNECTIONS_PER_IP=100000 VIVA_AUTH_PER_MINUTE=100000 \
  VIVA_BIND=127.0.0.1:18080 RUST_LOG=warn $(pin "${SERVER_CPUS:-}") "$viva" serve 2> "$out/server-$name.log" &
server=$!
# The server's own counters at the end of the run go beside the report.
trap 'curl -sf http://127.0.0.1:18080/metrics > "$out/metrics-$name.txt"; kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:18080/health >/dev/null && break; sleep 0.1; done
/usr/bin/time -f "loadtest client: %e s wall, %U s user, %S s system, %M KiB max RSS" \
  $(pin "${LOADTEST_CPUS:-}") nice -n "${LOADTEST_NICE:-19}" target/release/viva-loadtest --url http://127.0.0.1:18080 --data-dir "$data" \
  --viva-bin "$viva" --server-pid $server --sessions "$sessions" \
  --json "$out/$name.json" --html "$out/$name.html" --quiet "$@"
