#!/usr/bin/env bash
# Sessions per core (issue #19): the release server pinned to CPU 0 with taskset, the load
# generator on CPU 1, the scripted providers at their default latencies (STT 150 ms, LLM first
# token 300 ms at 40 tokens/s, TTS first byte 150 ms) and the TTS cache off (every reply
# encoded or passed through afresh, as with a real model). One scripts/loadtest-run.sh per
# session count; prints one table row each.
# Usage: scripts/per-core.sh LABEL [SESSIONS…]   (default: 1 100 200 300 400)
# The environment passes through: VIVA_SCRIPTED_TTS_FORMAT=opus for the pass-through voice,
# VIVA_BIN=… for another server build (a before/after comparison), PER_CORE_TURNS (default 5).
# Capacity reading: the most sessions whose turn latency p99 stays within 1.1× the one-session
# figure with server-added p99 ≤ 20 ms and no errors.
set -euo pipefail
cd "$(dirname "$0")/.."
label=$1; shift
counts=("$@"); [ ${#counts[@]} -gt 0 ] || counts=(1 100 200 300 400)
turns=${PER_CORE_TURNS:-5}
echo "| run | sessions | errors | underruns | turn p50 / p99 (ms) | server-added p50 / p99 (ms) | server CPU (mean) |"
echo "|---|---|---|---|---|---|---|"
for n in "${counts[@]}"; do
  ramp=$(( n / 20 )); [ "$ramp" -ge 1 ] || ramp=1
  LOADTEST_OUT="percore-$label-$n" SERVER_CPUS=0 LOADTEST_CPUS=1 LOADTEST_NICE=0 \
    VIVA_TTS_CACHE_ENTRIES=0 scripts/loadtest-run.sh "$n" --ramp "$ramp" --turns "$turns" \
    > "target/loadtest/percore-$label-$n.txt" 2>&1 || true
  python3 - "target/loadtest/percore-$label-$n.json" "$label" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"| {sys.argv[2]} | ? | run failed: {e} | | | | |"); sys.exit()
t, s = r["turn_latency_ms"], r["server_added_latency_ms"]
cpu = r.get("server_cpu_pct")
print(f"| {sys.argv[2]} | {r['sessions']} | {r['errors']} | {r['underruns']} | {t['p50']:.0f} / {t['p99']:.0f} "
      f"| {s['p50']:.0f} / {s['p99']:.0f} | {cpu if cpu is not None else '–'} % |")
PY
done
