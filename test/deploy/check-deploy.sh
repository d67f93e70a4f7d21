#!/usr/bin/env bash
# The deploy base (deploy/, issue 16): rendered with `kubectl kustomize` as `kubectl apply -k` would,
# then checked:
#   1. the render validates with ../shared/tools/validate-manifests (Kubernetes v1.33 and the
#      Prometheus Operator CRDs), as does every file of deploy/ on its own;
#   2. it holds the Namespace, Deployment, Service, PodDisruptionBudget, NetworkPolicy,
#      ServiceMonitor, PrometheusRule, the read-only role's ConfigMap and Job, all namespaced
#      objects in the namespace dbos-drain;
#   3. the pieces fit: the Service, PDB and ServiceMonitor select the Deployment's pods, and not the
#      Job's; the ServiceMonitor's port exists; its scrapeTimeout leaves room for a slow database
#      (a scrape waits up to --query-timeout + 1 s = 6 s); the NetworkPolicy covers both pods;
#   4. the ConfigMap's SQL is examples/sql/readonly-role.sql byte for byte (deploy/ keeps a copy
#      because kustomize reads no file outside the kustomization's folder);
#   5. under scripts/with-postgres.sh (DBOS_DRAIN_TEST_ADMIN_URL set): the Job's shell script, as
#      rendered, run with sh and psql against a real PostgreSQL with the newest DBOS schema, its
#      mount paths pointed at temporary files (and a role name of its own, not to collide with
#      other tests on the shared server): the role exists, logs in, reads workflow_status, cannot
#      write it, and has a password.
# KUBECTL=/path/to/kubectl picks the kubectl (e.g. Debian's 1.20, whose kustomize is v2).
# Exit 0 pass, 1 fail, 77 skipped (no kubectl, or no validator beside the repository).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KUBECTL=${KUBECTL:-kubectl}
# The validator ships beside the repository (../shared); a git worktree sits one level deeper.
if [ -z "${VALIDATOR:-}" ]; then
  for d in "$ROOT/../shared" "$ROOT/../../shared"; do
    [ -x "$d/tools/validate-manifests/validate-manifests" ] && { VALIDATOR="$d/tools/validate-manifests/validate-manifests"; break; }
  done
fi
VALIDATOR=${VALIDATOR:-$ROOT/../shared/tools/validate-manifests/validate-manifests}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "check-deploy: FAIL: $*" >&2; exit 1; }

command -v "$KUBECTL" >/dev/null || { echo "check-deploy: SKIPPED: no kubectl (scripts/install-deps.sh installs kubernetes-client)"; exit 77; }

echo "== deploy/readonly-role.sql is examples/sql/readonly-role.sql"
cmp "$ROOT/deploy/readonly-role.sql" "$ROOT/examples/sql/readonly-role.sql" ||
  fail "deploy/readonly-role.sql differs from examples/sql/readonly-role.sql: cp examples/sql/readonly-role.sql deploy/"

echo "== $KUBECTL kustomize deploy/ ($("$KUBECTL" version --client 2>/dev/null | head -1))"
"$KUBECTL" kustomize "$ROOT/deploy" > "$TMP/rendered.yaml" || fail "kubectl kustomize deploy/ failed"

echo "== the objects fit together"
python3 - "$TMP/rendered.yaml" "$ROOT/examples/sql/readonly-role.sql" <<'PY'
import re, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
sql = open(sys.argv[2]).read()
def fail(msg):
    sys.exit("check-deploy: FAIL: " + msg)
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
want = ["Namespace", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor",
        "PrometheusRule", "ConfigMap", "Job"]
for k in want:
    if len(by_kind.get(k, [])) != 1:
        fail("expected one %s, found %d" % (k, len(by_kind.get(k, []))))
for d in docs:
    if d["kind"] == "Namespace":
        if d["metadata"]["name"] != "dbos-drain": fail("namespace is %s" % d["metadata"]["name"])
    elif d["metadata"].get("namespace") != "dbos-drain":
        fail("%s/%s is not in the namespace dbos-drain" % (d["kind"], d["metadata"]["name"]))
one = lambda k: by_kind[k][0]
dep, svc, pdb, sm, np, job, cm = (one(k) for k in
    ["Deployment", "Service", "PodDisruptionBudget", "ServiceMonitor", "NetworkPolicy", "Job", "ConfigMap"])
server = dep["spec"]["template"]["metadata"]["labels"]
setup = job["spec"]["template"]["metadata"]["labels"]
def selects(sel, labels):
    return all(labels.get(k) == v for k, v in sel.items())
if not selects(dep["spec"]["selector"]["matchLabels"], server): fail("the Deployment's selector misses its pods")
for name, sel in [("Service", svc["spec"]["selector"]), ("PodDisruptionBudget", pdb["spec"]["selector"]["matchLabels"])]:
    if not selects(sel, server): fail(name + " does not select the dbos-drain pods")
    if selects(sel, setup): fail(name + " selects the read-only-role Job's pod")
