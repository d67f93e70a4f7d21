#!/usr/bin/env bash
# Builds the dbos-drain container image from this checkout's Dockerfile and runs it for real
# against a throwaway PostgreSQL with demo data:
#   - the image is built with podman (Docker-compatible; no Docker engine needed), from a base
#     image made offline with debootstrap from this machine's own apt mirror when it is missing;
#   - the container runs with --network host, the database URL read from a secret file mounted
#     read-only at /run/secrets/database-url (--database-url-file);
#   - checks: runs as uid 10001, --version, /healthz 200, /readyz 200, /v1/versions is JSON with a
#     "versions" array, SIGTERM (podman stop) ends it with exit code 0 within 5 s, no build tools
#     or apt lists in the image, image size under DBOS_DRAIN_IMAGE_MAX_MB (150).
#
#   scripts/container-test.sh
#
# Idempotent: installs podman, runc, debootstrap, jq, curl and PostgreSQL 15 with apt when missing.
# Removes every container, secret, temporary file and database it started, even on failure. The
# images are KEPT as the build cache of the next run (about 0.8 GB in /var/lib/containers): the base
# image, localhost/dbos-drain:test and its build stage localhost/dbos-drain:test-build; the images a
# run replaces are removed. To free the space:
#   podman rmi -f localhost/dbos-drain:test localhost/dbos-drain:test-build localhost/debian:bookworm-slim
# When podman cannot start a container on this machine at all, it prints a SKIPPED banner and
# exits 0; every other failure exits non-zero.
#
# Environment (all optional):
#   DBOS_DRAIN_IMAGE          tag to build             (localhost/dbos-drain:test)
#   DBOS_DRAIN_BASE_IMAGE     BASE_IMAGE build arg     (localhost/debian:bookworm-slim; a missing
#                             localhost/... image is made with debootstrap, any other must exist)
#   DBOS_DRAIN_IMAGE_MAX_MB   size budget in MB        (150)
#   DBOS_DRAIN_NO_CACHE=1     build without podman's layer cache (to time a cold build)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
IMAGE=${DBOS_DRAIN_IMAGE:-localhost/dbos-drain:test}
BASE_IMAGE=${DBOS_DRAIN_BASE_IMAGE:-localhost/debian:bookworm-slim}
MAX_MB=${DBOS_DRAIN_IMAGE_MAX_MB:-150}
# podman on these machines needs runc and explicit ulimits (its defaults exceed the hard limits).
RUN_OPTS=(--runtime runc --ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
SECRET_PATH=/run/secrets/database-url

T0=${DBOS_DRAIN_CT_T0:-$(date +%s.%N)}; export DBOS_DRAIN_CT_T0=$T0
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }
log() { printf 'container-test [%6.1fs] %s\n' "$(since "$T0")" "$*" >&2; }
# Each passed check is counted in a file shared with the inner part (it runs in another process).
PASSED_FILE=${DBOS_DRAIN_CT_PASSED:-}
ok() { log "ok: $*"; [ -z "$PASSED_FILE" ] || echo x >>"$PASSED_FILE"; }
passed() { if [ -n "$PASSED_FILE" ]; then wc -l <"$PASSED_FILE" | tr -d ' '; else echo 0; fi; }
die() { log "FAIL: $*"; echo "container-test: $(passed) passed, 1 failed"; exit 1; }
banner() {
  local line; line=$(printf '%*s' 78 '' | tr ' ' '!')
  printf '\n%s\n!!! %s\n%s\n\n' "$line" "$*" "$line" >&2
}
skip() { banner "SKIPPED: $* -- the container image was NOT tested" 2>&1; echo "container-test: 0 passed, 0 failed, 1 skipped"; exit 0; }
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo

