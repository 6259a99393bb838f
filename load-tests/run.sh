#!/usr/bin/env bash
# Sustained POST /v1/contacts against a release build on loopback, with PostgreSQL and Redis on
# the same machine. Bounded: DURATION seconds (default 30), CONNECTIONS (16), THREADS (2).
# Uses its own database (mash_triage_load, recreated each run) and Redis prefix mash:load:.
# First it measures the reference in the same run: the durable-write limit, pgbench (Debian's
# postgresql-client) committing one contact-sized row and one audit-sized row per transaction on
# CONNECTIONS connections into scratch tables. It prints both figures and their ratio, so the
# ratio cannot drift from its reference.
# CHILDREN (1) sets the children per contact (at most 28), each with its own match keys.
#   make load-test                       # or: DURATION=60 CONNECTIONS=32 CHILDREN=3 load-tests/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source .local/services.env
DURATION=${DURATION:-30} CONNECTIONS=${CONNECTIONS:-16} THREADS=${THREADS:-2} PORT=${PORT:-18080}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v pgbench >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-client; }

# The two roles as in production: migrate as the owner, serve as the runtime role.
eval "$(scripts/services.sh database mash_triage_load --fresh)"
export REDIS_URL="$MASH_REDIS_URL"
# Rate limits off: this measures the service, not the limiter (which refuses a key past 600 a minute).
export MASH_REDIS__KEY_PREFIX=mash:load: MASH_LISTEN="127.0.0.1:$PORT" MASH_TELEMETRY__LOG_FILTER=warn
export MASH_RATE_LIMIT__ENABLED=false
export MASH_LOAD_CHILDREN=${CHILDREN:-1}
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/mash-triage
"$BIN" migrate >/dev/null
"$BIN" agency create --name "Load Test Police" --kind police >/dev/null
MASH_LOAD_KEY=$("$BIN" key create --agency "Load Test Police")
export MASH_LOAD_KEY

# The reference: what PostgreSQL commits per second when each transaction writes a contact row
# (with a submission-sized JSON body) and its audit row, nothing else.
psql "$MASH_DATABASE__MIGRATE_URL" -Xq -v ON_ERROR_STOP=1 <<'SQL'
drop table if exists pgbench_contact, pgbench_audit;
create table pgbench_contact (id uuid primary key, agency_reference text not null, received_at timestamptz not null,
                              submission jsonb not null);
create table pgbench_audit (id bigint generated always as identity primary key, occurred_at timestamptz not null,
                            action text not null, contact_id uuid not null, detail jsonb not null);
SQL
BENCH_SQL=$(mktemp)
cat >"$BENCH_SQL" <<'SQL'
\set n random(1, 1000000000)
BEGIN;
INSERT INTO pgbench_contact VALUES (gen_random_uuid(), 'REF-' || :n, now(),
  jsonb_build_object('narrative', repeat('x', 1500), 'children', jsonb_build_array(jsonb_build_object('given_name', 'A'))));
INSERT INTO pgbench_audit (occurred_at, action, contact_id, detail) VALUES (now(), 'contact.submitted', gen_random_uuid(), '{"k": 1}');
COMMIT;
SQL
echo "== reference: pgbench -c$CONNECTIONS -j$THREADS -T$DURATION, a contact row and an audit row per transaction"
PGBENCH_TPS=$(pgbench -n -c "$CONNECTIONS" -j "$THREADS" -T "$DURATION" -f "$BENCH_SQL" "$MASH_DATABASE__MIGRATE_URL" 2>/dev/null \
  | awk '/^tps = / { print $3; exit }')
echo "pgbench: $PGBENCH_TPS tx/s"
psql "$MASH_DATABASE__MIGRATE_URL" -Xqc "drop table pgbench_contact, pgbench_audit"

"$BIN" serve >/tmp/mash-load-serve.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.2; done

echo "== $(nproc) cores; wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s POST /v1/contacts, $MASH_LOAD_CHILDREN child(ren) each"
WRK_OUT=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s load-tests/post_contact.lua "http://127.0.0.1:$PORT")
echo "$WRK_OUT"
# Only contacts stored count: a refused request is not intake.
STORED=$(psql "$DATABASE_URL" -XAtc 'select count(*) from contacts')
SERVICE_RPS=$(awk -v n="$STORED" -v d="$DURATION" 'BEGIN { printf "%.0f", n / d }')
echo "== service $SERVICE_RPS contacts stored/s; durable-write limit $PGBENCH_TPS tx/s; ratio $(awk -v s="$SERVICE_RPS" -v p="$PGBENCH_TPS" 'BEGIN { printf "%.2f", s / p }')"
echo "contacts stored: $(psql "$DATABASE_URL" -XAtc 'select count(*) from contacts')"
echo "server peak RSS: $(grep VmHWM /proc/$SERVER/status | awk '{print $2, $3}')"
