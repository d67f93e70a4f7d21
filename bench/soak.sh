#!/usr/bin/env bash
# bench/soak.sh: load and soak (issue 7). `wrk` at 256 connections on GET /v1/versions/v1 for
# 10 minutes while the database is stopped and started again twice; then reports
#   - responses by status, and errors other than 503 (other statuses, connect/read/write/timeout),
#   - crashes of dbos-drain (must be 0),
#   - how long each outage lasted and how soon after PostgreSQL accepted connections again the
#     service answered 200 (a probe polls every 0.25 s beside wrk),
#   - dbos-drain's RSS, peak RSS (VmHWM), threads and open file descriptors at start and end
#     (idle, before and after the load; they must not grow).
# Results are printed and appended to bench/RESULTS.md (RECORD=0: not appended).
#
#   bench/soak.sh                 # 10 minutes
#   DURATION=90 bench/soak.sh     # shorter (seconds)
#
# Environment: DURATION [600] s   CONNECTIONS [256]   WRK_THREADS [2]   OUTAGE [20] s per restart
#   (longer than the default staleness bound, 3 x 2 s + 5 s = 11 s, so 503s do show)
#   FINISHED [1000000]  INFLIGHT [10000]  rows loaded with bench/load-data.sh
#   BUILD_DIR [build-bench]  SKIP_BUILD [0]  RECORD [1]  DRAIN_PORT [18090]
#   SLOW_CLIENTS [10000]  waves of stalled/idle connections beside wrk (bench/slow-clients.sh; 0: none)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DURATION=${DURATION:-600}
CONNECTIONS=${CONNECTIONS:-256}
WRK_THREADS=${WRK_THREADS:-2}
OUTAGE=${OUTAGE:-20}
FINISHED=${FINISHED:-1000000}
INFLIGHT=${INFLIGHT:-10000}
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
RECORD=${RECORD:-1}
DRAIN_PORT=${DRAIN_PORT:-18090}
OUT=${OUT:-$REPO/bench/out}
DRAIN=$BUILD_DIR/plugin/dbos-drain

log() { printf '[soak %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=bench/common.sh
. "$HERE/common.sh"

case $DURATION in '' | *[!0-9]*) die "DURATION is in whole seconds" ;; esac
[ "$DURATION" -ge $((3 * OUTAGE + 10)) ] || die "DURATION must leave room for two outages of $OUTAGE s"

if [ "${1:-}" != --inner ]; then
  mkdir -p "$OUT"
  build_drain
  ensure_wrk
  exec "$REPO/scripts/with-postgres.sh" "$0" --inner
fi

ADMIN=$DBOS_DRAIN_TEST_ADMIN_URL
URL=${ADMIN%/postgres}/bench_soak
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
OUT=$OUT/soak-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
"${PSQL[@]}" "$ADMIN" -c "ALTER SYSTEM SET shared_buffers = '512MB'"
"$DBOS_DRAIN_TEST_PGCTL" restart -m fast >/dev/null
"${PSQL[@]}" "$ADMIN" -c "CREATE DATABASE bench_soak"
log "loading $FINISHED finished + $INFLIGHT in flight"
"$HERE/load-data.sh" "$URL" "$FINISHED" "$INFLIGHT" >"$OUT/load.txt" 2>"$OUT/load.log" || { tail "$OUT/load.log"; die "load failed"; }

DRAIN_PID= WRK_PID= PROBE_PID= SLOW_PID=
stop_pid() {
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_pid "$PROBE_PID"; stop_pid "$WRK_PID"; stop_pid "$SLOW_PID"; stop_pid "$DRAIN_PID"
  # Leave PostgreSQL running for with-postgres.sh to stop (it may be down mid-outage: start it).
  "$DBOS_DRAIN_TEST_PGCTL" status >/dev/null 2>&1 || "$DBOS_DRAIN_TEST_PGCTL" start >/dev/null 2>&1 || true
}
trap cleanup EXIT

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
now_ms() { date +%s%3N; }
snapshot() {  # snapshot LABEL: "rss X MiB, peak Y MiB, threads T, fds F"
  echo "RSS $(mib "$(status_kb "$DRAIN_PID" VmRSS)") MiB, peak $(mib "$(status_kb "$DRAIN_PID" VmHWM)") MiB, threads $(status_kb "$DRAIN_PID" Threads), fds $(fd_count "$DRAIN_PID")"
}

