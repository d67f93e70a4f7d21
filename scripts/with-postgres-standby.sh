#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL 15 primary (scripts/with-postgres.sh) and a streaming
# hot standby of it (pg_basebackup -R) on free loopback ports, then stops both and removes their
# data, even when the command fails or is interrupted.
#
#   scripts/with-postgres-standby.sh COMMAND [ARGS...]
#
# The command sees everything with-postgres.sh exports for the primary, plus:
#   DBOS_DRAIN_TEST_STANDBY_URL    postgresql://postgres@127.0.0.1:PORT/postgres on the standby
#   DBOS_DRAIN_TEST_STANDBY_PGPORT the standby's port
#   DBOS_DRAIN_TEST_STANDBY_PGCTL  runs pg_ctl on the standby as its owner: "$DBOS_DRAIN_TEST_STANDBY_PGCTL" stop|start
# The standby streams from the primary (primary_conninfo written by pg_basebackup -R) with
# wal_receiver_status_interval = 1s; the command may stop the primary to cut the WAL receiver off.
# As root both servers run as the `postgres` user.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" != "--inner" ]; then
  # A private primary of our own (it will be stopped by tests), never a shared one.
  exec env -u DBOS_DRAIN_TEST_PGPORT "$HERE/with-postgres.sh" "$0" --inner "$@"
fi
shift

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
ROOT=$(mktemp -d /tmp/dbos-drain-standby.XXXXXX)
chmod 755 "$ROOT"
DATA="$ROOT/data"
SOCKDIR="$ROOT/sock"
mkdir -p "$SOCKDIR"
PORT=$(free_port)
as_owner=()
if [ "$(id -u)" = 0 ]; then
  chown -R postgres:postgres "$ROOT"
  as_owner=(runuser -u postgres --)
fi
cleanup() {
  "${as_owner[@]}" "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${as_owner[@]}" "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$DBOS_DRAIN_TEST_PGPORT" -U postgres -D "$DATA" -R -X stream \
  >"$ROOT/basebackup.log" 2>&1 || { cat "$ROOT/basebackup.log" >&2; exit 2; }
cat >>"$DATA/postgresql.conf" <<CONF
port = $PORT
unix_socket_directories = '$SOCKDIR'
hot_standby = on
wal_receiver_status_interval = 1s
wal_retrieve_retry_interval = 1s
shared_preload_libraries = ''
CONF
"${as_owner[@]}" "$PGBIN/pg_ctl" -D "$DATA" -l "$ROOT/server.log" -w -t 60 start >/dev/null \
  || { cat "$ROOT/server.log" >&2; exit 2; }
cat >"$ROOT/pgctl" <<CTL
#!/usr/bin/env bash
exec ${as_owner[*]} "$PGBIN/pg_ctl" -D "$DATA" -l "$ROOT/server.log" -w -t 60 "\$@"
CTL
chmod 755 "$ROOT/pgctl"

export DBOS_DRAIN_TEST_STANDBY_URL="postgresql://postgres@127.0.0.1:$PORT/postgres"
export DBOS_DRAIN_TEST_STANDBY_PGPORT=$PORT
export DBOS_DRAIN_TEST_STANDBY_PGCTL="$ROOT/pgctl"
# Wait until the standby streams, so the command starts from a caught-up replica.
for _ in $(seq 1 100); do
  s=$(psql -XAtq "$DBOS_DRAIN_TEST_STANDBY_URL" -c "select status from pg_stat_wal_receiver" 2>/dev/null || true)
  [ "$s" = streaming ] && break
  sleep 0.1
done
[ "$s" = streaming ] || { echo "with-postgres-standby: the standby does not stream" >&2; cat "$ROOT/server.log" >&2; exit 2; }
echo "with-postgres-standby: streaming standby on 127.0.0.1:$PORT" >&2
"$@"
