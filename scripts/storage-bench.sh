#!/usr/bin/env bash
# Starts a private PostgreSQL and Redis (loopback, temporary, default durability settings:
# fsync and synchronous_commit on) and runs examples/storage_bench.rs against them, plus the
# embedded SQLite store for comparison. Prints a markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | sort | tail -1)
tmp=$(mktemp -d)
as_pg=()
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); chown postgres "$tmp"; fi
pg_port=55432 redis_port=56379
cleanup() {
  "${as_pg[@]}" "$bin/pg_ctl" -D "$tmp/pg" -m fast stop >/dev/null 2>&1 || true
  redis-cli -p $redis_port shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
"${as_pg[@]}" "$bin/initdb" -D "$tmp/pg" -A trust -U viva >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$tmp/pg" -l "$tmp/pg.log" -w \
  -o "-p $pg_port -k $tmp -c listen_addresses=127.0.0.1" start >/dev/null
psql -q -h 127.0.0.1 -p $pg_port -U viva -d postgres -c "CREATE DATABASE viva"
redis-server --port $redis_port --bind 127.0.0.1 --save "" --appendonly no --daemonize yes >/dev/null
mkdir -p "$tmp/sqlite"
cargo run -q --release --example storage_bench -- \
  "postgres://viva@127.0.0.1:$pg_port/viva" "redis://127.0.0.1:$redis_port" "$tmp/sqlite"