"$DRAIN" serve --listen "http://127.0.0.1:$DRAIN_PORT" --database-url "$URL" --log-format text >"$OUT/serve.log" 2>&1 &
DRAIN_PID=$!
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$DRAIN_PORT/readyz" >/dev/null 2>&1 && break
  kill -0 "$DRAIN_PID" 2>/dev/null || { cat "$OUT/serve.log"; die "dbos-drain exited"; }
  sleep 0.1
done
curl -fs "http://127.0.0.1:$DRAIN_PORT/v1/versions/v1" >/dev/null || die "dbos-drain does not answer"
sleep 1
START_SNAP=$(snapshot)
START_FDS=$(fd_count "$DRAIN_PID")
START_RSS=$(status_kb "$DRAIN_PID" VmRSS)
log "dbos-drain $DRAIN_PID up: $START_SNAP"

# Probe: status of one request every 0.25 s, "epoch_ms status".
(
  while :; do
    code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$DRAIN_PORT/v1/versions/v1" || true)
    echo "$(date +%s%3N) ${code:-000}"
    sleep 0.25
  done
) >"$OUT/probe.log" 2>/dev/null &
PROBE_PID=$!

log "wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s; database stopped for ${OUTAGE}s at $((DURATION / 3))s and $((2 * DURATION / 3))s"
wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s --latency -s "$HERE/soak-report.lua" \
  "http://127.0.0.1:$DRAIN_PORT/v1/versions/v1" >"$OUT/wrk.txt" 2>&1 &
WRK_PID=$!
# Issue 15: waves of SLOW_CLIENTS connections that stall or idle, beside wrk (bench/slow-clients.sh).

if [ "${SLOW_CLIENTS:-10000}" -gt 0 ]; then
  "$HERE/slow-clients.sh" "$DRAIN_PORT" "${SLOW_CLIENTS:-10000}" 2 15 >"$OUT/slow-clients.txt" 2>&1 &
  SLOW_PID=$!
fi
T0=$(now_ms)
OUTAGES=()
MID_SNAPS=()
for k in 1 2; do
  at=$((T0 + k * DURATION * 1000 / 3))
  while [ "$(now_ms)" -lt "$at" ]; do sleep 0.2; done
  MID_SNAPS+=("before outage $k: $(snapshot)")
  t_stop=$(now_ms)
  "$DBOS_DRAIN_TEST_PGCTL" stop -m fast >/dev/null
  t_down=$(now_ms)
  log "outage $k: PostgreSQL stopped ($(((t_down - t_stop))) ms)"
  sleep "$OUTAGE"
  "$DBOS_DRAIN_TEST_PGCTL" start >/dev/null  # -w: returns once it accepts connections
  t_up=$(now_ms)
  log "outage $k: PostgreSQL accepting connections again"
  OUTAGES+=("$t_stop $t_down $t_up")
done
wait "$WRK_PID" || true
WRK_PID=
[ -z "$SLOW_PID" ] || wait "$SLOW_PID" || true
sleep 3
stop_pid "$PROBE_PID"; PROBE_PID=

CRASHES=0
if ! kill -0 "$DRAIN_PID" 2>/dev/null; then
  CRASHES=1
  rc=0
  wait "$DRAIN_PID" || rc=$?
  log "dbos-drain is gone (exit $rc)"
  END_SNAP="(process gone)"
  END_FDS=-1 END_RSS=0
else
  # Idle again, as at the start: let connections close and the cache settle.
  sleep 2
  END_SNAP=$(snapshot)
  END_FDS=$(fd_count "$DRAIN_PID")
  END_RSS=$(status_kb "$DRAIN_PID" VmRSS)
fi
log "end: $END_SNAP"

line=$(grep '^SOAK_RESULT' "$OUT/wrk.txt" || true)
[ -n "$line" ] || { cat "$OUT/wrk.txt"; die "no wrk result"; }
eval "$(sed 's/^SOAK_RESULT //; s/ /;/g' <<<"$line")"
n503=$(tr ',' '\n' <<<"$status" | awk -F: '$1 == 503 { print $2 }')
n200=$(tr ',' '\n' <<<"$status" | awk -F: '$1 == 200 { print $2 }')
other=$(tr ',' '\n' <<<"$status" | awk -F: '$1 != 200 && $1 != 503 && $2 != "" { s += $2 } END { print s + 0 }')
sock=$((err_connect + err_read + err_write + err_timeout))

