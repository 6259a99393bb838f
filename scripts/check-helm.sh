#!/usr/bin/env bash
# Lint, render and schema-check the Helm chart without a helm binary or a cluster.
#   scripts/check-helm.sh [CHART_DIR]      # CHART_DIR defaults to helm/mash-triage
# Tools (pinned in requirements-helm.txt: helm-python-sdk embeds the Helm SDK, kubernetes-validate ships
# the Kubernetes JSON schemas) live in .local/helm-venv, installed when it is missing or older than the
# requirements file; after that the script runs offline.
# Steps: `helm lint --strict` equivalent; render with default values and with each CHART_DIR/ci/*-values.yaml;
# assert on the rendered objects; validate them against the Kubernetes 1.33 schemas (strict). The Prometheus
# Operator's objects (PrometheusRule, PodMonitor) have no schema offline: they are checked by assertion,
# the PrometheusRule against monitoring/alerts.yml (which scripts/monitoring-test.sh tests with promtool).
# Exits non-zero on any failure, keeping the rendered manifests for inspection.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
chart=$(cd "${1:-$root/helm/mash-triage}" && pwd)
venv=$root/.local/helm-venv
req=$root/requirements-helm.txt
stamp=$venv/.requirements-installed
kube_version=1.33.0
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [[ ! -x $venv/bin/python || ! -f $stamp || $req -nt $stamp ]]; then
  py=$(command -v python3.11 || command -v python3) || { echo "check-helm: python3 not found" >&2; exit 1; }
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || { echo "check-helm: $py is too old (helm-python-sdk needs Python >= 3.10)" >&2; exit 1; }
  echo "check-helm: installing $(grep -Ev '^\s*(#|$)' "$req" | tr '\n' ' ')into ${venv#"$root"/}"
  [[ -x $venv/bin/python ]] || "$py" -m venv "$venv"
  "$venv/bin/pip" install --quiet -r "$req"
  touch "$stamp"
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/check-helm.XXXXXX")
trap 'rc=$?; if ((rc)); then echo "check-helm: FAILED (rendered manifests kept in $out)" >&2; else rm -rf "$out"; fi' EXIT

# Lint, render to $out/<case>.yaml, and assert. Python exits 1 after reporting every failed check.
status=0
# Helm logs every symlink it follows at INFO level; the chart's files/ are symlinks to monitoring/ on purpose.
"$venv/bin/python" -u - "$chart" "$out" "$kube_version" "$root" <<'PY' \
  2> >(grep -v --line-buffered 'found symbolic link in path' >&2) || status=1
import json
import sys
from pathlib import Path

import helm_python as helm
import yaml

chart_dir, out_dir, kube_version, root = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
# Kinds of the Prometheus Operator's CRDs: no Kubernetes schema to validate them against.
OPERATOR_API = "monitoring.coreos.com/"
passed, failed = 0, []


def check(ok, what):
    global passed
    if ok:
        passed += 1
    else:
        failed.append(what)
        print(f"  FAIL {what}")


def load_values(path):
    return yaml.safe_load(path.read_text()) or {}


