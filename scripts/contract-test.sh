#!/usr/bin/env bash
# The API contract, checked from outside: schemathesis (PyPI) generates requests from
# openapi/openapi.json and runs every check against the real service (debug build, its own
# database mash_triage_contract and Redis prefix mash:contract:), once with an agency key and
# once with a manager key. Bounded by MAX_EXAMPLES per operation (default 10).
# Every check runs on every operation; schemathesis.toml (read from the project root) names the
# two statuses the design adds: 422 for a schema-valid contact that breaks a cross-field rule,
# and 207 for a batch whose items are judged one by one.
#   scripts/contract-test.sh            # make test runs it
set -euo pipefail
cd "$(dirname "$0")/.."
source .local/services.env
PORT=${PORT:-18090} MAX_EXAMPLES=${MAX_EXAMPLES:-10}
VENV=.local/schemathesis-venv
if [[ ! -x $VENV/bin/schemathesis ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'schemathesis==4.32.5'
fi
eval "$(scripts/services.sh database mash_triage_contract --fresh)"
export REDIS_URL="$MASH_REDIS_URL" MASH_REDIS__KEY_PREFIX=mash:contract: MASH_LISTEN="127.0.0.1:$PORT"
export MASH_TELEMETRY__LOG_FILTER=warn MASH_RATE_LIMIT__PER_KEY=1000000 MASH_RATE_LIMIT__PER_ADDRESS=1000000
cargo build --quiet
BIN=${CARGO_TARGET_DIR:-target}/debug/mash-triage
"$BIN" migrate >/dev/null
"$BIN" agency create --name "Contract Police" --kind police >/dev/null
AGENCY_KEY=$("$BIN" key create --agency "Contract Police" 2>/dev/null)
MANAGER_KEY=$("$BIN" key create --staff "Contract Manager" --role manager 2>/dev/null)
"$BIN" serve >/tmp/mash-contract-serve.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.2; done
status=0
for who in agency manager; do
  key=$AGENCY_KEY; [[ $who == manager ]] && key=$MANAGER_KEY
  echo "== schemathesis as the $who"
  "$VENV/bin/schemathesis" run openapi/openapi.json --url "http://127.0.0.1:$PORT" \
    --header "Authorization: Bearer $key" --checks all --max-examples "$MAX_EXAMPLES" \
    --no-color --suppress-health-check all || status=1
done
exit $status
