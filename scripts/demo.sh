#!/usr/bin/env bash
# The README's first command: on a fresh Debian 12 machine, installs the dependencies, builds
# dbos-drain (Release, into build-release/), starts a throwaway PostgreSQL, loads demo data
# (scripts/load-demo.sh: v1 drained, v2 not drained, v3 the latest), shows what dbos-drain says
# about it, and stops the server again.
#
#   scripts/demo.sh
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
ROOT=$(cd "$(dirname "$SELF")/.." && pwd)
cd "$ROOT"
BUILD_DIR=${BUILD_DIR:-build-release}

if [ "${1:-}" != "--with-postgres" ]; then
  scripts/install-deps.sh
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDBOS_DRAIN_BUILD_TESTS=OFF
  cmake --build "$BUILD_DIR" -j "$(nproc 2>/dev/null || echo 2)" --target dbos-drain
  exec scripts/with-postgres.sh bash "$SELF" --with-postgres
fi

# From here on a throwaway PostgreSQL runs (scripts/with-postgres.sh stops it when this ends).
BIN="$ROOT/$BUILD_DIR/plugin/dbos-drain"
admin=${DBOS_DRAIN_TEST_ADMIN_URL:?run through scripts/with-postgres.sh}
psql -X -q -v ON_ERROR_STOP=1 -d "$admin" -c 'CREATE DATABASE dbos_demo'
export DBOS_SYSTEM_DATABASE_URL="${admin%/*}/dbos_demo"
scripts/load-demo.sh "$DBOS_SYSTEM_DATABASE_URL"

# Prints a command as typed, runs it, and prints its exit status (1 = not drained is expected).
show() {
  printf '\n$ DBOS_SYSTEM_DATABASE_URL=%s dbos-drain %s\n' "$DBOS_SYSTEM_DATABASE_URL" "$*"
  local rc=0
  "$BIN" "$@" || rc=$?
  printf '(exit status %d)\n' "$rc"
  [ "$rc" -le 1 ] || { echo "demo: dbos-drain failed" >&2; exit "$rc"; }
}

show status
show status --all
show status v1
show status v2 --json
echo
echo "demo: done; the PostgreSQL server and its data are removed now."
