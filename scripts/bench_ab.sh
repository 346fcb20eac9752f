#!/usr/bin/env bash
# A/B benchmark of two builds in one run: for each round, each build starts its own
# `mqbroker --with-namesrv` (temporary store, loopback, async flush) and its own `mqbench`
# drives it, alternating A, B, A, B... so that both see the same machine. Prints every run and
# the median TPS of each build with the ratio B/A.
#
#   scripts/bench_ab.sh A_BIN_DIR B_BIN_DIR [ROUNDS]
#   e.g. git worktree add /tmp/base <commit> && (cd /tmp/base && cargo build --release --bins)
#        scripts/bench_ab.sh /tmp/base/target/release target/release 3
#
# Scenarios (SECONDS per run, default 10): sync sends from 64 workers (1 KiB bodies), then a
# push consumer draining the backlog those sends left. MQBENCH_PRODUCER_ARGS adds producer
# flags (e.g. "--mode async").
set -euo pipefail
a=${1:?A_BIN_DIR}
b=${2:?B_BIN_DIR}
rounds=${3:-3}
secs=${SECONDS_PER_RUN:-10}
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Starts $1/mqbroker --with-namesrv; sets NS.
start() {
  local dir="$work/store-$RANDOM"
  mkdir -p "$dir"
  "$1/mqbroker" --with-namesrv --namesrv-port 0 --listen-port 0 --store-dir "$dir" \
    >"$dir.out" 2>"$dir.log" &
  pid=$!
  for _ in $(seq 1 300); do
    grep -q '^LISTENING ' "$dir.out" && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir.log" >&2; exit 1; }
    sleep 0.1
  done
  NS=$(sed -n 's/^NAMESRV_LISTENING //p' "$dir.out")
  # The broker warms its next commit log file after start: let it finish first.
  local last=-1 now
  for _ in $(seq 1 30); do
    now=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    [ "$now" = "$last" ] && break
    last=$now
    sleep 1
  done
}

stop() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
  rm -rf "$work"/store-*
}

tps() { python3 -c 'import json,sys; print(round(json.load(sys.stdin)["tps"]))'; }

declare -A results
for round in $(seq 1 "$rounds"); do
  for side in A B; do
    bin=$a
    [ "$side" = B ] && bin=$b
    start "$bin"
    # shellcheck disable=SC2086
    p=$("$bin/mqbench" producer -n "$NS" --duration "$secs" --baseline-seconds 0 --json \
      ${MQBENCH_PRODUCER_ARGS:-} 2>/dev/null | tps)
    c=$("$bin/mqbench" consumer -n "$NS" --from first --duration "$secs" --json 2>/dev/null | tps)
    stop
    echo "round $round $side: producer $p msg/s, consumer $c msg/s"
    results[$side-p]+="$p "
    results[$side-c]+="$c "
  done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
for kind in p c; do
  name=producer
  [ $kind = c ] && name=consumer
  ma=$(echo "${results[A-$kind]}" | median)
  mb=$(echo "${results[B-$kind]}" | median)
  echo "$name median: A $ma msg/s, B $mb msg/s, B/A $(python3 -c "print(f'{$mb/$ma:.2f}')")"
done
