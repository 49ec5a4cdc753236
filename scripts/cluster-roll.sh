#!/usr/bin/env bash
# Rolling restart under load: three release `viva serve` nodes behind Debian's nginx
# (deploy/nginx.conf) on a private Postgres and Redis, SESSIONS interviews (default 100) from
# the load tester through nginx; each node in turn gets SIGTERM (it drains: /ready 503, its
# interviews checkpoint and give their leases up, candidates get 1012 and resume on another
# node) and is started again. Reports errors beyond reconnects, reconnects, resume time and
# turn latency during the roll, and checks every answer a candidate saw committed is in
# Postgres. The test command runs a short version (tests/cluster.rs).
# Usage: scripts/cluster-roll.sh [SESSIONS] [extra viva-loadtest flags…]
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=${1:-100}; shift || true
./scripts/setup.sh --test >/dev/null
cargo build --release -q -p viva -p viva-loadtest
out=target/cluster; mkdir -p "$out"
work=$(mktemp -d); chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}" ${nodes[@]+"${nodes[@]}"}; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${pgdata:-}" ] && runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdata" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Postgres and Redis, private.
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pgdata=$work/pg; mkdir -p "$pgdata"; chown postgres:postgres "$work" "$pgdata"
pgport=$(free_port)
runuser -u postgres -- "$pgbin/initdb" -D "$pgdata" -A trust -U viva --no-sync >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdata" -l "$work/pg.log" -w \
  -o "-p $pgport -k $work -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
psql -q -h 127.0.0.1 -p "$pgport" -U viva -d postgres -c "CREATE DATABASE viva"
redisport=$(free_port)
redis-server --port "$redisport" --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
pids+=($!)

# The nodes.
ports=($(free_port) $(free_port) $(free_port))
export DATABASE_URL=postgres://viva@127.0.0.1:$pgport/viva REDIS_URL=redis://127.0.0.1:$redisport \
  VIVA_JWT_SECRET=one-signing-key-for-every-node-0123456789 VIVA_TRUSTED_PROXIES=127.0.0.1/32 \
  VIVA_STT=scripted VIVA_LLM=scripted VIVA_TTS=scripted VIVA_LEASE_SECS=${VIVA_LEASE_SECS:-15} \
  VIVA_SCRIPTED_QUESTIONS=10 \
  VIVA_MAX_CONNECTIONS_PER_IP=100000 RUST_LOG=warn
target/release/viva migrate >/dev/null
nodes=()
start_node() {
  VIVA_NODE_ID=node-$1 VIVA_DATA_DIR=$work/node-$1 target/release/viva serve \
    --bind "127.0.0.1:${ports[$1]}" 2>> "$out/node-$1.log" &
  nodes[$1]=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:${ports[$1]}/ready" >/dev/null && return; sleep 0.1; done
  echo "node $1 did not start" >&2; exit 1
}
for i in 0 1 2; do start_node "$i"; done

# nginx with deploy/nginx.conf, the nodes on loopback.
lbport=$(free_port)
sed -e "s/listen 8080;/listen 127.0.0.1:$lbport;/" \
    -e "s/server viva-1:8080 /server 127.0.0.1:${ports[0]} /" \
    -e "s/server viva-2:8080 /server 127.0.0.1:${ports[1]} /" \
    -e "s/server viva-3:8080 /server 127.0.0.1:${ports[2]} /" deploy/nginx.conf > "$work/nginx.conf"
nginx -p "$work" -c "$work/nginx.conf" -g "daemon off; pid $work/nginx.pid; error_log $work/nginx.log;" &
pids+=($!)
for _ in $(seq 50); do curl -s "http://127.0.0.1:$lbport/health" >/dev/null && break; sleep 0.1; done

target/release/viva interview create --role Analyst --count "$sessions" > "$work/interviews.jsonl"
nice -n 19 target/release/viva-loadtest --url "http://127.0.0.1:$lbport" \
  --interviews "$work/interviews.jsonl" --sessions "$sessions" --ramp 20 --turns 10 \
  --reconnects 20 --json "$out/roll-$sessions.json" --quiet "$@" > "$out/roll-$sessions.txt" &
load=$!

# The roll: each node, once it drives interviews, SIGTERM (drain) and start again.
sleep 25
for i in 0 1 2; do
  live=$(curl -s "http://127.0.0.1:${ports[$i]}/metrics" | awk '/^viva_live_interviews /{print $2}')
  t0=$(date +%s.%N)
  kill -TERM "${nodes[$i]}"; wait "${nodes[$i]}" || true
  t1=$(date +%s.%N)
  echo "node $i: SIGTERM with $live live interviews; drained and stopped in $(echo "$t1 - $t0" | bc) s"
  start_node "$i"
  sleep 10
done
wait "$load"
cat "$out/roll-$sessions.txt"

# Every answer a candidate saw committed is in Postgres.
python3 - "$out/roll-$sessions.json" <<'PY'
import json, subprocess, sys, os
r = json.load(open(sys.argv[1]))
seen = r.get("committed_by_interview", {})
rows = subprocess.run(["psql", os.environ["DATABASE_URL"], "-At", "-c",
    "SELECT interview_id, count(*) FROM turns WHERE speaker = 'candidate' GROUP BY interview_id"],
    capture_output=True, text=True, check=True).stdout.split()
stored = dict(l.split("|") for l in rows)
lost = sum(max(0, n - int(stored.get(i, 0))) for i, n in seen.items())
print(f"errors beyond reconnects {r['errors']} {r['errors_by_kind']}; reconnects {r['reconnects']}; "
      f"resume p50 {r['resume_ms']['p50']} ms p99 {r['resume_ms']['p99']} ms; "
      f"turn latency p50 {r['turn_latency_ms']['p50']} ms p99 {r['turn_latency_ms']['p99']} ms; "
      f"server-added p99 {r['server_added_latency_ms']['p99']} ms; "
      f"answers committed {r['committed_answers']}, lost {lost}")
sys.exit(1 if lost or r['errors'] else 0)
PY
