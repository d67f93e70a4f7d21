#!/usr/bin/env bash
# bench/diagnose.sh: evidence for two costs that bench/run.sh does not show, on the newest fixture
# loaded with FINISHED finished + INFLIGHT in-flight rows (bench/load-data.sh):
#
#  1. The history probe. A version that is neither registered nor in flight is looked up with
#     `EXISTS (SELECT 1 FROM workflow_status WHERE application_version = $v)` inside the report
#     transaction. No DBOS index covers application_version, so for a version with no rows at all
#     (a typo, or a new version asked about before its first worker starts) that is a scan of the
#     whole table. Prints the probe's EXPLAIN (ANALYZE, BUFFERS) and its timing.
#  2. What that does to the service: dbos-drain serve with --query-timeout T (for each T in
#     QUERY_TIMEOUTS; a short one stands for a larger table or a cold cache); one
#     request for an unknown version, then GET /v1/versions/v1 every 0.25 s for WATCH seconds;
#     prints how the answers (and the report's age) behave.
#
#   bench/diagnose.sh                          # 10M finished + 10k in flight (~4 min to load)
#   FINISHED=1000000 bench/diagnose.sh
#
# Environment: FINISHED [10000000]  INFLIGHT [10000]  QUERY_TIMEOUTS ["5s 1s"]  WATCH [30]
#              BUILD_DIR [build-bench]  SKIP_BUILD [0]  DRAIN_PORT [18095]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
FINISHED=${FINISHED:-10000000}
INFLIGHT=${INFLIGHT:-10000}
QUERY_TIMEOUTS=${QUERY_TIMEOUTS:-5s 1s}
WATCH=${WATCH:-30}
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
DRAIN_PORT=${DRAIN_PORT:-18095}
OUT=${OUT:-$REPO/bench/out}
DRAIN=$BUILD_DIR/plugin/dbos-drain

log() { printf '[diagnose %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [ "${1:-}" != --inner ]; then
  mkdir -p "$OUT"
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building Release in $BUILD_DIR"
    cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDBOS_DRAIN_BUILD_TESTS=OFF >"$OUT/build.log" 2>&1 \
      && cmake --build "$BUILD_DIR" -j"$(nproc)" >>"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; die "build failed"; }
  fi
  [ -x "$DRAIN" ] || die "no $DRAIN"
  exec "$REPO/scripts/with-postgres.sh" "$0" --inner
fi

ADMIN=$DBOS_DRAIN_TEST_ADMIN_URL
URL=${ADMIN%/postgres}/bench_diag
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
"${PSQL[@]}" "$ADMIN" -c "ALTER SYSTEM SET shared_buffers = '512MB'" -c "ALTER SYSTEM SET max_wal_size = '4GB'"
"$DBOS_DRAIN_TEST_PGCTL" restart -m fast >/dev/null
"${PSQL[@]}" "$ADMIN" -c "CREATE DATABASE bench_diag"
log "loading $FINISHED finished + $INFLIGHT in flight"
"$HERE/load-data.sh" "$URL" "$FINISHED" "$INFLIGHT" 2>&1 | grep LOAD_RESULT

DRAIN_PID=
cleanup() {
  if [ -n "$DRAIN_PID" ] && kill -0 "$DRAIN_PID" 2>/dev/null; then kill -TERM "$DRAIN_PID"; wait "$DRAIN_PID" || true; fi
}
trap cleanup EXIT

echo
echo "== 1. history probe for a version with no rows (v-none) and for one with rows (v1)"
for v in v-none v1; do
  echo "-- $v"
  "${PSQL[@]}" "$URL" -c "EXPLAIN (ANALYZE, BUFFERS) SELECT v FROM unnest(ARRAY['$v']::text[]) AS v
    WHERE EXISTS (SELECT 1 FROM \"dbos\".workflow_status WHERE application_version = v)" | sed 's/^/   /'
done

echo
for QUERY_TIMEOUT in $QUERY_TIMEOUTS; do
echo
echo "== 2. dbos-drain serve --query-timeout $QUERY_TIMEOUT: one GET /v1/versions/v-none, then GET /v1/versions/v1 every 0.25 s for ${WATCH}s"
"$DRAIN" serve --listen "http://127.0.0.1:$DRAIN_PORT" --database-url "$URL" --query-timeout "$QUERY_TIMEOUT" \
  --log-format text >/tmp/diagnose-serve.$$.log 2>&1 &
DRAIN_PID=$!
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$DRAIN_PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
t0=$(date +%s%3N)
code=$(curl -s -o /tmp/diagnose-body.$$ -w '%{http_code} %{time_total}' "http://127.0.0.1:$DRAIN_PORT/v1/versions/v-none")
echo "   GET /v1/versions/v-none -> $code s: $(head -c 120 /tmp/diagnose-body.$$)..."
end=$((t0 + WATCH * 1000))
: >/tmp/diagnose-probe.$$
while [ "$(date +%s%3N)" -lt "$end" ]; do
  r=$(curl -s -m 10 -o /tmp/diagnose-body.$$ -w '%{http_code} %{time_total}' "http://127.0.0.1:$DRAIN_PORT/v1/versions/v1" || echo "000 0")
  age=$(jq -r '.age_seconds // .error.code // "?"' /tmp/diagnose-body.$$ 2>/dev/null || echo "?")
  echo "$(( ($(date +%s%3N) - t0) )) $r $age" >>/tmp/diagnose-probe.$$
  sleep 0.25
done
awk '{ n[$2]++; if ($3 > max) max = $3 } END { for (c in n) printf "   status %s: %d answers\n", c, n[c]; printf "   slowest answer %.3f s\n", max }' /tmp/diagnose-probe.$$
echo "   answers slower than 100 ms, and changes of status (ms since the v-none request, status, seconds, age_seconds or error code):"
awk '{ k = $2 " " ($4 ~ /^[0-9.]+$/ ? "ok" : $4); if (k != last || $3 > 0.1) { print "     " $0; last = k } }' /tmp/diagnose-probe.$$ | head -40
echo "   service log (errors):"
grep -E 'error|unreadable|readable' /tmp/diagnose-serve.$$.log | head -8 | cut -c1-400 | sed 's/^/     /'
kill -TERM "$DRAIN_PID"; wait "$DRAIN_PID" || true; DRAIN_PID=
done
rm -f /tmp/diagnose-probe.$$ /tmp/diagnose-body.$$ /tmp/diagnose-serve.$$.log
