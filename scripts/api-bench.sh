#!/usr/bin/env bash
# The recruiter API beside live interviews (issue #14): SESSIONS interviews × 3 turns on the
# scripted providers (scripts/loadtest-run.sh), RUNS runs without API traffic and RUNS with
# `GET /v1/interviews` at 200 requests/s and sign-ins at 5/s (argon2id), alternating. Prints each
# run's server-added p99 and the API latencies, then the medians and their ratio (the API must
# not move live audio: within 1.25×).
# Usage: scripts/api-bench.sh [SESSIONS=300] [RUNS=3]
# Writes target/loadtest/api-bench-{quiet,api}-N.{json,txt}.
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=${1:-300}
runs=${2:-3}
out=target/loadtest
mkdir -p "$out"
for i in $(seq "$runs"); do
  for mode in quiet api; do
    extra=()
    if [ "$mode" = api ]; then extra=(--api-rps 200 --login-rps 5); fi
    echo "run $i, $mode" >&2
    scripts/loadtest-run.sh "$sessions" --ramp 20 --turns 3 "${extra[@]}" > "$out/api-bench-$mode-$i.txt" 2>&1
    cp "$out/$sessions.json" "$out/api-bench-$mode-$i.json"
  done
done
python3 - "$out" "$runs" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
med = {}
for mode in ("quiet", "api"):
    p99s = []
    for i in range(1, runs + 1):
        r = json.load(open(f"{out}/api-bench-{mode}-{i}.json"))
        sa, li, lo = r["server_added_latency_ms"], r["api_list_ms"], r["api_login_ms"]
        p99s.append(sa["p99"])
        print(f"{mode} run {i}: server-added p50 {sa['p50']} p99 {sa['p99']} ms; "
              f"turns {r['turns_completed']}, errors {r['errors']}, cpu {r['server_cpu_pct']}%; "
              f"GET /v1/interviews n={li['count']} p50 {li['p50']} p99 {li['p99']} ms; "
              f"sign-in n={lo['count']} p50 {lo['p50']} p99 {lo['p99']} ms; "
              f"api errors {r['api_errors']} {r['api_errors_by_kind']}")
    med[mode] = statistics.median(p99s)
print(f"median server-added p99: without API {med['quiet']} ms, with API {med['api']} ms, "
      f"ratio {med['api'] / med['quiet']:.2f}")
PY
