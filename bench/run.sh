#!/usr/bin/env bash
# bench/run.sh: the dbos-drain benchmark (issue 6). One command from a clean checkout:
#
#   bench/run.sh                      # sizes 1M and 10M finished + 10k in flight (long: ~30+ min)
#   QUICK=1 bench/run.sh              # smoke run: 50k finished + 2k in flight, 3 s wrk runs
#   SIZES="1000000" bench/run.sh      # one size
#
# What it does (everything it starts is stopped on exit):
#  1. builds Release in build-bench/ (cmake; tests off), installs wrk (apt) and the peer's npm
#     dependencies (npm ci in ../shared/peers/dbos-listworkflows-endpoint) when missing;
#  2. starts a throwaway PostgreSQL 15 (scripts/with-postgres.sh) with shared_buffers and
#     max_wal_size as the peer's bench (512MB, 4GB) and pg_stat_statements;
#  3. per size: loads the newest schema fixture with bench/load-data.sh (and the same rows into the
#     older ts-3x and go-0x shapes), then for each shape:
#       - takes the exact report query text dbos-drain runs (from the server log, log_statement=all,
#         of one `dbos-drain status` run on that schema);
#       - times it with pgbench (-M prepared, one client, $RUNS transactions, each
#         BEGIN REPEATABLE READ READ ONLY; <report query>; COMMIT as dbos-drain runs it) after 10
#         warm-up runs, and takes p50/p99 from pgbench's per-transaction log;
#       - records EXPLAIN (ANALYZE, BUFFERS) and which indexes / scans it used;
#  4. per size, on a second database created by the real DBOS SDK (the peer's init-schema.mjs)
#     and filled by the peer's gen-data.sh (same mix, real SDK schema): the same report query
#     timing; then `dbos-drain serve` (default --refresh 2s) and the peer
#     (dbos-listworkflows-endpoint, client:light) each get `wrk -t2 -cC -d$DURATION --latency`
#     on the version v1 verdict (GET /v1/versions/v1 and GET /versions/v1) for C in $CONNECTIONS;
#     both answers are checked against SQL first. During dbos-drain's runs it counts the report
#     queries the database ran (pg_stat_statements calls), and records dbos-drain's peak RSS
#     (VmHWM) and open file descriptors;
#  5. prints a table and appends it, with the date and machine, to bench/RESULTS.md
#     (RECORD=0: do not append). Raw output (plans, logs, pgbench logs) goes to bench/out/.
#
# Environment (defaults in brackets):
#   SIZES ["1000000 10000000"]  finished rows per size    INFLIGHT [10000]   VERSIONS [5]
#   RUNS [100]      report query timings per shape and size
#   OLD_SHAPES ["ts-3x go-0x"]  older fixture shapes to load with the same rows ("" to skip)
#   DURATION [10s]  per wrk run     WARMUP [2s]   CONNECTIONS ["16 64"]   WRK_THREADS [2]
#   DIAG [1]        also run dbos-drain with --refresh 1h at the highest connection count (no
#                   request ever waits for a refresh: the HTTP stack alone)
#   PEER [1]        0: skip the SDK database and the peer (dbos-drain is then served from the
#                   fixture database)
#   GEN_PAYLOADS [0]  passed to gen-data.sh: 1 also writes workflow_input/output (neither service
#                   reads them; 0 keeps 10M loads short)
#   PG_SHARED_BUFFERS [512MB]  BUILD_DIR [build-bench]  RECORD [1]
#   DRAIN_PORT [18080]  PEER_PORT [18081]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PEERS=${PEERS:-$REPO/../shared/peers}
PEER_DIR=$PEERS/dbos-listworkflows-endpoint

if [ "${QUICK:-0}" = 1 ]; then
  : "${SIZES:=50000}" "${INFLIGHT:=2000}" "${DURATION:=3s}" "${WARMUP:=1s}"
