#!/usr/bin/env bash
# Peak server memory under oversized-body attacks (issue 9): N concurrent 30 MiB batch bodies of
# JSON zeros ([0,0,...], the worst case: two bytes a value), sent (a) with a staff key, whose role
# may not submit, and (b) with an agency key, whose role may. Prints the server's peak RSS
# (VmHWM) after each round. Uses its own database (mash_triage_bodymem) and Redis prefix.
#   load-tests/body-memory.sh            # BIN=path/to/mash-triage CONCURRENT=4 to vary
set -euo pipefail
cd "$(dirname "$0")/.."
source .local/services.env
CONCURRENT=${CONCURRENT:-4} PORT=${PORT:-18081}
export DATABASE_URL="${MASH_PG_ADMIN_URL%/*}/mash_triage_bodymem" REDIS_URL="$MASH_REDIS_URL"
export MASH_REDIS__KEY_PREFIX=mash:bodymem: MASH_LISTEN="127.0.0.1:$PORT" MASH_TELEMETRY__LOG_FILTER=warn
psql "$MASH_PG_ADMIN_URL" -Xqc 'drop database if exists mash_triage_bodymem' -c 'create database mash_triage_bodymem'
if [[ -z ${BIN:-} ]]; then cargo build --release --quiet; BIN=${CARGO_TARGET_DIR:-target}/release/mash-triage; fi
"$BIN" migrate >/dev/null
"$BIN" agency create --name "Body Test Police" --kind police >/dev/null
AGENCY_KEY=$("$BIN" key create --agency "Body Test Police")
STAFF_KEY=$("$BIN" key create --staff "Body Test Manager" --role manager)
BODY=$(mktemp)
python3 -c "import sys; sys.stdout.write('{\"contacts\": [' + '0,' * (15 * 1024 * 1024 - 20) + '0]}')" >"$BODY"

"$BIN" serve >/tmp/mash-bodymem-serve.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -f "$BODY"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.2; done
rss() { grep VmHWM "/proc/$SERVER/status" | awk '{print $2, $3}'; }
echo "== body $(stat -c %s "$BODY") bytes, $CONCURRENT at once; idle peak RSS: $(rss)"
round() {
  local key=$1 pids=()
  for _ in $(seq "$CONCURRENT"); do
    curl -s -o /dev/null -w '%{http_code} ' -H "authorization: Bearer $key" -H 'content-type: application/json' \
      --data-binary @"$BODY" "http://127.0.0.1:$PORT/v1/contacts/batch" & pids+=($!)
  done
  wait "${pids[@]}"; echo
}
echo -n "staff key (403 expected):  "; round "$STAFF_KEY"; echo "peak RSS: $(rss)"
echo -n "agency key (413 expected): "; round "$AGENCY_KEY"; echo "peak RSS: $(rss)"
