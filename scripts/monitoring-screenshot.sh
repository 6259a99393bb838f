#!/usr/bin/env bash
# Renders the dashboard's hub queries from real data, for docs/monitoring-dashboard.png.
# Grafana is not in Debian, so the rendering is Prometheus's own graph page (the same PromQL as
# the dashboard's panels), captured by Debian's headless Chromium. It starts the service (debug
# build, database mash_triage_screenshot, Redis prefix mash:screenshot:), sends it a stream of
# contacts and decisions for MINUTES (default 3) while a throwaway Prometheus scrapes it every
# second, then photographs the graphs.
#   scripts/monitoring-screenshot.sh        # writes docs/monitoring-dashboard.png
set -euo pipefail
cd "$(dirname "$0")/.."
source .local/services.env
MINUTES=${MINUTES:-3} PORT=${PORT:-18093} METRICS_PORT=${METRICS_PORT:-18094} PROM_PORT=${PROM_PORT:-18095}
OUT=${OUT:-docs/monitoring-dashboard.png}
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
command -v prometheus >/dev/null || { apt-get update -qq && apt-get install -y -qq prometheus; }
eval "$(scripts/services.sh database mash_triage_screenshot --fresh)"
export REDIS_URL="$MASH_REDIS_URL" MASH_REDIS__KEY_PREFIX=mash:screenshot: MASH_LISTEN="127.0.0.1:$PORT"
export MASH_METRICS__LISTEN="127.0.0.1:$METRICS_PORT" MASH_METRICS__CACHE_SECONDS=1 MASH_TELEMETRY__LOG_FILTER=warn
export MASH_RATE_LIMIT__ENABLED=false
cargo build --quiet
BIN=${CARGO_TARGET_DIR:-target}/debug/mash-triage
"$BIN" migrate >/dev/null
"$BIN" agency create --name "Screenshot Police" --kind police >/dev/null
"$BIN" agency create --name "Screenshot School" --kind school >/dev/null
export POLICE_KEY=$("$BIN" key create --agency "Screenshot Police" 2>/dev/null)
export SCHOOL_KEY=$("$BIN" key create --agency "Screenshot School" 2>/dev/null)
export MANAGER_KEY=$("$BIN" key create --staff "Screenshot Manager" --role manager 2>/dev/null)
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
"$BIN" serve >"$tmp/serve.log" 2>&1 &
pids+=($!)
cat >"$tmp/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [$PWD/monitoring/alerts.yml]
scrape_configs: [{job_name: mash-triage, static_configs: [{targets: ["127.0.0.1:$METRICS_PORT"]}]}]
EOF
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/live" >/dev/null && break; sleep 0.2; done

echo "monitoring-screenshot: ${MINUTES} minutes of contacts and decisions"
BASE="http://127.0.0.1:$PORT" MINUTES=$MINUTES python3 - <<'PY'
import datetime, json, os, random, time, urllib.request

base, until = os.environ["BASE"], time.time() + 60 * float(os.environ["MINUTES"])
today = datetime.date.today()
random.seed(7)

def call(method, path, key, body=None, if_match=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
    req.add_header("Authorization", "Bearer " + os.environ[key])
    req.add_header("Content-Type", "application/json")
    if if_match:
        req.add_header("If-Match", if_match)
    try:
        with urllib.request.urlopen(req) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as err:
        return {"status": err.code}

concerns = ["neglect", "physical_abuse", "emotional_abuse", "domestic_abuse", "missing"]
n, open_ids = 0, []
while time.time() < until:
    n += 1
    key = random.choice(["POLICE_KEY", "SCHOOL_KEY"])
    baby = random.random() < 0.15
    child = {"given_name": "Child", "family_name": f"N{n}",
             "date_of_birth": str(today - datetime.timedelta(days=100 if baby else 2500))}
    if baby:
        child["non_mobile"] = True
    body = {"agency_reference": f"SHOT-{n}", "referrer": {"name": "Referrer", "role": "Officer"},
            "children": [child], "concerns": [random.choice(concerns)], "narrative": "Invented for the screenshot.",
            "consent": {"status": "obtained"}}
    if baby:
        body["injury"] = {"observed": True, "description": "bruise", "non_accidental_suspected": True}
    created = call("POST", "/v1/contacts", key, body)
    if "id" in created:
        open_ids.append(created["id"])
    if open_ids and random.random() < 0.6:
        cid = open_ids.pop(0)
        outcome = random.choice(["early_help", "information_and_advice", "s17_assessment", "no_further_action"])
        call("POST", f"/v1/contacts/{cid}/decision", "MANAGER_KEY",
             {"outcome": outcome, "rationale": "Invented.", "feedback": "Invented.", "threshold_level": "early_help"}, if_match="*")
    call("GET", "/v1/queues", "MANAGER_KEY")
    time.sleep(random.uniform(0.3, 1.2))
print(f"monitoring-screenshot: {n} contacts sent")
PY

# The dashboard's hub panels, as Prometheus graph panels over the run.
python3 - "$PROM_PORT" "$MINUTES" >"$tmp/url" <<'PY'
import sys, urllib.parse
port, minutes = sys.argv[1], float(sys.argv[2])
queries = [
    "max by (queue, urgency) (mash_open_contacts)",
    "sum by (horizon) (max by (queue, urgency, state, horizon) (mash_breach_forecast_contacts))",
    "sum by (band) (max by (queue, urgency, band) (mash_open_contacts_by_budget_band))",
    "sum by (outcome) (rate(mash_decisions_total[1m])) * 60",
    "histogram_quantile(0.9, sum by (le, urgency) (rate(mash_decision_budget_used_ratio_bucket[2m])))",
]
params = {}
for i, q in enumerate(queries):
    params.update({f"g{i}.expr": q, f"g{i}.tab": "0", f"g{i}.range_input": f"{int(minutes * 60 + 30)}s",
                   f"g{i}.stacked": "0", f"g{i}.show_exemplars": "0"})
print(f"http://127.0.0.1:{port}/graph?" + urllib.parse.urlencode(params))
PY
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,4200 \
  --virtual-time-budget=20000 --screenshot="$OUT" "$(cat "$tmp/url")" 2>"$tmp/chromium.log" >/dev/null
echo "monitoring-screenshot: wrote $OUT"
