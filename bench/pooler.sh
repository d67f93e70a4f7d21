#!/usr/bin/env bash
# bench/pooler.sh
#
# Issue 20, "Connection poolers": what PgBouncer in transaction mode costs dbos-drain, against a
# direct connection to the same server in the same run. Loads 20 versions with INFLIGHT (default
# 10000) PENDING/ENQUEUED rows and FINISHED (default 100000) finished ones (SDK-shaped, as
# bench/many-versions.sh does), then for each of `direct` and `pgbouncer-transaction`:
#   fresh   `serve --refresh 1ms --max-db-share 100%` under one wrk connection: every request
#           waits for a read of its own, so req/s is fresh reports per second and p50 a read's time
#           (the extra round trip through the pooler, and the statements now sent unnamed).
#   served  `serve` with the default --refresh 2s under CONNECTIONS (default 16) wrk connections:
#           answers from memory, one read per 2 s.
#   status  the median wall time of RUNS (default 10) `dbos-drain status --json` (connect included).
# and prints pooled/direct ratios. The machine is shared and noisy (2 cores, other builds and
# tests): compare the ratios of one run, not numbers across runs. About a minute.
#
#   bench/pooler.sh       (starts a throwaway PostgreSQL and PgBouncer: scripts/with-pgbouncer.sh)
# Environment: DBOS_DRAIN_BIN (a binary to measure; else a Release build into BUILD_DIR
#              [build-bench], unless SKIP_BUILD=1)  INFLIGHT [10000]  FINISHED [100000]
#              CONNECTIONS [16]  DURATION [5s]  RUNS [10]  PORT  OUT
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
if [ -z "${DBOS_DRAIN_TEST_PGBOUNCER_TRANSACTION_PORT:-}" ]; then
  exec "$REPO/scripts/with-pgbouncer.sh" "$0" "$@"
fi
ADMIN=${DBOS_DRAIN_TEST_ADMIN_URL:?}
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
DRAIN=${DBOS_DRAIN_BIN:-$BUILD_DIR/plugin/dbos-drain}
[ -n "${DBOS_DRAIN_BIN:-}" ] && SKIP_BUILD=1
OUT=${OUT:-$(mktemp -d /tmp/dbos-drain-pooler.XXXXXX)}
RESULTS=${RESULTS:-$OUT/results.jsonl}
INFLIGHT=${INFLIGHT:-10000} FINISHED=${FINISHED:-100000}
CONNECTIONS=${CONNECTIONS:-16} DURATION=${DURATION:-5s} RUNS=${RUNS:-10}
PORT=${PORT:-$((20000 + $$ % 20000))}
# shellcheck source=bench/common.sh
. "$HERE/common.sh"
build_drain
ensure_wrk

DB=dd_bench_pooler_$$
SERVE=
cleanup() {
  stop_pid "$SERVE"
  psql -X -q -d "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql -X -q -d "$ADMIN" -c "CREATE DATABASE $DB"
DIRECT=$(db_url "$DB")
POOLED="postgresql://postgres@127.0.0.1:$DBOS_DRAIN_TEST_PGBOUNCER_TRANSACTION_PORT/$DB"
psql -X -q -v ON_ERROR_STOP=1 -v schema=dbos -d "$DIRECT" -f "$REPO/test/fixtures/schema-newest.sql"
psql -X -q -v ON_ERROR_STOP=1 -d "$DIRECT" <<SQL
SET search_path TO dbos;
INSERT INTO application_versions (version_id, version_name, version_timestamp, created_at)
SELECT 'id-' || v, 'v' || lpad(v::text, 2, '0'), (extract(epoch FROM now()) * 1000)::bigint - 3600000 * (21 - v),
       (extract(epoch FROM now()) * 1000)::bigint - 3600000 * (21 - v)
FROM generate_series(1, 20) v;
INSERT INTO workflow_status (workflow_uuid, status, name, application_version, executor_id, created_at, updated_at, completed_at)
SELECT 'done-' || g, 'SUCCESS', 'work', 'v' || lpad((1 + g % 20)::text, 2, '0'), 'worker-' || (g % 8),
       (extract(epoch FROM now()) * 1000)::bigint - 7200000, (extract(epoch FROM now()) * 1000)::bigint - 7100000,
       (extract(epoch FROM now()) * 1000)::bigint - 7100000
FROM generate_series(1, $FINISHED) g;
INSERT INTO workflow_status (workflow_uuid, status, name, application_version, queue_name, executor_id, created_at, updated_at)
SELECT 'live-' || g, CASE WHEN g % 2 = 0 THEN 'PENDING' ELSE 'ENQUEUED' END, 'work', 'v' || lpad((1 + g % 20)::text, 2, '0'),
       CASE WHEN g % 2 = 0 THEN NULL ELSE 'tasks' END, 'worker-' || (g % 8),
       (extract(epoch FROM now()) * 1000)::bigint - 600000, (extract(epoch FROM now()) * 1000)::bigint - 600000
FROM generate_series(1, $INFLIGHT) g;
ANALYZE workflow_status;
SQL
log "loaded $INFLIGHT in flight, $FINISHED finished over 20 versions into $DB"

to_ms() {
  awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); n = v + 0
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; printf "%.2f", n }'
}

