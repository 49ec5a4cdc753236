#!/usr/bin/env bash
# Cluster kill cycles: three `viva serve` nodes behind Debian's nginx (deploy/nginx.conf) on a
# private Postgres and Redis, VIVA_LEASE_SECS=3. KILLS times (default 20): a candidate
# mid-answer, `kill -9` the owner; the candidate reconnects through nginx with resume_from.
# Asserts 0 committed answers lost, none stored twice, no seq reused, questions in order, and a
# monitor on another node seeing it all; prints the resume time (kill → next interviewer
# audio) p50/p99. The test command runs the same test with 3 kills.
# Usage: scripts/cluster-kill.sh [KILLS]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --test
VIVA_CLUSTER_KILLS="${1:-20}" cargo test --locked --features viva/whisper-local --test cluster \
  killing_the_owner -- --nocapture 2>&1 | grep -E "^cluster:|test result|panicked|left|right"