# ---------------------------------------------------------------------------------------------
# Inner part: runs under scripts/with-postgres.sh, which exports DBOS_DRAIN_TEST_ADMIN_URL.
# ---------------------------------------------------------------------------------------------
if [ "${1:-}" = "--inside-postgres" ]; then
  : "${DBOS_DRAIN_TEST_ADMIN_URL:?run me through scripts/with-postgres.sh}"
  NAME="dbos-drain-ct-$$"
  WORK=$(mktemp -d /tmp/dbos-drain-ct.XXXXXX)
  cleanup_inner() {
    podman rm -f -t 0 "$NAME" >/dev/null 2>&1 || true
    rm -rf "$WORK"
  }
  trap cleanup_inner EXIT
  trap 'exit 130' INT TERM

  # --- demo database ---------------------------------------------------------------------------
  DB=dbos_drain_demo
  DB_URL="${DBOS_DRAIN_TEST_ADMIN_URL%/*}/$DB"
  psql -X -q -v ON_ERROR_STOP=1 "$DBOS_DRAIN_TEST_ADMIN_URL" -c "CREATE DATABASE $DB" >/dev/null
  if [ -x "$REPO/scripts/load-demo.sh" ]; then
    log "loading demo data with scripts/load-demo.sh"
    "$REPO/scripts/load-demo.sh" "$DB_URL" >"$WORK/load-demo.log" 2>&1 \
      || { cat "$WORK/load-demo.log" >&2; die "scripts/load-demo.sh failed"; }
    [ -n "$(psql -X -tA "$DB_URL" -c "SELECT to_regclass('dbos.workflow_status')")" ] \
      || die "scripts/load-demo.sh $DB_URL left no dbos.workflow_status table in that database"
    EXPECT_VERSIONS=()
  else
    log "loading test/fixtures/schema-newest.sql and a few workflow_status rows (no scripts/load-demo.sh)"
    psql -X -q -v ON_ERROR_STOP=1 -v schema=dbos -f "$REPO/test/fixtures/schema-newest.sql" "$DB_URL" >/dev/null
    psql -X -q -v ON_ERROR_STOP=1 "$DB_URL" >/dev/null <<'SQL'
SET search_path TO dbos;
INSERT INTO application_versions (version_id, version_name, version_timestamp, created_at) VALUES
  ('v1', 'v1', 1000, 1000), ('v2', 'v2', 2000, 2000);
INSERT INTO workflow_status (workflow_uuid, status, name, executor_id, application_version, queue_name) VALUES
  ('wf-1', 'SUCCESS',  'checkout', 'worker-v1', 'v1', NULL),
  ('wf-2', 'PENDING',  'checkout', 'worker-v1', 'v1', NULL),
  ('wf-3', 'ENQUEUED', 'ship',     'worker-v2', 'v2', 'tasks'),
  ('wf-4', 'SUCCESS',  'ship',     'worker-v2', 'v2', NULL);
