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

# A second build with -DDBOS_DRAIN_SANITIZE=ON (AddressSanitizer + UBSan on lib/ and plugin/; the
# test code is linked with their runtime, not instrumented: test/CMakeLists.txt) and the whole suite
# run against it. Any sanitizer report fails the run (halt_on_error; leaks checked at exit, with
# test/sanitizer/lsan.supp for the libraries' one-time allocations).
sanitizer_tests() {
  [ "${SKIP_SANITIZERS:-0}" = 1 ] && { step "sanitizers skipped (SKIP_SANITIZERS=1)"; return; }
  local t0; t0=$(date +%s)
  local dir=${BUILD_DIR}-asan
  step "building into $dir/ with AddressSanitizer and UndefinedBehaviorSanitizer"
  cmake -S . -B "$dir" -DDBOS_DRAIN_BUILD_TESTS=ON -DDBOS_DRAIN_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
  cmake --build "$dir" -j "$JOBS"
  step "running the whole suite under the sanitizers"
  ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=1" \
  LSAN_OPTIONS="suppressions=$ROOT/test/sanitizer/lsan.supp:print_suppressions=0" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
    scripts/with-postgres.sh ctest --test-dir "$dir" --output-on-failure
  step "sanitizer run done in $(elapsed "$t0")"
}

# The libFuzzer targets (-DDBOS_DRAIN_FUZZ=ON, clang) over their fixed corpus in fuzz/corpus.
fuzz_corpus() {
  local t0; t0=$(date +%s)
  step "fuzz targets over their fixed corpus (scripts/fuzz.sh)"
  FUZZ_SECONDS=0 scripts/fuzz.sh
  step "fuzz corpus done in $(elapsed "$t0")"
}

# The container image: scripts/container-test.sh (it says SKIPPED loudly where podman cannot run).
container_test() {
  [ "${SKIP_CONTAINER:-0}" = 1 ] && { step "container test skipped (SKIP_CONTAINER=1)"; return; }
  local t0; t0=$(date +%s)
  step "container image (scripts/container-test.sh)"
  scripts/container-test.sh
  step "container test done in $(elapsed "$t0")"
}

# Every manifest under examples/ and deploy/ against the Argo Rollouts, Flagger, KEDA, Prometheus
# Operator and Kubernetes schemas (deploy/ rendered by kustomize is checked by the deploy_tests),
# with the validator shipped beside the repository (../shared/tools), when it is there.
validate_examples() {
  local tool="$ROOT/../shared/tools/validate-manifests/validate-manifests"
  if [ ! -x "$tool" ]; then
    step "examples: validator not found at $tool; skipped"
    return
  fi
  step "validating examples/ and deploy/ (validate-manifests)"
  "$tool" examples/ deploy/
}

# The main suite: every CTest binary (unit, db, cli, http) against one throwaway PostgreSQL.
# Nothing is printed after it: CTest's summary stays the last lines of the run.
run_tests() {
  step "running the test suite against a throwaway PostgreSQL"
  scripts/with-postgres.sh ctest --test-dir "$BUILD_DIR" --output-on-failure
}

main() {
  local t0; t0=$(date +%s)
  install_deps
  build
  validate_examples
  fuzz_corpus
  container_test
  sanitizer_tests
  step "all steps before the main suite passed in $(elapsed "$t0")"
  run_tests  # last, so CTest's summary closes the output
}

main "$@"
