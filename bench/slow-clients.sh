#!/usr/bin/env bash
# bench/slow-clients.sh PORT [N] [WAVES] [HOLD]: issue 15's slow and idle clients, for the soak.
# WAVES times: open N connections to 127.0.0.1:PORT (7 in 10 send nothing, 3 in 10 send half a
# request line and stall), hold them HOLD seconds, count how many the service closed (its header
# timeout and connection cap must do that), then close the rest. One line per wave:
#   SLOW_CLIENTS wave=K opened=N open_s=S closed_by_service=M held_s=HOLD
# Bash (/dev/tcp) and ss (iproute2); raises its own descriptor limit. Defaults: N 10000, WAVES 2, HOLD 15.
set -uo pipefail
PORT=${1:?usage: slow-clients.sh PORT [N] [WAVES] [HOLD]}
N=${2:-10000}
WAVES=${3:-2}
HOLD=${4:-15}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
for wave in $(seq 1 "$WAVES"); do
  fds=()
  t0=$(date +%s%3N)
  for i in $(seq 1 "$N"); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" 2>/dev/null || break
    fds+=("$fd")
    if [ $((i % 10)) -lt 3 ]; then printf 'GET /v1/versions/v1 HTTP/1.1\r\nHo' >&"$fd" 2>/dev/null || true; fi
  done
  t1=$(date +%s%3N)
  sleep "$HOLD"
  # Our ends of the connections the service closed wait in CLOSE-WAIT until we close them
  # (bash's `read -t` cannot poll descriptors above 1023, so ask the kernel: ss, iproute2).
  closed=$(ss -Htn state close-wait "( dport = :$PORT )" 2>/dev/null | wc -l)
  for fd in "${fds[@]}"; do exec {fd}>&-; done
  echo "SLOW_CLIENTS wave=$wave opened=${#fds[@]} open_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }') closed_by_service=$closed held_s=$HOLD"
done
