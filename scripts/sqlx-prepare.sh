#!/usr/bin/env bash
# Refreshes the offline query cache in .sqlx/ after a Postgres query or migration changes.
# Building never needs a database (.cargo/config.toml sets SQLX_OFFLINE=true); this does.
# ADMIN_URL: a Postgres server where this script may create and drop a scratch database, e.g.
#   ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/sqlx-prepare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ADMIN_URL:?set ADMIN_URL to a Postgres database URL with CREATE DATABASE rights}"
scratch="viva_sqlx_prepare_$$"
psql -v ON_ERROR_STOP=1 -q "$ADMIN_URL" -c "CREATE DATABASE $scratch"
trap 'psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $scratch" >/dev/null' EXIT
url="${ADMIN_URL%/*}/$scratch"
for f in migrations/postgres/*.sql; do
  psql -v ON_ERROR_STOP=1 -q "$url" -f "$f"
done
rm -f .sqlx/query-*.json
mkdir -p .sqlx
touch src/store/postgres.rs
DATABASE_URL="$url" SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" cargo check -q --lib
echo "sqlx-prepare: $(ls .sqlx | wc -l) queries cached in .sqlx/" >&2
