#!/usr/bin/env bash
# bench/many-versions.sh DBURL
#
# Issue 13, "Many versions": what 1,000 rows in application_versions cost the answers of `serve`.
# Loads 1,000 versions: 995 registered 10 days ago whose workflows all finished then (FINISHED_PER,
# default 100, SUCCESS rows each: history the report must not carry), and 5 with work in flight
# (INFLIGHT_PER, default 200, PENDING and ENQUEUED rows each; the last one is the latest version).
# Rows are shaped like the SDK's (test/support/test_database.h).
#
# Then, against `dbos-drain serve` (default --refresh 2s), for each of GET /v1/versions,
# /v1/versions?all=true, /v1/versions/{old} (a hidden version) and /metrics: the body size and wrk's
# req/s, p50 and p99 (CONNECTIONS, default 16, for DURATION, default 5s). It does so twice: with the
# default listing (995 versions hidden) and with --show-recent 30d (every version listed: the filter
# off, the baseline), and prints the ratios. About a minute in all.
#
# Needs a superuser URL to a server (scripts/with-postgres.sh sets $DBOS_DRAIN_TEST_ADMIN_URL):
#   scripts/with-postgres.sh sh -c 'bench/many-versions.sh "$DBOS_DRAIN_TEST_ADMIN_URL"'
# Environment: DBOS_DRAIN_BIN (a binary to measure; else a Release build into BUILD_DIR
#              [build-bench], as bench/run.sh does, unless SKIP_BUILD=1)
#              CONNECTIONS [16]  DURATION [5s]  FINISHED_PER [100]  INFLIGHT_PER [200]  PORT  OUT
set -euo pipefail
ADMIN=${1:?usage: bench/many-versions.sh DBURL}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
DRAIN=${DBOS_DRAIN_BIN:-$BUILD_DIR/plugin/dbos-drain}
[ -n "${DBOS_DRAIN_BIN:-}" ] && SKIP_BUILD=1
OUT=${OUT:-$(mktemp -d /tmp/dbos-drain-many-versions.XXXXXX)}
RESULTS=${RESULTS:-$OUT/results.jsonl}
CONNECTIONS=${CONNECTIONS:-16} DURATION=${DURATION:-5s}
FINISHED_PER=${FINISHED_PER:-100} INFLIGHT_PER=${INFLIGHT_PER:-200}
PORT=${PORT:-$((20000 + $$ % 20000))}
# shellcheck source=bench/common.sh
. "$HERE/common.sh"
build_drain
ensure_wrk

DB=dd_bench_versions_$$
SERVE=
cleanup() {
  stop_pid "$SERVE"
  psql -X -q -d "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql -X -q -d "$ADMIN" -c "CREATE DATABASE $DB"
URL=$(db_url "$DB")
psql -X -q -v ON_ERROR_STOP=1 -v schema=dbos -d "$URL" -f "$REPO/test/fixtures/schema-newest.sql"
start=$(date +%s.%N)
psql -X -q -v ON_ERROR_STOP=1 -d "$URL" <<SQL
SET search_path TO dbos;
-- now() in ms, 10 days ago, an hour ago.
CREATE TEMP TABLE t AS SELECT (extract(epoch FROM now()) * 1000)::bigint AS now_ms;
INSERT INTO application_versions (version_id, version_name, version_timestamp, created_at)
SELECT 'id-old-' || v, 'old-' || lpad(v::text, 3, '0'), now_ms - 864000000 + v, now_ms - 864000000 + v
FROM t, generate_series(1, 995) v;
INSERT INTO application_versions (version_id, version_name, version_timestamp, created_at)
SELECT 'id-live-' || v, 'live-' || v, now_ms - 3600000 * (6 - v), now_ms - 3600000 * (6 - v)
FROM t, generate_series(1, 5) v;
-- The old versions' history: SUCCESS, created, updated and completed 10 days ago.
INSERT INTO workflow_status (workflow_uuid, status, name, application_version, executor_id, created_at, updated_at, completed_at)
SELECT 'done-' || v || '-' || g, 'SUCCESS', 'checkout', 'old-' || lpad(v::text, 3, '0'), 'worker-old',
       now_ms - 864000000 + v * 1000 + g, now_ms - 864000000 + v * 1000 + g + 5, now_ms - 864000000 + v * 1000 + g + 5
FROM t, generate_series(1, 995) v, generate_series(1, $FINISHED_PER) g;
-- The live versions' work: PENDING on their executor, ENQUEUED on queue tasks.
INSERT INTO queues (name, concurrency, worker_concurrency) VALUES ('tasks', NULL, 4);
INSERT INTO workflow_status (workflow_uuid, status, name, application_version, executor_id, queue_name, created_at, updated_at)
SELECT 'live-' || v || '-' || g, CASE WHEN g % 2 = 0 THEN 'ENQUEUED' ELSE 'PENDING' END, 'checkout', 'live-' || v,
       'worker-live-' || v, CASE WHEN g % 2 = 0 THEN 'tasks' END, now_ms - 1800000 + g, now_ms - 1800000 + g
FROM t, generate_series(1, 5) v, generate_series(1, $INFLIGHT_PER) g;
VACUUM ANALYZE;
SQL
log "loaded 1000 versions, $((995 * FINISHED_PER)) finished and $((5 * INFLIGHT_PER)) in-flight rows in $(echo "$(date +%s.%N) - $start" | bc) s"

# to_ms VALUE: wrk's "1.23ms" / "456.00us" / "1.02s" in ms.
to_ms() {
  awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); n = v + 0
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; printf "%.2f", n }'
}

