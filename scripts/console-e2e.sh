#!/usr/bin/env bash
# The console in a real browser: Debian's Chromium driven by playwright-core (npm), axe-core on
# every page, screenshots into .local/console-screenshots/ (SCREENSHOTS=docs/console refreshes the
# README's copies). Starts the service (the shared debug build, its own
# database mash_triage_console and Redis prefix mash:console:) with a manager and an agency key.
# Installs what a fresh machine lacks (chromium from apt, the console's npm packages).
#   scripts/console-e2e.sh            # make test runs it
set -euo pipefail
cd "$(dirname "$0")/.."
source .local/services.env
PORT=${PORT:-18095} METRICS_PORT=${METRICS_PORT:-18096}
if ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
[[ -d console/node_modules/playwright-core ]] || npm ci --prefix console --no-audit --no-fund >/dev/null
eval "$(scripts/services.sh database mash_triage_console --fresh)"
export REDIS_URL="$MASH_REDIS_URL" MASH_REDIS__KEY_PREFIX=mash:console: MASH_LISTEN="127.0.0.1:$PORT"
export MASH_METRICS__LISTEN="127.0.0.1:$METRICS_PORT" MASH_TELEMETRY__LOG_FILTER=warn
cargo build --quiet
BIN=${CARGO_TARGET_DIR:-target}/debug/mash-triage
"$BIN" migrate >/dev/null
"$BIN" agency create --name "Console Police" --kind police >/dev/null
MASH_AGENCY_KEY=$("$BIN" key create --agency "Console Police" 2>/dev/null)
MASH_MANAGER_KEY=$("$BIN" key create --staff "Console Manager" --role manager 2>/dev/null)
MASH_AUDITOR_KEY=$("$BIN" key create --staff "Console Auditor" --role auditor 2>/dev/null)
export MASH_AGENCY_KEY MASH_MANAGER_KEY MASH_AUDITOR_KEY MASH_BASE_URL="http://127.0.0.1:$PORT"
export MASH_SCREENSHOTS=${SCREENSHOTS:-.local/console-screenshots}
"$BIN" serve >/tmp/mash-console-serve.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.2; done
# One amber contact (invented) for the queue journeys.
curl -sf -o /dev/null -H "Authorization: Bearer $MASH_AGENCY_KEY" -H 'Content-Type: application/json' \
  "http://127.0.0.1:$PORT/v1/contacts" --data @- <<'JSON'
{"agency_reference": "E2E-1",
 "referrer": {"name": "PC Jo Hart", "role": "Response officer", "anonymity_requested": false},
 "children": [{"given_name": "Ella", "family_name": "Example", "date_of_birth": "2019-05-01"}],
 "adults": [], "concerns": ["physical_abuse"], "disclosure_made": false, "immediate_risk": false,
 "narrative": "Teacher saw father hit the child in the playground.",
 "consent": {"status": "not_sought", "reason_not_sought": "would_prejudice_investigation"}}
JSON
timeout 180 node console/e2e/journeys.mjs