if not selects(sm["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"]): fail("the ServiceMonitor does not select the Service")
ports = {p["name"] for p in svc["spec"]["ports"]}
for e in sm["spec"]["endpoints"]:
    if e["port"] not in ports: fail("ServiceMonitor port %s is not a Service port" % e["port"])
    if e.get("path") != "/metrics": fail("ServiceMonitor path is not /metrics")
    t = e.get("scrapeTimeout", "10s")
    secs = int(re.fullmatch(r"(\d+)s", t).group(1))
    if secs < 7: fail("scrapeTimeout %s is shorter than --query-timeout + 1 s" % t)
for labels, what in [(server, "server"), (setup, "Job")]:
    if not selects(np["spec"]["podSelector"]["matchLabels"], labels): fail("the NetworkPolicy does not cover the %s pods" % what)
c = dep["spec"]["template"]["spec"]["containers"][0]
if "--database-url-file" not in c["args"]: fail("the Deployment does not read the URL from a file")
if dep["spec"]["replicas"] < 2 or pdb["spec"].get("minAvailable") != 1: fail("two replicas and minAvailable 1 expected")
if cm["metadata"]["name"] != "dbos-drain-readonly-role": fail("ConfigMap name %s (a hash suffix?)" % cm["metadata"]["name"])
if cm["data"].get("readonly-role.sql") != sql: fail("the ConfigMap's SQL is not examples/sql/readonly-role.sql")
vols = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
if vols["sql"]["configMap"]["name"] != cm["metadata"]["name"]: fail("the Job does not mount the ConfigMap")
if "/sql/readonly-role.sql" not in " ".join(job["spec"]["template"]["spec"]["containers"][0]["args"]): fail("the Job does not run the SQL")
open(sys.argv[1] + ".job.sh", "w").write(job["spec"]["template"]["spec"]["containers"][0]["args"][0])
print("%d objects: %s" % (len(docs), ", ".join(sorted(by_kind))))
PY

if [ -n "${DBOS_DRAIN_TEST_ADMIN_URL:-}" ] && command -v psql >/dev/null; then
  echo "== the read-only role Job's script against PostgreSQL"
  base=${DBOS_DRAIN_TEST_ADMIN_URL%/*}
  db="deploy_job_$$"
  role="dbos_drain_deploy_$$"
  mkdir -p "$TMP/sql" "$TMP/admin" "$TMP/role"
  cp "$ROOT/deploy/readonly-role.sql" "$TMP/sql/"
  printf '%s\n' "$base/$db" > "$TMP/admin/database-url"
  printf '%s\n' "pw with 'quote' and space" > "$TMP/role/password"
  cleanup_db() {
    psql -X -q "$DBOS_DRAIN_TEST_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1 || true
    rm -rf "$TMP"
  }
  trap cleanup_db EXIT
  psql -X -q -v ON_ERROR_STOP=1 "$DBOS_DRAIN_TEST_ADMIN_URL" -c "CREATE DATABASE $db" >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 -v schema=dbos "$base/$db" \
    -f "$ROOT/test/fixtures/schema-newest.sql" >/dev/null
  sed -e "s#/etc/dbos-drain-admin/#$TMP/admin/#g; s#/etc/dbos-drain-role/#$TMP/role/#g; s#/sql/readonly-role.sql#$TMP/sql/readonly-role.sql#g" \
      -e "s#-v schema=dbos#-v schema=dbos -v role=$role#" "$TMP/rendered.yaml.job.sh" > "$TMP/job.sh"
  grep -q -- "-v role=$role" "$TMP/job.sh" || fail "the Job's psql command changed shape; update this test"
  sh "$TMP/job.sh" > "$TMP/job.out" 2>&1 || { cat "$TMP/job.out"; fail "the Job's script failed"; }
  as_role() { psql -X -q -At -v ON_ERROR_STOP=1 "postgresql://$role@${base#*@}/$db" "$@"; }
  [ "$(as_role -c 'SELECT count(*) >= 0 FROM dbos.workflow_status')" = t ] || fail "the role cannot read workflow_status"
  if as_role -c "DELETE FROM dbos.workflow_status" >/dev/null 2>&1; then fail "the role can write workflow_status"; fi
  [ "$(psql -X -At "$base/$db" -c "SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = '$role'")" = t ] ||
    fail "the role has no password"
  echo "role $role: reads workflow_status, cannot write it, has a password"
fi

if [ ! -x "$VALIDATOR" ]; then
  echo "check-deploy: SKIPPED validation: no validator at $VALIDATOR"
  exit 77
fi
echo "== validate-manifests: the render, and deploy/ file by file"
"$VALIDATOR" "$TMP/rendered.yaml"
"$VALIDATOR" "$ROOT/deploy"
echo "check-deploy: OK"