# measure LABEL TARGET: one line "LABEL bytes=.. req_s=.. p50_ms=.. p99_ms=..", recorded too.
declare -A BYTES P50 RPS
measure() {
  local label=$1 target=$2 bytes out p50 p99 rps
  bytes=$(curl -fs -o /dev/null -w '%{size_download}' "http://127.0.0.1:$PORT$target") || die "GET $target failed"
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT$target")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  rps=$(awk '$1 == "Requests/sec:" { printf "%.0f", $2 }' <<<"$out")
  grep -q "Non-2xx" <<<"$out" && die "non-2xx answers for $target: $out"
  BYTES[$label]=$bytes P50[$label]=$p50 RPS[$label]=$rps
  printf '%-34s bytes=%-9s req_s=%-7s p50_ms=%-7s p99_ms=%s\n' "$label" "$bytes" "$rps" "$p50" "$p99"
  record many_versions "label=$label" "target=$target" "bytes=$bytes" "req_s=$rps" "p50_ms=$p50" "p99_ms=$p99" \
    "connections=$CONNECTIONS"
}

run_serve() {  # run_serve LABEL FLAGS...: starts serve with FLAGS, measures, stops it
  local label=$1 doc
  shift
  "$DRAIN" serve --listen "http://127.0.0.1:$PORT" --database-url "$URL" --log-level warn "$@" 2>"$OUT/serve-$label.log" &
  SERVE=$!
  wait_http "http://127.0.0.1:$PORT/readyz" "$SERVE" "$OUT/serve-$label.log"
  doc=$(curl -fs "http://127.0.0.1:$PORT/v1/versions")
  log "$label: $(python3 -c 'import json, sys; d = json.load(sys.stdin)
print("listing=%s hidden_versions=%d versions=%d" % (d["listing"], d["hidden_versions"], len(d["versions"])))' <<<"$doc")"
  measure "$label /v1/versions" /v1/versions
  measure "$label /v1/versions?all=true" "/v1/versions?all=true"
  measure "$label /v1/versions/old-500" /v1/versions/old-500
  measure "$label /metrics" /metrics
  log "$label: serve peak RSS $(mib "$(status_kb "$SERVE" VmHWM)") MiB"
  stop_pid "$SERVE"
  SERVE=
}

echo "== default listing (995 versions hidden)"
run_serve default
echo "== filter off: --show-recent 30d lists every version"
run_serve unfiltered --show-recent 30d

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }
echo "== ratios (filter off / default)"
echo "GET /v1/versions  bytes $(ratio "${BYTES[unfiltered /v1/versions]}" "${BYTES[default /v1/versions]}")" \
     " p50 $(ratio "${P50[unfiltered /v1/versions]}" "${P50[default /v1/versions]}")" \
     " req/s $(ratio "${RPS[default /v1/versions]}" "${RPS[unfiltered /v1/versions]}") (default / off)"
echo "GET /v1/versions?all=true vs default, same server: bytes $(ratio "${BYTES[default /v1/versions?all=true]}" "${BYTES[default /v1/versions]}")" \
     " p50 $(ratio "${P50[default /v1/versions?all=true]}" "${P50[default /v1/versions]}")"
echo "GET /metrics      bytes $(ratio "${BYTES[unfiltered /metrics]}" "${BYTES[default /metrics]}")" \
     " p50 $(ratio "${P50[unfiltered /metrics]}" "${P50[default /metrics]}")" \
     " req/s $(ratio "${RPS[default /metrics]}" "${RPS[unfiltered /metrics]}") (default / off)"
echo "results: $RESULTS"
