#!/usr/bin/env bash
# The documentation's checks (issue 21): flags against the real binary's --help, metric families
# against the encoders, blocker and error codes against the source, relative links and anchors.
# What each check reads and how it fails: test/docs/check_docs.py.
#   test/docs/check-docs.sh BINARY            check (the CTest test docs_tests)
#   test/docs/check-docs.sh --write BINARY    regenerate the flag tables of docs/reference/cli.md, then check
# BINARY defaults to build/plugin/dbos-drain. Exit 0 pass, 1 fail.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WRITE=()
if [ "${1:-}" = "--write" ]; then WRITE=(--write); shift; fi
BINARY=${1:-$ROOT/build/plugin/dbos-drain}
[ -x "$BINARY" ] || { echo "check-docs: FAIL: no dbos-drain binary at $BINARY (build it first)" >&2; exit 1; }
exec python3 "$ROOT/test/docs/check_docs.py" "$BINARY" "${WRITE[@]}"
