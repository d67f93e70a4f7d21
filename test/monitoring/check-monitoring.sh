#!/usr/bin/env bash
# The monitoring files a platform team deploys (issue 16), checked with promtool (Debian's
# `prometheus`):
#   1. monitoring/dbos-drain.rules.yml parses, and every alert behaves as test/monitoring/rules-test.yml
#      says (`promtool test rules`, series shaped like dbos-drain's /metrics output);
#   2. deploy/prometheusrule.yaml carries exactly those rules (its spec is the rules file, indented);
#      `check-monitoring.sh --write` regenerates it from the rules file;
#   3. every expression of monitoring/grafana-dashboard.json parses (`promtool check rules` on the
#      expressions wrapped as recording rules, Grafana's variables substituted);
#   4. the rules and the dashboard use only metric names dbos-drain exports: the names in
#      lib/encode/ (prometheus_text.cc and any other encoder; histograms with their _bucket/_sum/_count series), plus the
#      shared contract's names still being added by other changes (CONTRACT_NAMES below; each is
#      reported while the source does not export it yet).
# Exit 0 when all hold; 1 with the reason otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RULES="$ROOT/monitoring/dbos-drain.rules.yml"
PROMRULE="$ROOT/deploy/prometheusrule.yaml"
DASHBOARD="$ROOT/monitoring/grafana-dashboard.json"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The names of the brief's shared contract (issues 12, 13, 15) that the rules and dashboard use.
CONTRACT_NAMES="
dbos_drain_version_safe_to_retire
dbos_drain_version_phase
dbos_drain_version_retire_hold
dbos_drain_version_intake_started_workflows
dbos_drain_version_eta_seconds
dbos_drain_executor_connected
dbos_drain_quiet_period_seconds
dbos_drain_report_staleness_bound_seconds
dbos_drain_refresh_interval_seconds
dbos_drain_report_database_seconds_total
dbos_drain_refresh_throttled
dbos_drain_database_standby
dbos_drain_replica_lag_seconds
dbos_drain_max_replica_lag_seconds
"

fail() { echo "check-monitoring: FAIL: $*" >&2; exit 1; }
command -v promtool >/dev/null || fail "promtool not found (Debian package prometheus; scripts/install-deps.sh installs it)"

# The PrometheusRule: a fixed header, then the rules file's groups under spec (indented by 2).
render_prometheusrule() {
  cat <<'HEADER'
# dbos-drain's alert rules for the Prometheus Operator. GENERATED from
# monitoring/dbos-drain.rules.yml (the plain rules file, for a Prometheus without the operator) by
# `test/monitoring/check-monitoring.sh --write`; the test suite fails when the two differ.
# Your Prometheus must select it: by default the operator's Prometheus selects PrometheusRules
# by label (ruleSelector), so set the label your installation uses (kube-prometheus-stack:
# release: <helm release name>).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: dbos-drain
  labels:
    app.kubernetes.io/name: dbos-drain
spec:
HEADER
  sed -n '/^groups:/,$p' "$RULES" | sed 's/^\(.\)/  \1/'
}

if [ "${1:-}" = "--write" ]; then
  render_prometheusrule > "$PROMRULE"
  echo "wrote $PROMRULE"
  exit 0
fi

echo "== promtool check rules monitoring/dbos-drain.rules.yml"
promtool check rules "$RULES"
echo "== promtool test rules test/monitoring/rules-test.yml"
(cd "$ROOT/test/monitoring" && promtool test rules rules-test.yml)

echo "== deploy/prometheusrule.yaml carries monitoring/dbos-drain.rules.yml"
render_prometheusrule > "$TMP/prometheusrule.yaml"
if ! diff -u "$PROMRULE" "$TMP/prometheusrule.yaml"; then
  fail "deploy/prometheusrule.yaml differs from monitoring/dbos-drain.rules.yml; run test/monitoring/check-monitoring.sh --write"
fi

echo "== every dashboard expression parses"
python3 - "$DASHBOARD" "$TMP/dashboard-rules.yml" "$TMP/dashboard-exprs.txt" <<'PY'
import json, sys
dash = json.load(open(sys.argv[1]))
exprs = []
def walk(panels):
    for p in panels:
        for t in p.get("targets", []):
            if t.get("expr"):
                exprs.append((p["title"], t["expr"]))
        walk(p.get("panels", []))
walk(dash["panels"])
for v in dash.get("templating", {}).get("list", []):
    q = v.get("query")
    if isinstance(q, dict) and q.get("query", "").startswith("label_values("):
        # label_values(EXPR, label): EXPR must be a valid selector.
        inner = q["query"][len("label_values("):q["query"].rindex(",")]
        exprs.append(("variable " + v["name"], inner))
if len(exprs) < 10:
    sys.exit("dashboard: only %d expressions found" % len(exprs))
subst = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$job": "dbos-drain", "$version": "v1"}
with open(sys.argv[2], "w") as out, open(sys.argv[3], "w") as names:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, (title, e) in enumerate(exprs):
        for k, v in subst.items():
            e = e.replace(k, v)
        if "$" in e:
            sys.exit("dashboard: unknown variable in %r: %s" % (title, e))
        out.write("      - record: dashboard:expr_%d\n        expr: %s\n" % (i, json.dumps(e)))
        names.write(e + "\n")
print("%d expressions" % len(exprs))
PY
promtool check rules "$TMP/dashboard-rules.yml"

echo "== the rules and the dashboard use only metric names dbos-drain exports"
# Every "dbos_drain_..." string literal of the encoders (lib/encode/, where /metrics is written),
# and each histogram family's _bucket, _sum and _count series.
SOURCES=$(find "$ROOT/lib/encode" -name '*.cc' -o -name '*.h')
exported=$( (cat $SOURCES | grep -o '"dbos_drain_[a-z0-9_]*"' | tr -d '"'
             cat $SOURCES | grep -o 'Family("dbos_drain_[a-z0-9_]*", "histogram"' |
               sed 's/Family("\(.*\)", "histogram"/\1/' | sed 's/$/_bucket/;p;s/_bucket$/_sum/;p;s/_sum$/_count/') | sort -u)
[ -n "$exported" ] || fail "no metric names found in lib/encode/"
known=$(printf '%s\n%s\n' "$exported" "$CONTRACT_NAMES" | grep . | sort -u)
used=$( (grep -v '^\s*#' "$RULES"; cat "$TMP/dashboard-exprs.txt") | grep -o 'dbos_drain_[a-z0-9_]*' | sort -u)
unknown=$(comm -23 <(echo "$used") <(echo "$known"))
[ -z "$unknown" ] || fail "metric names dbos-drain does not export: $(echo $unknown)"
pending=$(comm -23 <(echo "$used") <(echo "$exported"))
if [ -n "$pending" ]; then
  echo "note: names of the shared contract not yet in lib/encode/: $(echo $pending)"
fi
echo "metric names used: $(echo $used)"
echo "check-monitoring: OK"