fi
SIZES=${SIZES:-1000000 10000000}
INFLIGHT=${INFLIGHT:-10000}
VERSIONS=${VERSIONS:-5}
RUNS=${RUNS:-100}
OLD_SHAPES=${OLD_SHAPES-ts-3x go-0x}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-16 64}
WRK_THREADS=${WRK_THREADS:-2}
PEER=${PEER:-1}
DIAG=${DIAG:-1}
GEN_PAYLOADS=${GEN_PAYLOADS:-0}
PG_SHARED_BUFFERS=${PG_SHARED_BUFFERS:-512MB}
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
RECORD=${RECORD:-1}
DRAIN_PORT=${DRAIN_PORT:-18080}
PEER_PORT=${PEER_PORT:-18081}
OUT=${OUT:-$REPO/bench/out}
export DBOS_APP_NAME=${DBOS_APP_NAME:-bench-app}
DRAIN=$BUILD_DIR/plugin/dbos-drain
trap 'echo "[bench] failed: line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# shellcheck source=bench/common.sh
. "$HERE/common.sh"

# ------------------------------------------------------------------ outer: build, tools, PostgreSQL
if [ "${1:-}" != --inner ]; then
  mkdir -p "$OUT"
  build_drain
  ensure_wrk
  command -v jq >/dev/null || { apt-get install -y jq >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y jq >/dev/null; }; }
  if [ "$PEER" = 1 ]; then
    [ -d "$PEER_DIR" ] || die "no peer at $PEER_DIR (PEER=0 to skip it)"
    command -v node >/dev/null || die "node is not installed (PEER=0 to skip the peer)"
    if [ ! -d "$PEER_DIR/node_modules/@dbos-inc/dbos-sdk" ]; then
      log "installing the peer's npm dependencies (npm ci in $PEER_DIR)"
      (cd "$PEER_DIR" && npm ci --no-audit --no-fund >/dev/null)
    fi
  fi
  exec "$REPO/scripts/with-postgres.sh" "$0" --inner
fi

# ------------------------------------------------------------------ inner: PostgreSQL is up
ADMIN=$DBOS_DRAIN_TEST_ADMIN_URL
BASE=${ADMIN%/postgres}
PGROOT=$(dirname "$DBOS_DRAIN_TEST_PGDATA")
SERVER_LOG=$PGROOT/server.log
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
CLK_TCK=$(getconf CLK_TCK)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$OUT/$STAMP
mkdir -p "$OUT"
SUMMARY=$OUT/summary.md

"${PSQL[@]}" "$ADMIN" -c "ALTER SYSTEM SET shared_buffers = '$PG_SHARED_BUFFERS'" -c "ALTER SYSTEM SET max_wal_size = '4GB'" \
  -c "ALTER SYSTEM SET pg_stat_statements.max = 10000"
"$DBOS_DRAIN_TEST_PGCTL" restart -m fast >/dev/null
"${PSQL[@]}" "$ADMIN" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
PG_PID=$(head -1 "$DBOS_DRAIN_TEST_PGDATA/postmaster.pid")
PG_VERSION=$("${PSQL[@]}" -At "$ADMIN" -c "SHOW server_version")
log "PostgreSQL $PG_VERSION, shared_buffers $("${PSQL[@]}" -At "$ADMIN" -c 'SHOW shared_buffers'), data in $PGROOT"

