#!/usr/bin/env bash
# Replication benchmark: SYNC_MASTER against ASYNC_MASTER throughput, measured in one run on
# this machine. For each role it starts a fresh nameserver, a master of that role and one
# slave (release binaries, temporary stores, loopback), waits until the slave is connected,
# runs `mqbench producer` (1 KiB bodies, 64 concurrent senders by default) and checks that the
# slave caught up; then prints both summaries and SYNC/ASYNC as a ratio.
#   scripts/repl_bench.sh                  10 s per role, 64 senders
#   SECONDS_PER_RUN=5 SENDERS=16 scripts/repl_bench.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
secs=${SECONDS_PER_RUN:-10}
senders=${SENDERS:-64}

cargo build --release --bins
bin="$root/target/release"
work=$(mktemp -d)
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts $bin/$1 with the rest as arguments, output in $work/<tag>.{out,log}; waits for its
# LISTENING line and prints the address.
start() { # $1 = tag, $2 = binary, rest = args
  local tag=$1 exe=$2; shift 2
  "$bin/$exe" "$@" >"$work/$tag.out" 2>"$work/$tag.log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 1 300); do
    if grep -q '^LISTENING ' "$work/$tag.out"; then
      sed -n 's/^LISTENING //p' "$work/$tag.out"
      return
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$work/$tag.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "$tag did not start" >&2
  exit 1
}

broker_conf() { # $1 = file, $2 = brokerId, $3 = brokerRole, $4 = namesrv, $5 = store
  cat >"$1" <<EOF
brokerClusterName=BenchCluster
brokerName=broker-r
brokerId=$2
brokerRole=$3
namesrvAddr=$4
listenPort=0
bindAddress=127.0.0.1
brokerIP1=127.0.0.1
storePathRootDir=$5
flushDiskType=ASYNC_FLUSH
mappedFileSizeCommitLog=268435456
EOF
}

# A runtime-info number of the broker at $1 (mqadmin brokerStatus).
status_number() { # $1 = broker address, $2 = key, $3 = namesrv
  "$bin/mqadmin" -n "$3" --json brokerStatus -b "$1" |
    python3 -c 'import json,sys; t=json.load(sys.stdin)["brokers"][0]["table"]; print(t.get(sys.argv[1], "-1"))' "$2"
}

wait_for() { # $1 = what, rest = command that succeeds once it holds
  local what=$1; shift
  for _ in $(seq 1 600); do
    "$@" && return
    sleep 0.1
  done
  echo "timed out waiting for $what" >&2
  exit 1
}

run_role() { # $1 = ASYNC_MASTER or SYNC_MASTER; prints mqbench's JSON summary
  local role=$1 dir="$work/$1"
  mkdir -p "$dir"
  local ns master slave
  ns=$(start "$role-ns" mqnamesrv --listen-port 0 --bind 127.0.0.1 --kv-config-path "$dir/kv.json")
  broker_conf "$dir/master.conf" 0 "$role" "$ns" "$dir/master"
  broker_conf "$dir/slave.conf" 1 SLAVE "$ns" "$dir/slave"
  master=$(start "$role-master" mqbroker -c "$dir/master.conf")
  slave=$(start "$role-slave" mqbroker -c "$dir/slave.conf")
  wait_for "the slave of the $role" test "$(status_number "$master" haSlaveNum "$ns")" = 1
  "$bin/mqadmin" -n "$ns" updateTopic -b "$master" -t ReplBench -r 8 -w 8 >/dev/null
  echo "== $role: mqbench producer -s 1024 -w $senders --duration $secs" >&2
  "$bin/mqbench" producer -n "$ns" -t ReplBench -s 1024 -w "$senders" --duration "$secs" \
    --baseline-seconds 0 --json
  caught_up() {
    [ "$(status_number "$master" commitLogMaxOffset "$ns")" = \
      "$(status_number "$slave" commitLogMaxOffset "$ns")" ]
  }
  wait_for "the $role's slave to catch up" caught_up
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

async=$(run_role ASYNC_MASTER)
sync=$(run_role SYNC_MASTER)
python3 - "$async" "$sync" <<'EOF'
import json, sys
a, s = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for name, d in (("ASYNC_MASTER", a), ("SYNC_MASTER", s)):
    print(f"{name:13} {d['tps']:10.0f} msg/s  p50 {d['p50_ms']:.3f} ms  p99 {d['p99_ms']:.3f} ms  failures {d['failures']}")
print(f"SYNC_MASTER / ASYNC_MASTER throughput: {s['tps'] / a['tps']:.2f}")
EOF
