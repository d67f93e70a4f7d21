#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs them.
#   scripts/fuzz.sh              run every target once over its fixed corpus (fuzz/corpus/TARGET); CI does this
#   FUZZ_SECONDS=600 scripts/fuzz.sh   then fuzz each target for that long, growing a scratch corpus
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh clang libclang-rt-14-dev
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
CC=clang CXX=clang++ cmake -S . -B "$BUILD" -DDBOS_DRAIN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
passed=0 failed=0
for dir in fuzz/corpus/*/; do
  target=$(basename "$dir")_fuzzer
  [ -x "$BUILD/fuzz/$target" ] || { echo "fuzz: no target $target for $dir" >&2; exit 1; }
  if "$BUILD/fuzz/$target" "$dir"* >"$BUILD/$target.log" 2>&1; then
    echo "fuzz: $target: corpus of $(ls "$dir" | wc -l) inputs ok"; passed=$((passed + 1))
  else
    echo "fuzz: $target FAILED on its corpus:"; tail -30 "$BUILD/$target.log"; failed=$((failed + 1))
  fi
  if [ "${FUZZ_SECONDS:-0}" -gt 0 ]; then
    scratch="$BUILD/corpus/$(basename "$dir")"; mkdir -p "$scratch"
    if "$BUILD/fuzz/$target" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -artifact_prefix="$BUILD/" \
        "$scratch" "$dir" >"$BUILD/$target.fuzz.log" 2>&1; then
      grep -E "number_of_executed_units|new_units_added" "$BUILD/$target.fuzz.log" | sed "s/^/fuzz: $target: /"
    else
      echo "fuzz: $target found a failure (input saved under $BUILD/crash-*; add it to $dir once fixed):"
      tail -30 "$BUILD/$target.fuzz.log"; failed=$((failed + 1))
    fi
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
