#!/usr/bin/env bash
# bench/patches.sh DBURL [INFLIGHT] [STEPS] [FINISHED]
#
# The cost of the patch report (`dbos-drain patches`, GET /v1/patches) on a patched application:
# INFLIGHT (default 10000) in-flight workflows of checkout() with STEPS (default 10) operation_outputs
# rows each, half of them holding the marker DBOS.patch-fast-path at function id 1 and half with the
# old branch's step there, plus FINISHED (default 100000) finished workflows with STEPS rows each
# (history the report must not scan per refresh). Rows are shaped like the TS SDK 5.3.0's.
#
# Prints the plans of the exact queries the binary runs (auto_explain, ANALYZE and BUFFERS, sent to
# the client), then times `dbos-drain patches --json` end to end RUNS (default 10) times.
# Needs a superuser URL to an empty server (scripts/with-postgres.sh sets $DBOS_DRAIN_TEST_ADMIN_URL):
#   scripts/with-postgres.sh sh -c 'bench/patches.sh "$DBOS_DRAIN_TEST_ADMIN_URL"'
# Environment: DBOS_DRAIN_BIN [build/plugin/dbos-drain]  RUNS [10]
set -euo pipefail
ADMIN=$1 INFLIGHT=${2:-10000} STEPS=${3:-10} FINISHED=${4:-100000}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=${DBOS_DRAIN_BIN:-$HERE/../build/plugin/dbos-drain}
RUNS=${RUNS:-10}
DB=dd_bench_patches_$$
psql -X -q -d "$ADMIN" -c "CREATE DATABASE $DB"
trap 'psql -X -q -d "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null' EXIT
URL=$(printf '%s' "$ADMIN" | sed "s#/[^/?]*\(?.*\)\?\$#/$DB\1#")
psql -X -q -v ON_ERROR_STOP=1 -v schema=dbos -d "$URL" -f "$HERE/../test/fixtures/schema-newest.sql"
start=$(date +%s.%N)
psql -X -q -v ON_ERROR_STOP=1 -d "$URL" <<SQL
SET search_path TO dbos;
-- finished history first, then the in-flight workflows (created after the first marker for half).
INSERT INTO workflow_status (workflow_uuid, status, name, application_version, executor_id, created_at, updated_at)
SELECT 'done-' || g, 'SUCCESS', 'checkout', 'PATCHING_ENABLED', 'worker-1',
       (extract(epoch FROM now()) * 1000)::bigint - 86400000 + g, (extract(epoch FROM now()) * 1000)::bigint - 86400000 + g
FROM generate_series(1, $FINISHED) g;
INSERT INTO operation_outputs (workflow_uuid, function_id, function_name, output, started_at_epoch_ms, completed_at_epoch_ms,
                               serialization, application_name)
SELECT 'done-' || g, s, CASE WHEN s = 1 AND g % 2 = 0 THEN 'DBOS.patch-fast-path' ELSE 'step' || s END,
       CASE WHEN s = 1 AND g % 2 = 0 THEN NULL ELSE '{"json":"ok","__dbos_serializer":"superjson"}' END,
       (extract(epoch FROM now()) * 1000)::bigint - 86400000 + g + s, (extract(epoch FROM now()) * 1000)::bigint - 86400000 + g + s,
       CASE WHEN s = 1 AND g % 2 = 0 THEN NULL ELSE 'js_superjson' END, 'bench-app'
FROM generate_series(1, $FINISHED) g, generate_series(0, $STEPS - 1) s;
INSERT INTO workflow_status (workflow_uuid, status, name, application_version, executor_id, queue_name, created_at, updated_at)
SELECT 'live-' || g, CASE WHEN g % 4 = 0 THEN 'ENQUEUED' ELSE 'PENDING' END, 'checkout', 'PATCHING_ENABLED', 'worker-1',
       CASE WHEN g % 4 = 0 THEN 'tasks' END,
       (extract(epoch FROM now()) * 1000)::bigint - 3600000 + g, (extract(epoch FROM now()) * 1000)::bigint - 3600000 + g
FROM generate_series(1, $INFLIGHT) g;
INSERT INTO operation_outputs (workflow_uuid, function_id, function_name, output, started_at_epoch_ms, completed_at_epoch_ms,
                               serialization, application_name)
SELECT 'live-' || g, s, CASE WHEN s = 1 AND g % 2 = 0 THEN 'DBOS.patch-fast-path' ELSE 'step' || s END,
       CASE WHEN s = 1 AND g % 2 = 0 THEN NULL ELSE '{"json":"ok","__dbos_serializer":"superjson"}' END,
       (extract(epoch FROM now()) * 1000)::bigint - 3600000 + g + s, (extract(epoch FROM now()) * 1000)::bigint - 3600000 + g + s,
       CASE WHEN s = 1 AND g % 2 = 0 THEN NULL ELSE 'js_superjson' END, 'bench-app'
FROM generate_series(1, $INFLIGHT) g, generate_series(0, $STEPS - 1) s;
VACUUM ANALYZE;
SQL
echo "LOAD finished=$FINISHED inflight=$INFLIGHT steps=$STEPS operation_outputs=$(( (FINISHED + INFLIGHT) * STEPS )) load_s=$(echo "$(date +%s.%N) - $start" | bc)"

echo "== plans and durations (auto_explain in the server log of the binary's own queries)"
# serve reads the full history once on its patch connection, then incrementally: two requests
# 3 s apart (refresh 1s) show the first read and a per-refresh read.
SERVER_LOG=${SERVER_LOG:-$(dirname "${DBOS_DRAIN_TEST_PGDATA:?run under scripts/with-postgres.sh or set SERVER_LOG}")/server.log}
from=$(wc -l <"$SERVER_LOG")
PORT=${PORT:-$((20000 + $$ % 20000))}
PGOPTIONS="-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0 -c auto_explain.log_analyze=on -c auto_explain.log_buffers=on -c auto_explain.log_timing=on" \
  "$BIN" serve --listen "http://127.0.0.1:$PORT" --refresh 1s --database-url "$URL" 2>/dev/null &
SERVE=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
for n in 1 2 3; do
  t0=$(date +%s%N)
  curl -sf "http://127.0.0.1:$PORT/v1/patches" >/dev/null
  echo "GET /v1/patches #$n: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  sleep 3
done
kill -TERM "$SERVE"; wait "$SERVE" || true
tail -n +"$((from + 1))" "$SERVER_LOG" | awk '
  /^[0-9]/ { if (buf ~ /operation_outputs/ && buf ~ /duration:/) print buf "\n"; buf = $0; next }
  { buf = buf "\n" $0 }
  END { if (buf ~ /operation_outputs/ && buf ~ /duration:/) print buf }' | head -400

echo "== dbos-drain patches --json end to end (connect, shape, full history, in-flight), $RUNS runs"
for i in $(seq "$RUNS"); do
  t0=$(date +%s%N)
  "$BIN" patches --json --database-url "$URL" >/dev/null
  echo "run_ms=$(( ($(date +%s%N) - t0) / 1000000 ))"
done