# Per outage, from the probe: first 503 after the stop, first 200 after the start.
OUT_ROWS=()
k=0
for o in "${OUTAGES[@]}"; do
  k=$((k + 1))
  read -r t_stop t_down t_up <<<"$o"
  row=$(awk -v s="$t_stop" -v u="$t_up" '
    $1 >= s && $2 == 503 && !f503 { f503 = $1 }
    $1 >= s && $1 < u && $2 != 200 && $2 != 503 { bad++ }
    $1 >= u && $2 == 200 && !r { r = $1 }
    $1 >= u && !r && $2 != 200 && $2 != 503 { bad++ }
    END { printf "%s %s %d", (f503 ? sprintf("%.1f", (f503 - s) / 1000) : "none"), (r ? sprintf("%.2f", (r - u) / 1000) : "never"), bad }' "$OUT/probe.log")
  read -r first503 recover bad <<<"$row"
  OUT_ROWS+=("| $k | $(awk -v a="$t_stop" -v b="$t_up" 'BEGIN { printf "%.1f", (b - a) / 1000 }') | $first503 | $recover | $bad |")
done

fd_verdict=$([ "$END_FDS" -le "$START_FDS" ] && [ "$END_FDS" -ge 0 ] && echo "no growth" || echo "**grew**")
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
SUMMARY=$OUT/summary.md
{
  echo "## Soak $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "- Machine: $(nproc) CPUs ($CPU_MODEL), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM; load average at the end $LOADAVG$( \
        awk -v l="${LOADAVG%% *}" -v n="$(nproc)" 'BEGIN { if (l > n) print " (**shared machine**: other builds and tests ran too)" }')."
  echo "- dbos-drain $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null), Release, \`serve\` defaults (--refresh 2s, max staleness 11 s); data: $FINISHED finished + $INFLIGHT in flight (bench/load-data.sh)."
  echo "- wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s --timeout 5s on GET /v1/versions/v1; PostgreSQL stopped (pg_ctl stop -m fast) for ${OUTAGE}s, twice, then started."
  echo
  echo "| measure | value |"
  echo "|---|---|"
  echo "| requests | $requests in ${seconds}s ($rps req/s), p50 $p50_ms ms, p99 $p99_ms ms, max $max_ms ms |"
  echo "| responses by status | $status |"
  echo "| 503 (expected while the database is down past the staleness bound) | ${n503:-0} |"
  echo "| errors other than 503 | $((other + sock)) (other statuses $other; connect $err_connect, read $err_read, write $err_write, timeout $err_timeout) |"
  echo "| crashes | $CRASHES |"
  echo "| start (idle, before the load) | $START_SNAP |"
  for m in "${MID_SNAPS[@]}"; do echo "| $m |" | sed 's/: / | /'; done
  echo "| end (idle, after the load) | $END_SNAP |"
  echo "| open fds start -> end | $START_FDS -> $END_FDS ($fd_verdict) |"
  echo "| RSS start -> end | $(mib "$START_RSS") -> $(mib "$END_RSS") MiB |"
  if [ -s "$OUT/slow-clients.txt" ]; then
    sed -n 's/^SLOW_CLIENTS /| slow and idle clients (issue 15) | /p' "$OUT/slow-clients.txt" | sed 's/$/ |/'
  fi
  echo
  echo "| outage | database down s (stop -> accepting) | first 503 after stop, s | first 200 after accepting, s | probe answers other than 200/503 |"
  echo "|---:|---:|---|---|---:|"
  printf '%s\n' "${OUT_ROWS[@]}"
  echo
} >"$SUMMARY"
cat "$SUMMARY"
if [ "$RECORD" = 1 ]; then
  cat "$SUMMARY" >>"$HERE/RESULTS.md"
  log "appended to bench/RESULTS.md (raw output in $OUT)"
fi
[ "$CRASHES" = 0 ] || exit 1
