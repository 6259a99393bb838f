#!/usr/bin/env python3
"""The Python half of scripts/monitoring-test.sh (which explains the checks); stdlib only, except
that `static` reads YAML with PyYAML (Debian: python3-yaml).

  monitoring_test.py static OUT.yml          alerts, tests, dashboards and docs agree; writes every
                                             dashboard query as a recording rule for promtool to parse
  monitoring_test.py check-exposition ADDR   http://ADDR/metrics matches monitoring/metrics.txt
  monitoring_test.py run PROM_URL PID LOG DASHBOARD.json...
                                             waits for the Prometheus at PROM_URL (process PID) to
                                             scrape and evaluate, then runs every panel query
"""
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "monitoring/metrics.txt"

# Concrete values for Grafana's built-in variables (a dashboard over the last hour, 15 s scrapes).
BUILTINS = {
    "__rate_interval": "1m", "__interval": "1m", "__interval_ms": "60000",
    "__range": "1h", "__range_s": "3600", "__range_ms": "3600000",
}
# A label value that may be an id or personal data: a UUID, or a run of 6+ digits (NHS numbers,
# references). mash_build_info is exempt (its policy_version holds a SHA-256).
ID_LIKE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\d{6,}")


def load_contract():
    contract = {}
    for line in CONTRACT.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, kind, labels = line.split()
            contract[name] = (kind, frozenset() if labels == "-" else frozenset(labels.split(",")))
    return contract


# ------------------------------------------------------------------------- dashboard queries
def _variables(dash):
    values = {}
    for var in dash.get("templating", {}).get("list", []):
        kind, name = var.get("type"), var["name"]
        if kind == "datasource":
            continue  # used in panels' datasource fields only
        current = (var.get("current") or {}).get("value")
        if var.get("includeAll"):
            values[name] = var.get("allValue") or ".*"
        elif isinstance(current, list) and current:
            values[name] = current[0]
        elif current:
            values[name] = current
        elif kind == "constant":
            values[name] = var.get("query", "")
        else:
            raise ValueError(f"variable ${name} has no concrete value to test with")
    return values


def dashboard_queries(dash):
    """Every panel target's expr with variables replaced: [{panel, ref, expr, raw, datasource}]."""
    values = {**_variables(dash), **BUILTINS}

    def substitute(expr, where):
        def one(m):
            name = m.group(1) or m.group(2) or m.group(3)
            if name not in values:
                raise ValueError(f"{where}: unknown variable ${name}")
            return values[name]
        return re.sub(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)", one, expr)

    found = []

    def walk(panels):
        for p in panels:
            walk(p.get("panels", []))  # a collapsed row keeps its panels inside it
            for t in p.get("targets", []):
                if t.get("expr"):
                    where = f"panel {p.get('title')!r} [{t.get('refId')}]"
                    found.append({"panel": p.get("title"), "ref": t.get("refId"), "raw": t["expr"],
                                  "expr": substitute(t["expr"], where),
                                  "datasource": t.get("datasource") or p.get("datasource")})

    walk(dash.get("panels", []))
    return found