declare -A RPS P50 STATUS_MS
wrk_measure() {  # wrk_measure KEY CONNECTIONS
  local out
  out=$(wrk -t"$(( $2 > 1 ? 2 : 1 ))" -c"$2" -d"$DURATION" --latency "http://127.0.0.1:$PORT/v1/versions")
  grep -q "Non-2xx" <<<"$out" && die "non-2xx answers ($1): $out"
  RPS[$1]=$(awk '$1 == "Requests/sec:" { printf "%.0f", $2 }' <<<"$out")
  P50[$1]=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
}

run_serve() {  # run_serve KEY URL FLAGS...
  local key=$1 url=$2
  shift 2
  "$DRAIN" serve --listen "http://127.0.0.1:$PORT" --database-url "$url" --log-level warn "$@" 2>"$OUT/serve-$key.log" &
  SERVE=$!
  wait_http "http://127.0.0.1:$PORT/readyz" "$SERVE" "$OUT/serve-$key.log"
  curl -fs "http://127.0.0.1:$PORT/v1/versions" >/dev/null || die "GET /v1/versions failed ($key)"
}

status_median() {  # status_median URL -> ms
  local i t0 t1 times=()
  for i in $(seq 1 "$RUNS"); do
    t0=$(date +%s%N)
    "$DRAIN" status --json --database-url "$1" >/dev/null || [ $? = 1 ] || die "status failed on $1"
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] / 1000 }'
}

for mode in direct pgbouncer-transaction; do
  url=$DIRECT
  [ "$mode" = direct ] || url=$POOLED
  run_serve "$mode-fresh" "$url" --refresh 1ms --max-db-share 100%
  wrk_measure "$mode fresh" 1
  stop_pid "$SERVE"
  run_serve "$mode-served" "$url"
  wrk_measure "$mode served" "$CONNECTIONS"
  stop_pid "$SERVE"
  SERVE=
  STATUS_MS[$mode]=$(status_median "$url")
  printf '%-22s fresh: req_s=%-6s p50_ms=%-7s  served (%s conns): req_s=%-7s  status: median_ms=%s\n' "$mode" \
    "${RPS[$mode fresh]}" "${P50[$mode fresh]}" "$CONNECTIONS" "${RPS[$mode served]}" "${STATUS_MS[$mode]}"
  record pooler "mode=$mode" "fresh_req_s=${RPS[$mode fresh]}" "fresh_p50_ms=${P50[$mode fresh]}" \
    "served_req_s=${RPS[$mode served]}" "status_median_ms=${STATUS_MS[$mode]}" "in_flight=$INFLIGHT" "finished=$FINISHED"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "pgbouncer-transaction / direct (same run; a shared, noisy 2-core machine: compare ratios, not absolute numbers):"
echo "  fresh reports/s   $(ratio "${RPS[pgbouncer-transaction fresh]}" "${RPS[direct fresh]}")"
echo "  fresh read p50    $(ratio "${P50[pgbouncer-transaction fresh]}" "${P50[direct fresh]}")"
echo "  served req/s      $(ratio "${RPS[pgbouncer-transaction served]}" "${RPS[direct served]}")"
echo "  status wall time  $(ratio "${STATUS_MS[pgbouncer-transaction]}" "${STATUS_MS[direct]}")"
log "results in $RESULTS"
