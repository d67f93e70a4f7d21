#!/usr/bin/env bash
# bench/load-data.sh DBURL FINISHED INFLIGHT [VERSIONS]
#
# Creates the DBOS system schema from the project's newest fixture (test/fixtures/schema-newest.sql,
# all its indexes kept) in an existing database and fills it with FINISHED finished and INFLIGHT
# in-flight workflows over VERSIONS versions (default 5) and the queues tasks, emails, reports,
# using bench/load-data.sql (set-based INSERT ... SELECT generate_series, in chunks), then
# VACUUM (ANALYZE). Prints the load time.
#
# With OLD_SHAPES (e.g. "ts-3x go-0x") it also creates each older fixture shape in its own schema
# (dbos_ts3x, dbos_go0x) and copies the same rows into it, adapted to what that shape can hold:
#   ts-3x: no DELAYED status (DBOS 3.x had none): DELAYED rows become ENQUEUED; no application_name
#   go-0x: queue_name is '' instead of NULL for workflows that were not enqueued; no application_name
#
# Environment: SCHEMA [dbos]  DBOS_APP_NAME [bench-app]  CHUNK [1000000] rows per transaction
#              OLD_SHAPES [""]  LOAD_VACUUM [1] (0: ANALYZE only)
# Prints "LOAD_RESULT shape=... rows=... load_s=... vacuum_s=..." lines for bench/run.sh.
set -euo pipefail

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
  echo "usage: $0 DBURL FINISHED INFLIGHT [VERSIONS]" >&2
  exit 2
fi
DBURL=$1 FINISHED=$2 INFLIGHT=$3 VERSIONS=${4:-5}
for n in "$FINISHED" "$INFLIGHT" "$VERSIONS"; do
  case $n in '' | *[!0-9]*) echo "FINISHED, INFLIGHT and VERSIONS must be non-negative integers" >&2; exit 2 ;; esac
done
[ "$VERSIONS" -ge 1 ] || { echo "VERSIONS must be >= 1" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SCHEMA=${SCHEMA:-dbos}
APP=${DBOS_APP_NAME:-bench-app}
CHUNK=${CHUNK:-1000000}
OLD_SHAPES=${OLD_SHAPES:-}
LOAD_VACUUM=${LOAD_VACUUM:-1}
NOW_MS=$(date +%s%3N)

psql_q() { psql "$DBURL" -X -q -v ON_ERROR_STOP=1 "$@"; }
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
log() { printf '[load-data %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

vacuum() {  # vacuum TABLE...
  if [ "$LOAD_VACUUM" = 1 ]; then psql_q -c "VACUUM (ANALYZE) $*"; else psql_q -c "ANALYZE $*"; fi
}

total=$((FINISHED + INFLIGHT))
log "schema $SCHEMA from test/fixtures/schema-newest.sql: $FINISHED finished + $INFLIGHT in flight, v1..v$VERSIONS, app $APP"
psql_q -v schema="$SCHEMA" -f "$REPO/test/fixtures/schema-newest.sql"

t0=$(now_ns)
# Versions (vK registered at the start of its slice, so vK is the latest) and queues.
psql_q -v schema="$SCHEMA" -v app="$APP" -v versions="$VERSIONS" -v now_ms="$NOW_MS" <<'SQL'
INSERT INTO :"schema".application_versions (version_id, version_name, version_timestamp, created_at, application_name)
SELECT gen_random_uuid()::text, 'v' || k,
       :now_ms - 2592000000 + ((k - 1) * 2592000000::bigint) / :versions,
       :now_ms - 2592000000 + ((k - 1) * 2592000000::bigint) / :versions, :'app'
FROM generate_series(1, :versions) AS k;
INSERT INTO :"schema".queues (name, concurrency, worker_concurrency, application_name)
VALUES ('tasks', NULL, 2, :'app'), ('emails', 10, NULL, :'app'), ('reports', 4, 1, :'app');
SQL
lo=1
while [ "$lo" -le "$total" ]; do
  hi=$((lo + CHUNK - 1))
  [ "$hi" -le "$total" ] || hi=$total
  # Keep finished and in-flight rows in separate chunks (the in-flight ones go last).
  if [ "$lo" -le "$FINISHED" ] && [ "$hi" -gt "$FINISHED" ]; then hi=$FINISHED; fi
  psql_q -v schema="$SCHEMA" -v app="$APP" -v versions="$VERSIONS" -v now_ms="$NOW_MS" \
    -v finished="$FINISHED" -v inflight="$INFLIGHT" -v lo="$lo" -v hi="$hi" -f "$HERE/load-data.sql"
  [ "$total" -lt $((CHUNK * 2)) ] || log "  rows $lo..$hi of $total ($(secs "$t0" "$(now_ns)") s)"
  lo=$((hi + 1))
done
t1=$(now_ns)
vacuum "\"$SCHEMA\".workflow_status, \"$SCHEMA\".application_versions, \"$SCHEMA\".queues"
t2=$(now_ns)
log "schema $SCHEMA: $total rows in $(secs "$t0" "$t1") s, VACUUM (ANALYZE) $(secs "$t1" "$t2") s"
echo "LOAD_RESULT shape=newest schema=$SCHEMA rows=$total load_s=$(secs "$t0" "$t1") vacuum_s=$(secs "$t1" "$t2")"

for shape in $OLD_SHAPES; do
  target=dbos_${shape//-/}
  fixture=$REPO/test/fixtures/schema-$shape.sql
  [ -f "$fixture" ] || { echo "no fixture $fixture" >&2; exit 2; }
  log "schema $target from test/fixtures/schema-$shape.sql: copying the same $total rows"
  psql_q -c "DROP SCHEMA IF EXISTS \"$target\" CASCADE"
  psql_q -v schema="$target" -f "$fixture"
  case $shape in
    ts-3x) status="CASE status WHEN 'DELAYED' THEN 'ENQUEUED' ELSE status END"; queue=queue_name; extra= ;;
    go-0x) status=status; queue="COALESCE(queue_name, '')"; extra=", delay_until_epoch_ms" ;;
    *) echo "unknown shape $shape (ts-3x or go-0x)" >&2; exit 2 ;;
  esac
  t0=$(now_ns)
  psql_q <<SQL