def render(values):
    """Renders like `helm install`; returns (objects, notes)."""
    out = helm.Chart.load(str(chart_dir)).render(values, name="rel", namespace="mash", is_install=True)
    objects, notes = [], ""
    for name, text in sorted(out.items()):
        if name.endswith("NOTES.txt"):
            notes = text
        elif "/tests/" not in name:
            objects += [doc for doc in yaml.safe_load_all(text) if doc]
    return objects, notes


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def check_pod(kind, pod):
    """What every mash-triage pod must satisfy."""
    spec = pod["spec"]
    check(spec.get("securityContext", {}).get("runAsNonRoot") is True, f"{kind}: runAsNonRoot")
    check(spec.get("enableServiceLinks") is False, f"{kind}: enableServiceLinks false (no stray MASH_* vars)")
    for c in spec["containers"]:
        sc, env = c.get("securityContext", {}), env_of(c)
        check(sc.get("readOnlyRootFilesystem") is True, f"{kind}/{c['name']}: readOnlyRootFilesystem")
        check(sc.get("allowPrivilegeEscalation") is False, f"{kind}/{c['name']}: allowPrivilegeEscalation false")
        check("ALL" in sc.get("capabilities", {}).get("drop", []), f"{kind}/{c['name']}: capabilities drop ALL")
        res = c.get("resources", {})
        check({"cpu", "memory"} <= set(res.get("requests", {})), f"{kind}/{c['name']}: cpu+memory requests")
        check("memory" in res.get("limits", {}), f"{kind}/{c['name']}: memory limit")
        check(len(env) == len(c.get("env", [])), f"{kind}/{c['name']}: no duplicate env names")
        for var in ("DATABASE_URL", "REDIS_URL"):
            ref = env.get(var, {}).get("valueFrom", {}).get("secretKeyRef", {})
            check(bool(ref.get("name") and ref.get("key")) and "value" not in env.get(var, {}),
                  f"{kind}/{c['name']}: {var} from a secretKeyRef")
        check(env.get("MASH_TELEMETRY__LOG_FORMAT", {}).get("value") == "json", f"{kind}/{c['name']}: JSON logs")
        # The owner's URL reaches the migration Job only; serving pods run as the runtime role.
        owner_ref = env.get("MASH_DATABASE__MIGRATE_URL", {}).get("valueFrom", {}).get("secretKeyRef", {})
        if "Job/" in kind:
            check(bool(owner_ref.get("name") and owner_ref.get("key")) and "value" not in env.get("MASH_DATABASE__MIGRATE_URL", {}),
                  f"{kind}/{c['name']}: MASH_DATABASE__MIGRATE_URL (the owner) from a secretKeyRef")
        else:
            check("MASH_DATABASE__MIGRATE_URL" not in env, f"{kind}/{c['name']}: no owner URL in a serving pod")
        check(env.get("MASH_REDIS__KEY_PREFIX", {}).get("value", "").endswith(":"),
              f"{kind}/{c['name']}: MASH_REDIS__KEY_PREFIX ends with ':'")


def matches(selector, labels):
    """A label selector (matchLabels, and matchExpressions with In) against a pod's labels."""
    return selects(selector.get("matchLabels", {}), labels) and all(
        e["operator"] == "In" and labels.get(e["key"]) in e["values"] for e in selector.get("matchExpressions", []))