SQL
    EXPECT_VERSIONS=(v1 v2)
  fi

  # --- the secret: a file readable only by the image's user (uid 10001), mounted read-only ------
  printf '%s\n' "$DB_URL" >"$WORK/database-url"
  chown 10001:10001 "$WORK/database-url"
  chmod 0400 "$WORK/database-url"

  PORT=
  while [ -z "$PORT" ]; do # a random high port that nothing listens on
    p=$((20000 + RANDOM % 30000)); (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || PORT=$p
  done
  BASE="http://127.0.0.1:$PORT"
  log "starting $IMAGE as container $NAME on $BASE"
  podman run -d --name "$NAME" "${RUN_OPTS[@]}" --network host \
    -v "$WORK/database-url:$SECRET_PATH:ro" \
    "$IMAGE" serve --listen "$BASE" --database-url-file "$SECRET_PATH" >/dev/null
  show_logs() { echo "----- container logs -----" >&2; podman logs "$NAME" >&2 2>&1 || true; echo "--------------------------" >&2; }

  # --- readiness ---------------------------------------------------------------------------------
  code=000
  for _ in $(seq 1 150); do
    if [ "$(podman inspect -f '{{.State.Running}}' "$NAME")" != true ]; then
      show_logs; die "the container exited before it was ready (exit code $(podman inspect -f '{{.State.ExitCode}}' "$NAME"))"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/readyz" || true)
    [ "$code" = 200 ] && break
    sleep 0.2
  done
  [ "$code" = 200 ] || { show_logs; die "GET /readyz answered $code, not 200, within 30 s"; }
  ok "GET /readyz 200"
  # uid of the running process, seen from the host (no user namespace: host uid == image uid)
  PID=$(podman inspect -f '{{.State.Pid}}' "$NAME")
  UID_IN=$(awk '/^Uid:/{print $2}' "/proc/$PID/status" 2>/dev/null || echo '?')
  [ "$UID_IN" = 10001 ] || { show_logs; die "the server runs as uid $UID_IN, expected 10001"; }
  ok "the server process runs as uid 10001"

  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$BASE/healthz" || true)
  [ "$code" = 200 ] || { show_logs; die "GET /healthz answered $code"; }
  ok "GET /healthz 200"

  code=$(curl -s -o "$WORK/versions.json" -w '%{http_code}' --max-time 10 "$BASE/v1/versions" || true)
  [ "$code" = 200 ] || { show_logs; cat "$WORK/versions.json" >&2 || true; die "GET /v1/versions answered $code"; }
  jq -e '.versions | type == "array"' "$WORK/versions.json" >/dev/null \
    || { head -c 2000 "$WORK/versions.json" >&2; die "GET /v1/versions is not JSON with a \"versions\" array"; }
  jq -e '.versions | length > 0' "$WORK/versions.json" >/dev/null \
    || { jq . "$WORK/versions.json" >&2; die "GET /v1/versions lists no version of the demo data"; }
  for v in "${EXPECT_VERSIONS[@]}"; do
    jq -e --arg v "$v" 'any(.versions[]; .version == $v)' "$WORK/versions.json" >/dev/null \
      || { jq . "$WORK/versions.json" >&2; die "version $v of the demo data is missing from /v1/versions"; }
  done
  ok "GET /v1/versions: $(jq -c '[.versions[] | {version, drained}]' "$WORK/versions.json")"

  # --- SIGTERM: podman stop sends it (the image's stop signal), then waits up to 10 s -----------
  t_stop0=$(date +%s.%N)
  podman stop -t 10 "$NAME" >/dev/null
  t_stop=$(since "$t_stop0")
  rc=$(podman inspect -f '{{.State.ExitCode}}' "$NAME")
  [ "$rc" = 0 ] || { show_logs; die "after SIGTERM the container exited with code $rc, expected 0 (137 = killed after the timeout)"; }
  awk -v t="$t_stop" 'BEGIN{exit !(t < 5)}' || { show_logs; die "SIGTERM took ${t_stop}s to stop the server, expected < 5 s"; }
  ok "SIGTERM -> exit code 0 after $t_stop s"
  exit 0
fi

# ---------------------------------------------------------------------------------------------
# Outer part: tools, base image, image build, then the inner part under a throwaway PostgreSQL.
# ---------------------------------------------------------------------------------------------
ROOTFS= PROBE= BUILDING=0 PRE_EXT=
cleanup_outer() {
  if [ "$BUILDING" = 1 ]; then # an interrupted podman build leaves buildah working containers
    for c in $(podman ps -a --external -q --no-trunc --filter name=working-container 2>/dev/null); do
      grep -q -x "$c" <<<"$PRE_EXT" || podman rm -f "$c" >/dev/null 2>&1 || true
    done
  fi
  if [ -n "$ROOTFS" ]; then # debootstrap may have been stopped with /proc and /sys mounted inside
    umount -R "$ROOTFS/proc" 2>/dev/null || true; umount -R "$ROOTFS/sys" 2>/dev/null || true
    rm -rf --one-file-system "$ROOTFS" "$ROOTFS.log"
  fi
  [ -z "$PROBE" ] || rm -rf "$PROBE"
  [ -z "$PASSED_FILE" ] || rm -f "$PASSED_FILE"
}
trap cleanup_outer EXIT
trap 'exit 130' INT TERM
PASSED_FILE=$(mktemp /tmp/dbos-drain-ct-passed.XXXXXX); export DBOS_DRAIN_CT_PASSED=$PASSED_FILE

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
PKGS=(podman runc conmon debootstrap jq curl postgresql-15 postgresql-client-15)
missing=()
for p in "${PKGS[@]}"; do have_pkg "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  if ! { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    skip "could not install ${missing[*]} with apt"
  fi
fi

# Can podman start a container here at all? Probe with a tiny root filesystem made of /bin/true
# and its libraries, so the answer does not depend on any image.
PROBE=$(mktemp -d /tmp/dbos-drain-ct-probe.XXXXXX)
mkdir -p "$PROBE/rootfs/bin"
cp /bin/true "$PROBE/rootfs/bin/true"
for lib in $(ldd /bin/true | grep -o '/[^ ]*'); do mkdir -p "$PROBE/rootfs$(dirname "$lib")"; cp -L "$lib" "$PROBE/rootfs$lib"; done
if ! podman run --rm "${RUN_OPTS[@]}" --network host --rootfs "$PROBE/rootfs" /bin/true >"$PROBE/out" 2>&1; then
  cat "$PROBE/out" >&2
  skip "podman cannot run a container on this machine"
fi
rm -rf "$PROBE"; PROBE=
log "podman $(podman version -f '{{.Client.Version}}') runs containers here"

# --- base image: debian bookworm minbase from this machine's apt mirror, slimmed like -slim -----
host_mirror() { # the first URI of this machine's own apt sources that serves the suite "$1" (or nothing)
  # deb822 stanzas (*.sources: the fields in any order, `Enabled: no` skipped, one file's last
  # stanza ended by the file's end), then one-line `deb [opts] URI SUITE COMPONENTS...` entries.
  # Only the machine's sources are used: no host is ever guessed (issue 15).
  local suite=$1 f
  {
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -r "$f" ] || continue
      awk -v s="$suite" '
        function flush() { if (deb && on && has && u != "") print u; u=""; deb=0; on=1; has=0 }
        BEGIN { on=1 }
        /^[[:space:]]*#/ { next }
        /^[[:space:]]*$/ { flush(); next }
        tolower($1)=="types:"   { for (i=2;i<=NF;i++) if ($i=="deb") deb=1 }
        tolower($1)=="uris:"    { u=$2 }
        tolower($1)=="suites:"  { for (i=2;i<=NF;i++) if ($i==s) has=1 }
        tolower($1)=="enabled:" { if (tolower($2)=="no") on=0 }
        END { flush() }' "$f"
    done
    grep -h -E '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | sed -E 's/\[[^]]*\][[:space:]]*//' | awk -v s="$suite" '$3==s {print $2}'
  } | awk 'NR==1' || true
}
if ! podman image exists "$BASE_IMAGE"; then
  case "$BASE_IMAGE" in localhost/*) ;; *) die "base image $BASE_IMAGE is not in podman's storage (only localhost/... names are made here)" ;; esac
  MIRROR=$(host_mirror bookworm)
  [ -n "$MIRROR" ] || die "no apt source of this machine serves bookworm (/etc/apt/sources.list, /etc/apt/sources.list.d/): cannot make $BASE_IMAGE without a mirror"
  SECMIRROR=$(host_mirror bookworm-security)
  [ -n "$SECMIRROR" ] || log "no apt source of this machine serves bookworm-security: the base image gets none either"
  log "making $BASE_IMAGE with debootstrap from $MIRROR (once; kept in podman's storage)"
  ROOTFS=$(mktemp -d /tmp/dbos-drain-rootfs.XXXXXX)
  debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 \
    || { tail -20 "$ROOTFS.log" >&2; die "debootstrap failed"; }
  rm -f "$ROOTFS.log"
  # What the official -slim image sets: no docs/man/locales from later installs, no apt caches.
  cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  echo 'force-unsafe-io' >"$ROOTFS/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  cat >"$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$ROOTFS/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$ROOTFS/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$ROOTFS/etc/apt/apt.conf.d/docker-autoremove-suggests"
  rm -f "$ROOTFS/etc/apt/sources.list"
  cat >"$ROOTFS/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  if [ -n "$SECMIRROR" ]; then
    cat >>"$ROOTFS/etc/apt/sources.list.d/debian.sources" <<EOF

Types: deb
URIs: $SECMIRROR
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  find "$ROOTFS/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$ROOTFS"/usr/share/{man,groff,info,lintian,linda}/* "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/lib/apt/lists/* \
         "$ROOTFS"/var/log/* "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/*
  find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  : >"$ROOTFS/etc/hostname"; : >"$ROOTFS/etc/resolv.conf"
  tar --numeric-owner -C "$ROOTFS" -c . | podman import -q \
    -c 'CMD ["bash"]' -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$BASE_IMAGE" >/dev/null
  rm -rf "$ROOTFS"; ROOTFS=
fi
log "base image $BASE_IMAGE: $(podman image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.1f MB", $1/1e6}')"

# --- build ------------------------------------------------------------------------------------
VERSION=$(sed -n -E 's/^project\([^)]*VERSION ([0-9][0-9A-Za-z.+-]*).*/\1/p' "$REPO/CMakeLists.txt" 2>/dev/null | head -n1)
REVISION=$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_ARGS=(--build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "VERSION=${VERSION:-0.0.0}" --build-arg "REVISION=$REVISION")
SOURCE_URL=$(git -C "$REPO" remote get-url origin 2>/dev/null || true)
case "$SOURCE_URL" in https://*) BUILD_ARGS+=(--build-arg "SOURCE_URL=${SOURCE_URL%.git}") ;; esac
CACHE_OPTS=(--layers)
[ "${DBOS_DRAIN_NO_CACHE:-0}" = 1 ] && CACHE_OPTS+=(--no-cache)
BUILD_LOG=/tmp/dbos-drain-ct-build.log
# The build stage is tagged too ($IMAGE-build), so its layers (the apt layer with the compiler
# above all) stay in podman's storage as the cache of the next run; the images the previous run
# tagged are removed once replaced, so repeated runs do not pile up old layers.
CACHE_TAG="$IMAGE-build"
old_ids=$(podman image inspect -f '{{.Id}}' "$IMAGE" "$CACHE_TAG" 2>/dev/null || true)
log "building $IMAGE (podman build; cached layers are reused)"
t_build0=$(date +%s.%N)
build() { # --pull=never: the base image is local; --network host: apt reaches the mirror as the host does
  podman build --pull=never --network host "${RUN_OPTS[@]}" "${CACHE_OPTS[@]}" "${BUILD_ARGS[@]}" \
    -f "$REPO/Dockerfile" "$@" "$REPO" >>"$BUILD_LOG" 2>&1 \
    || { tail -60 "$BUILD_LOG" >&2; die "podman build failed (full log: $BUILD_LOG)"; }
}
: >"$BUILD_LOG"
PRE_EXT=$(podman ps -a --external -q --no-trunc 2>/dev/null || true); BUILDING=1
build --target build -t "$CACHE_TAG"
CACHE_OPTS=(--layers) # the second pass reuses the build stage just made
# podman 4.3 reuses a cached LABEL step even when the build args it uses changed, so the labels
# that change per commit are also set with --label (Docker re-runs the step and needs no such help).
build -t "$IMAGE" --label "org.opencontainers.image.version=${VERSION:-0.0.0}" \
  --label "org.opencontainers.image.revision=$REVISION"
