#!/usr/bin/env bash
# Sustained POST /v1/contacts against a release build on loopback, with PostgreSQL and Redis on
# the same machine. Bounded: DURATION seconds (default 30), CONNECTIONS (16), THREADS (2).
# Uses its own database (mash_triage_load, recreated each run) and Redis prefix mash:load:.
#   make load-test                       # or: DURATION=60 CONNECTIONS=32 load-tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source .local/services.env
DURATION=${DURATION:-30} CONNECTIONS=${CONNECTIONS:-16} THREADS=${THREADS:-2} PORT=${PORT:-18080}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

# The two roles as in production: migrate as the owner, serve as the runtime role.
eval "$(scripts/services.sh database mash_triage_load --fresh)"
export REDIS_URL="$MASH_REDIS_URL"
export MASH_REDIS__KEY_PREFIX=mash:load: MASH_LISTEN="127.0.0.1:$PORT" MASH_TELEMETRY__LOG_FILTER=warn
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/mash-triage
"$BIN" migrate >/dev/null
"$BIN" agency create --name "Load Test Police" --kind police >/dev/null
MASH_LOAD_KEY=$("$BIN" key create --agency "Load Test Police")
export MASH_LOAD_KEY

"$BIN" serve >/tmp/mash-load-serve.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.2; done

echo "== $(nproc) cores; wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s POST /v1/contacts"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s load-tests/post_contact.lua "http://127.0.0.1:$PORT"
echo "contacts stored: $(psql "$DATABASE_URL" -XAtc 'select count(*) from contacts')"
echo "server peak RSS: $(grep VmHWM /proc/$SERVER/status | awk '{print $2, $3}')"
