#!/usr/bin/env bash
# Checks examples/sql/readonly-role.sql against the project's schema fixtures, on a throwaway server:
#
#   scripts/with-postgres.sh examples/sql/check-readonly-role.sh
#
# Needs DBOS_DRAIN_TEST_ADMIN_URL (a superuser URL, set by scripts/with-postgres.sh) and psql.
# The server's pg_hba must let the new role log in from 127.0.0.1 (with-postgres uses trust).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sql="$here/readonly-role.sql"
admin=${DBOS_DRAIN_TEST_ADMIN_URL:?run under scripts/with-postgres.sh}
base=${admin%/*}                       # postgresql://postgres@127.0.0.1:PORT
hostport=${base#*@}                    # 127.0.0.1:PORT
pw='s3cret pass'"'"'word'              # a space and a quote, to test psql's quoting
failures=0

say() { printf '%s\n' "$*"; }
ok() { say "ok   $*"; }
bad() { say "FAIL $*"; failures=$((failures + 1)); }

# psql as the admin / as the role, quiet, stop on the first error.
adm() { local db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 "$base/$db" "$@"; }
as_role() { local role=$1 db=$2; shift 2; PGPASSWORD=$pw psql -X -q -v ON_ERROR_STOP=1 "postgresql://$role@$hostport/$db" "$@"; }

# expect_ok NAME ROLE DB SQL / expect_denied NAME ROLE DB SQL [PATTERN] (default: permission denied)
expect_ok() {
  local name=$1 role=$2 db=$3 q=$4
  if out=$(as_role "$role" "$db" -c "$q" 2>&1); then ok "$name"; else bad "$name: $out"; fi
}
expect_denied() {
  local name=$1 role=$2 db=$3 q=$4 pat=${5:-permission denied}
  # The first -c switches the read-only default off for the following -c (its own transaction),
  # unless the check is about the read-only default itself.
  local pre="SET default_transaction_read_only = off"
  [ "$pat" = "read-only transaction" ] && pre="SELECT 1"
  if out=$(as_role "$role" "$db" -c "$pre" -c "$q" 2>&1); then bad "$name: succeeded"
  elif grep -q "$pat" <<<"$out"; then ok "$name"
  else bad "$name: unexpected error: $out"; fi
}
run_script() {  # run_script DB SCHEMA [psql args...]
  local db=$1 schema=$2; shift 2
  psql -X -q -v ON_ERROR_STOP=1 -v schema="$schema" "$@" -f "$sql" "$base/$db"
}

# --- the newest schema, default schema name --------------------------------------------------
adm postgres -c 'CREATE DATABASE dbos_sys'
adm dbos_sys -v schema=dbos -f "$root/test/fixtures/schema-newest.sql"
adm dbos_sys -c 'CREATE TABLE dbos.not_for_drain (x int)'   # a table the role must not read

if run_script dbos_sys dbos >/dev/null 2>&1; then bad "runs without a password"; else ok "refuses to run without a password"; fi
if [ "$(adm dbos_sys -At -c "SELECT count(*) FROM pg_roles WHERE rolname = 'dbos_drain'")" = 0 ]; then
  ok "no role left behind by the refused run"; else bad "role created by the refused run"; fi

if run_script dbos_sys dbos -v password="$pw" >/dev/null; then ok "first run"; else bad "first run"; fi
adm dbos_sys -c 'GRANT INSERT, UPDATE ON dbos.workflow_status TO dbos_drain'   # drift to be undone
if out=$(run_script dbos_sys dbos -v password="$pw" 2>&1); then ok "second run (idempotent)"; else bad "second run: $out"; fi
say "$out" | sed 's/^/     | /'

expect_ok "SELECT workflow_status" dbos_drain dbos_sys 'SELECT count(*) FROM dbos.workflow_status'
expect_ok "SELECT application_versions" dbos_drain dbos_sys 'SELECT count(*) FROM dbos.application_versions'
expect_ok "SELECT queues" dbos_drain dbos_sys 'SELECT count(*) FROM dbos.queues'
expect_ok "SELECT dbos_migrations" dbos_drain dbos_sys 'SELECT version FROM dbos.dbos_migrations'
cols=$(as_role dbos_drain dbos_sys -At -c "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'dbos' AND table_name = 'workflow_status'")
if [ "$cols" -gt 10 ]; then ok "information_schema shows workflow_status columns ($cols)"; else bad "information_schema shows $cols columns"; fi
ro=$(as_role dbos_drain dbos_sys -At -c 'SHOW default_transaction_read_only')
if [ "$ro" = on ]; then ok "default_transaction_read_only = on"; else bad "default_transaction_read_only = $ro"; fi

expect_denied "INSERT (read-only transaction)" dbos_drain dbos_sys \
  "INSERT INTO dbos.workflow_status (workflow_uuid, status) VALUES ('x', 'PENDING')" "read-only transaction"
for stmt in \
  "INSERT INTO dbos.workflow_status (workflow_uuid, status) VALUES ('x', 'PENDING')" \
  "UPDATE dbos.workflow_status SET status = 'CANCELLED'" \
  "DELETE FROM dbos.workflow_status" \
  "TRUNCATE dbos.workflow_status" \
  "UPDATE dbos.queues SET concurrency = 1" \
  "DELETE FROM dbos.application_versions" \
  "INSERT INTO dbos.dbos_migrations VALUES (999)" \
  "SELECT * FROM dbos.not_for_drain" \
  "CREATE TABLE dbos.drain_was_here (x int)"; do
  # With the read-only default switched off: the grants alone must refuse it.
  expect_denied "refused even with read-only off: $stmt" dbos_drain dbos_sys "$stmt"
done

attrs=$(adm dbos_sys -At -c "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolinherit, rolreplication, rolbypassrls, rolpassword LIKE 'SCRAM-SHA-256\$%' FROM pg_authid WHERE rolname = 'dbos_drain'")
if [ "$attrs" = "t|f|f|f|f|f|f|t" ]; then ok "role attributes (login only, SCRAM password)"; else bad "role attributes: $attrs"; fi

# --- an older schema (no application_versions, no queues) under another schema name -------------
adm postgres -c 'CREATE DATABASE old_sys'
adm old_sys -v schema=my_sys -f "$root/test/fixtures/schema-ts-3x.sql"
if out=$(run_script old_sys my_sys -v password="$pw" 2>&1); then ok "run on TS 3.x schema 'my_sys'"; else bad "run on TS 3.x: $out"; fi
grep -q 'skipped my_sys.application_versions' <<<"$out" && ok "skips missing application_versions" || bad "no skip notice: $out"
grep -q 'skipped my_sys.queues' <<<"$out" && ok "skips missing queues" || bad "no skip notice: $out"
expect_ok "SELECT my_sys.workflow_status" dbos_drain old_sys 'SELECT count(*) FROM my_sys.workflow_status'
expect_denied "SELECT my_sys.workflow_queue (not granted)" dbos_drain old_sys 'SELECT count(*) FROM my_sys.workflow_queue'

# --- wrong schema: refused before anything changes ----------------------------------------------
if out=$(run_script old_sys nope -v password=other 2>&1); then bad "ran with a missing schema"
elif grep -q 'schema "nope" does not exist' <<<"$out"; then ok "refuses a missing schema"
else bad "missing schema: unexpected: $out"; fi

say ""
if [ "$failures" = 0 ]; then say "check-readonly-role: all checks passed"; else say "check-readonly-role: $failures check(s) failed"; exit 1; fi
