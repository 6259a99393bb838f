#!/usr/bin/env bash
# The console's board and a queue page with OPEN (default 10,000) open contacts (goal: each under
# 50 ms server time). Seeds its own database (mash_triage_console_load, recreated each run)
# straight into PostgreSQL, signs in as a practitioner through the sign-in form, then drives
# GET /console and GET /console/queues/screening with wrk on one connection (a page view is one
# member of staff) and with 8, against a release build on loopback. wrk's latency is the server's
# time plus loopback; figures go in docs/PERFORMANCE.md.
#   load-tests/console.sh            # or: OPEN=50000 DURATION=10 load-tests/console.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source .local/services.env
OPEN=${OPEN:-10000} DURATION=${DURATION:-15} PORT=${PORT:-18087} METRICS_PORT=${METRICS_PORT:-18088}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[[ -d console/node_modules/govuk-frontend ]] || npm ci --prefix console --no-audit --no-fund >/dev/null

eval "$(scripts/services.sh database mash_triage_console_load --fresh)"
export REDIS_URL="$MASH_REDIS_URL" MASH_REDIS__KEY_PREFIX=mash:console-load: MASH_LISTEN="127.0.0.1:$PORT"
export MASH_METRICS__LISTEN="127.0.0.1:$METRICS_PORT" MASH_TELEMETRY__LOG_FILTER=warn MASH_RATE_LIMIT__ENABLED=false
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/mash-triage
"$BIN" migrate >/dev/null
"$BIN" agency create --name "Load Police" --kind police >/dev/null
KEY=$("$BIN" key create --staff "Load Practitioner" --role practitioner 2>/dev/null)

echo "== seeding $OPEN open contacts"
psql "$MASH_DATABASE__MIGRATE_URL" -Xq -v ON_ERROR_STOP=1 -v open="$OPEN" <<'SQL'
insert into contacts (id, agency_id, agency_reference, request_hash, status, received_at, submission,
                      urgency, queue, decision_due_at, escalated)
select gen_random_uuid(), (select id from agencies limit 1), 'LOAD-' || g, '\x00'::bytea,
       'awaiting_screening', now() - (g % 5000) * interval '1 minute', '{}'::jsonb,
       (array['green', 'amber', 'red'])[1 + g % 3],
       (array['screening', 'immediate', 'exploitation', 'domestic-abuse'])[1 + g % 4],
       now() + ((g % 20000) - 5000) * interval '1 minute', g % 7 = 0
  from generate_series(1, :open) g;
vacuum analyze contacts;
SQL

"$BIN" serve >/tmp/mash-console-load.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.2; done

# Sign in through the form, as a browser does.
JAR=$(mktemp)
PAGE=$(curl -sf -c "$JAR" "http://127.0.0.1:$PORT/console/sign-in")
CSRF=$(grep -o 'name="csrf_token" value="[0-9a-f]*"' <<<"$PAGE" | grep -o '[0-9a-f]\{64\}')
curl -sf -o /dev/null -b "$JAR" -c "$JAR" --data-urlencode "key=$KEY" --data-urlencode "csrf_token=$CSRF" \
  "http://127.0.0.1:$PORT/console/sign-in"
SESSION=$(awk '$6 == "mash_session" { print $7 }' "$JAR")
[[ -n $SESSION ]] || { echo "sign-in failed" >&2; exit 1; }

for path in /console /console/queues/screening; do
  for c in 1 8; do
    echo "== $(nproc) cores; wrk -t1 -c$c -d${DURATION}s GET $path ($OPEN open contacts)"
    wrk -t1 -c"$c" -d"${DURATION}s" --latency -H "Cookie: mash_session=$SESSION" "http://127.0.0.1:$PORT$path" \
      | grep -E 'Latency|50%|90%|99%|Requests/sec|Non-2xx'
  done
done
