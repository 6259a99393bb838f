#!/usr/bin/env bash
# Tests of the monitoring shipped in monitoring/ (alerts, their unit tests, the dashboards), with the
# real tools from Debian's `prometheus` package (promtool and the Prometheus server). The Python
# half (stdlib, plus PyYAML for `rules`) is scripts/monitoring_test.py.
#
#   scripts/monitoring-test.sh rules     # offline; part of `make test`
#     promtool check rules + test rules (monitoring/alerts.test.yml); then: every alert has labels
#     severity and audience, annotations summary, description and a runbook_url whose anchor exists in
#     docs/MONITORING.md, and a unit test where it fires and one where it does not; the alerts and
#     dashboards use only the metrics in monitoring/metrics.txt; every dashboard query parses.
#
#   METRICS_ADDR=127.0.0.1:9464 scripts/monitoring-test.sh queries
#     Against an already running mash-triage (with real contacts) whose metrics listener is
#     METRICS_ADDR (host:port, default 127.0.0.1:9464): checks that /metrics exports exactly the
#     families and label names of monitoring/metrics.txt, with no id-like label value; starts a
#     throwaway Prometheus on loopback (free port, its own temporary storage, scrape_interval 1s,
#     monitoring/alerts.yml loaded), waits until it has scraped several times and evaluated every
#     rule without error, then runs every panel query of every dashboard through /api/v1/query and
#     fails, naming the panel, when a query errors or returns no series. The Prometheus it started
#     is killed on exit.
#     Grafana's variables become concrete values: $__rate_interval and $__interval 1m, $__range 1h,
#     a multi-value variable its "All" value (.*).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mode=${1:-}

# The processes this run started (Prometheus, and the Python that waits on it, run in the
# background so that a signal is handled at once) are killed on exit; the temporary directory
# (Prometheus's config, log and storage) is removed, or kept for inspection after a failure.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/monitoring-test.XXXXXX")
pids=()
cleanup() {
  local rc=$? p
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if ((rc)); then
    echo "monitoring-test: kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need() {
  command -v "$1" >/dev/null || {
    echo "monitoring-test: $1 not found (Debian: apt-get install prometheus)" >&2
    exit 1
  }
}

rules() {
  need promtool
  need python3
  echo "monitoring-test: promtool check rules monitoring/alerts.yml"
  promtool check rules monitoring/alerts.yml
  echo "monitoring-test: promtool test rules monitoring/alerts.test.yml"
  promtool test rules monitoring/alerts.test.yml

  echo "monitoring-test: static checks of alerts, tests, dashboards and docs"
  python3 scripts/monitoring_test.py static "$tmp/dashboard-queries.yml"
  echo "monitoring-test: promtool parses every dashboard query"
  promtool check rules --lint=none "$tmp/dashboard-queries.yml" >/dev/null \
    || { promtool check rules --lint=none "$tmp/dashboard-queries.yml"; exit 1; }
  echo "monitoring-test: rules OK"
}

queries() {
  need prometheus
  need python3
  local addr=${METRICS_ADDR:-127.0.0.1:9464} port
  echo "monitoring-test: the metrics at http://$addr/metrics against monitoring/metrics.txt"
  # A failure here is reported at the end, after the panel queries have shown what it breaks.
  # Status 2: nothing answers there, so there is nothing to scrape either.
  local exposition=ok status=0
  python3 scripts/monitoring_test.py check-exposition "$addr" || status=$?
  ((status != 2)) || exit 1
  ((status == 0)) || exposition=failed

  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $root/monitoring/alerts.yml
scrape_configs:
  - job_name: mash-triage
    static_configs:
      - targets: ["$addr"]
EOF
  echo "monitoring-test: starting Prometheus on 127.0.0.1:$port (storage $tmp/data, log $tmp/prometheus.log)"
  prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$port" --storage.tsdb.retention.time=1h \
    >"$tmp/prometheus.log" 2>&1 &
  pids+=($!)
  python3 scripts/monitoring_test.py run "http://127.0.0.1:$port" "${pids[0]}" "$tmp/prometheus.log" \
    monitoring/dashboards/*.json &
  pids+=($!)
  local panels=ok
  wait "${pids[1]}" || panels=failed
  if [[ $exposition != ok || $panels != ok ]]; then
    echo "monitoring-test: FAILED (/metrics against the contract: $exposition; rules and panel queries: $panels)" >&2
    exit 1
  fi
  echo "monitoring-test: queries OK"
}

case $mode in
  rules) rules ;;
  queries) queries ;;
  *)
    echo "usage: scripts/monitoring-test.sh rules|queries   (queries: METRICS_ADDR=host:port, default 127.0.0.1:9464)" >&2
    exit 2
    ;;
esac
