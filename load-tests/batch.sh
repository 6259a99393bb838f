#!/usr/bin/env bash
# A police morning batch: POST /v1/contacts/batch with 500 contacts (each a new contact about a
# different child, so every item runs triage, child matching and the clock start), against a
# release build on loopback with PostgreSQL and Redis on the same machine. Sends RUNS batches
# (default 5) one after another and prints each one's wall time and the stored count.
# Uses its own database (mash_triage_batch, recreated) and Redis prefix mash:batch:.
#   load-tests/batch.sh            # or: RUNS=10 load-tests/batch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source .local/services.env
RUNS=${RUNS:-5} PORT=${PORT:-18081}
eval "$(scripts/services.sh database mash_triage_batch --fresh)"
export REDIS_URL="$MASH_REDIS_URL" MASH_REDIS__KEY_PREFIX=mash:batch: MASH_LISTEN="127.0.0.1:$PORT"
export MASH_TELEMETRY__LOG_FILTER=warn MASH_METRICS__LISTEN="127.0.0.1:$((PORT + 1))"
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/mash-triage
"$BIN" migrate >/dev/null
"$BIN" agency create --name "Batch Police" --kind police >/dev/null
KEY=$("$BIN" key create --agency "Batch Police")
"$BIN" serve >/tmp/mash-batch-serve.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.2; done
BODY=$(mktemp)
for run in $(seq "$RUNS"); do
  python3 - "$run" >"$BODY" <<'PY'
import json, sys
run = int(sys.argv[1])
contacts = [{
    "agency_reference": f"BATCH-{run}-{i}",
    "referrer": {"name": "PC Jo Hart", "role": "Response officer"},
    "children": [{"given_name": "Ava", "family_name": f"Batch{run}x{i}", "date_of_birth": "2019-05-01"}],
    "adults": [{"given_name": "Lee", "family_name": f"Batch{run}x{i}", "relationship": "parent"}],
    "concerns": ["domestic_abuse", "neglect"],
    "narrative": "Officers attended a domestic incident overnight. The child was present and asleep upstairs.",
    "police": {"dash_risk": "medium", "child_present": True},
    "consent": {"status": "not_sought", "reason_not_sought": "would_prejudice_investigation"},
} for i in range(500)]
print(json.dumps({"contacts": contacts}))
PY
  OUT=$(curl -s -o /tmp/mash-batch-answer.json -w '%{http_code} %{time_total}' "http://127.0.0.1:$PORT/v1/contacts/batch" \
    -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' --data-binary @"$BODY")
  CREATED=$(python3 -c 'import json; r = json.load(open("/tmp/mash-batch-answer.json"))["results"]; print(sum(1 for x in r if x["status"] == 201))')
  echo "batch $run: HTTP ${OUT% *}, ${OUT#* } s, $CREATED of 500 created"
done
echo "contacts stored: $(psql "$DATABASE_URL" -XAtc 'select count(*) from contacts')"
echo "server peak RSS: $(grep VmHWM /proc/$SERVER/status | awk '{print $2, $3}')"
