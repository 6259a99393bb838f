#!/usr/bin/env bash
# The reports for a year of a large hub (goal: each answers in under a second). Seeds CONTACTS
# (default 100,000) contacts received over the 365 days to 2026-11-30 straight into its own
# database (mash_triage_reports, recreated each run): 90% decided (10% of them late, with a
# reason; 5% awaiting authorisation), their classifications, decisions, feedback clocks (the
# referrer told two hours later) and one child each; the rest still open. Then times each
# report, JSON and CSV, and the Annex A export for the whole year against a release build on
# loopback, RUNS times each (the first is cold). Figures go in docs/PERFORMANCE.md.
#   load-tests/reports.sh            # or: CONTACTS=20000 RUNS=3 load-tests/reports.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source .local/services.env
CONTACTS=${CONTACTS:-100000} RUNS=${RUNS:-5} PORT=${PORT:-18085} METRICS_PORT=${METRICS_PORT:-18086}

eval "$(scripts/services.sh database mash_triage_reports --fresh)"
export REDIS_URL="$MASH_REDIS_URL" MASH_REDIS__KEY_PREFIX=mash:reports: MASH_LISTEN="127.0.0.1:$PORT"
export MASH_METRICS__LISTEN="127.0.0.1:$METRICS_PORT" MASH_TELEMETRY__LOG_FILTER=warn MASH_RATE_LIMIT__ENABLED=false
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/mash-triage
"$BIN" migrate >/dev/null
for kind in police school health; do "$BIN" agency create --name "Reports $kind" --kind "$kind" >/dev/null; done
KEY=$("$BIN" key create --staff "Reports Manager" --role manager 2>/dev/null)

echo "== seeding $CONTACTS contacts over a year"
time psql "$MASH_DATABASE__MIGRATE_URL" -Xq -v ON_ERROR_STOP=1 -v n="$CONTACTS" <<'SQL'
create temporary table seed as
select g, gen_random_uuid() as id,
       (select id from agencies order by name offset (g % 3) limit 1) as agency_id,
       timestamptz '2025-12-01 00:00+00' + (g::float8 / :n) * interval '365 days' as received_at,
       (array['green', 'amber', 'red'])[1 + g % 3] as urgency,
       (array['screening', 'screening', 'immediate', 'domestic-abuse'])[1 + g % 4] as queue,
       case when g % 10 = 0 then 'awaiting_screening' when g % 20 = 1 then 'awaiting_authorisation'
            else 'decided' end as status,
       (array['information_and_advice', 'signpost_other_agency', 'early_help', 's17_assessment',
              'strategy_discussion_s47', 'no_further_action'])[1 + g % 6] as outcome
  from generate_series(1, :n) g;
insert into contacts (id, agency_id, agency_reference, request_hash, status, received_at, submission, urgency,
                      queue, outcome, re_referral)
select id, agency_id, 'REPORTS-' || g, '\x00'::bytea, status, received_at,
       jsonb_build_object('children', jsonb_build_array(jsonb_build_object(
           'given_name', 'Child', 'family_name', 'F' || g, 'date_of_birth', '2016-06-01', 'gender', 'female',
           'ethnicity', 'WBRI'))),
       urgency, queue, case when status = 'decided' then outcome end, g % 5 = 0
  from seed;
insert into contact_ratings (contact_id, kind, urgency, queue, actor_kind, policy_version, at)
select id, 'classification', urgency, queue, 'system', 'reports', received_at from seed;
insert into contact_children (id, contact_id, ordinal, received_at)
select gen_random_uuid(), id, 0, received_at from seed;
insert into decisions (contact_id, outcome, rationale, feedback, decided_by, decided_at, policy_version, late_reason,
                       threshold_level, authorisation, authorisation_reasons)
select id, outcome, 'Seeded.', 'Seeded.', (select id from staff limit 1), received_at + interval '3 hours', 'reports',
       case when g % 10 = 3 then 'capacity' end, 'targeted',
       case when status = 'awaiting_authorisation' then 'awaiting' end,
       case when status = 'awaiting_authorisation' then '{closing_red_or_amber}'::text[] end
  from seed where status <> 'awaiting_screening';
insert into clocks (id, contact_id, kind, budget, started_at, stopped_at, stop_reason, policy_version)
select gen_random_uuid(), id, 'feedback', '1 working day', received_at + interval '3 hours',
       received_at + interval '5 hours', 'referrer_informed_by_phone', 'reports'
  from seed where status = 'decided';
vacuum analyze;
SQL

"$BIN" serve >/tmp/mash-reports-serve.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.2; done

YEAR="from=2025-12-01&to=2026-11-30"
echo "== $(nproc) cores; $CONTACTS contacts; seconds per request, $RUNS runs each (first cold)"
for spec in "reports/timeliness application/json" "reports/timeliness text/csv" \
            "reports/outcomes application/json" "reports/outcomes text/csv" "exports/annex-a/contacts text/csv"; do
  read -r path accept <<<"$spec"
  times=()
  for _ in $(seq "$RUNS"); do
    times+=("$(curl -sf -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $KEY" -H "Accept: $accept" \
      "http://127.0.0.1:$PORT/v1/$path?$YEAR")")
  done
  printf '%-28s %-17s %s\n' "$path" "$accept" "${times[*]}"
done
size=$(curl -sf -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/exports/annex-a/contacts?$YEAR" | wc -l)
echo "annex A lines (header included): $size"