BUILDING=0
log "built $IMAGE in $(since "$t_build0") s (log: $BUILD_LOG)"
new_ids=$(podman image inspect -f '{{.Id}}' "$IMAGE" "$CACHE_TAG")
for id in $old_ids; do
  grep -q -x "$id" <<<"$new_ids" || podman rmi "$id" >/dev/null 2>&1 || true
done

# --- static checks on the image ------------------------------------------------------------------
SIZE=$(podman image inspect -f '{{.Size}}' "$IMAGE")
SIZE_MB=$(awk -v s="$SIZE" 'BEGIN{printf "%.1f", s/1e6}')
log "image size: $IMAGE is $SIZE_MB MB (budget $MAX_MB MB)"
awk -v s="$SIZE" -v m="$MAX_MB" 'BEGIN{exit !(s <= m*1e6)}' || die "the image is $SIZE_MB MB, over the $MAX_MB MB budget"
ok "image size $SIZE_MB MB <= $MAX_MB MB"
USER_CFG=$(podman image inspect -f '{{.Config.User}}' "$IMAGE")
[ "${USER_CFG%%:*}" = 10001 ] || die "the image's USER is '$USER_CFG', expected uid 10001"
ok "the image's USER is $USER_CFG"
VOUT=$(podman run --rm "${RUN_OPTS[@]}" --network none "$IMAGE" --version 2>&1) \
  || { echo "$VOUT" >&2; die "dbos-drain --version failed in the image"; }
ok "dbos-drain --version: $VOUT"
LEFT=$(podman run --rm "${RUN_OPTS[@]}" --network none --entrypoint /bin/sh "$IMAGE" -c \
  'for t in cc gcc g++ c++ cmake make ld pkg-config; do command -v $t; done; ls /var/lib/apt/lists /var/cache/apt/archives 2>/dev/null | grep -v -x -e partial -e lock -e "" -e "/var/.*:"' || true)
[ -z "$LEFT" ] || die "build tools or apt caches left in the image: $LEFT"
ok "no compiler, cmake, make or apt lists in the image"

# --- run it against a throwaway PostgreSQL -------------------------------------------------------
"$REPO/scripts/with-postgres.sh" bash "$HERE/container-test.sh" --inside-postgres \
  || { log "FAIL: the run against PostgreSQL failed (see above)"; exit 1; }
log "PASS: image $IMAGE ($SIZE_MB MB) built, served the demo database and stopped cleanly"
echo "container-test: $(passed) passed, 0 failed"