# ------------------------------------------------------------------------------------ static
def static(out):
    import yaml

    failed = []

    def fail(msg):
        failed.append(msg)
        print(f"  FAIL {msg}")

    contract = load_contract()

    def check_names(where, expr):
        for n in set(re.findall(r"(?<![\w:])mash_[a-z0-9_]+", expr)):
            base, suffix = n, ""
            m = re.fullmatch(r"(.+)_(bucket|sum|count)", n)
            if m and contract.get(m.group(1), ("",))[0] == "histogram":
                base, suffix = m.group(1), m.group(2)
            if base not in contract:
                fail(f"{where}: {n} is not in monitoring/metrics.txt")
            elif contract[base][0] == "histogram" and not suffix:
                fail(f"{where}: histogram {n} used without _bucket, _sum or _count")

    # The runbook's anchors, as GitHub makes them from headings.
    doc = ROOT / "docs/MONITORING.md"
    anchors = set()
    if doc.exists():
        for line in doc.read_text().splitlines():
            m = re.match(r"#{1,6}\s+(.*)", line)
            if m:
                anchors.add(re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-"))
    else:
        fail("docs/MONITORING.md is missing")

    rules = yaml.safe_load((ROOT / "monitoring/alerts.yml").read_text())
    alerts = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            check_names(f"alerts.yml {name}", rule["expr"])
            if "alert" not in rule:
                continue
            alerts.add(name)
            labels, ann = rule.get("labels", {}), rule.get("annotations", {})
            if labels.get("severity") not in ("critical", "warning"):
                fail(f"{name}: label severity must be critical or warning")
            if labels.get("audience") not in ("hub", "operations"):
                fail(f"{name}: label audience must be hub or operations")
            for key in ("summary", "description", "runbook_url"):
                if not ann.get(key):
                    fail(f"{name}: annotation {key} missing")
            url = ann.get("runbook_url", "")
            anchor = url.partition("#")[2]
            if not url.startswith("docs/MONITORING.md#"):
                fail(f"{name}: runbook_url must be docs/MONITORING.md#<anchor>, got {url!r}")
            elif anchor not in anchors:
                fail(f"{name}: runbook_url anchor #{anchor} is not a heading of docs/MONITORING.md")

    tests = yaml.safe_load((ROOT / "monitoring/alerts.test.yml").read_text())
    fires, silent = set(), set()
    for t in tests["tests"]:
        for a in t.get("alert_rule_test", []):
            (fires if a.get("exp_alerts") else silent).add(a["alertname"])
    for name in sorted(alerts):
        if name not in fires:
            fail(f"{name}: no unit test in alerts.test.yml where it fires")
        if name not in silent:
            fail(f"{name}: no unit test in alerts.test.yml where it stays silent")

    records = []
    for path in sorted((ROOT / "monitoring/dashboards").glob("*.json")):
        dash = json.loads(path.read_text())
        if not 36 <= dash.get("schemaVersion", 0) <= 41:
            fail(f"{path.name}: schemaVersion {dash.get('schemaVersion')} (expected about 39)")
        ids = []

        def collect(panels):
            for p in panels:
                ids.append(p.get("id"))
                collect(p.get("panels", []))
        collect(dash.get("panels", []))
        if len(ids) != len(set(ids)):
            fail(f"{path.name}: duplicate panel ids")
        for var in dash.get("templating", {}).get("list", []):
            check_names(f"{path.name} variable ${var['name']}", json.dumps(var.get("query", "")))
        try:
            queries = dashboard_queries(dash)
        except ValueError as err:
            fail(f"{path.name}: {err}")
            continue
        if not queries:
            fail(f"{path.name}: no panel queries")
        for q in queries:
            where = f"{path.name} panel {q['panel']!r} [{q['ref']}]"
            if (q["datasource"] or {}).get("uid") not in ("${datasource}", "$datasource"):
                fail(f"{where}: the datasource must be the dashboard's variable ${{datasource}}")
            check_names(where, q["expr"])
            records.append((where, q["expr"]))

    # Every query as a recording rule, so that `promtool check rules` parses it offline.
    with open(out, "w") as f:
        f.write("groups:\n  - name: dashboard-queries\n    rules:\n")
        for i, (where, expr) in enumerate(records):
            f.write(f"      # {where}\n      - record: dashboard:query_{i}\n        expr: {json.dumps(expr)}\n")
    print(f"  {len(alerts)} alerts, {len(records)} dashboard queries, {len(contract)} metrics in the contract")
    return 1 if failed else 0


# -------------------------------------------------------------------------------- exposition
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def check_exposition(addr):
    url = f"http://{addr}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            text = r.read().decode()
    except (urllib.error.URLError, OSError) as err:
        print(f"  FAIL {url}: {err} (is mash-triage running with metrics.listen = {addr}?)")
        return 2
    contract = load_contract()
    seen, problems = {}, set()
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][\w:]*)(\{.*\})?\s", line)
        if not m or not m.group(1).startswith("mash_"):
            continue
        name, labels = m.group(1), dict(LABEL.findall(m.group(2) or ""))
        family, part = name, ""
        if name not in contract:
            hm = re.fullmatch(r"(.+)_(bucket|sum|count|created)", name)
            if hm and hm.group(1) in contract and contract[hm.group(1)][0] in ("histogram", "counter"):
                family, part = hm.group(1), hm.group(2)
        if family not in contract:
            problems.add(f"{name} is exported but not in monitoring/metrics.txt")
            continue
        seen[family] = seen.get(family, 0) + 1
        names = set(labels) - ({"le"} if part == "bucket" else set())
        if names != contract[family][1]:
            hint = " (opentelemetry-prometheus: without_scope_info())" if any(n.startswith("otel_") for n in names) else ""
            problems.add(f"{family}: labels {sorted(names)}, expected {sorted(contract[family][1])}{hint}")
        if family != "mash_build_info":
            for k, v in labels.items():
                if k != "le" and ID_LIKE.search(v):
                    problems.add(f"{family}: label {k}={v!r} looks like an id")
    for family in contract:
        if family not in seen:
            problems.add(f"{family} is not exported (a labelled metric must be initialised for its known "
                         f"label values, or appear once it has counted something)")
    for p in sorted(problems):
        print(f"  FAIL {p}")
    print(f"  {len(seen)} of {len(contract)} metric families exported, {sum(seen.values())} samples")
    return 1 if problems else 0


