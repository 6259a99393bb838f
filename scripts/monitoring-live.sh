#!/usr/bin/env bash
# Monitoring against the real service: starts mash-triage (debug build, its own database
# mash_triage_monitoring and Redis prefix mash:monitoring:, the background worker in-process),
# gives it real work through the API (a red, an amber and a green contact; a decision, the
# referrer told, a re-rating, a claim), lets the ladder fire, then runs
# `scripts/monitoring-test.sh queries`: the exposition against monitoring/metrics.txt, and every
# dashboard panel's query through a real Prometheus scraping it.
#   scripts/monitoring-live.sh          # make test runs it
set -euo pipefail
cd "$(dirname "$0")/.."
source .local/services.env
PORT=${PORT:-18091} METRICS_PORT=${METRICS_PORT:-18092}
eval "$(scripts/services.sh database mash_triage_monitoring --fresh)"
export REDIS_URL="$MASH_REDIS_URL" MASH_REDIS__KEY_PREFIX=mash:monitoring: MASH_LISTEN="127.0.0.1:$PORT"
export MASH_METRICS__LISTEN="127.0.0.1:$METRICS_PORT" MASH_METRICS__CACHE_SECONDS=1 MASH_TELEMETRY__LOG_FILTER=warn
cargo build --quiet
BIN=${CARGO_TARGET_DIR:-target}/debug/mash-triage
"$BIN" migrate >/dev/null
"$BIN" agency create --name "Monitoring Police" --kind police >/dev/null
AGENCY_KEY=$("$BIN" key create --agency "Monitoring Police" 2>/dev/null)
MANAGER_KEY=$("$BIN" key create --staff "Monitoring Manager" --role manager 2>/dev/null)
PRACTITIONER_KEY=$("$BIN" key create --staff "Monitoring Practitioner" --role practitioner 2>/dev/null)
"$BIN" serve >/tmp/mash-monitoring-serve.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.2; done

echo "monitoring-live: giving the service real work"
BASE="http://127.0.0.1:$PORT" AGENCY_KEY=$AGENCY_KEY MANAGER_KEY=$MANAGER_KEY PRACTITIONER_KEY=$PRACTITIONER_KEY \
  python3 - <<'PY'
import datetime, json, os, urllib.request

base = os.environ["BASE"]
today = datetime.date.today()

def call(method, path, key, body=None, if_match=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Authorization", "Bearer " + os.environ[key])
    req.add_header("Content-Type", "application/json")
    if if_match:
        req.add_header("If-Match", if_match)
    with urllib.request.urlopen(req) as resp:
        return json.load(resp) if resp.status != 204 else None

def contact(ref, concern, narrative, child, injury=None, immediate=False):
    return {
        "agency_reference": ref,
        "referrer": {"name": "Officer", "role": "Response officer"},
        "children": [child],
        "concerns": [concern],
        "injury": injury,
        "immediate_risk": immediate,
        "narrative": narrative,
        "consent": {"status": "not_sought", "reason_not_sought": "would_prejudice_investigation"},
    }

baby = {"given_name": "Test", "family_name": "Red", "date_of_birth": str(today - datetime.timedelta(days=120)), "non_mobile": True}
red = call("POST", "/v1/contacts", "AGENCY_KEY", contact(
    "LIVE-RED", "physical_abuse", "Bruising seen on a non-mobile baby.", baby,
    injury={"observed": True, "description": "bruise", "non_accidental_suspected": True}))
older = lambda name: {"given_name": "Test", "family_name": name, "date_of_birth": "2019-05-01"}
amber = call("POST", "/v1/contacts", "AGENCY_KEY", contact("LIVE-AMBER", "physical_abuse", "Father hit the child.", older("Amber")))
green = call("POST", "/v1/contacts", "AGENCY_KEY", contact("LIVE-GREEN", "neglect", "Child often arrives hungry.", older("Green")))
decision = {"outcome": "early_help", "rationale": "Support offered.", "feedback": "Early help offered.", "threshold_level": "early_help"}
call("POST", f"/v1/contacts/{amber['id']}/decision", "MANAGER_KEY", decision, if_match="*")
call("POST", f"/v1/contacts/{amber['id']}/feedback-given", "MANAGER_KEY", {"method": "phone"})
call("POST", f"/v1/contacts/{green['id']}/rerate", "MANAGER_KEY", {"urgency": "amber", "reason": "Second report."}, if_match="*")
call("POST", "/v1/queues/screening/claim", "PRACTITIONER_KEY", {})
call("GET", "/v1/queues", "MANAGER_KEY")
print("monitoring-live: urgencies", red["urgency"], amber["urgency"], green["urgency"])
PY
# The ladder fires the red contact's first step at once; give it a round or two.
sleep 3
METRICS_ADDR="127.0.0.1:$METRICS_PORT" scripts/monitoring-test.sh queries
