# Shared by bench/run.sh, bench/soak.sh and bench/diagnose.sh (sourced): building the binary
# under test, the tools, process and CPU accounting, timing SQL with pgbench, and recording
# results. Expects REPO, BUILD_DIR, OUT and DRAIN from the caller; defines log/die unless the
# caller did. Nothing here evaluates tool output as shell code: results are parsed as key=value
# words into associative arrays (parse_kv) and written as JSON lines (record) for bench/render.py.

declare -F log >/dev/null || log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
declare -F die >/dev/null || die() { log "ERROR: $*"; exit 1; }

# Builds dbos-drain (Release, tests off) into $BUILD_DIR unless SKIP_BUILD=1; the log goes to $OUT.
build_drain() {
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building Release in $BUILD_DIR"
    cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDBOS_DRAIN_BUILD_TESTS=OFF >"$OUT/build.log" 2>&1 \
      && cmake --build "$BUILD_DIR" -j"$(nproc)" --target dbos-drain >>"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; die "build failed"; }
  fi
  [ -x "$DRAIN" ] || die "no $DRAIN"
}

# ensure_tools CMD:PACKAGE...: installs the Debian packages of missing commands through
# scripts/install-deps.sh (the one place that runs apt), then checks they are there.
ensure_tools() {
  local spec missing=()
  for spec in "$@"; do command -v "${spec%%:*}" >/dev/null || missing+=("${spec#*:}"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]} (scripts/install-deps.sh)"
    "$REPO/scripts/install-deps.sh" "${missing[@]}" >&2 || die "scripts/install-deps.sh ${missing[*]} failed"
  fi
  for spec in "$@"; do command -v "${spec%%:*}" >/dev/null || die "${spec%%:*} is missing (apt-get install ${spec#*:})"; done
}
ensure_wrk() { ensure_tools wrk:wrk; }

# parse_kv ARRAY 'k1=v1 k2=v2 ...': sets ARRAY[k]=v for each word (values have no spaces).
parse_kv() {
  local -n _kv=$1
  local word
  for word in $2; do
    case $word in *=*) _kv[${word%%=*}]=${word#*=} ;; esac
  done
}

# record KIND key=value...: appends one JSON object to $RESULTS (numbers stay numbers).
record() {
  local kind=$1 word k v line
  shift
  line="{\"kind\": \"$kind\""
  for word in "$@"; do
    k=${word%%=*} v=${word#*=}
    if [[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then line+=", \"$k\": $v"; else
      v=${v//\\/\\\\}; v=${v//\"/\\\"}; line+=", \"$k\": \"$v\""; fi
  done
  printf '%s}\n' "$line" >>"$RESULTS"
}

# db_url DB: $ADMIN's URL with its database name replaced by DB (query string kept).
db_url() { printf '%s' "$ADMIN" | sed "s#/[^/?]*\(?.*\)\?\$#/$1\1#"; }

stop_pid() {  # stop_pid PID: TERM, wait up to 10 s, then KILL
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# CPU ticks of a PostgreSQL cluster: postmaster, reaped children (parallel workers), live children.
pg_ticks() {
  local total c
  total=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat")
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null || true); do total=$((total + $(proc_ticks "$c"))); done
  echo "$total"
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

wait_http() {  # wait_http URL PID LOGFILE
  for _ in $(seq 1 600); do
    curl -fs "$1" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { tail -20 "$3" >&2; die "process $2 exited (log $3)"; }
    sleep 0.1
  done
  tail -20 "$3" >&2
  die "$1 did not answer"
}

# pgbench_times FILE URL RUNS LABEL: runs the transaction FILE RUNS times (after 3 warm-up runs),
# one client, and prints "p50=.. p99=.. mean=.. max=.." in ms from pgbench's per-transaction log.
pgbench_times() {
  local f=$1 url=$2 runs=$3 label=$4 dir
  dir=$OUT/pgbench-$label
  mkdir -p "$dir"
  pgbench -n -M prepared -c 1 -j 1 -t 3 -f "$f" "$url" >/dev/null 2>&1 || die "pgbench warm-up failed on $label"
  (cd "$dir" && pgbench -n -M prepared -c 1 -j 1 -t "$runs" -f "$f" -l "$url" >out.txt 2>&1) \
    || { cat "$dir/out.txt" >&2; die "pgbench failed on $label"; }
  cat "$dir"/pgbench_log.* | awk '{ print $3 }' | sort -n | awk '
    { v[NR] = $1; s += $1 }
    END { i50 = int(NR * 0.50 + 0.5); i99 = int(NR * 0.99 + 0.5); if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
          printf "p50=%.2f p99=%.2f mean=%.2f max=%.2f", v[i50] / 1000, v[i99] / 1000, s / NR / 1000, v[NR] / 1000 }'
}