# -------------------------------------------------------------------------- live Prometheus
def api(prom, path, **params):
    data = urllib.parse.urlencode(params).encode() if params else None
    with urllib.request.urlopen(f"{prom}{path}", data=data, timeout=10) as r:
        return json.load(r)


def query(prom, expr):
    """(result list, error or None)"""
    try:
        body = api(prom, "/api/v1/query", query=expr)
    except urllib.error.HTTPError as err:
        try:
            body = json.load(err)
        except ValueError:
            return [], f"HTTP {err.code}"
    except (urllib.error.URLError, OSError) as err:
        return [], str(err)
    if body.get("status") != "success":
        return [], f"{body.get('errorType')}: {body.get('error')}"
    data = body["data"]
    if data["resultType"] == "scalar":
        return [{"value": data["result"]}], None
    return data["result"], None


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(what, check, pid, log, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not alive(pid):
            print(f"  FAIL Prometheus exited while waiting for {what}; its log:")
            print("".join(Path(log).read_text().splitlines(keepends=True)[-30:]))
            return False
        try:
            if check():
                return True
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    print(f"  FAIL timed out ({timeout} s) waiting for {what}")
    return False


def run(prom, pid, log, dashboards):
    pid = int(pid)

    def ready():
        with urllib.request.urlopen(f"{prom}/-/ready", timeout=2) as r:
            return r.status == 200

    if not wait_for("Prometheus to be ready", ready, pid, log, 60):
        return 1

    def scraped():
        result, _ = query(prom, 'count_over_time(up{job="mash-triage"}[1m]) >= 5 and up{job="mash-triage"} == 1')
        return bool(result)

    print("monitoring-test: waiting for 5 scrapes")
    if not wait_for("5 successful scrapes", scraped, pid, log, 60):
        targets = api(prom, "/api/v1/targets")["data"]["activeTargets"]
        for t in targets:
            print(f"  target {t['scrapeUrl']}: health {t['health']}, last error {t['lastError']!r}")
        return 1

    def evaluated():
        groups = api(prom, "/api/v1/rules")["data"]["groups"]
        return groups and all(r["health"] != "unknown" for g in groups for r in g["rules"])

    print("monitoring-test: waiting for every rule of monitoring/alerts.yml to be evaluated")
    if not wait_for("the rules to be evaluated", evaluated, pid, log, 30):
        return 1
    failed = 0
    for g in api(prom, "/api/v1/rules")["data"]["groups"]:
        for r in g["rules"]:
            if r["health"] != "ok":
                failed += 1
                print(f"  FAIL rule {r['name']} ({g['name']}): {r.get('lastError')}")
            if r.get("type") == "alerting" and r.get("state") != "inactive":
                print(f"  note: alert {r['name']} is {r['state']} against this service")

    total = 0
    for path in dashboards:
        dash = json.loads(Path(path).read_text())
        print(f"monitoring-test: {len(dashboard_queries(dash))} panel queries of {Path(path).name}")
        for q in dashboard_queries(dash):
            total += 1
            result, error = query(prom, q["expr"])
            label = f"panel {q['panel']!r} [{q['ref']}]"
            if error:
                failed += 1
                print(f"  FAIL {label}: {error}\n       {q['expr']}")
            elif not result:
                failed += 1
                print(f"  FAIL {label}: no data\n       {q['expr']}")
            else:
                values = [s["value"][1] for s in result]
                nan = " (NaN only: no event in the window)" if all(v == "NaN" for v in values) else ""
                print(f"  ok   {label}: {len(result)} series{nan}")
    print(f"monitoring-test: {total} queries, {failed} failures")
    return 1 if failed else 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "static":
        return static(argv[1])
    if len(argv) == 2 and argv[0] == "check-exposition":
        return check_exposition(argv[1])
    if len(argv) >= 4 and argv[0] == "run":
        return run(argv[1], argv[2], argv[3], argv[4:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
