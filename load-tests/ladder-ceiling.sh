#!/usr/bin/env bash
# The database's own ceiling for firing ladder steps on this machine. pgbench replays the
# statements the ladder worker sends for each batch of 250 claimed steps (src/clocks/worker.rs,
# `fire_together` and `write_effects`: lock the contacts, mark the steps fired, insert their
# events with their staff notifications, insert their audit records, commit), as prepared
# statements on CONNECTIONS connections (default 8: two workers with four batches in flight
# each), with no service, no Redis and no claims in between. It prints the steps fired per
# second and how long DUE steps (default 100,000) all due at once take at that rate: the least
# p99 lateness that any number of workers could reach here, since every one of them waits on
# this database. No staff-notification endpoint is registered (as in the benchmark), so the
# deliveries part of the events statement writes nothing.
#
# Keep the statements below in step with the worker's: this is the reference its benchmark
# (`cargo bench --bench ladder`) is read against. Uses its own database (mash_ladder_ceiling,
# recreated each run) and no Redis.
#   load-tests/ladder-ceiling.sh            # or: DUE=200000 CONNECTIONS=4 load-tests/ladder-ceiling.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source .local/services.env
DUE=${DUE:-100000} CONNECTIONS=${CONNECTIONS:-8} BATCH=250
command -v pgbench >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-client; }
(( DUE % (BATCH * CONNECTIONS) == 0 )) || { echo "DUE must be a multiple of $((BATCH * CONNECTIONS))" >&2; exit 2; }

# Its own database only: a failure here must stop the script, not leave an inherited URL in use.
unset DATABASE_URL MASH_DATABASE__MIGRATE_URL
DB_ENV=$(scripts/services.sh database mash_ladder_ceiling --fresh)
eval "$DB_ENV"
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/mash-triage
"$BIN" migrate >/dev/null

# DUE contacts, each with a running decision clock and one pending step due now, as the
# benchmark seeds them; and the batches the workers would claim, 250 steps each.
psql "$MASH_DATABASE__MIGRATE_URL" -Xq -v ON_ERROR_STOP=1 -v due="$DUE" -v batch="$BATCH" <<'SQL'
insert into agencies (id, name, kind, created_at, contact_source)
  values ('00000000-0000-7000-8000-000000000001', 'Ceiling', 'police', now(), '6');
insert into contacts (id, agency_id, agency_reference, request_hash, received_at, submission, urgency, queue)
  select ('00000000-0000-7000-9000-' || lpad(to_hex(i), 12, '0'))::uuid, '00000000-0000-7000-8000-000000000001',
         'C-' || i, '\x00', now(), '{}', 'amber', 'screening'
    from generate_series(1, :due) i;
insert into clocks (id, contact_id, kind, level, budget, started_at, deadline, policy_version)
  select id, id, 'decision', 'amber', '1 working days', now(), now() + interval '1 day', 'ceiling' from contacts;
insert into ladder_steps (clock_id, step, due_at, status) select id, 'reminder', now(), 'pending' from clocks;
create table ceiling_batches as
  select (n - 1) / :batch as b, array_agg(id order by id) as clock_ids, array_agg('reminder'::text) as steps
    from (select id, row_number() over (order by id) as n from clocks) s group by 1;
create unique index on ceiling_batches (b);
create sequence ceiling_batch minvalue 0 start 0;
analyze agencies, contacts, clocks, ladder_steps, ceiling_batches, events, deliveries, audit_events;
SQL

SCRIPT=$(mktemp)
trap 'rm -f "$SCRIPT"' EXIT
cat >"$SCRIPT" <<'SQL'
select nextval('ceiling_batch') as b \gset
select clock_ids as ids, steps from ceiling_batches where b = :b \gset
BEGIN;
select c.id from contacts c join clocks k on k.contact_id = c.id where k.id = any(:ids::uuid[]) order by c.id for no key update of c;
with s as (
    update ladder_steps l set status = 'fired', fired_at = now()
      from unnest(:ids::uuid[], :steps::text[]) as t(clock_id, step)
     where l.clock_id = t.clock_id and l.step = t.step and l.status = 'pending' and l.due_at <= now()
       and (l.retry_at is null or l.retry_at <= now())
    returning l.clock_id, l.step, l.due_at, l.fired_at)
 select s.clock_id, s.step, s.due_at, c.contact_id, c.kind, c.level, c.deadline, s.fired_at, k.urgency, k.queue
   from s join clocks c on c.id = s.clock_id join contacts k on k.id = c.contact_id;
with e as (
    insert into events (occurred_at, kind, contact_id, clock_id, step, payload)
    select now(), e.step, e.contact_id, e.clock_id, e.step,
           jsonb_build_object('clock', 'decision', 'level', 'amber', 'notify', 'practitioner', 'due_at', now(), 'deadline', now())
      from unnest(:steps::text[], :ids::uuid[], :ids::uuid[]) as e(step, contact_id, clock_id)
    returning id)
insert into deliveries (id, event_id, endpoint_id, status, next_attempt_at, created_at)
  select gen_random_uuid(), e.id, w.id, 'pending', now(), now()
    from e cross join webhook_endpoints w
   where w.purpose = 'staff_notifications' and w.disabled_at is null;
with new_events as (
    insert into audit_events (occurred_at, actor_kind, actor_id, api_key_id, action, contact_id, detail)
    select now(), e.actor_kind, e.actor_id, e.api_key_id, 'ladder_step_fired', e.contact_id, e.detail
      from unnest(array_fill('system'::text, array[cardinality(:ids::uuid[])]), array_fill(null::uuid, array[cardinality(:ids::uuid[])]),
                  array_fill(null::uuid, array[cardinality(:ids::uuid[])]), :ids::uuid[],
                  array(select jsonb_build_object('clock_id', i, 'step', 'reminder') from unnest(:ids::uuid[]) i))
           as e(actor_kind, actor_id, api_key_id, contact_id, detail))
select 1;
COMMIT;
SQL

echo "== $(nproc) cores; pgbench -M prepared -c$CONNECTIONS: $DUE steps due at once, $BATCH a transaction, the worker's statements"
OUT=$(pgbench -n -M prepared -c "$CONNECTIONS" -j "$(nproc)" -t $((DUE / BATCH / CONNECTIONS)) -f "$SCRIPT" \
  "$MASH_DATABASE__MIGRATE_URL" 2>&1) || { echo "$OUT" >&2; echo "pgbench failed" >&2; exit 1; }
echo "$OUT" | grep -E '^(number of transactions actually processed|number of failed|latency average|tps)' || true
FIRED=$(psql "$MASH_DATABASE__MIGRATE_URL" -XAtc "select count(*) from ladder_steps where status = 'fired'")
EVENTS=$(psql "$MASH_DATABASE__MIGRATE_URL" -XAtc "select count(*) from events")
[[ $FIRED == "$DUE" && $EVENTS == "$DUE" ]] || { echo "fired $FIRED and wrote $EVENTS events of $DUE: the replay is wrong" >&2; exit 1; }
TPS=$(echo "$OUT" | awk '/^tps = / { print $3; exit }')
[[ -n $TPS ]] || { echo "$OUT" >&2; echo "no tps in pgbench's output" >&2; exit 1; }
awk -v t="$TPS" -v b="$BATCH" -v d="$DUE" 'BEGIN {
  printf "== the database alone fires %.0f steps/s; %d steps due at once take %.2f s at that rate\n", t * b, d, d / (t * b) }'
