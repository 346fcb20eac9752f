#!/usr/bin/env bash
# Soak test (not run by CI: it is long): one release nameserver and one release broker on
# loopback (temporary store with small files), and `mqbench soak` with about 1,000 broker
# connections (producers, push consumers, idle clients, heartbeat-only clients) at a bounded
# rate. Prints throughput, errors, the broker's RSS and open descriptors every 10 s, then a
# verdict (no errors, every message received, broker memory and sockets flat; see
# tools/src/bench/soak_verdict.rs). Exits non-zero when the verdict fails.
#   scripts/soak.sh          30 minutes
#   scripts/soak.sh 0.5      30 seconds (too short to judge trends, but checks everything else)
# Environment: RATE (msg/s, default 1000), SOAK_ARGS (more mqbench soak options).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
minutes=${1:-30}
seconds=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60); print (s < 1 ? 1 : s) }')
rate=${RATE:-1000}

cargo build --release --bins
bin="$root/target/release"
work=$(mktemp -d)
ns_pid=""
broker_pid=""

stop() { # $1 = pid: SIGTERM, then wait for it
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$broker_pid"
  stop "$ns_pid"
  rm -rf "$work"
}
trap cleanup EXIT

# Waits for "$2 <addr>" in file $1 written by process $3; prints the address.
wait_listening() {
  for _ in $(seq 1 300); do
    if grep -qs "^$2 " "$1"; then
      sed -n "s/^$2 //p" "$1"
      return
    fi
    kill -0 "$3" 2>/dev/null || { echo "soak: server $3 exited" >&2; return 1; }
    sleep 0.1
  done
  echo "soak: no $2 line in $1" >&2
  return 1
}

# Each client has its own connections: raise the descriptor limit for ~1,200 of them.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

"$bin/mqnamesrv" --listen-port 0 --bind 127.0.0.1 --kv-config-path "$work/kvConfig.json" \
  >"$work/ns.out" 2>"$work/ns.log" &
ns_pid=$!
ns=$(wait_listening "$work/ns.out" LISTENING "$ns_pid")

cat >"$work/broker.conf" <<EOF
brokerClusterName=SoakCluster
brokerName=soak-broker
namesrvAddr=$ns
listenPort=0
bindAddress=127.0.0.1
brokerIP1=127.0.0.1
storePathRootDir=$work/store
mappedFileSizeCommitLog=67108864
mappedFileSizeConsumeQueue=600000
maxHashSlotNum=100000
maxIndexNum=400000
EOF
"$bin/mqbroker" -c "$work/broker.conf" >"$work/broker.out" 2>"$work/broker.log" &
broker_pid=$!
broker=$(wait_listening "$work/broker.out" LISTENING "$broker_pid")
echo "soak: nameserver $ns (pid $ns_pid), broker $broker (pid $broker_pid), store $work/store"

"$bin/mqadmin" updateTopic -n "$ns" -b "$broker" -t SoakTopic -r 8 -w 8 >/dev/null
for _ in $(seq 1 100); do
  "$bin/mqadmin" topicRoute -n "$ns" -t SoakTopic >/dev/null 2>&1 && break
  sleep 0.2
done

status=0
# shellcheck disable=SC2086
"$bin/mqbench" soak -n "$ns" -t SoakTopic --broker "$broker" --broker-pid "$broker_pid" \
  --duration "$seconds" --rate "$rate" ${SOAK_ARGS:-} 2>"$work/mqbench.log" || status=$?
if [ "$status" -ne 0 ]; then
  echo "soak: mqbench log (last lines):" >&2
  tail -20 "$work/mqbench.log" >&2
fi
warnings=$(grep -c -E ' (WARN|ERROR) ' "$work/broker.log" || true)
echo "soak: broker log has $warnings WARN/ERROR lines"
grep -E ' (WARN|ERROR) ' "$work/broker.log" | head -5 || true
exit "$status"
