#!/usr/bin/env bash
# Installs what dbos-drain needs to build, test and run its demo on Debian 12, from Debian's
# packages only. Idempotent; uses sudo when not root.
set -euo pipefail
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
PKGS=(
  build-essential cmake pkg-config git ca-certificates
  libcpprest-dev libssl-dev nlohmann-json3-dev libpqxx-dev libboost-program-options-dev catch2
  postgresql-15 postgresql-client-15 postgresql-contrib
  prometheus  # promtool: the /metrics tests run `promtool check metrics`; alert rule tests
  python3 python3-yaml  # the monitoring and deploy tests read the dashboard JSON and the rendered YAML
  pgbouncer  # the pooler tests (scripts/with-pgbouncer.sh) run their own on free loopback ports
)
# kubectl renders deploy/ (kubectl kustomize) in the deploy test. A kubectl already on the PATH
# (a current one, kustomize v5) is used as is; otherwise Debian's kubernetes-client (kubectl 1.20,
# kustomize v2): deploy/ keeps to what both render.
command -v kubectl >/dev/null 2>&1 || PKGS+=(kubernetes-client)
missing=()
for p in "${PKGS[@]}" "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's package starts a system PgBouncer on localhost:6432: the tests start their own, so
  # stop that one and keep it from starting at boot (only when installed just now).
  if [[ " ${missing[*]} " == *" pgbouncer "* ]]; then
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      $SUDO systemctl disable --now pgbouncer >/dev/null 2>&1 || true
    else
      $SUDO service pgbouncer stop >/dev/null 2>&1 || true
      $SUDO update-rc.d pgbouncer disable >/dev/null 2>&1 || true
    fi
  fi
fi
