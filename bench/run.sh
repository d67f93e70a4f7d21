#!/usr/bin/env bash
# bench/run.sh: the dbos-drain benchmark (issues 6 and 13). Bash orchestrates; bench/render.py
# renders; helpers are in bench/common.sh.
#
#   bench/run.sh                         # every size in SIZES (long: loads take minutes each)
#   QUICK=1 bench/run.sh                 # smoke run: 50k finished + 2k in flight, 3 s wrk runs
#   SIZES="1000000:1000000:500" bench/run.sh          # one size: FINISHED:INFLIGHT:VERSIONS
#   KEEP_DATA=1 ...; REUSE_DATA=1 ...    # keep the cluster and its loaded databases; reuse them
#   INTAKE=1 SIZES="10000000:10000:5" bench/run.sh    # issue 12's load (see INTAKE below)
#
# Per size (FINISHED finished + INFLIGHT in flight over VERSIONS versions):
#  1. loads the newest schema fixture and the older shapes (OLD_SHAPES) with bench/load-data.sh
#     into a database of its own (skipped when REUSE_DATA=1 finds it loaded);
#  2. per shape: takes the exact report query and the session settings dbos-drain uses on that
#     database (from the server log of one `dbos-drain status` run), times it with pgbench
#     (BEGIN REPEATABLE READ READ ONLY; the SETs as SET LOCAL; the query; COMMIT) $RUNS times, and
#     in the same run the bare count the issue compares it with:
#       SELECT count(*) FROM workflow_status WHERE status IN ('PENDING','ENQUEUED','DELAYED')
#     at PostgreSQL's defaults; prints both and the ratio report / count (p50), and records
#     EXPLAIN (ANALYZE, BUFFERS) of both;
#  3. `dbos-drain serve` (defaults: --refresh 2s) under `wrk -t$WRK_THREADS -cC -d$DURATION` on
#     GET /v1/versions/v1 for C in CONNECTIONS: req/s, p50/p99, errors, report queries in the run
#     (pg_stat_statements), CPU of dbos-drain and of the whole PostgreSQL cluster, the database
#     share spent on reports (pg_stat_statements total_exec_time of the report query / wall time,
#     in % of one core), peak RSS and descriptors;
#  4. PEER=1: the DBOS SDK peer (../shared/peers, GET /versions/v1) on the same database and the
#     throughput ratio.
#  Every report timing also times the fresh report as a refresh reads it: the report query and
#     the retire statement (db/retire_query.h) in one REPEATABLE READ transaction ("fresh"), with
#     the window bounds of a refresh 2 s after the previous one (core/window_ledger.h: the
#     window's edge and the rows newer than the last read minus the 10 s margin), and as the full
#     read a new connection, a standby or every 30 s makes ("fresh full").
#  INTAKE=1 (issue 12): pgbench starts INTAKE_RATE workflows per second of the latest version,
#     each finished a second later (see intake_start), for INTAKE_WARM s (the quiet period fills),
#     then a second report timing and step 3 run under it; the table shows the fresh report's
#     p50/p99 under that intake and the served req/s.
# Raw output goes to bench/out/STAMP/ (results.jsonl, plans, logs); the summary is printed and,
# with RECORD=1, bench/RESULTS.md keeps the latest run of each size and a one-line history.
#
# Environment (defaults in brackets):
#   SIZES ["1000000:10000:5 1000000:100000:500 1000000:1000000:500"]  FINISHED:INFLIGHT:VERSIONS
#   RUNS [30]  report/count timings per shape    OLD_SHAPES ["ts-3x go-0x"]
#   DURATION [10s]  WARMUP [2s]  CONNECTIONS ["16 64"]  WRK_THREADS [2]
#   PEER [0]  INTAKE [0]  INTAKE_RATE [100]  INTAKE_WARM [125] s of intake before timing  RECORD [1]  BUILD_DIR [build-bench]  SKIP_BUILD [0]
#   PGROOT [/tmp/dbos-drain-bench-pg]  PGPORT [57450]  PG_SHARED_BUFFERS [512MB]
#   KEEP_DATA [0] keep PGROOT on exit    REUSE_DATA [0] start the kept cluster, reuse loaded sizes
#   DRAIN_PORT [18080]  PEER_PORT [18081]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# The shared peers directory beside the repository (or beside the worktree's parent).
if [ -z "${PEERS:-}" ]; then
  PEERS=$REPO/../shared/peers
  [ -d "$PEERS" ] || PEERS=$REPO/../../shared/peers
