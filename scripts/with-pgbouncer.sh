#!/usr/bin/env bash
# Runs a command with Debian's PgBouncer (1.18) in front of the test PostgreSQL, in each pool mode
# on its own free loopback port, then stops them and removes their files, even when the command
# fails or is interrupted. Without $DBOS_DRAIN_TEST_ADMIN_URL it first starts a throwaway server
# (scripts/with-postgres.sh); with it, the poolers front that server (every database: `*`).
#
#   scripts/with-pgbouncer.sh COMMAND [ARGS...]
#
# The command sees everything with-postgres.sh exports, plus:
#   DBOS_DRAIN_TEST_PGBOUNCER_TRANSACTION_PORT  pool_mode = transaction
#   DBOS_DRAIN_TEST_PGBOUNCER_SESSION_PORT      pool_mode = session
#   DBOS_DRAIN_TEST_PGBOUNCER_STATEMENT_PORT    pool_mode = statement (dbos-drain must refuse it clearly)
# Each: default_pool_size 2 (small, so clients share server connections), auth_type trust for the
# users in its auth file (postgres and roles named drain_*: PgBouncer's trust still needs the name),
# server_reset_query as Debian ships it (DISCARD ALL, run in session mode only), and PgBouncer's
# default ignore_startup_parameters (none: `options=-c ...` in a URL is refused).
# As root PgBouncer runs as the `postgres` user (it refuses to run as root).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -z "${DBOS_DRAIN_TEST_ADMIN_URL:-}" ]; then
  exec "$HERE/with-postgres.sh" "$0" "$@"
fi

PGBOUNCER=${PGBOUNCER:-/usr/sbin/pgbouncer}
[ -x "$PGBOUNCER" ] || { echo "with-pgbouncer: $PGBOUNCER not found (run scripts/install-deps.sh)" >&2; exit 2; }
PGPORT=${DBOS_DRAIN_TEST_PGPORT:?with-pgbouncer: DBOS_DRAIN_TEST_PGPORT is not set}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

ROOT=$(mktemp -d /tmp/dbos-drain-pgbouncer.XXXXXX)
chmod 755 "$ROOT"
as_owner=()
[ "$(id -u)" = 0 ] && as_owner=(runuser -u postgres --)

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
  echo '"postgres" ""'
  for i in $(seq 0 9); do echo "\"drain_$i\" \"\""; done
} >"$ROOT/users.txt"

start_pooler() {  # MODE -> prints the port
  local mode=$1 port dir
  port=$(free_port)
  dir="$ROOT/$mode"
  mkdir -p "$dir"
  cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$PGPORT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $ROOT/users.txt
pool_mode = $mode
default_pool_size = 2
max_client_conn = 200
server_reset_query = DISCARD ALL
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir" "$ROOT/users.txt"
  "${as_owner[@]}" "$PGBOUNCER" "$dir/pgbouncer.ini" >>"$dir/stdout.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { echo "$port"; return; }
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  echo "with-pgbouncer: PgBouncer ($mode) did not start" >&2
  cat "$dir/stdout.log" "$dir/pgbouncer.log" >&2 2>/dev/null || true
  exit 2
}

# Assigned one at a time (not in $(...)): start_pooler records the process to stop in `pids`.
start_pooler transaction >"$ROOT/port"; DBOS_DRAIN_TEST_PGBOUNCER_TRANSACTION_PORT=$(cat "$ROOT/port")
start_pooler session >"$ROOT/port"; DBOS_DRAIN_TEST_PGBOUNCER_SESSION_PORT=$(cat "$ROOT/port")
start_pooler statement >"$ROOT/port"; DBOS_DRAIN_TEST_PGBOUNCER_STATEMENT_PORT=$(cat "$ROOT/port")
export DBOS_DRAIN_TEST_PGBOUNCER_TRANSACTION_PORT DBOS_DRAIN_TEST_PGBOUNCER_SESSION_PORT DBOS_DRAIN_TEST_PGBOUNCER_STATEMENT_PORT
echo "with-pgbouncer: PgBouncer in front of 127.0.0.1:$PGPORT: transaction mode on" \
  "$DBOS_DRAIN_TEST_PGBOUNCER_TRANSACTION_PORT, session $DBOS_DRAIN_TEST_PGBOUNCER_SESSION_PORT," \
  "statement $DBOS_DRAIN_TEST_PGBOUNCER_STATEMENT_PORT" >&2
"$@"