DRAIN_PID= PEER_PID=
stop_pid() {  # stop_pid PID: TERM, wait up to 10 s, then KILL
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() { stop_pid "$DRAIN_PID"; stop_pid "$PEER_PID"; }
trap cleanup EXIT

# ------------------------------------------------------------------ helpers
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {  # the whole cluster: postmaster, reaped children (parallel workers), live children
  local total c
  total=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$PG_PID/stat")
  for c in $(ps -o pid= --ppid "$PG_PID" 2>/dev/null || true); do total=$((total + $(proc_ticks "$c"))); done
  echo "$total"
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
wait_db_idle() {  # wait_db_idle DB: until no other session of DB runs a query (max 120 s)
  local n
  for _ in $(seq 1 1200); do
    n=$("${PSQL[@]}" -At "$ADMIN" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1'
          AND pid <> pg_backend_pid() AND state NOT IN ('idle')")
    [ "$n" = 0 ] && return 0
    sleep 0.1
  done
  log "warning: queries on $1 still running after 120 s"
}
wait_http() {  # wait_http URL PID LOGFILE
  for _ in $(seq 1 300); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { tail -20 "$3" >&2; die "process $2 exited (log $3)"; }
    sleep 0.1
  done
  tail -20 "$3" >&2
  die "$1 did not answer"
}
# Calls of dbos-drain's report query in database $1 so far (pg_stat_statements).
report_calls() {
  "${PSQL[@]}" -At "$ADMIN" -c "SELECT COALESCE(sum(s.calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname = '$1' AND s.query LIKE '%AS kind, application_version AS version%'"
}
# Calls of any statement reading workflow_status in database $1 (for the peer).
ws_calls() {
  "${PSQL[@]}" -At "$ADMIN" -c "SELECT COALESCE(sum(s.calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname = '$1' AND s.query ILIKE '%from%workflow_status%'"
}

# The report query text dbos-drain prepares for schema $2 of database URL $1, from the server log.
capture_query() {
  local url=$1 schema=$2 db=${1##*/} offset text
  "${PSQL[@]}" "$ADMIN" -c "ALTER DATABASE \"$db\" SET log_statement = 'all'"
  offset=$(stat -c %s "$SERVER_LOG")
  "$DRAIN" status --database-url "$url" --schema "$schema" --json >"$OUT/status-$db-$schema.json" 2>"$OUT/status-$db-$schema.err" || true
  "${PSQL[@]}" "$ADMIN" -c "ALTER DATABASE \"$db\" RESET log_statement"
  jq -e .versions "$OUT/status-$db-$schema.json" >/dev/null || { cat "$OUT/status-$db-$schema.err" >&2; die "dbos-drain status failed on $db/$schema"; }
  # A logged statement runs from "execute dbos_drain_report: " to the next line that starts a log
  # entry; the server prefixes each continuation line with a tab.
  text=$(tail -c +"$((offset + 1))" "$SERVER_LOG" | awk '
    /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { if (on) exit; }
    on { sub(/^\t/, ""); print; next }
    /execute dbos_drain_report: / { sub(/.*execute dbos_drain_report: /, ""); print; on = 1 }')
  [ -n "$text" ] || die "could not find the report query of $db/$schema in $SERVER_LOG"
  printf '%s\n' "$text"
}

# measure_report LABEL URL SCHEMA N: exact query text, pgbench p50/p99, EXPLAIN (ANALYZE, BUFFERS).
REPORT_ROWS=()
measure_report() {
  local label=$1 url=$2 schema=$3 n=$4 db=${2##*/} q f explain stats
  q=$(capture_query "$url" "$schema")
  f=$OUT/report-query-$label-$n.sql
  { echo "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;"; printf '%s;\n' "$q"; echo "COMMIT;"; } >"$f"
  printf '%s;\n' "$q" >"$OUT/report-query-$label.sql"
  wait_db_idle "$db"
  pgbench -n -M prepared -c 1 -j 1 -t 10 -f "$f" "$url" >/dev/null 2>&1 || die "pgbench warm-up failed on $label"
  (cd "$OUT" && pgbench -n -M prepared -c 1 -j 1 -t "$RUNS" -f "$f" -l --log-prefix="pgbench-$label-$n" "$url" >"pgbench-$label-$n.out" 2>&1) \
    || { cat "$OUT/pgbench-$label-$n.out" >&2; die "pgbench failed on $label"; }
  # Per-transaction latency (us) is the 3rd field of pgbench's log.
  stats=$(cat "$OUT"/pgbench-"$label"-"$n".[0-9]* | awk '{ print $3 }' | sort -n | awk '
    { v[NR] = $1; s += $1 }
    END { i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
          printf "%.2f %.2f %.2f %.2f", v[i50] / 1000, v[i99] / 1000, s / NR / 1000, v[NR] / 1000 }')
  explain=$OUT/explain-$label-$n.txt
  "${PSQL[@]}" "$url" -c "EXPLAIN (ANALYZE, BUFFERS) $q" >"$explain"
  local seq idx exec_ms bufs
  seq=$(grep -c 'Seq Scan on workflow_status' "$explain" || true)
  idx=$( (grep -oE '(Index Only Scan|Index Scan|Bitmap Index Scan)( Backward)? (using|on) [a-z_0-9]+' "$explain" || true) \
        | awk '{ print $NF }' | sort | uniq | paste -sd, -)
  exec_ms=$(awk '/Execution Time/ { print $3 }' "$explain")
  bufs=$( (grep -m1 -oE 'Buffers: shared [a-z]+=[0-9]+( [a-z]+=[0-9]+)*' "$explain" || true) | sed 's/Buffers: shared //')
  read -r p50 p99 avg max <<<"$stats"
  # The same, with parallel query off for the transaction: on 2 cores the planner's Gather (2
  # workers) for ~10k in-flight rows costs more in worker start-up than it saves.
  local fs=$OUT/report-query-$label-$n-serial.sql np50
  { echo "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;"; echo "SET LOCAL max_parallel_workers_per_gather = 0;"
    printf '%s;\n' "$q"; echo "COMMIT;"; } >"$fs"
  (cd "$OUT" && pgbench -n -M prepared -c 1 -j 1 -t "$RUNS" -f "$fs" -l --log-prefix="pgbench-$label-$n-serial" "$url" >"pgbench-$label-$n-serial.out" 2>&1) \
    || { cat "$OUT/pgbench-$label-$n-serial.out" >&2; die "pgbench failed on $label (serial)"; }
  np50=$(cat "$OUT"/pgbench-"$label"-"$n"-serial.[0-9]* | awk '{ print $3 }' | sort -n | awk '
    { v[NR] = $1 } END { i = int(NR * 0.50 + 0.5); if (i < 1) i = 1; printf "%.2f", v[i] / 1000 }')
  local gather
  gather=$( (grep -oE 'Workers Launched: [0-9]+' "$explain" || true) | awk '{ s += $3 } END { print s + 0 }')
  log "report query $label @ $n: p50 $p50 ms, p99 $p99 ms (avg $avg, max $max) over $RUNS; without parallel workers p50 $np50 ms; plan: indexes [$idx], parallel workers $gather, seq scans of workflow_status: $seq, exec $exec_ms ms, buffers $bufs"
  REPORT_ROWS+=("| $n | $label | $p50 | $p99 | $avg | $max | $np50 | ${idx:-none} | $gather | $seq | $bufs |")
  M[$n:$label:p50]=$p50
  PLANS+=("$label @ $n finished + $INFLIGHT in flight|$explain")
}

# http_run NAME URL DB PID N C: one wrk run; appends a row to HTTP_ROWS and sets LAST_RPS.
HTTP_ROWS=()
http_run() {
  local name=$1 url=$2 db=$3 pid=$4 n=$5 c=$6 out line calls0 calls1 t0 t1 pg0 pg1 qps cpu
  wrk -t"$WRK_THREADS" -c"$c" -d"$WARMUP" --timeout 60s "$url" >/dev/null 2>&1 || true
  wait_db_idle "$db"
  if [ "${name%% *}" = dbos-drain ]; then calls0=$(report_calls "$db"); else calls0=$(ws_calls "$db"); fi
  t0=$(proc_ticks "$pid"); pg0=$(pg_ticks)
  out=$(wrk -t"$WRK_THREADS" -c"$c" -d"$DURATION" --timeout 60s --latency -s "$PEERS/wrk-report.lua" "$url")
  t1=$(proc_ticks "$pid"); pg1=$(pg_ticks)
  if [ "${name%% *}" = dbos-drain ]; then calls1=$(report_calls "$db"); else calls1=$(ws_calls "$db"); fi
  echo "$out" >"$OUT/wrk-${name// /_}-$n-c$c.txt"
  line=$(grep '^WRK_RESULT' <<<"$out" || true)
  [ -n "$line" ] || { echo "$out" >&2; die "no wrk result for $url"; }
  local requests seconds rps p50_ms p90_ms p99_ms max_ms mean_ms err_connect err_read err_write err_timeout err_status
  eval "$(sed 's/^WRK_RESULT //; s/ /;/g' <<<"$line")"
  local errors=$((err_connect + err_read + err_write + err_timeout + err_status))
  qps=$(awk -v d=$((calls1 - calls0)) -v s="$seconds" 'BEGIN { printf "%.2f", d / s }')
  cpu=$(awk -v a=$((t1 - t0)) -v p=$((pg1 - pg0)) -v t="$CLK_TCK" -v s="$seconds" \
        'BEGIN { printf "%.0f%% / %.0f%%", 100 * a / t / s, 100 * p / t / s }')
  wait_db_idle "$db"
  local hwm rss fds
  hwm=$(status_kb "$pid" VmHWM); rss=$(status_kb "$pid" VmRSS); fds=$(fd_count "$pid")
  log "$name @ $n, -c$c: $rps req/s, p50 $p50_ms ms, p99 $p99_ms ms, errors $errors; db queries $((calls1 - calls0)) ($qps/s); cpu (svc/pg) $cpu; RSS $(mib "$rss") MiB (peak $(mib "$hwm")), fds $fds"
  # At most one report query per refresh interval (2 s): floor(seconds / 2) + 1 in a run.
  local allowed ok=""
  allowed=$(awk -v s="$seconds" 'BEGIN { printf "%d", s / 2 + 1 }')
  if [ "${name%% *}" = dbos-drain ]; then
    if [ $((calls1 - calls0)) -le "$allowed" ]; then ok=" ok"; else ok=" **> 1 per 2 s**"; M[$n:queries_ok]=no; fi
  fi
  HTTP_ROWS+=("| $n | $name | $c | $rps | $p50_ms | $p99_ms | $errors | $((calls1 - calls0)) ($qps/s)$ok | $cpu | $(mib "$hwm") | $fds |")
  M[$n:$name:$c:rps]=$rps; M[$n:$name:$c:p99]=$p99_ms; M[$n:$name:hwm]=$(mib "$hwm")
  LAST_RPS=$rps
}

# check_answer NAME JSON WANT_P WANT_E WANT_D
MISMATCH=0
check_answer() {
  local got_p got_e got_d
  if [ "$1" = dbos-drain ]; then
    read -r got_p got_e got_d <<<"$(jq -r '[.in_flight.pending, .in_flight.enqueued, .in_flight.delayed] | @tsv' <<<"$2")"
  else
    read -r got_p got_e got_d <<<"$(jq -r '[.pending, .enqueued, .delayed] | @tsv' <<<"$2")"
  fi
  if [ "$got_p $got_e $got_d" = "$3 $4 $5" ]; then
    log "check $1 v1: pending $got_p enqueued $got_e delayed $got_d (matches SQL)"
  else
    log "check $1 v1 MISMATCH: got $got_p/$got_e/$got_d, SQL $3/$4/$5"
    MISMATCH=1
  fi
}

# serve_and_load N DBURL DB: dbos-drain serve + wrk at each C; then the peer on the same database.
RATIO_ROWS=()
serve_and_load() {
  local n=$1 url=$2 db=$3 want drain_rps=() peer_rps=() c i
  want=$("${PSQL[@]}" -At -F ' ' "$url" -c "SELECT count(*) FILTER (WHERE status = 'PENDING'), count(*) FILTER (WHERE status = 'ENQUEUED'),
           count(*) FILTER (WHERE status = 'DELAYED') FROM dbos.workflow_status
           WHERE application_version = 'v1' AND status IN ('PENDING', 'ENQUEUED', 'DELAYED')")
  "$DRAIN" serve --listen "http://127.0.0.1:$DRAIN_PORT" --database-url "$url" --log-format text \
    >"$OUT/serve-$n.log" 2>&1 &
  DRAIN_PID=$!
  wait_http "http://127.0.0.1:$DRAIN_PORT/readyz" "$DRAIN_PID" "$OUT/serve-$n.log"
  check_answer dbos-drain "$(curl -fs "http://127.0.0.1:$DRAIN_PORT/v1/versions/v1")" $want
  log "dbos-drain idle: RSS $(mib "$(status_kb "$DRAIN_PID" VmRSS)") MiB, threads $(status_kb "$DRAIN_PID" Threads), fds $(fd_count "$DRAIN_PID")"
  for c in $CONNECTIONS; do
    http_run dbos-drain "http://127.0.0.1:$DRAIN_PORT/v1/versions/v1" "$db" "$DRAIN_PID" "$n" "$c"
    drain_rps+=("$LAST_RPS")
  done
  stop_pid "$DRAIN_PID"; DRAIN_PID=
  if [ "$DIAG" = 1 ]; then
    # Diagnostic: the same load on a report that never goes stale during the run (--refresh 1h),
    # so no request waits for a refresh: what the HTTP stack alone costs.
    c=${CONNECTIONS##* }
    "$DRAIN" serve --listen "http://127.0.0.1:$DRAIN_PORT" --database-url "$url" --log-format text --refresh 1h \
      >"$OUT/serve-$n-refresh1h.log" 2>&1 &
    DRAIN_PID=$!
    wait_http "http://127.0.0.1:$DRAIN_PORT/readyz" "$DRAIN_PID" "$OUT/serve-$n-refresh1h.log"
    http_run "dbos-drain (--refresh 1h)" "http://127.0.0.1:$DRAIN_PORT/v1/versions/v1" "$db" "$DRAIN_PID" "$n" "$c"
    stop_pid "$DRAIN_PID"; DRAIN_PID=
  fi
  [ "$PEER" = 1 ] || return 0

  (cd "$PEER_DIR" && PORT=$PEER_PORT PEER_MODE=client PEER_LOAD_PAYLOADS=0 DBOS_SYSTEM_DATABASE_URL=$url exec node server.mjs) \
    >"$OUT/peer-$n.log" 2>&1 &
  PEER_PID=$!
  wait_http "http://127.0.0.1:$PEER_PORT/healthz" "$PEER_PID" "$OUT/peer-$n.log"
  check_answer peer "$(curl -fs "http://127.0.0.1:$PEER_PORT/versions/v1")" $want
  for c in $CONNECTIONS; do
    http_run peer "http://127.0.0.1:$PEER_PORT/versions/v1" "$db" "$PEER_PID" "$n" "$c"
    peer_rps+=("$LAST_RPS")
  done
  stop_pid "$PEER_PID"; PEER_PID=
  i=0
  for c in $CONNECTIONS; do
    M[$n:ratio:$c]=$(awk -v a="${drain_rps[$i]}" -v b="${peer_rps[$i]}" 'BEGIN { if (b > 0) printf "%.0f", a / b; else print 0 }')
    RATIO_ROWS+=("| $n | $c | ${drain_rps[$i]} | ${peer_rps[$i]} | ${M[$n:ratio:$c]}x |")
    i=$((i + 1))
  done
}

# "heap X, indexes Y" of SCHEMA.workflow_status
table_size() {
  "${PSQL[@]}" -At "$1" -c "SELECT 'heap ' || pg_size_pretty(pg_table_size('\"$2\".workflow_status'))
    || ', indexes ' || pg_size_pretty(pg_indexes_size('\"$2\".workflow_status'))"
}

# ------------------------------------------------------------------ per size
SIZE_NOTES=()
LOAD_ROWS=()
PLANS=()
declare -A M  # size:metric -> value, for the targets
START_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
for n in $SIZES; do
  total=$((n + INFLIGHT))
  log "=== size: $n finished + $INFLIGHT in flight over $VERSIONS versions (disk: $(df -h --output=avail /tmp | tail -1 | tr -d ' ') free in /tmp)"

  # Fixture database: newest schema + the older shapes with the same rows.
  "${PSQL[@]}" "$ADMIN" -c "DROP DATABASE IF EXISTS bench_fixture" -c "CREATE DATABASE bench_fixture"
  FIX_URL=$BASE/bench_fixture
  OLD_SHAPES="$OLD_SHAPES" "$HERE/load-data.sh" "$FIX_URL" "$n" "$INFLIGHT" "$VERSIONS" >"$OUT/load-$n.txt" 2>"$OUT/load-$n.log" \
    || { tail -20 "$OUT/load-$n.log" >&2; die "load-data.sh failed"; }
  while read -r _ kv; do
    eval "$(sed 's/ /;/g' <<<"$kv")"  # shape schema rows load_s vacuum_s
    LOAD_ROWS+=("| $n + $INFLIGHT | fixture $shape (bench/load-data.sh) | $load_s | $vacuum_s |")
    log "loaded $shape ($schema): $rows rows in $load_s s + VACUUM (ANALYZE) $vacuum_s s"
  done < <(grep '^LOAD_RESULT' "$OUT/load-$n.txt")
  for schema in dbos $(for shape in $OLD_SHAPES; do echo "dbos_${shape//-/}"; done); do
    SIZE_NOTES+=("$n finished: $schema.workflow_status $(table_size "$FIX_URL" "$schema")")
  done
  measure_report newest "$FIX_URL" dbos "$n"
  for shape in $OLD_SHAPES; do measure_report "$shape" "$FIX_URL" "dbos_${shape//-/}" "$n"; done
  if [ "$PEER" != 1 ]; then
    serve_and_load "$n" "$FIX_URL" bench_fixture
    "${PSQL[@]}" "$ADMIN" -c "DROP DATABASE bench_fixture"
    continue
  fi
  "${PSQL[@]}" "$ADMIN" -c "DROP DATABASE bench_fixture"

  # SDK database: schema by the real SDK, rows by the peer's gen-data.sh; both services read it.
  "${PSQL[@]}" "$ADMIN" -c "DROP DATABASE IF EXISTS bench_sdk" -c "CREATE DATABASE bench_sdk"
  SDK_URL=$BASE/bench_sdk
  (cd "$PEER_DIR" && DBOS_SYSTEM_DATABASE_URL=$SDK_URL node init-schema.mjs) >"$OUT/init-schema-$n.log" 2>&1 \
    || { cat "$OUT/init-schema-$n.log" >&2; die "init-schema.mjs failed"; }
  t0=$(date +%s%N)
  GEN_PAYLOADS=$GEN_PAYLOADS "$PEERS/gen-data.sh" "$SDK_URL" "$n" "$INFLIGHT" "$VERSIONS" >"$OUT/gen-data-$n.txt" 2>&1 \
    || { tail -20 "$OUT/gen-data-$n.txt" >&2; die "gen-data.sh failed"; }
  t1=$(date +%s%N)
  gen=$( (grep -m1 'gen-data: loaded in' "$OUT/gen-data-$n.txt" || true) | sed 's/gen-data: //')
  LOAD_ROWS+=("| $n + $INFLIGHT | SDK 5.3.0 schema (peers/gen-data.sh, payloads=$GEN_PAYLOADS) | $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') total | ($gen) |")
  log "gen-data.sh: $gen"
  SIZE_NOTES+=("$n finished: SDK database dbos.workflow_status $(table_size "$SDK_URL" dbos)")
  measure_report sdk-5.3.0 "$SDK_URL" dbos "$n"
  serve_and_load "$n" "$SDK_URL" bench_sdk
  "${PSQL[@]}" "$ADMIN" -c "DROP DATABASE bench_sdk"
done
END_LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ report
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$REPO" status --porcelain -- lib plugin 2>/dev/null | wc -l)
{
  echo "## Run $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "- Machine: $(nproc) CPUs ($CPU_MODEL), $MEM RAM, $(uname -sr); load average at start $START_LOAD, at end $END_LOAD$( \
        awk -v l="${START_LOAD%% *}" -v n="$(nproc)" 'BEGIN { if (l > n / 2) print " — **the machine was shared** (other builds and tests ran at the same time): read the numbers as noisy" }')."
  echo "- dbos-drain $COMMIT$([ "$DIRTY" = 0 ] || echo " (+ $DIRTY uncommitted files in lib/ plugin/)"), Release, \`serve\` defaults (--refresh 2s, --threads = cores); PostgreSQL $PG_VERSION, shared_buffers $PG_SHARED_BUFFERS, max_wal_size 4GB, fsync off (throwaway, scripts/with-postgres.sh); wrk -t$WRK_THREADS -d$DURATION --latency after a $WARMUP warm-up; wrk, the service and PostgreSQL share the same cores over loopback."
  echo "- Sizes: $SIZES finished + $INFLIGHT in flight over $VERSIONS versions; report query timed $RUNS times per shape (pgbench -M prepared, 1 client, BEGIN REPEATABLE READ READ ONLY + query + COMMIT, after 10 warm-up runs)."
  echo
  echo "### Loads"
  echo
  echo "| rows (finished + in flight) | what | load s | VACUUM (ANALYZE) s |"
  echo "|---|---|---:|---:|"
  printf '%s\n' "${LOAD_ROWS[@]}"
  echo
  printf -- '- %s\n' "${SIZE_NOTES[@]}"
  echo
  echo "### Fresh report query (the exact text dbos-drain prepares for each shape), ms"
  echo
  echo "| finished rows | shape | p50 | p99 | mean | max | p50 without parallel workers | indexes used (EXPLAIN ANALYZE) | parallel workers | seq scans of workflow_status | buffers (shared) |"
  echo "|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---|"
  printf '%s\n' "${REPORT_ROWS[@]}"
  echo
  echo "### HTTP: GET /v1/versions/v1 (dbos-drain) and GET /versions/v1 (peer), same database"
  echo
  echo "| finished rows | service | conns | req/s | p50 ms | p99 ms | errors | db queries in run (per s) | CPU svc / pg | peak RSS MiB | fds |"
  echo "|---:|---|---:|---:|---:|---:|---:|---|---|---:|---:|"
  printf '%s\n' "${HTTP_ROWS[@]}"
  echo
  echo "(db queries: for dbos-drain, calls of its report query; for the peer, calls of statements reading workflow_status; both from pg_stat_statements.)"
  if [ "${#RATIO_ROWS[@]}" -gt 0 ]; then
    echo
    echo "### Throughput ratio dbos-drain / peer"
    echo
    echo "| finished rows | conns | dbos-drain req/s | peer req/s | ratio |"
    echo "|---:|---:|---:|---:|---:|"
    printf '%s\n' "${RATIO_ROWS[@]}"
  fi
  [ "$MISMATCH" = 0 ] || { echo; echo "**An answer did not match SQL: see the log.**"; }
  big=${SIZES##* }
  hi_c=${CONNECTIONS##* }
  served_from=$([ "$PEER" = 1 ] && echo "the SDK database" || echo "the fixture database")
  verdict() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { if (v == "") { print "not measured"; exit }
    ok = (op == "<=") ? (v + 0 <= t + 0) : (v + 0 >= t + 0); print (ok ? "met" : "**not met**") }'; }
  echo
  echo "### Targets (issue 6) at $big finished + $INFLIGHT in flight"
  echo
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  echo "| fresh report p50 <= 20 ms (newest fixture) | ${M[$big:newest:p50]:-} ms (SDK schema: ${M[$big:sdk-5.3.0:p50]:-n/a} ms) | $(verdict "${M[$big:newest:p50]:-}" '<=' 20) |"
  echo "| served verdict at $hi_c connections >= 10,000 req/s | ${M[$big:dbos-drain:$hi_c:rps]:-} req/s | $(verdict "${M[$big:dbos-drain:$hi_c:rps]:-}" '>=' 10000) |"
  echo "| served verdict p99 <= 5 ms at $hi_c connections | ${M[$big:dbos-drain:$hi_c:p99]:-} ms | $(verdict "${M[$big:dbos-drain:$hi_c:p99]:-}" '<=' 5) |"
  echo "| report queries <= 1 per refresh (2 s) | see the HTTP table | $([ "${M[$big:queries_ok]:-yes}" = yes ] && echo met || echo '**not met**') |"
  echo "| peak RSS <= 40 MB (38.1 MiB) | ${M[$big:dbos-drain:hwm]:-} MiB | $(verdict "${M[$big:dbos-drain:hwm]:-}" '<=' 38.1) |"
  if [ "$PEER" = 1 ]; then
    echo "| throughput >= 50x the peer's ($served_from, $hi_c connections) | ${M[$big:ratio:$hi_c]:-}x | $(verdict "${M[$big:ratio:$hi_c]:-}" '>=' 50) |"
  fi
  echo
  echo "### Plans (EXPLAIN (ANALYZE, BUFFERS) of the report query)"
  for p in "${PLANS[@]}"; do
    echo
    echo "<details><summary>${p%%|*}</summary>"
    echo
    echo '```'
    cat "${p#*|}"
    echo '```'
    echo
    echo "</details>"
  done
  echo
} >"$SUMMARY"
cat "$SUMMARY" | sed '/^### Plans/,$d'
if [ "$RECORD" = 1 ]; then
  cat "$SUMMARY" >>"$HERE/RESULTS.md"
  log "appended to bench/RESULTS.md (raw output in $OUT)"
else
  log "RECORD=0: not appended (summary in $SUMMARY)"
fi
[ "$MISMATCH" = 0 ] || die "an answer did not match SQL"
