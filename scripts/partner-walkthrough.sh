#!/usr/bin/env bash
# The README's first-integration walkthrough, from outside: the debug binary in sandbox mode
# (sandbox.enabled) on its own database mash_triage_sandbox and Redis prefix mash:sandbox:, and
# scripts/partner_walkthrough.py as the partner, whose webhook receiver verifies every delivery
# with the Standard Webhooks reference library from PyPI (standardwebhooks, in
# .local/partner-venv). make test runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
source .local/services.env
PORT=${PORT:-18094}
VENV=.local/partner-venv
if ! "$VENV/bin/python" -c 'import standardwebhooks' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q 'standardwebhooks==1.3.0'
fi
eval "$(scripts/services.sh database mash_triage_sandbox --fresh)"
export REDIS_URL="$MASH_REDIS_URL" MASH_REDIS__KEY_PREFIX=mash:sandbox: MASH_LISTEN="127.0.0.1:$PORT"
export MASH_SANDBOX__ENABLED=true MASH_WEBHOOKS__ALLOW_HOSTS=127.0.0.1 MASH_TELEMETRY__LOG_FILTER=warn
export MASH_METRICS__LISTEN="127.0.0.1:$((PORT + 1))"
cargo build --quiet
BIN=${CARGO_TARGET_DIR:-target}/debug/mash-triage
"$BIN" migrate >/dev/null
AGENCY_ID=$("$BIN" agency create --name "Walkthrough Primary School" --kind school 2>/dev/null)
AGENCY_KEY=$("$BIN" key create --agency "$AGENCY_ID" 2>/dev/null)
ADMIN_KEY=$("$BIN" key create --staff "Walkthrough Admin" --role admin 2>/dev/null)
"$BIN" serve >/tmp/mash-sandbox-serve.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.2; done
"$VENV/bin/python" scripts/partner_walkthrough.py "http://127.0.0.1:$PORT" "$AGENCY_KEY" "$ADMIN_KEY" "$AGENCY_ID" \
  || { echo "--- serve log"; tail -50 /tmp/mash-sandbox-serve.log; exit 1; }
