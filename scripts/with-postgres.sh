#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL 15 server on a free loopback port, then stops the
# server and removes its data, even when the command fails or is interrupted.
#
#   scripts/with-postgres.sh COMMAND [ARGS...]
#
# The command sees:
#   DBOS_DRAIN_TEST_ADMIN_URL  postgresql://postgres@127.0.0.1:PORT/postgres (superuser, trust auth)
#   DBOS_DRAIN_TEST_PGPORT     the port
#   DBOS_DRAIN_TEST_PGDATA     the data directory (for tests that stop/start the server)
#   DBOS_DRAIN_TEST_PGCTL      a command that runs pg_ctl as the server's owner: "$DBOS_DRAIN_TEST_PGCTL" stop|start
# As root the server runs as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$PGBIN/postgres" ] || { echo "with-postgres: PostgreSQL 15 server not found in $PGBIN (run scripts/install-deps.sh)" >&2; exit 2; }

free_port() {
  # Ask the kernel for a free port by binding port 0; fall back to a random high port.
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
  else
    local p
    while :; do p=$((20000 + RANDOM % 30000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done
  fi
}

ROOT=$(mktemp -d /tmp/dbos-drain-pg.XXXXXX)
chmod 755 "$ROOT"
PGDATA_DIR="$ROOT/data"
PORT=${DBOS_DRAIN_TEST_PGPORT:-$(free_port)}
SOCKDIR="$ROOT/sock"
mkdir -p "$SOCKDIR"

as_owner=()
if [ "$(id -u)" = 0 ]; then
  chown -R postgres:postgres "$ROOT"
  as_owner=(runuser -u postgres --)
fi

cleanup() {
  "${as_owner[@]}" "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${as_owner[@]}" "$PGBIN/initdb" -D "$PGDATA_DIR" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$ROOT/initdb.log" 2>&1 \
  || { cat "$ROOT/initdb.log" >&2; exit 2; }
cat >>"$PGDATA_DIR/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCKDIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_preload_libraries = 'pg_stat_statements'
log_min_messages = warning
CONF
"${as_owner[@]}" "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$ROOT/server.log" -w -t 60 start >/dev/null \
  || { cat "$ROOT/server.log" >&2; exit 2; }

# A helper the tests call to stop/start this server (fault tests); it runs pg_ctl as the owner.
cat >"$ROOT/pgctl" <<CTL
#!/usr/bin/env bash
exec ${as_owner[*]} "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$ROOT/server.log" -w -t 60 "\$@"
CTL
chmod 755 "$ROOT/pgctl"

export DBOS_DRAIN_TEST_ADMIN_URL="postgresql://postgres@127.0.0.1:$PORT/postgres"
export DBOS_DRAIN_TEST_PGPORT=$PORT
export DBOS_DRAIN_TEST_PGDATA=$PGDATA_DIR
export DBOS_DRAIN_TEST_PGCTL="$ROOT/pgctl"
echo "with-postgres: PostgreSQL 15 on 127.0.0.1:$PORT (data in $PGDATA_DIR)" >&2
"$@"