SET synchronous_commit = off;
INSERT INTO "$target".workflow_status
  (workflow_uuid, status, name, authenticated_user, assumed_role, authenticated_roles, executor_id,
   created_at, updated_at, application_version, class_name, config_name, recovery_attempts,
   queue_name, started_at_epoch_ms, priority $extra)
SELECT workflow_uuid, $status, name, authenticated_user, assumed_role, authenticated_roles, executor_id,
       created_at, updated_at, application_version, class_name, config_name, recovery_attempts,
       $queue, started_at_epoch_ms, priority $extra
FROM "$SCHEMA".workflow_status;
SQL
  t1=$(now_ns)
  vacuum "\"$target\".workflow_status"
  t2=$(now_ns)
  log "schema $target: $total rows in $(secs "$t0" "$t1") s, VACUUM (ANALYZE) $(secs "$t1" "$t2") s"
  echo "LOAD_RESULT shape=$shape schema=$target rows=$total load_s=$(secs "$t0" "$t1") vacuum_s=$(secs "$t1" "$t2")"
done

# What the drain report must show, for a reader to check the service against.
psql "$DBURL" -X -q -v ON_ERROR_STOP=1 -P footer=off -v schema="$SCHEMA" >&2 <<'SQL'
\pset title 'in flight by version (newest shape)'
SELECT COALESCE(application_version, '(client, no version)') AS version,
       count(*) FILTER (WHERE status = 'PENDING') AS pending,
       count(*) FILTER (WHERE status = 'ENQUEUED') AS enqueued,
       count(*) FILTER (WHERE status = 'DELAYED') AS delayed
FROM :"schema".workflow_status WHERE status IN ('PENDING', 'ENQUEUED', 'DELAYED')
GROUP BY 1 ORDER BY 1;
\pset title 'table size'
SELECT pg_size_pretty(pg_table_size((:'schema' || '.workflow_status')::regclass)) AS heap,
       pg_size_pretty(pg_indexes_size((:'schema' || '.workflow_status')::regclass)) AS indexes;
SQL
