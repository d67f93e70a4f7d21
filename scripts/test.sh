#!/usr/bin/env bash
# The README's test command, and what CI runs (.ci/run): on a fresh Debian 12 machine, installs the
# dependencies from Debian's packages, builds dbos-drain and its tests into build/, and runs the
# whole suite against a throwaway PostgreSQL (scripts/with-postgres.sh: initdb in a temporary
# folder, a free loopback port, stopped and removed at the end even when a test fails).
#
#   scripts/test.sh
#
# Environment: BUILD_DIR (default build), JOBS (default: number of CPUs).
#
# The steps are the functions below; main() runs them in order. The main suite runs last, so the
# last lines of the output are CTest's summary ("100% tests passed, 0 tests failed out of N").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

step() { printf '\n==> test.sh: %s\n' "$*" >&2; }
elapsed() { echo "$(( $(date +%s) - $1 ))s"; }

install_deps() {
  step "installing dependencies (scripts/install-deps.sh)"
  scripts/install-deps.sh
}

build() {
  local t0; t0=$(date +%s)
  step "building into $BUILD_DIR/ with tests ($JOBS jobs)"
  cmake -S . -B "$BUILD_DIR" -DDBOS_DRAIN_BUILD_TESTS=ON
  cmake --build "$BUILD_DIR" -j "$JOBS"
  step "build done in $(elapsed "$t0")"
}

# Extension points for later steps. Each runs before the main suite and fails the run by
# returning non-zero (set -e).

# A second build with -DDBOS_DRAIN_SANITIZE=ON (AddressSanitizer + UBSan) and its own ctest run.
sanitizer_tests() { :; }

# The libFuzzer targets (-DDBOS_DRAIN_FUZZ=ON, clang) over their fixed corpus in fuzz/corpus.
fuzz_corpus() { :; }

# The container image: scripts/container-test.sh.
container_test() { :; }

# The main suite: every CTest binary (unit, db, cli, http) against one throwaway PostgreSQL.
# Nothing is printed after it: CTest's summary stays the last lines of the run.
run_tests() {
  step "running the test suite against a throwaway PostgreSQL"
  scripts/with-postgres.sh ctest --test-dir "$BUILD_DIR" --output-on-failure
}

main() {
  install_deps
  build
  fuzz_corpus
  sanitizer_tests
  container_test
  run_tests
}

main "$@"
