# Shared by bench/run.sh and bench/soak.sh (sourced): building the binary under test and
# installing the load generator. Expects REPO, BUILD_DIR, OUT, DRAIN and log/die from the caller.

# Builds dbos-drain (Release, tests off) into $BUILD_DIR unless SKIP_BUILD=1; the log goes to $OUT.
build_drain() {
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building Release in $BUILD_DIR"
    cmake -S "$REPO" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDBOS_DRAIN_BUILD_TESTS=OFF >"$OUT/build.log" 2>&1 \
      && cmake --build "$BUILD_DIR" -j"$(nproc)" >>"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; die "build failed"; }
  fi
  [ -x "$DRAIN" ] || die "no $DRAIN"
}

# Installs wrk from Debian's packages when it is missing.
ensure_wrk() {
  if ! command -v wrk >/dev/null; then
    log "installing wrk"
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null; }
  fi
  command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
}
