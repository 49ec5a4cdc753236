#!/usr/bin/env bash
# Recruiters listening in (issue #15): SESSIONS interviews × 3 turns on the scripted providers
# (scripts/loadtest-run.sh), RUNS runs with no monitors and RUNS with one monitor per interview
# listening in (`--monitors-per-session 1 --listen`: tokens from `viva interview create
# --monitor-role recruiter`; each gets both sides' audio and every event), alternating. Prints
# each run's server-added p99, the monitors' event lag and listen-in frames, then the medians
# and their ratio (watching must not move live audio: within 1.25×).
# Usage: scripts/listen-bench.sh [SESSIONS=200] [RUNS=3]
# Writes target/loadtest/listen-bench-{quiet,listen}-N.{json,txt}.
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=${1:-200}
runs=${2:-3}
out=target/loadtest
mkdir -p "$out"
for i in $(seq "$runs"); do
  for mode in quiet listen; do
    extra=()
    if [ "$mode" = listen ]; then extra=(--monitors-per-session 1 --listen); fi
    echo "run $i, $mode" >&2
    scripts/loadtest-run.sh "$sessions" --ramp 20 --turns 3 "${extra[@]}" > "$out/listen-bench-$mode-$i.txt" 2>&1
    cp "$out/$sessions.json" "$out/listen-bench-$mode-$i.json"
  done
done
python3 - "$out" "$runs" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
med = {}
for mode in ("quiet", "listen"):
    p99s = []
    for i in range(1, runs + 1):
        r = json.load(open(f"{out}/listen-bench-{mode}-{i}.json"))
        sa, lag = r["server_added_latency_ms"], r["monitor_lag_ms"]
        p99s.append(sa["p99"])
        print(f"{mode} run {i}: server-added p50 {sa['p50']} p99 {sa['p99']} ms; "
              f"turns {r['turns_completed']}, errors {r['errors']}, cpu {r['server_cpu_pct']}%; "
              f"monitor lag n={lag['count']} p50 {lag['p50']} p99 {lag['p99']} ms; "
              f"listen-in frames {r.get('listen_frames', 0)}")
    med[mode] = statistics.median(p99s)
print(f"median server-added p99: without monitors {med['quiet']} ms, with listening monitors "
      f"{med['listen']} ms, ratio {med['listen'] / med['quiet']:.2f}")
PY