def check_metrics_pod(kind, pod, values):
    """The metrics listener on the pod's IP, its port, and the scrape annotations."""
    metrics = values.get("metrics", {})
    port = metrics.get("port", 9464)
    (c,) = pod["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    check(ports.get("metrics") == port, f"{kind}: container port metrics = {port}")
    check(env_of(c).get("MASH_METRICS__LISTEN", {}).get("value") == f"0.0.0.0:{port}",
          f"{kind}: MASH_METRICS__LISTEN = 0.0.0.0:{port}")
    ann = pod["metadata"].get("annotations", {})
    if metrics.get("podAnnotations", True):
        check(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(port)
              and ann.get("prometheus.io/path") == "/metrics", f"{kind}: prometheus.io/* scrape annotations")
    for k, v in values.get("podAnnotations", {}).items():
        check(ann.get(k) == v, f"{kind}: podAnnotations {k} kept")


def check_monitoring(case, objects, values):
    """The Prometheus Operator objects and the dashboard ConfigMap: rendered iff enabled, and equal to the
    files under monitoring/ (the chart's files/ are symlinks to them)."""
    mon = values.get("monitoring", {})
    pods = {o["metadata"]["labels"].get("app.kubernetes.io/component"): o["spec"]["template"]["metadata"]["labels"]
            for o in objects if o["kind"] in ("Deployment", "Job")}

    rule_on = mon.get("prometheusRule", {}).get("enabled", False)
    rules = [o for o in objects if o["kind"] == "PrometheusRule"]
    check(len(rules) == int(rule_on), f"{case}: PrometheusRule rendered iff monitoring.prometheusRule.enabled")
    for rule in rules:
        check(rule["apiVersion"] == "monitoring.coreos.com/v1", f"{case}: PrometheusRule is monitoring.coreos.com/v1")
        base = mon["prometheusRule"].get("runbookBaseUrl", "").rstrip("/")
        text = (root / "monitoring/alerts.yml").read_text()
        if base:
            text = text.replace("runbook_url: docs/", f"runbook_url: {base}/docs/")
        check(rule["spec"] == yaml.safe_load(text), f"{case}: PrometheusRule spec = monitoring/alerts.yml")
        urls = [r["annotations"]["runbook_url"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]
        check(bool(urls) and all(u.startswith(f"{base}/docs/MONITORING.md#" if base else "docs/MONITORING.md#") for u in urls),
              f"{case}: PrometheusRule runbook URLs under {base or 'docs/'}")
        for k, v in mon["prometheusRule"].get("labels", {}).items():
            check(rule["metadata"]["labels"].get(k) == v, f"{case}: PrometheusRule label {k}")

    pm_on = mon.get("podMonitor", {}).get("enabled", False)
    monitors = [o for o in objects if o["kind"] == "PodMonitor"]
    check(len(monitors) == int(pm_on), f"{case}: PodMonitor rendered iff monitoring.podMonitor.enabled")
    for pm in monitors:
        sel = pm["spec"]["selector"]
        for comp, labels in pods.items():
            check(matches(sel, labels) == (comp in ("api", "worker")),
                  f"{case}: PodMonitor {'selects' if comp in ('api', 'worker') else 'does not select'} {comp} pods")
        check([e.get("port") for e in pm["spec"]["podMetricsEndpoints"]] == ["metrics"], f"{case}: PodMonitor scrapes port metrics")

    dash_on = mon.get("grafanaDashboard", {}).get("enabled", False)
    maps = [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-dashboards")]
    check(len(maps) == int(dash_on), f"{case}: dashboard ConfigMap rendered iff monitoring.grafanaDashboard.enabled")
    for cm in maps:
        want_labels = mon["grafanaDashboard"].get("labels", {"grafana_dashboard": "1"})
        check(all(cm["metadata"]["labels"].get(k) == v for k, v in want_labels.items()),
              f"{case}: dashboard ConfigMap labels {want_labels}")
        files = {p.name: json.loads(p.read_text()) for p in (root / "monitoring/dashboards").glob("*.json")}
        data = cm.get("data", {})
        check(set(data) == set(files) and all(json.loads(data[k]) == files[k] for k in files),
              f"{case}: dashboard ConfigMap holds monitoring/dashboards/*.json unchanged")


def check_release(case, objects, notes, values):
    by_kind = {}
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)
    deployments = {o["metadata"]["labels"].get("app.kubernetes.io/component"): o for o in by_kind.get("Deployment", [])}
    api = deployments.get("api")
    check(api is not None, f"{case}: API Deployment rendered")
    if api is None:
        return
    pod = api["spec"]["template"]
    pod_labels, spec = pod["metadata"]["labels"], pod["spec"]
    (c,) = spec["containers"]
    env = env_of(c)
    check(api["spec"]["replicas"] == values.get("replicaCount", 2), f"{case}: replicas = {values.get('replicaCount', 2)}")
    check(c.get("args") == ["serve"], f"{case}: API runs `serve`")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    check(ports.get("http") == 8080, f"{case}: container port http = 8080")
    check(env.get("MASH_LISTEN", {}).get("value") == "0.0.0.0:8080", f"{case}: MASH_LISTEN = 0.0.0.0:8080")
    check(env.get("MASH_HTTP__PUBLIC_BASE_URL", {}).get("value", "").startswith("http"), f"{case}: public base URL set")
    for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
        get = c.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path and get.get("port") in ("http", 8080), f"{case}: {probe} GET {path} on http")
    grace = spec.get("terminationGracePeriodSeconds", 30)
    drain = int(env.get("MASH_HTTP__SHUTDOWN_GRACE_SECONDS", {}).get("value", 20))
    cache = env.get("MASH_HTTP__KEY_CACHE_SECONDS", {}).get("value")
    check(cache == str(values.get("config", {}).get("keyCacheSeconds", 5)),
          f"{case}: MASH_HTTP__KEY_CACHE_SECONDS from config.keyCacheSeconds ({cache})")
    pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    check(pre_stop > 0, f"{case}: preStop sleep")
    check(grace > 20 and grace > drain + pre_stop,
          f"{case}: terminationGracePeriodSeconds ({grace}) > preStop ({pre_stop}) + drain ({drain}), and > 20")
    check_pod(f"{case}: Deployment/api", pod)
    check_metrics_pod(f"{case}: Deployment/api", pod, values)

    (svc,) = by_kind.get("Service", [None])
    check(svc is not None and svc["spec"]["type"] == "ClusterIP", f"{case}: ClusterIP Service")
    if svc:
        check(any(p["port"] == 8080 and p["targetPort"] == "http" for p in svc["spec"]["ports"]), f"{case}: Service 8080 -> http")
        check(selects(svc["spec"]["selector"], pod_labels), f"{case}: Service selects the API pods")
        check(all(p["targetPort"] != "metrics" and p["port"] != values.get("metrics", {}).get("port", 9464)
                  for p in svc["spec"]["ports"]), f"{case}: Service does not expose the metrics port")
        for comp, d in deployments.items():
            if comp != "api":
                check(not selects(svc["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"]),
                      f"{case}: Service does not select {comp} pods")

    pdbs = by_kind.get("PodDisruptionBudget", [])
    check(len(pdbs) == 1 and pdbs[0]["spec"].get("minAvailable") == 1, f"{case}: PodDisruptionBudget minAvailable 1")
    if pdbs:
        check(selects(pdbs[0]["spec"]["selector"]["matchLabels"], pod_labels), f"{case}: PDB selects the API pods")

    jobs = by_kind.get("Job", [])
    check(len(jobs) == 1, f"{case}: one migration Job")
    for job in jobs:
        ann = job["metadata"].get("annotations", {})
        check(set(ann.get("helm.sh/hook", "").split(",")) == {"pre-install", "pre-upgrade"},
              f"{case}: Job hook pre-install,pre-upgrade")
        check(set(ann.get("helm.sh/hook-delete-policy", "").split(",")) == {"before-hook-creation", "hook-succeeded"},
              f"{case}: Job hook-delete-policy before-hook-creation,hook-succeeded")
        jpod = job["spec"]["template"]
        check(jpod["spec"]["containers"][0].get("args") == ["migrate"], f"{case}: Job runs `migrate`")
        check(jpod["spec"].get("restartPolicy") == "Never", f"{case}: Job restartPolicy Never")
        check(not selects(pdbs[0]["spec"]["selector"]["matchLabels"], jpod["metadata"]["labels"]) if pdbs else True,
              f"{case}: PDB does not select the migration pod")
        check_pod(f"{case}: Job/migrate", jpod)
    hooks = [o for o in objects if "helm.sh/hook" in o["metadata"].get("annotations", {})]
    check([o["kind"] for o in hooks] == ["Job"], f"{case}: the migration Job is the only hook")

    worker_on = values.get("worker", {}).get("enabled", False)
    check(("worker" in deployments) == worker_on, f"{case}: worker Deployment rendered iff worker.enabled")
    if "worker" in deployments:
        wpod = deployments["worker"]["spec"]["template"]
        check(wpod["spec"]["containers"][0].get("args") == ["worker"], f"{case}: worker runs `worker`")
        check_pod(f"{case}: Deployment/worker", wpod)
        check_metrics_pod(f"{case}: Deployment/worker", wpod, values)

    ingress_on = values.get("ingress", {}).get("enabled", False)
    ingresses = by_kind.get("Ingress", [])
    check(len(ingresses) == int(ingress_on), f"{case}: Ingress rendered iff ingress.enabled")
    for ing in ingresses:
        backends = [p["backend"]["service"] for r in ing["spec"]["rules"] for p in r["http"]["paths"]]
        check(backends and all(b["name"] == svc["metadata"]["name"] and b["port"] == {"name": "http"} for b in backends),
              f"{case}: Ingress routes to the Service's http port")
        if ing["spec"].get("tls"):
            host = ing["spec"]["rules"][0]["host"]
            check(env.get("MASH_HTTP__PUBLIC_BASE_URL", {}).get("value") == f"https://{host}",
                  f"{case}: public base URL https://{host} derived from the ingress")
    secret = values.get("secrets", {}).get("existingSecret") or "rel-mash-triage"
    check(env.get("DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef", {}).get("name") == secret,
          f"{case}: DATABASE_URL from Secret {secret}")
    check(secret in notes, f"{case}: NOTES.txt names the Secret")
    check_monitoring(case, objects, values)


cases = [("default", {})] + [(p.name.removesuffix("-values.yaml"), load_values(p))
                             for p in sorted((chart_dir / "ci").glob("*-values.yaml"))]
for case, values in cases:
    # 1. `helm lint --strict` with these values: warnings (severity 2) fail too; info (1) is only noise.
    result = helm.lint(str(chart_dir), values, strict=True, kube_version=f"v{kube_version}")
    problems = [m for m in result.get("messages", []) if m.get("severity", 0) >= 2]
    for m in problems:
        print(f"  lint {case}: {m['path']}: {m['error']}")
    check(not result.get("errors") and not problems, f"{case}: helm lint --strict")

    # 2. Render, write for kubernetes-validate, assert.
    try:
        objects, notes = render(values)
    except Exception as err:  # a template error or a `fail` in the chart
        check(False, f"{case}: render: {err}")
        continue
    plain = [o for o in objects if not o["apiVersion"].startswith(OPERATOR_API)]
    operator = [o for o in objects if o["apiVersion"].startswith(OPERATOR_API)]
    (out_dir / f"{case}.yaml").write_text(yaml.safe_dump_all(plain, sort_keys=False))
    if operator:  # kept for inspection, out of kubernetes-validate's reach (no schema)
        (out_dir / "operator").mkdir(exist_ok=True)
        (out_dir / "operator" / f"{case}.yaml").write_text(yaml.safe_dump_all(operator, sort_keys=False))
    print(f"  rendered {case}: {', '.join(o['kind'] + '/' + o['metadata']['name'] for o in objects)}")
    check_release(case, objects, notes, values)

# 3. Values the service would refuse, or that cut the SIGTERM drain short, must not render.
for what, values, reason in [
    ("terminationGracePeriodSeconds 20", {"terminationGracePeriodSeconds": 20}, "terminationGracePeriodSeconds must"),
    ("redisKeyPrefix without ':'", {"config": {"redisKeyPrefix": "mash"}}, "config.redisKeyPrefix must"),
    ("publicBaseUrl with trailing '/'", {"config": {"publicBaseUrl": "https://x.example/"}}, "config.publicBaseUrl must"),
    ("keyCacheSeconds 61", {"config": {"keyCacheSeconds": 61}}, "config.keyCacheSeconds must"),
]:
    try:
        render(values)
        error = "rendered"
    except Exception as err:
        error = str(err)
    check(reason in error, f"refuses {what} (got: {error[:200]})")

print(f"check-helm: {passed} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
PY

# Schema validation against the Kubernetes API (unknown or misspelt fields fail with --strict), even after a
# failed assertion, so that one run reports everything.
shopt -s nullglob
for f in "$out"/*.yaml; do
  echo "check-helm: kubernetes-validate -k $kube_version --strict $(basename "$f")"
  "$venv/bin/kubernetes-validate" -k "$kube_version" --strict --quiet "$f" || status=1
done
((status == 0)) && echo "check-helm: OK"
exit "$status"