fi
PEER_DIR=$PEERS/dbos-listworkflows-endpoint

if [ "${QUICK:-0}" = 1 ]; then
  : "${SIZES:=50000:2000:5}" "${DURATION:=3s}" "${WARMUP:=1s}" "${RUNS:=10}"
fi
SIZES=${SIZES:-1000000:10000:5 1000000:100000:500 1000000:1000000:500}
RUNS=${RUNS:-30}
OLD_SHAPES=${OLD_SHAPES-ts-3x go-0x}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-16 64}
WRK_THREADS=${WRK_THREADS:-2}
PEER=${PEER:-0}
INTAKE=${INTAKE:-0}
INTAKE_RATE=${INTAKE_RATE:-100}
INTAKE_WARM=${INTAKE_WARM:-125}
QUIET_MS=120000  # dbos-drain's default --quiet-period, which the captured statements use
RECORD=${RECORD:-1}
BUILD_DIR=${BUILD_DIR:-$REPO/build-bench}
PGROOT=${PGROOT:-/tmp/dbos-drain-bench-pg}
PGPORT=${PGPORT:-57450}
PG_SHARED_BUFFERS=${PG_SHARED_BUFFERS:-512MB}
KEEP_DATA=${KEEP_DATA:-0}
REUSE_DATA=${REUSE_DATA:-0}
DRAIN_PORT=${DRAIN_PORT:-18080}
PEER_PORT=${PEER_PORT:-18081}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export DBOS_APP_NAME=${DBOS_APP_NAME:-bench-app}
DRAIN=$BUILD_DIR/plugin/dbos-drain
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$REPO/bench/out}/$STAMP
RESULTS=$OUT/results.jsonl
mkdir -p "$OUT"
trap 'echo "[bench] failed: line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
# shellcheck source=bench/common.sh
. "$HERE/common.sh"

build_drain
ensure_tools wrk:wrk jq:jq pgbench:postgresql-client-15 python3:python3
if [ "$PEER" = 1 ]; then
  [ -d "$PEER_DIR/node_modules/@dbos-inc/dbos-sdk" ] || die "the peer needs its npm dependencies: (cd $PEER_DIR && npm ci)"
fi

# ------------------------------------------------------------------ PostgreSQL (kept with KEEP_DATA)
as_pg=(); [ "$(id -u)" = 0 ] && as_pg=(runuser -u postgres --)
PGDATA_DIR=$PGROOT/data
SERVER_LOG=$PGROOT/server.log
pgctl() { "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$SERVER_LOG" -w -t 120 "$@"; }
if [ "$REUSE_DATA" = 1 ] && [ -f "$PGDATA_DIR/PG_VERSION" ]; then
  log "reusing the cluster in $PGROOT"
else
  [ ! -e "$PGROOT" ] || [ "$REUSE_DATA" = 1 ] || die "$PGROOT exists (REUSE_DATA=1 to reuse it, or remove it)"
  mkdir -p "$PGROOT/sock"; chmod 755 "$PGROOT"
  [ "$(id -u)" != 0 ] || chown -R postgres:postgres "$PGROOT"
  "${as_pg[@]}" "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$OUT/initdb.log" 2>&1 \
    || { cat "$OUT/initdb.log" >&2; die "initdb failed"; }
  cat >>"$PGDATA_DIR/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PGROOT/sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.max = 10000
shared_buffers = '$PG_SHARED_BUFFERS'
max_wal_size = '4GB'
CONF
fi
pgctl status >/dev/null 2>&1 || pgctl start >/dev/null || { tail -20 "$SERVER_LOG" >&2; die "PostgreSQL did not start"; }
DRAIN_PID= PEER_PID= INTAKE_PID=
cleanup() {
  stop_pid "$DRAIN_PID"; stop_pid "$PEER_PID"; stop_pid "$INTAKE_PID"
  pgctl stop -m fast >/dev/null 2>&1 || true
  if [ "$KEEP_DATA" = 1 ]; then log "kept $PGROOT (REUSE_DATA=1 to reuse it)"; else rm -rf "$PGROOT"; fi
}
trap cleanup EXIT
ADMIN=postgresql://postgres@127.0.0.1:$PGPORT/postgres
BASE=${ADMIN%/postgres}
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
"${PSQL[@]}" "$ADMIN" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
PG_PID=$(head -1 "$PGDATA_DIR/postmaster.pid")
PG_VERSION=$("${PSQL[@]}" -At "$ADMIN" -c "SHOW server_version")
CLK_TCK=$(getconf CLK_TCK)
log "PostgreSQL $PG_VERSION on port $PGPORT, data in $PGROOT"

