#!/usr/bin/env bash
# The queue board and a /metrics scrape with a million open contacts (goal: p99 under 20 ms
# each). Seeds OPEN (default 1,000,000) open contacts with running decision clocks straight into
# its own database (mash_triage_counts, recreated each run), times the two aggregates behind
# them (what one background refresh costs PostgreSQL), then drives GET /v1/queues and GET
# /metrics with wrk against a release build on loopback (rate limits off: this measures the
# service, not the limiter). Figures go in docs/PERFORMANCE.md.
#   load-tests/queue-counts.sh            # or: OPEN=200000 DURATION=20 load-tests/queue-counts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source .local/services.env
OPEN=${OPEN:-1000000} DURATION=${DURATION:-20} CONNECTIONS=${CONNECTIONS:-16} THREADS=${THREADS:-2}
PORT=${PORT:-18083} METRICS_PORT=${METRICS_PORT:-18084}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

eval "$(scripts/services.sh database mash_triage_counts --fresh)"
export REDIS_URL="$MASH_REDIS_URL" MASH_REDIS__KEY_PREFIX=mash:counts: MASH_LISTEN="127.0.0.1:$PORT"
export MASH_METRICS__LISTEN="127.0.0.1:$METRICS_PORT" MASH_TELEMETRY__LOG_FILTER=warn MASH_RATE_LIMIT__ENABLED=false
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/mash-triage
"$BIN" migrate >/dev/null
"$BIN" agency create --name "Counts Police" --kind police >/dev/null
KEY=$("$BIN" key create --staff "Counts Manager" --role manager 2>/dev/null)

echo "== seeding $OPEN open contacts with running decision clocks"
time psql "$MASH_DATABASE__MIGRATE_URL" -Xq -v ON_ERROR_STOP=1 -v open="$OPEN" <<'SQL'
insert into contacts (id, agency_id, agency_reference, request_hash, status, received_at, submission,
                      urgency, queue, decision_due_at, escalated)
select gen_random_uuid(), (select id from agencies limit 1), 'COUNTS-' || g, '\x00'::bytea,
       'awaiting_screening', now() - (g % 10000) * interval '1 minute', '{}'::jsonb,
       (array['green', 'amber', 'red'])[1 + g % 3],
       (array['screening', 'immediate', 'exploitation', 'domestic-abuse'])[1 + g % 4],
       now() + ((g % 20000) - 5000) * interval '1 minute', g % 7 = 0
  from generate_series(1, :open) g;
insert into clocks (id, contact_id, kind, level, budget, started_at, deadline, half_at, three_quarters_at, policy_version)
select gen_random_uuid(), id, 'decision', urgency, '1 working day', received_at, decision_due_at,
       decision_due_at - interval '4 hours', decision_due_at - interval '2 hours', 'counts'
  from contacts;
vacuum analyze contacts;
vacuum analyze clocks;
SQL

echo "== what one refresh costs PostgreSQL (the two aggregates, run twice; the second is warm)"
for _ in 1 2; do
  psql "$DATABASE_URL" -XAt <<'SQL'
\timing on
select 'queue board: ' || count(*) from (
  select c.queue, c.urgency, count(*), count(k.contact_id) filter (where k.expires_at > now()),
         count(*) filter (where c.escalated), min(c.received_at), min(c.decision_due_at)
    from contacts c left join claims k on k.contact_id = c.id
   where c.status in ('awaiting_screening', 'in_screening') and c.queue is not null
   group by c.queue, c.urgency) q;
select 'budget bands and forecast: ' || count(*) from (
  with open as (
    select coalesce(c.queue, 'none') as queue, coalesce(c.urgency, 'unrated') as urgency, c.status,
           k.deadline, k.half_at, k.three_quarters_at,
           (k.deadline <= now() or exists (select 1 from breaches b where b.clock_id = k.id)) as breached
      from contacts c join clocks k on k.contact_id = c.id and k.kind = 'decision'
     where c.status in ('awaiting_screening', 'in_screening') and k.stopped_at is null)
  select queue, urgency, status, count(*) filter (where breached), count(*) filter (where half_at <= now())
    from open group by 1, 2, 3) b;
SQL
done

"$BIN" serve >/tmp/mash-counts-serve.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.2; done
# The first read of each waits for its aggregate; every later one is served from the last read.
time curl -sf -o /dev/null -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/queues"
time curl -sf -o /dev/null "http://127.0.0.1:$METRICS_PORT/metrics"

echo "== $(nproc) cores; wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s GET /v1/queues ($OPEN open)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Authorization: Bearer $KEY" \
  "http://127.0.0.1:$PORT/v1/queues"
echo "== wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s GET /metrics ($OPEN open)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$METRICS_PORT/metrics"
echo "server peak RSS: $(grep VmHWM /proc/$SERVER/status | awk '{print $2, $3}')"
