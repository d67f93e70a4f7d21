#!/usr/bin/env bash
# bench/holders.sh DBURL
#
# Issue 24, the pod hold under load: what 1,000 pods holding on GET /v1/hold cost the pollers, and
# how soon holders are released once their version becomes safe.
#  1. Loads the newest schema: v1 (old) with PENDING rows on executor pod-held, v2 (latest).
#  2. `dbos-drain serve` (--refresh REFRESH, default 2s; --max-connections 2000).
#  3. Baseline: wrk -c$CONNECTIONS (64) for DURATION (5s) on GET /v1/versions/v1: req/s.
#  4. bench/holders.py opens HOLDERS (1000) connections holding on /v1/hold?version=v1&executor=pod-held
#     (re-polling after each 409), then the same wrk run again: req/s with holders, and the ratio.
#  5. The holders' version becomes safe (its rows finish): each holder's release latency from that
#     moment (p50, max), against the target of one refresh + 1 s.
# The machine may be shared and noisy: compare the two req/s of one run, not runs of different days.
#
#   scripts/with-postgres.sh sh -c 'bench/holders.sh "$DBOS_DRAIN_TEST_ADMIN_URL"'
# Environment: DBOS_DRAIN_BIN (else a Release build into BUILD_DIR [build-bench] unless SKIP_BUILD=1)
#              CONNECTIONS [64]  DURATION [5s]  HOLDERS [1000]  REFRESH [2s]  PORT  OUT
set -euo pipefail
ADMIN=${1:?usage: bench/holders.sh DBURL}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
DRAIN=${DBOS_DRAIN_BIN:-$BUILD_DIR/plugin/dbos-drain}
[ -n "${DBOS_DRAIN_BIN:-}" ] && SKIP_BUILD=1
OUT=${OUT:-$(mktemp -d /tmp/dbos-drain-holders.XXXXXX)}
RESULTS=${RESULTS:-$OUT/results.jsonl}
CONNECTIONS=${CONNECTIONS:-64} DURATION=${DURATION:-5s} HOLDERS=${HOLDERS:-1000} REFRESH=${REFRESH:-2s}
PORT=${PORT:-$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}
# shellcheck source=bench/common.sh
. "$HERE/common.sh"
build_drain
ensure_wrk
ulimit -n "$(ulimit -Hn)"

DB=dd_bench_holders_$$
SERVE= HOLD=
cleanup() {
  [ -n "$HOLD" ] && kill "$HOLD" 2>/dev/null || true
  stop_pid "$SERVE"
  psql -X -q -d "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql -X -q -d "$ADMIN" -c "CREATE DATABASE $DB"
URL=$(db_url "$DB")
psql -X -q -v ON_ERROR_STOP=1 -v schema=dbos -d "$URL" -f "$REPO/test/fixtures/schema-newest.sql"
psql -X -q -v ON_ERROR_STOP=1 -d "$URL" <<SQL
SET search_path TO dbos;
CREATE TEMP TABLE t AS SELECT (extract(epoch FROM now()) * 1000)::bigint AS now_ms;
INSERT INTO application_versions (version_id, version_name, version_timestamp, created_at)
SELECT 'id-v1', 'v1', now_ms - 7200000, now_ms - 7200000 FROM t;
INSERT INTO application_versions (version_id, version_name, version_timestamp, created_at)
SELECT 'id-v2', 'v2', now_ms - 3600000, now_ms - 3600000 FROM t;
INSERT INTO workflow_status (workflow_uuid, status, name, application_version, executor_id, created_at, updated_at)
SELECT 'held-' || g, 'PENDING', 'checkout', 'v1', 'pod-held', now_ms - 1800000 + g, now_ms - 1800000 + g
FROM t, generate_series(1, 20) g;
SQL

to_ms() {
  awk -v v="$1" 'BEGIN { u = v; sub(/^[0-9.]+/, "", u); n = v + 0
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; printf "%.2f", n }'
}
measure() {  # measure LABEL: req/s of GET /v1/versions/v1
  local out rps p99
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT/v1/versions/v1")
  grep -q "Non-2xx\|Socket errors" <<<"$out" && log "wrk: $(grep -E 'Non-2xx|Socket errors' <<<"$out")"
  rps=$(awk '$1 == "Requests/sec:" { printf "%.0f", $2 }' <<<"$out")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  printf '%-28s req_s=%-7s p99_ms=%s\n' "$1" "$rps" "$p99" >&2
  record holders "label=$1" "req_s=$rps" "p99_ms=$p99" "connections=$CONNECTIONS" "holders=$HOLDERS"
  echo "$rps"
}

"$DRAIN" serve --listen "http://127.0.0.1:$PORT" --database-url "$URL" --log-level warn --refresh "$REFRESH" \
  --max-connections 2000 2>"$OUT/serve.log" &
SERVE=$!
wait_http "http://127.0.0.1:$PORT/readyz" "$SERVE" "$OUT/serve.log"
curl -fs "http://127.0.0.1:$PORT/v1/versions/v1" >/dev/null
alone=$(measure "without holders")

python3 "$HERE/holders.py" "$PORT" "$HOLDERS" v1 pod-held "$OUT/ready" >"$OUT/holders.txt" 2>"$OUT/holders.err" &
HOLD=$!
for _ in $(seq 1 300); do [ -f "$OUT/ready" ] && break; sleep 0.1; done
[ -f "$OUT/ready" ] || die "holders did not connect: $(cat "$OUT/holders.err")"
sleep 1
with=$(measure "with $HOLDERS holders")

# The version becomes safe for pod-held: its rows finish. Release latency from this moment.
kill -USR1 "$HOLD"
psql -X -q -d "$URL" -c "UPDATE dbos.workflow_status SET status = 'SUCCESS', updated_at = (extract(epoch FROM now()) * 1000)::bigint, completed_at = (extract(epoch FROM now()) * 1000)::bigint WHERE executor_id = 'pod-held'"
wait "$HOLD" || true
HOLD=
declare -A H
parse_kv H "$(cat "$OUT/holders.txt")"
ratio=$(awk -v a="$alone" -v b="$with" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }')
target=$(awk -v r="$REFRESH" 'BEGIN { n = r + 0; if (r ~ /ms$/) n /= 1000; printf "%d", n * 1000 + 1000 }')
record holders_release "holders=${H[holders]}" "released=${H[released]}" "p50_ms=${H[release_p50_ms]}" \
  "max_ms=${H[release_max_ms]}" "target_ms=$target"
echo "GET /v1/versions/v1 at $CONNECTIONS connections: ${alone} req/s alone, ${with} req/s with $HOLDERS holders (ratio $ratio)"
echo "release after the version became safe: ${H[released]}/${H[holders]} released, p50 ${H[release_p50_ms]} ms, max ${H[release_max_ms]} ms (target <= one refresh + 1 s = ${target} ms)"
echo "(one shared machine: numbers are noisy; compare within a run)"
log "results: $RESULTS"