# ------------------------------------------------------------------ helpers
wait_db_idle() {  # wait_db_idle DB: until no other session of DB runs a query (max 120 s)
  local n
  for _ in $(seq 1 1200); do
    n=$("${PSQL[@]}" -At "$ADMIN" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$1'
          AND pid <> pg_backend_pid() AND state NOT IN ('idle') AND application_name <> 'bench-intake'")
    [ "$n" = 0 ] && return 0
    sleep 0.1
  done
  log "warning: queries on $1 still running after 120 s"
}
# "calls exec_ms" so far in database $1 (pg_stat_statements): calls of dbos-drain's report query,
# and the database time of the report query and the retire statement of the same snapshot (both
# count in --max-db-share's budget).
report_stats() {
  "${PSQL[@]}" -At -F ' ' "$ADMIN" -c "SELECT COALESCE(sum(s.calls) FILTER (WHERE s.query LIKE '%AS kind, application_version AS version%'), 0),
    COALESCE(round(sum(s.total_exec_time)::numeric, 1), 0)
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname = '$1' AND (s.query LIKE '%AS kind, application_version AS version%' OR s.query LIKE '%AS retire_kind%'
      OR s.query LIKE '%AS status_check_kind%')"
}

# capture_query URL SCHEMA OUTFILE [FRESHFILE]: the report query dbos-drain prepares for SCHEMA and
# the session settings it ran before it (as SET LOCAL), as one pgbench transaction in OUTFILE. With
# FRESHFILE, also the whole fresh report as dbos-drain reads it: the same transaction with the
# retire statement (db/retire_query.h) after the report query, its bounds ($1 lo, $2 edge_end,
# $3 from) inlined as a refresh 2 s after the previous one computes them from now(); and in
# FRESHFILE's -full twin, as a full read ($3 = $2).
capture_query() {
  local url=$1 schema=$2 f=$3 fresh=${4:-} db=${1##*/} offset
  "${PSQL[@]}" "$ADMIN" -c "ALTER DATABASE \"$db\" SET log_statement = 'all'"
  offset=$(stat -c %s "$SERVER_LOG")
  "$DRAIN" status --database-url "$url" --schema "$schema" --json >"$OUT/status-$db-$schema.json" 2>"$OUT/status-$db-$schema.err" || true
  "${PSQL[@]}" "$ADMIN" -c "ALTER DATABASE \"$db\" RESET log_statement"
  jq -e .versions "$OUT/status-$db-$schema.json" >/dev/null || { cat "$OUT/status-$db-$schema.err" >&2; die "dbos-drain status failed on $db/$schema"; }
  # A logged statement runs to the next line that starts a log entry; continuation lines start
  # with a tab. The SETs that size the report (report_session.h) precede its PREPARE/execute.
  local now="(extract(epoch FROM now()) * 1000)::bigint" w=$QUIET_MS
  local lo="($now - $w)" edge="((($now - $w) / 1000 + 1) * 1000)" from="((($now - 2000 - 10000) / 1000) * 1000)"
  tail -c +"$((offset + 1))" "$SERVER_LOG" | awk -v fresh="$fresh" -v lo="$lo" -v edge="$edge" -v from="$from" '
    function flush() { if (on == 1) q = cur; else if (on == 2) r = cur; else if (on == 3) chk = cur; on = 0 }
    /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { if (on) flush() }
    on { sub(/^\t/, ""); cur = cur " " $0; next }
    /statement: SET (work_mem|max_parallel_workers_per_gather|parallel_tuple_cost|enable_bitmapscan|jit) / {
      if (q != "") next
      s = $0; sub(/.*statement: SET /, "", s); sets[s ~ /^jit/ ? "jit" : s] = s; next }
    /execute dbos_drain_report: / && q == "" { cur = $0; sub(/.*execute dbos_drain_report: /, "", cur); on = 1; next }
    /execute dbos_drain_retire: / && r == "" { cur = $0; sub(/.*execute dbos_drain_retire: /, "", cur); on = 2; next }
    /statement: SET LOCAL / && chk == "" { chkset = $0; sub(/.*statement: /, "", chkset); chkset = chkset ";\n"; next }
    /statement: SELECT .g.::text AS status_check_kind/ && chk == "" { cur = $0; sub(/.*statement: /, "", cur); on = 3; next }
    END { if (on) flush()
          if (q == "") exit 1
          head = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\n"
          for (k in sets) head = head "SET LOCAL " sets[k] ";\n"
          printf "%s%s;\nCOMMIT;\n", head, q
          if (fresh == "") exit 0
          if (r == "") exit 1
          full = r
          gsub(/\$1/, lo, r); gsub(/\$2/, edge, r); gsub(/\$3/, "GREATEST(" from ", " edge ")", r)
          gsub(/\$1/, lo, full); gsub(/\$2/, edge, full); gsub(/\$3/, edge, full)
          printf "%s%s;\n%s;\nCOMMIT;\n", head, q, r > fresh
          if (chk != "") printf "%s%s%s;\nCOMMIT;\n", head, chkset, chk > (fresh "-check")
          printf "%s%s;\n%s;\nCOMMIT;\n", head, q, full > (fresh "-full") }' >"$f" || die "could not find the report (and retire) query of $db/$schema in $SERVER_LOG"
}

# measure_report SIZE URL SCHEMA SHAPE [TAG]: report vs bare count, same run; records both.
measure_report() {
  local size=$1 url=$2 schema=$3 shape=$4 tag=${5:-} db=${2##*/} fq fc label
  label=$size-$shape${tag:+-$tag}
  fq=$OUT/report-$label.sql fc=$OUT/count-$label.sql
  capture_query "$url" "$schema" "$fq" "$OUT/fresh-$label.sql"
  printf '%s\n' "SELECT count(*) FROM \"$schema\".workflow_status WHERE status IN ('PENDING', 'ENQUEUED', 'DELAYED');" >"$fc"
  wait_db_idle "$db"
  declare -A q=() c=()
  parse_kv q "$(pgbench_times "$fq" "$url" "$RUNS" "report-$label")"
  parse_kv c "$(pgbench_times "$fc" "$url" "$RUNS" "count-$label")"
  # EXPLAIN of both, with the report's session settings (the SET LOCAL lines of its transaction).
  { grep '^SET LOCAL' "$fq" | sed 's/^SET LOCAL /SET /'; echo "EXPLAIN (ANALYZE, BUFFERS) $(grep -v '^SET LOCAL\|^BEGIN\|^COMMIT' "$fq")"; } \
    | "${PSQL[@]}" "$url" >"$OUT/explain-report-$label.txt"
  "${PSQL[@]}" "$url" -c "EXPLAIN (ANALYZE, BUFFERS) $(cat "$fc")" >"$OUT/explain-count-$label.txt"
  local plan settings ratio
  plan=$( (grep -oE '(Parallel Seq Scan|Seq Scan|Bitmap Index Scan|Index Only Scan|Index Scan|BitmapOr|HashAggregate|GroupAggregate|Gather)( on| using)? ?[a-z_0-9]*' \
          "$OUT/explain-report-$label.txt" || true) | sed 's/ $//' | awk '!seen[$0]++' | paste -sd, -)
  settings=$( (grep '^SET LOCAL' "$fq" || true) | sed 's/^SET LOCAL //; s/;$//; s/ = /=/; s/ //g' | paste -sd, -)
  # The whole fresh report (report query + retire statement, one snapshot): what a refresh costs.
  declare -A fr=()
  parse_kv fr "$(pgbench_times "$OUT/fresh-$label.sql" "$url" "$RUNS" "fresh-$label")"
  declare -A ff=()
  parse_kv ff "$(pgbench_times "$OUT/fresh-$label.sql-full" "$url" "$RUNS" "fresh-full-$label")"
  # The status check (issue 22, core/status_ledger.h), with the SET LOCAL dbos-drain runs before it
  # in its savepoint (parallel workers): a scan of workflow_status that status/wait
  # run on every read and serve on a version's departure from in flight and every
  # --status-check-interval. At most 5 runs: at 10M it takes seconds.
  declare -A sc=([p50]=- [p99]=-)
  [ -s "$OUT/fresh-$label.sql-check" ] && parse_kv sc "$(pgbench_times "$OUT/fresh-$label.sql-check" "$url" "$(( RUNS < 5 ? RUNS : 5 ))" "check-$label")"
  ratio=$(awk -v a="${q[p50]}" -v b="${c[p50]}" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
  log "report $label: p50 ${q[p50]} ms p99 ${q[p99]} ms; bare count p50 ${c[p50]} ms p99 ${c[p99]} ms; ratio $ratio; fresh report (+ retire statement) p50 ${fr[p50]} ms p99 ${fr[p99]} ms, with a full window read p50 ${ff[p50]} ms p99 ${ff[p99]} ms; status check p50 ${sc[p50]} ms p99 ${sc[p99]} ms; settings $settings"
  record report size="$size" shape="$shape" tag="${tag:-}" report_p50="${q[p50]}" report_p99="${q[p99]}" report_mean="${q[mean]}" \
    fresh_p50="${fr[p50]}" fresh_p99="${fr[p99]}" fresh_full_p50="${ff[p50]}" fresh_full_p99="${ff[p99]}" \
    count_p50="${c[p50]}" count_p99="${c[p99]}" check_p50="${sc[p50]}" check_p99="${sc[p99]}" ratio="$ratio" settings="${settings:-none}" plan="${plan:-?}" runs="$RUNS"
}

# intake_start URL: INTAKE_RATE new workflows per second of the latest version (pgbench -R), each
# finished about a second after it started, as a live service's are: every transaction inserts one
# PENDING row (SDK-shaped) and marks SUCCESS (completed_at, updated_at) the intake rows started over
# a second ago. So the window holds ~INTAKE_RATE x quiet period starts and as many finishes, with
# the dead tuples and scattered pages real updates leave, while in flight stays ~INTAKE_RATE.
intake_start() {
  local f=$OUT/intake.sql v
  v=$("${PSQL[@]}" -At "$1" -c "SELECT version_name FROM dbos.application_versions ORDER BY version_timestamp DESC LIMIT 1")
  cat >"$f" <<SQL
INSERT INTO dbos.workflow_status (workflow_uuid, status, name, authenticated_user, assumed_role, authenticated_roles,
  executor_id, created_at, updated_at, application_version, class_name, config_name, recovery_attempts,
  started_at_epoch_ms, priority, application_name, serialization)
VALUES (gen_random_uuid()::text, 'PENDING', 'intakeWorkflow', '', '', '[]', '$DBOS_APP_NAME-$v-0',
  (extract(epoch FROM now()) * 1000)::bigint, (extract(epoch FROM now()) * 1000)::bigint, '$v', '', '', 1,
  (extract(epoch FROM now()) * 1000)::bigint, 0, '$DBOS_APP_NAME', 'js_superjson');
UPDATE dbos.workflow_status SET status = 'SUCCESS', completed_at = (extract(epoch FROM now()) * 1000)::bigint,
  updated_at = (extract(epoch FROM now()) * 1000)::bigint
WHERE status = 'PENDING' AND name = 'intakeWorkflow'
  AND created_at BETWEEN (extract(epoch FROM now()) * 1000)::bigint - 60000 AND (extract(epoch FROM now()) * 1000)::bigint - 1000;
SQL
  PGAPPNAME=bench-intake pgbench -n -c 1 -j 1 -R "$INTAKE_RATE" -T 100000 -f "$f" "$1" >"$OUT/intake.log" 2>&1 &
  INTAKE_PID=$!
  log "intake: $INTAKE_RATE workflows/s of $v, each finished ~1 s later (pgbench pid $INTAKE_PID)"
}

# http_run SERVICE URL DB PID SIZE C: one wrk run; records req/s, latency, CPU, report queries.
http_run() {
  local svc=$1 url=$2 db=$3 pid=$4 size=$5 c=$6 out line s0 s1 t0 t1 pg0 pg1
  wrk -t"$WRK_THREADS" -c"$c" -d"$WARMUP" --timeout 60s "$url" >/dev/null 2>&1 || true
  wait_db_idle "$db"
  read -r -a s0 <<<"$(report_stats "$db")"
  t0=$(proc_ticks "$pid"); pg0=$(pg_ticks "$PG_PID")
  out=$(wrk -t"$WRK_THREADS" -c"$c" -d"$DURATION" --timeout 60s --latency -s "$PEERS/wrk-report.lua" "$url")
  t1=$(proc_ticks "$pid"); pg1=$(pg_ticks "$PG_PID")
  read -r -a s1 <<<"$(report_stats "$db")"
  echo "$out" >"$OUT/wrk-$svc-$size-c$c.txt"
  line=$(grep '^WRK_RESULT' <<<"$out" || true)
  [ -n "$line" ] || { echo "$out" >&2; die "no wrk result for $url"; }
  declare -A w=()
  parse_kv w "${line#WRK_RESULT }"
  local errors=$((w[err_connect] + w[err_read] + w[err_write] + w[err_timeout] + w[err_status]))
  local calls=$((s1[0] - s0[0])) svc_cpu pg_cpu db_share
  svc_cpu=$(awk -v a=$((t1 - t0)) -v t="$CLK_TCK" -v s="${w[seconds]}" 'BEGIN { printf "%.0f", 100 * a / t / s }')
  pg_cpu=$(awk -v a=$((pg1 - pg0)) -v t="$CLK_TCK" -v s="${w[seconds]}" 'BEGIN { printf "%.0f", 100 * a / t / s }')
  db_share=$(awk -v a="${s0[1]}" -v b="${s1[1]}" -v s="${w[seconds]}" 'BEGIN { printf "%.1f", (b - a) / 10 / s }')
  local hwm fds
  hwm=$(mib "$(status_kb "$pid" VmHWM)"); fds=$(fd_count "$pid")
  log "$svc $size -c$c: ${w[rps]} req/s p50 ${w[p50_ms]} p99 ${w[p99_ms]} ms, errors $errors; report queries $calls; cpu svc ${svc_cpu}% pg ${pg_cpu}%; reports ${db_share}% of a db core; RSS peak $hwm MiB; fds $fds"
  record http size="$size" service="$svc" conns="$c" rps="${w[rps]}" p50_ms="${w[p50_ms]}" p99_ms="${w[p99_ms]}" errors="$errors" \
    report_queries="$calls" seconds="${w[seconds]}" svc_cpu_pct="$svc_cpu" pg_cpu_pct="$pg_cpu" report_db_pct="$db_share" \
    peak_rss_mib="$hwm" fds="$fds" intake="$INTAKE"
  LAST_RPS=${w[rps]}
}

serve_and_load() {  # serve_and_load SIZE URL DB
  local size=$1 url=$2 db=$3 c
  "$DRAIN" serve --listen "http://127.0.0.1:$DRAIN_PORT" --database-url "$url" --log-format text >"$OUT/serve-$size.log" 2>&1 &
  DRAIN_PID=$!
  wait_http "http://127.0.0.1:$DRAIN_PORT/readyz" "$DRAIN_PID" "$OUT/serve-$size.log"
  for c in $CONNECTIONS; do http_run dbos-drain "http://127.0.0.1:$DRAIN_PORT/v1/versions/v1" "$db" "$DRAIN_PID" "$size" "$c"; done
  stop_pid "$DRAIN_PID"; DRAIN_PID=
  [ "$PEER" = 1 ] || return 0
  (cd "$PEER_DIR" && PORT=$PEER_PORT PEER_MODE=client PEER_LOAD_PAYLOADS=0 DBOS_SYSTEM_DATABASE_URL=$url exec node server.mjs) \
    >"$OUT/peer-$size.log" 2>&1 &
  PEER_PID=$!
  wait_http "http://127.0.0.1:$PEER_PORT/healthz" "$PEER_PID" "$OUT/peer-$size.log"
  for c in $CONNECTIONS; do http_run peer "http://127.0.0.1:$PEER_PORT/versions/v1" "$db" "$PEER_PID" "$size" "$c"; done
  stop_pid "$PEER_PID"; PEER_PID=
}

# ------------------------------------------------------------------ per size
record run stamp="$STAMP" commit="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  dirty="$(git -C "$REPO" status --porcelain -- lib plugin 2>/dev/null | wc -l)" nproc="$(nproc)" \
  cpu="$(awk -F': ' '/^model name/ { gsub(/ +/, "_", $2); print $2; exit }' /proc/cpuinfo)" \
  load_start="$(cut -d' ' -f1 /proc/loadavg)" pg="$PG_VERSION" shared_buffers="$PG_SHARED_BUFFERS" \
  duration="$DURATION" threads="$WRK_THREADS" runs="$RUNS" intake_rate="$([ "$INTAKE" = 1 ] && echo "$INTAKE_RATE" || echo 0)"
for spec in $SIZES; do
  IFS=: read -r finished inflight versions <<<"$spec"
  [[ $finished =~ ^[0-9]+$ && $inflight =~ ^[0-9]+$ && ${versions:=5} =~ ^[0-9]+$ ]] || die "bad size $spec (FINISHED:INFLIGHT:VERSIONS)"
  size=${finished}f-${inflight}i-${versions}v
  db=bench_${finished}_${inflight}_${versions}
  url=$BASE/$db
  loaded=$("${PSQL[@]}" -At "$ADMIN" -c "SELECT count(*) FROM pg_database WHERE datname = '$db'")
  if [ "$REUSE_DATA" = 1 ] && [ "$loaded" = 1 ] && "${PSQL[@]}" -At "$url" -c "SELECT 1 FROM bench_loaded" >/dev/null 2>&1; then
    log "=== $size: reusing database $db"
  else
    log "=== $size: loading $finished finished + $inflight in flight over $versions versions into $db"
    "${PSQL[@]}" "$ADMIN" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    OLD_SHAPES="$OLD_SHAPES" "$HERE/load-data.sh" "$url" "$finished" "$inflight" "$versions" >"$OUT/load-$size.txt" 2>"$OUT/load-$size.log" \
      || { tail -20 "$OUT/load-$size.log" >&2; die "load-data.sh failed"; }
    while read -r _ kv; do
      declare -A l=(); parse_kv l "$kv"
      record load size="$size" shape="${l[shape]}" rows="${l[rows]}" load_s="${l[load_s]}" vacuum_s="${l[vacuum_s]}"
    done < <(grep '^LOAD_RESULT' "$OUT/load-$size.txt")
    "${PSQL[@]}" "$url" -c "CREATE TABLE bench_loaded (at timestamptz DEFAULT now())" -c "INSERT INTO bench_loaded DEFAULT VALUES"
  fi
  measure_report "$size" "$url" dbos newest
  for shape in $OLD_SHAPES; do measure_report "$size" "$url" "dbos_${shape//-/}" "$shape"; done
  if [ "$INTAKE" = 1 ]; then
    intake_start "$url"
    # Fill the quiet period (--quiet-period, 2m) with starts and finishes before timing.
    log "intake: waiting ${INTAKE_WARM}s for the quiet period to fill"
    sleep "$INTAKE_WARM"
    measure_report "$size" "$url" dbos newest intake
  fi
  serve_and_load "$size" "$url" "$db"
  if [ "$INTAKE" = 1 ]; then
    stop_pid "$INTAKE_PID"; INTAKE_PID=
    # The intake's rows are in flight: remove them so a reused database keeps its size.
    "${PSQL[@]}" "$url" -c "DELETE FROM dbos.workflow_status WHERE name = 'intakeWorkflow'" -c "VACUUM (ANALYZE) dbos.workflow_status"
  fi
done
record end load_end="$(cut -d' ' -f1 /proc/loadavg)"

# ------------------------------------------------------------------ report
python3 "$HERE/render.py" "$RESULTS" --plans "$OUT" >"$OUT/summary.md"
sed '/^### Plans/,$d' "$OUT/summary.md"
if [ "$RECORD" = 1 ]; then
  python3 "$HERE/render.py" "$RESULTS" --update "$HERE/RESULTS.md"
  log "bench/RESULTS.md updated (raw output in $OUT)"
else
  log "RECORD=0: bench/RESULTS.md untouched (summary in $OUT/summary.md)"
fi
